//! Fuzzing, replayed under `cargo test`: every file of the committed seed corpus
//! (`fuzz/corpus/<target>/`) goes through the same checks the cargo-fuzz targets run
//! (`fuzz/src/checks.rs`, included below), and each bug fuzzing found keeps a minimal
//! reproducer here. A reproducer of a bug not yet fixed is `#[ignore]`d with a comment that
//! names the bug; the fix removes the `#[ignore]`.
//!
//! The long hunts run outside CI: `scripts/fuzz.sh [SECONDS]` (see fuzz/README.md).

#[path = "../fuzz/src/checks.rs"]
mod checks;

use std::path::PathBuf;

use serde_json::json;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "the seed corpus {} is not empty", dir.display());
    files
        .into_iter()
        .map(|p| (p.file_name().unwrap_or_default().to_string_lossy().into_owned(), std::fs::read(&p).expect("a corpus file")))
        .collect()
}

/// Runs `check` on one input and names the corpus file when it panics.
fn replay(target: &str, check: fn(&[u8])) {
    checks::init_env();
    for (name, data) in corpus(target) {
        if std::panic::catch_unwind(|| check(&data)).is_err() {
            panic!("fuzz/corpus/{target}/{name} fails its check (the panic message is above)");
        }
    }
}

#[test]
fn spec_compile_seed_corpus() {
    replay("spec_compile", checks::check_spec_bytes);
}

#[test]
fn render_args_seed_corpus() {
    replay("render_args", checks::check_args_bytes);
}

#[test]
fn jq_in_spec_seed_corpus() {
    replay("jq_in_spec", checks::check_jq_bytes);
}

#[test]
fn xml_answer_seed_corpus() {
    replay("xml_answer", checks::check_xml_bytes);
}

#[test]
fn jsonrpc_seed_corpus() {
    replay("jsonrpc", checks::check_jsonrpc_bytes);
}

/// The fuzz targets embed every file of the tests' example catalog, `tests/fixtures/tools.d`
/// (guards the `include_str!` list in fuzz/src/checks.rs against a renamed or added file). The
/// repository's `tools.d/` is the user's catalog and is not read: editing it never fails a test.
#[test]
fn embedded_catalog_is_the_fixture_catalog() {
    checks::init_env();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tools.d");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/fixtures/tools.d")
        .map(|e| e.expect("an entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
        .collect();
    on_disk.sort();
    let embedded: Vec<String> = checks::BUNDLED.iter().map(|(n, _)| (*n).to_owned()).collect();
    assert_eq!(embedded, on_disk, "fuzz/src/checks.rs embeds every file of tests/fixtures/tools.d");
    for (name, text) in checks::BUNDLED {
        assert_eq!(*text, std::fs::read_to_string(dir.join(name)).expect("a fixture file"));
    }
    assert!(checks::BUNDLED_CATALOG.tool(checks::LOGS_TOOL).is_some());
}

/// The Logs Insights invariant the fuzzer checks can fail: a rendering where a value escaped
/// its literal is caught, the real rendering passes.
#[test]
fn logs_query_invariant_detects_injection() {
    let template = "fields @message\n| filter @message like {{ text }}\n| limit {{ limit }}\n";
    assert_eq!(checks::query_matches_template(template, "fields @message\n| filter @message like \"x\"\n| limit 5"), Ok(()));
    assert_eq!(checks::query_matches_template(template, "fields @message\n| filter @message like [\"a\", 1]\n| limit 5.0"), Ok(()));
    for injected in [
        "fields @message\n| filter @message like \"x\" | stats count(*)\n| limit 5",
        "fields @message\n| filter @message like \"x\n| display @logStream\"\n| limit 5",
        "fields @message\n| filter @message like \"x\" #\"\n| limit 5",
        "fields @message\n| filter @message like x\n| limit 5",
        "fields @message\n| filter @message like \"x\"\n| limit 5 | sort @timestamp",
    ] {
        assert!(checks::query_matches_template(template, injected).is_err(), "caught: {injected:?}");
    }
}

/// Hostile arguments for every bundled tool: each is refused or renders within the invariants.
#[test]
fn hostile_arguments_for_the_bundled_tools() {
    checks::init_env();
    let catalog = &*checks::BUNDLED_CATALOG;
    let hostile = [
        "a\" | stats count(*) by @logStream",
        "a\n| display @message",
        "a\u{2028}| fields x",
        "a\u{85}| fields x",
        "#",
        "`x`",
        "..",
        ".",
        "%2e%2e",
        "a/../../admin",
        "\u{ff0e}\u{ff0e}",
        "",
        "\0",
    ];
    for h in hostile {
        for args in [
            json!({"service": "checkout", "text": h}),
            json!({"service": h}),
            json!({"load_balancer": h, "metric": "RequestCount"}),
            json!({"service": "checkout", "text": "x", "limit": h}),
        ] {
            let serde_json::Value::Object(map) = args else { unreachable!() };
            for now in [checks::NOW_SECS, 0, 60] {
                checks::check_args(catalog, &map, now);
            }
        }
    }
}

/// The JSON-RPC target reaches the handler for real: a stateless `tools/list` lists the
/// bundled tools and a `tools/call` comes back as a tool result (the backend is a closed port).
#[test]
fn jsonrpc_target_reaches_the_tools() {
    checks::init_env();
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string();
    let (status, _, body) = checks::post(4, list.as_bytes()).expect("a response");
    let text = String::from_utf8_lossy(&body);
    assert!(status.is_success(), "{status}: {text}");
    for name in ["query_cloudwatch_logs", "get_metric_statistics", "get_service_status"] {
        assert!(text.contains(name), "tools/list names {name}: {text}");
    }
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "get_service_status", "arguments": {"service": "checkout"}}}).to_string();
    let (status, _, body) = checks::post(4, call.as_bytes()).expect("a response");
    let text = String::from_utf8_lossy(&body);
    assert!(status.is_success() && text.contains("\"isError\":true"), "{status}: {text}");
    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "query_cloudwatch_logs", "arguments": {"service": "checkout"}}}).to_string();
    let (status, _, body) = checks::post(4, call.as_bytes()).expect("a response");
    let text = String::from_utf8_lossy(&body);
    assert!(status.is_success() && text.contains("\"isError\":true"), "{status}: {text}");
}
