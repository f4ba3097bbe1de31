//! A config file and a rule file (split at the first NUL byte), loaded as
//! the daemon loads them: a config, or located errors; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(2, |&b| b == 0);
    let config = parts.next().unwrap_or_default();
    let rules = parts.next().unwrap_or_default();
    if let (Ok(config), Ok(rules)) = (std::str::from_utf8(config), std::str::from_utf8(rules)) {
        newswatch::commands::fuzzing::config(config, rules);
    }
});
