//! What the integration tests that run a local backend share: an axum server on a loopback port,
//! JSON answers, and a catalog compiled from YAML the way lint and serve compile it. Each test file
//! keeps its own routes and what it records (`mod common;`).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::SystemTime;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use toolwright::actions::{CallContext, ToolOutput, render};
use toolwright::catalog::{Catalog, SecretMode};
use toolwright::compile::compile_dirs;
use toolwright::connections::Clients;

/// Serves `app` on a free port of `ip` until the test's runtime ends; its address.
pub async fn serve(ip: &str, app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.expect("bind a test server");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// A JSON answer.
pub fn json_response(status: StatusCode, value: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], value.to_string()).into_response()
}

/// Compiles specs written to a temporary directory; fails the test on any error diagnostic.
pub fn compile(yaml: &str) -> Catalog {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("tools.yaml"), yaml).expect("write spec");
    let compiled = compile_dirs(&[dir.path().to_path_buf()], None);
    match compiled.catalog {
        Some(c) => c,
        None => {
            panic!("the specs do not compile: {:#?}\n{yaml}", compiled.diagnostics.iter().map(|d| d.message.clone()).collect::<Vec<_>>())
        }
    }
}

/// The catalog of `yaml` and the clients of its connections.
pub fn setup(yaml: &str) -> (Catalog, Clients) {
    let catalog = compile(yaml);
    let backends = Clients::new(catalog.connections().values());
    (catalog, backends)
}

/// Validates arguments, renders with secrets resolved and executes with the tool's deadline, as
/// `tools/call` does.
pub async fn call(backends: &Clients, catalog: &Catalog, tool: &str, args: Value) -> Result<ToolOutput, String> {
    let tool = catalog.tool(tool).unwrap_or_else(|| panic!("no tool `{tool}`"));
    let args = tool.prepare_args(args.as_object()).map_err(|e| e.message)?;
    let rendered = render(catalog, tool, &args, SystemTime::now(), SecretMode::Resolve).map_err(|e| e.message)?;
    let ctx = CallContext::new(tokio_util::sync::CancellationToken::new(), tool.timeout, None);
    rendered.execute(backends, &ctx).await
}

/// Copies a directory tree (files and directories only).
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// The proptest configuration of the property tests: `cases` per property (`PROPTEST_CASES`
/// raises it for a longer hunt) and a fixed seed per property, so runs are reproducible
/// (`TOOLWRIGHT_PROPTEST_SEED` picks another set of inputs).
pub fn proptest_config(seed: u64, cases: u32) -> proptest::test_runner::Config {
    use proptest::test_runner::{Config, RngSeed};
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    Config {
        cases: env("PROPTEST_CASES").and_then(|n| u32::try_from(n).ok()).unwrap_or(cases),
        rng_seed: RngSeed::Fixed(seed ^ env("TOOLWRIGHT_PROPTEST_SEED").unwrap_or(0)),
        failure_persistence: None,
        ..Config::default()
    }
}
