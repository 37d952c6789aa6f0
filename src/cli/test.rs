//! `toolwright test`: runs the tools' `tests:` through the real call path.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use crate::compile;
use crate::connections::Clients;
use crate::connections::tape::{Tape, TapeMode};
use crate::diag;
use crate::runtime::Runtime;
use crate::testing::report::{self, Counts, Format};
use crate::testing::runner;

/// Arguments of `toolwright test`.
#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Files or directories of specs (default: ./tools.d).
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Send the calls for real and save each test's backend exchanges, secrets redacted, as
    /// DIR/<tool>/<test>.json.
    #[arg(long, value_name = "DIR", conflicts_with = "replay")]
    pub record: Option<PathBuf>,
    /// Answer every backend request from the recordings in DIR: nothing is sent and no
    /// credentials are needed; a request that differs from its recording fails the test.
    #[arg(long, value_name = "DIR")]
    pub replay: Option<PathBuf>,
}

/// Runs the tests: exit 0 when every test passes, 1 when one fails, 2 when the specs do not
/// compile or a test could not run (no recording, a recording refused or not written).
pub fn run(args: TestArgs) -> anyhow::Result<ExitCode> {
    let paths = super::tools_dirs(args.paths);
    let compiled = compile::compile_dirs(&paths, None);
    let mut out = std::io::stdout();
    let Some(catalog) = compiled.catalog else {
        return not_compiled(args.format, &compiled.diagnostics, &compiled.sources);
    };
    if args.format == Format::Text && !compiled.diagnostics.is_empty() {
        // Warnings, on stderr as `call` shows them.
        let text =
            diag::report(diag::Format::Text, &compiled.diagnostics, &compiled.sources, super::use_color(std::io::stderr().is_terminal()));
        std::io::stderr().write_all(text.as_bytes())?;
    }
    let tests = compiled.tests;
    if tests.is_empty() && args.format == Format::Text {
        eprintln!("note: no tool has `tests:`; `toolwright lint --hints` lists the tools without them");
    }
    let tape = match (&args.record, &args.replay) {
        (Some(dir), _) => Some((Tape::new(TapeMode::Record), dir.clone())),
        (None, Some(dir)) => {
            if !dir.is_dir() {
                anyhow::bail!("--replay {}: no such directory of recordings", dir.display());
            }
            Some((Tape::new(TapeMode::Replay), dir.clone()))
        }
        (None, None) => None,
    };
    let clients = match &tape {
        Some((tape, _)) => Clients::with_tape(catalog.connections().values(), tape.clone()),
        None => Clients::new(catalog.connections().values()),
    };
    let runtime = Runtime::with_clients(catalog, clients, None).map_err(anyhow::Error::msg)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let results = rt.block_on(runner::run(&runtime, &tests, tape.as_ref().map(|(t, d)| (t, d.as_path()))));
    let color = args.format == Format::Text && super::use_color(out.is_terminal());
    out.write_all(report::report(args.format, &results, color).as_bytes())?;
    let counts = Counts::of(&results);
    Ok(if counts.errors > 0 {
        ExitCode::from(super::EXIT_USAGE)
    } else if counts.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The specs do not compile: their diagnostics as lint prints them (text on stderr; json under
/// `diagnostics`, with no tests), and exit 2.
fn not_compiled(
    format: Format,
    diagnostics: &[diag::Diagnostic],
    sources: &std::collections::HashMap<String, diag::LineIndex>,
) -> anyhow::Result<ExitCode> {
    let why = "the specs do not compile, so no test ran";
    match format {
        Format::Text => {
            let mut text = diag::report(diag::Format::Text, diagnostics, sources, super::use_color(std::io::stderr().is_terminal()));
            text.push_str(&format!("error: {why}\n"));
            std::io::stderr().write_all(text.as_bytes())?;
        }
        Format::Json => {
            let diagnostics: serde_json::Value = serde_json::from_str(&diag::report(diag::Format::Json, diagnostics, sources, false))?;
            let mut s = serde_json::to_string_pretty(
                &serde_json::json!({"diagnostics": diagnostics, "tests": [], "passed": 0, "failed": 0, "errors": 0}),
            )?;
            s.push('\n');
            std::io::stdout().write_all(s.as_bytes())?;
        }
        Format::Github => {
            let mut s = diag::report(diag::Format::Github, diagnostics, sources, false);
            s.push_str(why);
            s.push('\n');
            std::io::stdout().write_all(s.as_bytes())?;
        }
    }
    Ok(ExitCode::from(super::EXIT_USAGE))
}
