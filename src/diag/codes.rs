//! The rule codes. Each code is a kebab-case name of the pattern it catches; the
//! names are a contract with CI pipelines (`--format json`, SARIF rule ids).

use super::Severity;

macro_rules! codes {
    ($($variant:ident = $name:literal, $sev:ident, $summary:literal;)*) => {
        /// A diagnostic's rule.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $(#[doc = $summary] $variant,)*
        }

        impl Code {
            /// Every code, in declaration order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The kebab-case name.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// The severity this code reports with.
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$sev,)* }
            }

            /// One line on what the rule checks.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }
        }
    };
}

codes! {
    Io = "io-error", Error, "A file or directory could not be read.";
    InvalidUtf8 = "invalid-utf8", Error, "A spec file is not valid UTF-8.";
    FileTooLarge = "file-too-large", Error, "A spec file (or a resource's `file`, a prompt message's `image` or `audio`) is larger than toolwright reads (4 MiB, `TOOLWRIGHT_MAX_SPEC_BYTES`).";
    NoSpecs = "no-specs", Warning, "A tools directory holds no tool or connection.";
    YamlSyntax = "yaml-syntax", Error, "The file is not valid YAML.";
    DuplicateKey = "duplicate-key", Error, "A mapping has the same key twice.";
    UnknownKind = "unknown-kind", Error, "A document's `kind` is missing or is not `tool`, `connection`, `prompt`, `resource` or `resource_template`.";
    UnknownField = "unknown-field", Error, "A key that the spec format does not define.";
    MissingField = "missing-field", Error, "A required key is absent.";
    WrongType = "wrong-type", Error, "A value has the wrong type.";
    InvalidValue = "invalid-value", Error, "A value is outside what the field accepts.";
    InvalidName = "invalid-name", Error, "A tool, connection, prompt, resource or resource template name does not match ^[A-Za-z0-9_.-]{1,128}$, or a test name does not match ^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$.";
    DuplicateToolName = "duplicate-tool-name", Error, "Two tools have the same name.";
    ReservedToolName = "reserved-tool-name", Error, "A tool takes the name of a built-in tool (`get_task_status`, `cancel_task`).";
    DuplicateConnectionName = "duplicate-connection-name", Error, "Two connections have the same name.";
    DuplicatePromptName = "duplicate-prompt-name", Error, "Two prompts have the same name.";
    DuplicateResourceName = "duplicate-resource-name", Error, "Two resources (or two resource templates) have the same name.";
    DuplicateUri = "duplicate-uri", Error, "Two resources have the same URI, or two resource templates the same URI template (up to the names of their variables).";
    ContentCount = "content-count", Error, "A resource needs exactly one of `text`, `file` or `action`; a prompt message exactly one of `text`, `resource`, `image` or `audio`.";
    ResourceOutsideDir = "resource-outside-dir", Error, "A resource's `file` (or a prompt message's `image` or `audio`) is absolute, climbs out of the spec file's directory, or is a symlink that leads out of it.";
    InvalidUriTemplate = "invalid-uri-template", Error, "A `uri_template` is not an RFC 6570 level 1 template (`{name}` only) or does not make a URI.";
    UnknownUriVariable = "unknown-uri-variable", Error, "A variable of a `uri_template` that its `input` does not declare.";
    UnknownResource = "unknown-resource", Error, "A prompt message's `resource` names no resource and matches no resource template.";
    EmbeddedScopes = "embedded-scopes", Warning, "A prompt message embeds a resource that needs a scope the prompt does not: a caller who sees the prompt without it cannot get it.";
    ArgumentType = "argument-type", Error, "A prompt argument or URI template variable is of a type MCP cannot pass as a string (an object or an array).";
    BlankDescription = "blank-description", Error, "A tool's description is empty or only whitespace.";
    InvalidInputSchema = "invalid-input-schema", Error, "`input` is not a valid JSON Schema 2020-12.";
    InputNotObject = "input-not-object", Error, "The root of `input` is not `type: object`.";
    RequiredNotDeclared = "required-not-declared", Error, "`required` names a property that `properties` does not declare.";
    InvalidDefault = "invalid-default", Error, "A property's `default` is not valid for that property.";
    InvalidOutputSchema = "invalid-output-schema", Error, "`output.schema` is not a valid JSON Schema 2020-12 object schema.";
    ActionCount = "action-count", Error, "`action` (and each step of `steps`, a watch's `check` and `on_fail`, a property's `complete`) must hold exactly one of logs_insights, metrics, http, steps or watch.";
    InvalidDuration = "invalid-duration", Error, "A duration does not parse (use 30s, 15m, 2h, 7d).";
    InvalidHttpMethod = "invalid-http-method", Error, "An HTTP method is not one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS.";
    InvalidUrl = "invalid-url", Error, "A URL or base URL does not parse, a relative URL has no base URL, or a resource's `uri` is not a URI.";
    PrivateBaseUrl = "private-base-url", Warning, "A literal destination (an http connection's base_url) is a private address the network policy refuses.";
    UnknownConnection = "unknown-connection", Error, "A `connection:` names no connection.";
    ConnectionKindMismatch = "connection-kind-mismatch", Error, "A connection of the wrong kind (aws for CloudWatch actions, http for HTTP).";
    ConnectionBlock = "connection-block", Error, "A connection must hold exactly one of `aws` or `http`.";
    AuthCount = "auth-count", Error, "A connection's `auth` holds no kind or more than one.";
    TemplateSyntax = "template-syntax", Error, "A template does not compile.";
    UndeclaredVariable = "undeclared-variable", Error, "A template reads a variable that `input` (a prompt's `arguments`) does not declare.";
    UnusedInput = "unused-input", Warning, "An input property (or prompt argument) that no template reads, or a resource template's that nothing sets.";
    OptionalWithoutDefault = "optional-without-default", Warning, "A template reads an optional property that has no default and no guard.";
    SecretOutsideHeader = "secret-outside-header", Error, "`secret()` is used outside connections and headers.";
    InlineSecret = "inline-secret", Error, "A literal that looks like a credential.";
    RawInterpolation = "raw-interpolation", Warning, "`| raw` turns off contextual escaping.";
    LogGroupCount = "log-group-count", Error, "A Logs Insights action needs 1 to 50 log groups.";
    InvalidLogGroup = "invalid-log-group", Error, "A literal log group name does not match the AWS pattern.";
    LimitRange = "limit-range", Error, "A Logs Insights `limit` must be 1 to 10,000.";
    EmptyQuery = "empty-query", Error, "A Logs Insights query is empty.";
    QuotedPlaceholder = "quoted-placeholder", Error, "A placeholder in a Logs Insights query sits inside quotes or slashes; values are quoted already.";
    TimeRange = "time-range", Error, "The time range mixes `since`/`until` with `start`/`end`, or gives neither.";
    InvalidQueryId = "invalid-query-id", Error, "A metric query id does not match ^[a-z][A-Za-z0-9_]*$.";
    DuplicateQueryId = "duplicate-query-id", Error, "Two metric queries have the same id.";
    MetricOrExpression = "metric-or-expression", Error, "A metric query needs exactly one of `metric` (with `namespace` and `stat`) or `expression`.";
    InvalidPeriod = "invalid-period", Error, "A metric period must be 1, 5, 10, 20 or 30 seconds or a multiple of 60.";
    InvalidJq = "invalid-jq", Error, "`response.jq`, a `response.paginate` filter, a step's `output` or `when`, a watch's `fail_when` or `succeed_when`, or a test's `expect.jq` does not compile.";
    FormAndBody = "form-and-body", Error, "An HTTP action gives both `form` and `body`; a request has one body.";
    InvalidPagination = "invalid-pagination", Error, "`response.paginate` needs `next` with `set` (exactly one of query, body, form, header) or `link: true`, and an answer read as JSON or XML.";
    InvalidStepId = "invalid-step-id", Error, "A step id does not match ^[a-z][a-z0-9_]*$.";
    DuplicateStepId = "duplicate-step-id", Error, "Two steps of a `steps` action have the same id, or its `content` lists a step twice.";
    UnknownStep = "unknown-step", Error, "A template reads `steps.<id>` of no earlier step (an unknown id, a later step, the step itself, or `steps` as a whole), or `content` lists an id that is no step.";
    NestedSteps = "nested-steps", Error, "A step of a `steps` action is itself `steps`; steps do not nest.";
    ReservedInputName = "reserved-input-name", Error, "A steps tool's input declares `steps` (or `failed` with `on_fail`), or a watch tool's with `on_fail` declares `failed`: names their templates reserve.";
    InvalidConfirmField = "invalid-confirm-field", Error, "A field of `confirm.fields` is outside what MCP elicitation allows (its type, keywords, options, default), `required` names no field, or `fields` is written on a step's or an `on_fail`'s `confirm`.";
    UnknownConfirmField = "unknown-confirm-field", Error, "A template reads `confirm.<field>` that is not one of the tool's `confirm.fields`, reads it in the question itself, or in a tool whose `confirm` has no `fields`.";
    NestedWatch = "nested-watch", Error, "A watch's `check` or `on_fail` is itself `watch` or `steps`; a watch holds plain actions (a sequence may hold a watch).";
    WatchTimeout = "watch-timeout", Error, "A watch's `for` plus `every` is longer than its tool's `timeout`: the call would end before the watch.";
    ExampleInvalidArgs = "example-invalid-args", Error, "An example's `args` do not validate against `input`.";
    ExampleRenderFailed = "example-render-failed", Error, "An example does not render into a backend request.";
    DuplicateTestName = "duplicate-test-name", Error, "Two tests of one tool have the same name (a test's recording is named after it).";
    NoExamples = "no-examples", Info, "`lint --hints`: a tool has no `examples` (lint renders each example; clients may show them).";
    NoTests = "no-tests", Info, "`lint --hints`: a tool has no `tests` (`toolwright test` runs them).";
    EnvCredentials = "env-credentials", Error, "`--check-env`: a connection's credentials do not resolve (a secret not set, a token file unreadable, the AWS chain).";
    EnvUnreachable = "env-unreachable", Error, "`--check-env`: a connection's endpoint does not answer (DNS, connection, TLS, network policy, timeout).";
    EnvRefused = "env-refused", Error, "`--check-env`: a connection's endpoint refuses its credentials (HTTP 401 or 403).";
    EnvLogGroupMissing = "env-log-group-missing", Error, "`--check-env`: a log group that a tool, resource or resource template names literally does not exist.";
}

#[cfg(test)]
mod tests {
    use super::Code;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_kebab_case() {
        let mut seen = HashSet::new();
        for code in Code::ALL {
            let name = code.as_str();
            assert!(seen.insert(name), "duplicate diagnostic code {name}");
            assert!(name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "code {name} is not kebab-case");
            assert!(!code.summary().is_empty());
        }
    }
}
