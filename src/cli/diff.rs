//! `toolwright diff OLD NEW`: what changed between two catalogs, breaking changes first.

use std::io::Write;
use std::process::ExitCode;

use crate::diff::report::{self, Format, Labels, SideErrors};
use crate::diff::side::{self, SideArg};
use crate::diff::{self, Catalogue, SideName};

/// Arguments of `toolwright diff`.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The catalog before: a directory (or file) of specs, or `git:REV[:PATH]`, PATH at
    /// revision REV of the current repository (PATH defaults to NEW's path, else tools.d).
    pub old: String,
    /// The catalog after, in the same forms.
    pub new: String,
    /// Output format (`markdown` for a pull request comment).
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// Compares the two sides and prints the report: exit 0 when nothing is breaking, 1 when
/// something is, 2 when a side cannot be read or does not compile.
pub fn run(args: DiffArgs) -> anyhow::Result<ExitCode> {
    let old_arg = SideArg::parse(&args.old).map_err(anyhow::Error::msg)?;
    let new_arg = SideArg::parse(&args.new).map_err(anyhow::Error::msg)?;
    let old = side::load(&old_arg, &new_arg).map_err(anyhow::Error::msg)?;
    let new = side::load(&new_arg, &old_arg).map_err(anyhow::Error::msg)?;
    for (name, s) in [("old", &old), ("new", &new)] {
        for note in &s.notes {
            eprintln!("note: {name} side `{}`: {note}", s.label);
        }
    }
    let labels = Labels { old: &old.label, new: &new.label };
    let mut broken = Vec::new();
    for (name, s) in [(SideName::Old, &old), (SideName::New, &new)] {
        if s.compiled.catalog.is_none() {
            broken.push(SideErrors { side: name, label: &s.label, diagnostics: &s.compiled.diagnostics, sources: &s.compiled.sources });
        }
    }
    if !broken.is_empty() {
        std::io::stdout().write_all(report::errors(args.format, labels, &broken).as_bytes())?;
        return Ok(ExitCode::from(super::EXIT_USAGE));
    }
    let (Some(old_catalog), Some(new_catalog)) = (&old.compiled.catalog, &new.compiled.catalog) else {
        return Ok(ExitCode::from(super::EXIT_USAGE));
    };
    let mut found =
        diff::diff(Catalogue { catalog: old_catalog, root: Some(&old.root) }, Catalogue { catalog: new_catalog, root: Some(&new.root) });
    for change in &mut found.changes {
        if let Some(source) = &mut change.source {
            let side = if source.side == SideName::Old { &old } else { &new };
            source.file = side.display(&source.file);
        }
    }
    std::io::stdout().write_all(report::changes(args.format, &found, labels).as_bytes())?;
    Ok(if found.is_breaking() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
