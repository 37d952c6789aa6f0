//! toolwright: YAML tool specs in, MCP tools out.
//!
//! See ARCHITECTURE.md for the map of the code.

pub mod actions;
pub mod catalog;
pub mod cli;
pub mod compile;
pub mod completions;
pub mod connections;
pub mod diag;
pub mod diff;
pub mod import;
pub mod observability;
pub mod prompts;
pub mod reload;
pub mod resources;
pub mod runtime;
pub mod server;
pub mod spec;
pub mod tasks;
pub mod telemetry;
pub mod testing;
pub mod util;
