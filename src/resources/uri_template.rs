//! RFC 6570 level 1 URI templates (`deps://{service}/graph`): literal text and `{name}`
//! variables, each of which expands to its value with every character but the unreserved ones
//! percent-encoded. A resource template's URI is matched against one: a `resources/read` of
//! `deps://checkout/graph` binds `service` to `checkout`.
//!
//! Our own code rather than a crate: the URI template crates (`iri-string`, `uritemplate-next`)
//! expand templates, while a server needs the reverse, matching a URI and reading the
//! variables back; at level 1 that is one regular expression per template.

use percent_encoding::percent_decode_str;
use regex::Regex;

/// The variables a URI bound, in the template's order: `(name, value)`, values percent-decoded.
pub type Bindings = Vec<(String, String)>;

/// A parsed level 1 URI template.
#[derive(Clone, Debug)]
pub struct UriTemplate {
    source: String,
    variables: Vec<String>,
    /// `^literal(value)literal...$`, one group per variable in order.
    pattern: Regex,
    /// The template with every variable written `{}`: two templates with the same shape
    /// match the same URIs.
    shape: String,
    /// Characters of literal text: a template with more matches fewer URIs.
    literal_chars: usize,
}

/// Why a template does not parse, and where (a byte offset into it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateError {
    /// Byte offset of the problem in the template.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// What a variable's value matches in a URI: anything but the characters that end a path
/// segment (a level 1 expansion percent-encodes them, so a value never holds them raw).
const VALUE: &str = "([^/?#]+)";

impl UriTemplate {
    /// Parses `source`. Operators (`{+x}`, `{#x}`, ...), lists (`{a,b}`), modifiers (`{x*}`,
    /// `{x:3}`) belong to levels 2 to 4 and are refused, as are two variables side by side,
    /// which no URI could tell apart.
    pub fn parse(source: &str) -> Result<UriTemplate, TemplateError> {
        let mut variables = Vec::new();
        let mut pattern = String::from("^");
        let mut shape = String::new();
        let mut literal_chars = 0;
        let mut rest = source;
        let mut offset = 0;
        let mut last_was_variable = false;
        loop {
            let open = rest.find(['{', '}']);
            let text = &rest[..open.unwrap_or(rest.len())];
            pattern.push_str(&regex::escape(text));
            shape.push_str(text);
            literal_chars += text.chars().count();
            if !text.is_empty() {
                last_was_variable = false;
            }
            let Some(open) = open else { break };
            let at = offset + open;
            if rest[open..].starts_with('}') {
                return Err(TemplateError { offset: at, message: "`}` without a `{` before it".to_owned() });
            }
            let inner = &rest[open + 1..];
            let Some(close) = inner.find('}') else {
                return Err(TemplateError { offset: at, message: "`{` is not closed by a `}`".to_owned() });
            };
            let name = &inner[..close];
            check_variable(name).map_err(|message| TemplateError { offset: at + 1, message })?;
            if last_was_variable {
                return Err(TemplateError {
                    offset: at,
                    message: format!(
                        "`{{{name}}}` follows another variable directly: no URI could tell where one value ends; put literal text between them"
                    ),
                });
            }
            if variables.iter().any(|v| v == name) {
                return Err(TemplateError { offset: at + 1, message: format!("`{name}` appears twice in the template") });
            }
            variables.push(name.to_owned());
            pattern.push_str(VALUE);
            shape.push_str("{}");
            last_was_variable = true;
            offset = at + 1 + close + 1;
            rest = &inner[close + 1..];
        }
        pattern.push('$');
        let pattern = Regex::new(&pattern).map_err(|e| TemplateError { offset: 0, message: format!("internal: {e}") })?;
        Ok(UriTemplate { source: source.to_owned(), variables, pattern, shape, literal_chars })
    }

    /// The template as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The variables, in the order they appear.
    pub fn variables(&self) -> &[String] {
        &self.variables
    }

    /// The template with each variable written `{}` (two templates of one shape match the same URIs).
    pub fn shape(&self) -> &str {
        &self.shape
    }

    /// Characters of literal text (a template with more is more specific).
    pub fn literal_chars(&self) -> usize {
        self.literal_chars
    }

