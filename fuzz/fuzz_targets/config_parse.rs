//! The configuration file (`kestrel run -c FILE`): YAML read and checked,
//! and each line also tried as a `-o key=value` override applied to it.
//! Errors are fine (they name the file and line); a panic is a bug.
#![no_main]

use kestrel::config::{Config, Override};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Config::from_text("fuzz.yaml", text, &[]);
    let overrides: Vec<Override> = text
        .lines()
        .take(8)
        .filter_map(|l| Override::parse(l).ok())
        .collect();
    if !overrides.is_empty() {
        let _ = Config::from_text("fuzz.yaml", "", &overrides);
    }
});
