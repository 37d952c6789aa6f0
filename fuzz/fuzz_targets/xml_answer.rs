//! (f) A backend answer read as `response.format: xml` (AWS Query and EC2 answers): converted
//! to JSON within the depth and size limits, or refused with a message, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    toolwright_fuzz::checks::check_xml_bytes(data);
});
