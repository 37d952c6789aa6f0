//! Who a caller is and which tools its scopes let it see and call.

use std::collections::HashSet;
use std::sync::Arc;

use rmcp::model::Tool;

use crate::catalog::{Catalog, CompiledTool};

/// Who made an HTTP request, as the authentication layer established it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// For logs: the token's name in the tokens file, or the JWT's `sub` (else `client_id`).
    pub name: String,
    /// Scopes granted: the token's scopes in the file, or the JWT's `scope`/`scp` claim.
    pub scopes: Vec<String>,
}

impl Identity {
    /// Whether the identity holds every scope in `required` (`*`, which only the tokens file
    /// can grant, holds them all).
    pub fn allows(&self, required: &[String]) -> bool {
        required.iter().all(|r| self.scopes.iter().any(|s| s == r || s == "*"))
    }
}

/// The tools of `tools` (MCP descriptions of `catalog`'s tools) that `identity` may see.
pub fn visible_tools(catalog: &Catalog, identity: &Identity, tools: &[Tool]) -> Vec<Tool> {
    tools.iter().filter(|t| catalog.tool(&t.name).is_none_or(|c| identity.allows(&c.scopes))).cloned().collect()
}

/// A call refused because the caller may not see the tool. It reads exactly like the
/// runtime's unknown-tool error (a test keeps the two equal), so a caller learns nothing
/// about tools it cannot see.
#[derive(Clone, Debug, thiserror::Error)]
#[error("unknown tool `{name}`{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
pub struct HiddenTool {
    /// The name asked for.
    pub name: String,
    /// A near name among the tools the caller may see.
    pub suggestion: Option<String>,
}

/// The one lookup of a call: the tool named `name`, if it exists and the caller may see it.
/// A tool whose scopes the caller lacks is answered exactly like an unknown tool (and the
/// did-you-mean hint names visible tools only), so a caller learns nothing about tools it
/// cannot see; the server log says why. Without an identity (no authentication), every tool
/// is visible and an unknown name gets a hint among all of them.
pub fn callable_tool<'a>(catalog: &'a Catalog, name: &str, identity: Option<&Identity>) -> Result<&'a Arc<CompiledTool>, HiddenTool> {
    let tool = catalog.tool(name);
    let Some(id) = identity else {
        return tool.ok_or_else(|| HiddenTool {
            name: name.to_owned(),
            suggestion: crate::util::did_you_mean(name, catalog.tools().iter().map(|t| t.name.as_str())).map(str::to_owned),
        });
    };
    match tool {
        Some(t) if id.allows(&t.scopes) => return Ok(t),
        Some(t) => {
            let missing: Vec<&str> = t.scopes.iter().filter(|s| !id.allows(std::slice::from_ref(*s))).map(String::as_str).collect();
            tracing::warn!(target: "toolwright::audit", caller = id.name.as_str(), tool = %name, missing_scopes = ?missing, outcome = "forbidden", "call");
        }
        None => tracing::info!(target: "toolwright::audit", caller = id.name.as_str(), tool = %name, outcome = "unknown-tool", "call"),
    }
    let visible = catalog.tools().iter().filter(|t| id.allows(&t.scopes)).map(|t| t.name.as_str());
    Err(HiddenTool { name: name.to_owned(), suggestion: crate::util::did_you_mean(name, visible).map(str::to_owned) })
}

/// Every scope named in the catalog (tools, prompts, resources, resource templates), sorted
/// (the metadata's `scopes_supported`).
pub fn catalog_scopes(catalog: &Catalog) -> Vec<String> {
    let mut all: Vec<String> =
        scoped_items(catalog).flat_map(|(_, scopes)| scopes.iter().cloned()).collect::<HashSet<_>>().into_iter().collect();
    all.sort();
    all
}

/// Each item of the catalog that has scopes: what it is, and its scopes.
fn scoped_items(catalog: &Catalog) -> impl Iterator<Item = (&'static str, &[String])> {
    let tools = catalog.tools().iter().map(|t| ("tool", t.scopes.as_slice()));
    let prompts = catalog.prompts().iter().map(|p| ("prompt", p.scopes.as_slice()));
    let resources = catalog.resources().iter().map(|r| ("resource", r.scopes.as_slice()));
    let templates = catalog.resource_templates().iter().map(|t| ("resource template", t.scopes.as_slice()));
    tools.chain(prompts).chain(resources).chain(templates).filter(|(_, s)| !s.is_empty())
}

/// How many items of each kind declare scopes, as words (`2 tools, 1 prompt`); empty when none.
pub fn scoped_summary(catalog: &Catalog) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for (what, _) in scoped_items(catalog) {
        match counts.iter_mut().find(|(w, _)| *w == what) {
            Some((_, n)) => *n += 1,
            None => counts.push((what, 1)),
        }
    }
    counts.iter().map(|(w, n)| format!("{n} {w}{}", if *n == 1 { "" } else { "s" })).collect::<Vec<_>>().join(", ")
}

/// Whether the caller may see an item that needs `scopes`: always without authentication.
pub fn may_see(identity: Option<&Identity>, scopes: &[String]) -> bool {
    identity.is_none_or(|id| id.allows(scopes))
}

/// Logs (audit) a request for a prompt, resource or resource template the caller may not see,
/// which it was answered as unknown.
pub fn log_forbidden(identity: Option<&Identity>, what: &str, name: &str, scopes: &[String]) {
    if let Some(id) = identity {
        let missing: Vec<&str> = scopes.iter().filter(|s| !id.allows(std::slice::from_ref(*s))).map(String::as_str).collect();
        tracing::warn!(target: "toolwright::audit", caller = id.name.as_str(), kind = what, name = %name, missing_scopes = ?missing, outcome = "forbidden", "request");
    }
}

/// Printable, bounded text for logs from a name or scope that a token's holder or issuer
/// chose.
pub(super) fn log_safe(s: &str) -> String {
    s.chars().take(256).map(|c| if c.is_control() { '?' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_need_all_and_star_grants_all() {
        let id = Identity { name: "a".into(), scopes: vec!["x".into(), "y".into()] };
        assert!(id.allows(&[]));
        assert!(id.allows(&["x".into(), "y".into()]));
        assert!(!id.allows(&["x".into(), "z".into()]));
        let admin = Identity { name: "root".into(), scopes: vec!["*".into()] };
        assert!(admin.allows(&["anything".into()]));
    }

    #[test]
    fn a_hidden_tool_reads_like_an_unknown_tool() {
        for suggestion in [None, Some("get_item".to_owned())] {
            let hidden = HiddenTool { name: "open_incident".into(), suggestion: suggestion.clone() };
            let unknown = crate::runtime::UnknownTool { name: "open_incident".into(), suggestion };
            assert_eq!(hidden.to_string(), unknown.to_string());
        }
    }
}
