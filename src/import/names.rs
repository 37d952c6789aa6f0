//! Tool and argument names made from the names an OpenAPI document uses.

use std::collections::HashSet;

use crate::catalog::template::GLOBALS;

/// The longest tool name the compile accepts (`^[A-Za-z0-9_.-]{1,128}$`).
pub const MAX_TOOL_NAME: usize = 128;

/// Words of minijinja's expression syntax: an argument with one of these names could not be
/// read by a template (`{{ in }}` does not parse), so such a name gets a `_` appended.
const KEYWORDS: &[&str] = &["true", "True", "false", "False", "none", "None", "self", "and", "or", "not", "in", "is", "if", "else"];

/// A tool name from an operationId (or from the method and path): every character the name
/// pattern refuses becomes `_`, runs of `_` become one, leading `.`, `-` and `_` are dropped
/// (a file whose name starts with `.` is not read by `lint`), and the name is cut to 128
/// characters. Never empty.
pub fn tool_name(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') { c } else { '_' };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    let trimmed = out.trim_start_matches(['.', '-', '_']).trim_end_matches('_');
    let cut: String = trimmed.chars().take(MAX_TOOL_NAME).collect();
    if cut.is_empty() { "operation".to_owned() } else { cut }
}

/// An argument name (a template variable) from a parameter or field name: letters, digits and
/// `_` only (`filter[status]` gives `filter_status`, `X-Request-Id` gives `X_Request_Id`), not
/// starting with a digit, never empty, never a keyword of the template syntax.
pub fn arg_name(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '_' };
        if c == '_' && (out.is_empty() || out.ends_with('_')) {
            continue;
        }
        out.push(c);
    }
    let mut out = out.trim_end_matches('_').to_owned();
    if out.is_empty() {
        out.push_str("arg");
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "p_");
    }
    if KEYWORDS.contains(&out.as_str()) {
        out.push('_');
    }
    out
}

/// Whether an argument with this name is read by a query or form value as exactly
/// `{{ name }}`, which drops the parameter when the argument is absent: the names of the
/// template environment's globals (`range`, `namespace`, ...) are not (the compile reads them
/// as templates that fail when the argument is absent), so such arguments are renamed there.
pub fn is_global(name: &str) -> bool {
    GLOBALS.contains(&name)
}

/// Hands out names not taken yet, appending `_2`, `_3`, ... to a name already taken (cut so
/// that the whole stays within `max` characters).
#[derive(Debug)]
pub struct Unique {
    taken: HashSet<String>,
    max: usize,
    /// Compare names without regard to case (tool names are file names, and some file
    /// systems do not tell `getPet.yaml` from `GetPet.yaml`).
    fold_case: bool,
}

impl Unique {
    /// Names of at most `max` characters; `fold_case` treats names differing only in case as
    /// the same name.
    pub fn new(max: usize, fold_case: bool) -> Self {
        Unique { taken: HashSet::new(), max, fold_case }
    }

    fn key(&self, name: &str) -> String {
        if self.fold_case { name.to_ascii_lowercase() } else { name.to_owned() }
    }

    /// `base` if it is free, else `base_N` with the smallest N from 2 that is free. Every
    /// call takes one name, so at most as many candidates are tried as names were taken.
    pub fn take(&mut self, base: &str) -> String {
        let base: String = base.chars().take(self.max).collect();
        if self.taken.insert(self.key(&base)) {
            return base;
        }
        let mut n = 2usize;
        loop {
            let suffix = format!("_{n}");
            let head: String = base.chars().take(self.max.saturating_sub(suffix.len())).collect();
            let candidate = format!("{head}{suffix}");
            if self.taken.insert(self.key(&candidate)) {
                return candidate;
            }
            n += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names_match_the_name_pattern() {
        let re = regex::Regex::new(r"^[A-Za-z0-9_.-]{1,128}$").expect("regex");
        for (raw, want) in [
            ("listPets", "listPets"),
            ("repos/get-content", "repos_get-content"),
            ("GET /pets/{petId}", "GET_pets_petId"),
            ("  spaces  and\ttabs ", "spaces_and_tabs"),
            (".hidden", "hidden"),
            ("...", "operation"),
            ("", "operation"),
            ("créer un ticket", "cr_er_un_ticket"),
            ("a__b", "a_b"),
        ] {
            let got = tool_name(raw);
            assert_eq!(got, want, "{raw:?}");
            assert!(re.is_match(&got), "{got:?}");
        }
        let long = "x".repeat(500);
        assert_eq!(tool_name(&long).len(), MAX_TOOL_NAME);
    }

    #[test]
    fn argument_names_are_template_variables() {
        let re = regex::Regex::new(r"^[A-Za-z_][A-Za-z0-9_]*$").expect("regex");
        for (raw, want) in [
            ("petId", "petId"),
            ("statuses[]", "statuses"),
            ("filter[status]", "filter_status"),
            ("X-Request-Id", "X_Request_Id"),
            ("$top", "top"),
            ("page.size", "page_size"),
            ("2fa", "p_2fa"),
            ("in", "in_"),
            ("not", "not_"),
            ("[]", "arg"),
        ] {
            let got = arg_name(raw);
            assert_eq!(got, want, "{raw:?}");
            assert!(re.is_match(&got), "{got:?}");
        }
    }

    #[test]
    fn unique_names_get_a_suffix_within_the_length() {
        let mut u = Unique::new(10, true);
        assert_eq!(u.take("getPet"), "getPet");
        assert_eq!(u.take("GetPet"), "GetPet_2");
        assert_eq!(u.take("getpet"), "getpet_3");
        assert_eq!(u.take("abcdefghij"), "abcdefghij");
        assert_eq!(u.take("abcdefghij"), "abcdefgh_2");
        let mut exact = Unique::new(128, false);
        assert_eq!(exact.take("id"), "id");
        assert_eq!(exact.take("ID"), "ID");
        assert_eq!(exact.take("id"), "id_2");
    }
}
