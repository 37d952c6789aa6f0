//! `toolwright lint`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use crate::compile;
use crate::diag::{self, Format};

/// Lints the paths and prints the diagnostics to stdout in the chosen format; with
/// `check_env`, a catalog without errors is then checked against its environment; with
/// `hints`, info-level hints are added (they never change the exit code).
pub fn run(paths: Vec<PathBuf>, format: Format, deny_warnings: bool, check_env: bool, hints: bool) -> anyhow::Result<ExitCode> {
    let mut compiled = compile::compile_dirs(&paths, None);
    if check_env && let Some(catalog) = &compiled.catalog {
        let found = super::check_env::check(catalog, &compiled.documents, &compiled.sources);
        compiled.diagnostics.extend(found);
        diag::sort(&mut compiled.diagnostics);
    }
    if hints {
        let found = compile::hints(&compiled.documents, &compiled.sources);
        compiled.diagnostics.extend(found);
        diag::sort(&mut compiled.diagnostics);
    }
    let color = format == Format::Text && super::use_color(std::io::stdout().is_terminal());
    let out = diag::report(format, &compiled.diagnostics, &compiled.sources, color);
    std::io::stdout().write_all(out.as_bytes())?;
    let errors = compiled.diagnostics.iter().any(diag::Diagnostic::is_error);
    let warnings = compiled.diagnostics.iter().any(diag::Diagnostic::is_warning);
    // The process ends right after: freeing every parsed document and the catalog one by
    // one would be about a tenth of lint's time, for memory the exit returns anyway.
    std::mem::forget(compiled);
    Ok(if errors || (deny_warnings && warnings) { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
