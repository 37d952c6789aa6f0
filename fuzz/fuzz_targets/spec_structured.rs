//! (a) Structured: YAML documents built from the real field names of the spec format, real
//! enum values and templates, then the same checks as `spec_compile`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use toolwright_fuzz::structured::Specs;

fuzz_target!(init: {
    // The generator starts every document from a base; the bases must be a valid catalog, or
    // the mutations explore only error paths.
    toolwright_fuzz::structured::assert_bases_compile();
}, |specs: Specs| {
    let files = specs.to_files();
    toolwright_fuzz::checks::check_spec_files(&files);
});