    /// The template with every variable replaced by `x`: a URI, for checking the literal text.
    pub fn example(&self) -> String {
        self.shape.replace("{}", "x")
    }

    /// The variables' values when `uri` matches, percent-decoded; `None` when it does not
    /// match (or a value does not decode to UTF-8).
    pub fn matches(&self, uri: &str) -> Option<Bindings> {
        let caps = self.pattern.captures(uri)?;
        let mut out = Vec::with_capacity(self.variables.len());
        for (i, name) in self.variables.iter().enumerate() {
            let raw = caps.get(i + 1)?.as_str();
            let value = percent_decode_str(raw).decode_utf8().ok()?;
            out.push((name.clone(), value.into_owned()));
        }
        Some(out)
    }
}

/// A level 1 variable name: RFC 6570's `varname` (letters, digits, `_`, percent-encoded
/// octets, with single dots between), and no operator or modifier.
fn check_variable(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("`{}` names no variable".to_owned());
    }
    if let Some(op) = name.chars().next().filter(|c| "+#./;?&=,!@|".contains(*c)) {
        return Err(format!(
            "`{{{name}}}` uses the operator `{op}` of a higher level; a resource template is RFC 6570 level 1: `{{name}}` only"
        ));
    }
    if name.contains(',') {
        return Err(format!("`{{{name}}}` lists several variables; write one per `{{}}`, with literal text between them"));
    }
    if name.ends_with('*') || name.contains(':') {
        return Err(format!(
            "`{{{name}}}` has a modifier (`*` or `:n`) of level 4; a resource template is RFC 6570 level 1: `{{name}}` only"
        ));
    }
    let valid = name.split('.').all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '%'));
    if !valid {
        return Err(format!("`{name}` is not a variable name: letters, digits and `_`"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(t: &UriTemplate, uri: &str) -> Option<Vec<(String, String)>> {
        t.matches(uri)
    }

    #[test]
    fn matches_and_decodes_each_variable() {
        let t = UriTemplate::parse("deps://{service}/graph?env={env}").unwrap();
        assert_eq!(t.variables(), ["service", "env"]);
        assert_eq!(
            vars(&t, "deps://check%20out/graph?env=prod"),
            Some(vec![("service".to_owned(), "check out".to_owned()), ("env".to_owned(), "prod".to_owned())])
        );
        assert_eq!(vars(&t, "deps://a/b/graph?env=prod"), None, "a value holds no `/`");
        assert_eq!(vars(&t, "deps:///graph?env=prod"), None, "a value is not empty");
        assert_eq!(vars(&t, "deps://a/graph?env=prod&x=1"), Some(vec![("service".into(), "a".into()), ("env".into(), "prod&x=1".into())]));
        assert_eq!(vars(&t, "deps://%FF/graph?env=p"), None, "not UTF-8");
        assert_eq!(vars(&t, "xdeps://a/graph?env=p"), None, "anchored at the start");
        assert_eq!(t.shape(), "deps://{}/graph?env={}");
        assert_eq!(t.example(), "deps://x/graph?env=x");
        // Regex characters in the literal text are literal.
        let t = UriTemplate::parse("a+b://x.y/{id}").unwrap();
        assert!(t.matches("a+b://x.y/1").is_some());
        assert!(t.matches("a+b://xzy/1").is_none());
    }

    #[test]
    fn refuses_what_is_not_level_1() {
        let err = |s: &str| UriTemplate::parse(s).unwrap_err();
        assert!(err("x://{+path}").message.contains("operator `+`"));
        assert!(err("x://{a,b}").message.contains("several variables"));
        assert!(err("x://{a*}").message.contains("modifier"));
        assert!(err("x://{a:3}").message.contains("modifier"));
        assert_eq!(err("x://{a").offset, 4);
        assert_eq!(err("x://a}").offset, 5);
        assert!(err("x://{}").message.contains("names no variable"));
        assert!(err("x://{a}{b}").message.contains("follows another variable"));
        assert!(err("x://{a}/{a}").message.contains("twice"));
        assert!(err("x://{a-b}").message.contains("not a variable name"));
        assert!(UriTemplate::parse("x://{a.b}/{c_1}").is_ok());
        assert!(UriTemplate::parse("x://fixed").is_ok());
    }
}
