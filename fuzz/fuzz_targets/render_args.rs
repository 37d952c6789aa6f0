//! (b) Arbitrary arguments (a JSON object, or bytes decoded over the real argument names)
//! validated and rendered for every tool of the bundled catalog; the Logs Insights query must
//! keep the template's fixed text outside its literals.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    toolwright_fuzz::checks::check_args_bytes(data);
});
