//! Any text as an OPML feed list: outlines, or an error at a position;
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        newswatch::commands::fuzzing::opml(text);
    }
});
