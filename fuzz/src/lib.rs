//! ServerState code of toolwright's fuzz targets: the checks (also replayed by
//! `tests/fuzz_regressions.rs`) and the structured spec generator.

pub mod checks;
pub mod structured;
