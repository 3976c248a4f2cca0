//! A rules file as `kestrel run` and `kestrel rules validate` load it
//! (YAML, macros, lists, rules, exceptions, compiled conditions), and the
//! same text as one condition.  Errors are fine; a panic, a stack overflow
//! or a hang is a bug.
#![no_main]

use kestrel::rules::{condition, Engine, EngineOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = condition::parse(text);
    let _ = Engine::load_texts(&[("fuzz.yaml", text)], EngineOptions::default());
});
