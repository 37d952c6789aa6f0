//! The MCP server: an rmcp handler over the current catalog, on stdio or Streamable HTTP.
//!
//! Architecture invariant: this is the only module that imports rmcp; it never parses YAML.
//!
//! Dependency order of the files (each `use`s only files listed before it; none uses this one,
//! which only declares the modules and re-exports the entry points):
//!
//! 1. `events.rs` (SSE event store), `tidy.rs` (periodic memory release), `guard.rs` (the
//!    Host/Origin allow lists of every revealing endpoint), `auth/` (bearer
//!    tokens, JWTs, scopes, session owners, the axum middleware; see its own order);
//! 2. `resources.rs` (`resources/list`, `resources/templates/list`, `resources/read`), then
//!    `prompts.rs` (`prompts/list`, `prompts/get`; uses `resources.rs`) and `completions.rs`
//!    (`completion/complete`), each over the catalog in force;
//! 3. `state.rs`: [`ServerState`], the state every session shares, and the one `tools/call` path
//!    (uses `auth/`, and the listings of `prompts.rs` and `resources.rs` to tell sessions which
//!    lists a reload changed);
//! 4. `tasks.rs`: calls of `task:` tools, the built-in task tools, `tasks/get` and
//!    `tasks/cancel` (uses `state.rs`, `auth/`);
//! 5. `mrtr.rs`: a gate asked of a 2026-07-28 client without MCP Tasks through an
//!    InputRequiredResult and a sealed `requestState` (uses `tasks.rs`);
//! 6. `handler.rs`: the rmcp [`Handler`] (uses `mrtr.rs`, `tasks.rs`, `state.rs`, `auth/`, and the files of 2);
//! 7. `stdio.rs` (uses `handler.rs`, `state.rs`, `tidy.rs`) and `fast.rs`, the HTTP fast path
//!    (uses `state.rs`, `auth/`);
//! 8. `http.rs`: the Streamable HTTP transport (uses all of the above).

// Logging is deprecated in 2026-07-28 but still part of the 2025 revisions we serve (and of the
// conformance suite), so we implement `logging/setLevel`.
#![allow(deprecated)]

pub mod auth;
mod completions;
mod events;
mod fast;
mod guard;
mod handler;
pub mod http;
mod mrtr;
mod prompts;
mod resources;
mod state;
mod stdio;
mod tasks;
mod tidy;

pub use auth::CallerName;
pub use handler::Handler;
pub use state::{ServerState, ToolList};
pub use stdio::serve_stdio;
