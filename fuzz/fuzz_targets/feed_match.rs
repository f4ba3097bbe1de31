//! Feed bytes, with or without an HTTP charset, through parsing,
//! normalising and matching against rules of every kind: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (charset, bytes) = match data.split_first() {
        Some((0, rest)) => (Some("utf-16"), rest),
        Some((1, rest)) => (Some("windows-1252"), rest),
        _ => (None, data),
    };
    newswatch::commands::fuzzing::feed_to_matches(bytes, charset);
});
