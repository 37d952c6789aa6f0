//! (e) A `response.jq` filter and a backend answer (split at the first NUL), run the way a
//! call runs them: in a jq worker process under time and memory limits. Needs `TOOLWRIGHT_BIN`
//! (a built toolwright binary) to run filters; without it only the compile is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    toolwright_fuzz::checks::check_jq_bytes(data);
});
