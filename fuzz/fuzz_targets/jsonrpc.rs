//! (c) Arbitrary bytes POSTed to `/mcp` of the stateless Streamable HTTP router, in process
//! (`tower::ServiceExt::oneshot` on one current-thread runtime); the first byte picks headers.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: {
    toolwright_fuzz::checks::init_env();
    std::sync::LazyLock::force(&toolwright_fuzz::checks::SERVER);
}, |data: &[u8]| {
    toolwright_fuzz::checks::check_jsonrpc_bytes(data);
});
