//! (a) Arbitrary bytes as spec files (NUL separates up to four files) through `compile()` and
//! every diagnostic renderer. Use with `-dict=fuzz/dict/spec.dict` (scripts/fuzz.sh does).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    toolwright_fuzz::checks::check_spec_bytes(data);
});
