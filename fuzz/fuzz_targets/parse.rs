//! Any bytes, with or without an HTTP charset: `parse` returns a reading or
//! an error, and never reaches its panic boundary (a dependency panicking
//! inside is a bug to fix even though the boundary would contain it).
#![no_main]

use libfuzzer_sys::fuzz_target;
use newswatch::ingest::feed::{self, ParseError};

fuzz_target!(|data: &[u8]| {
    let (charset, bytes) = match data.split_first() {
        Some((0, rest)) => (Some("utf-16"), rest),
        Some((1, rest)) => (Some("windows-1252"), rest),
        _ => (None, data),
    };
    if let Err(ParseError::Panicked(message)) = feed::parse(bytes, charset) {
        panic!("the parser panicked: {message}");
    }
});
