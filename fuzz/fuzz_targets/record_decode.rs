//! One raw record as the module writes it: parse, decode, print as a JSON
//! line, apply to the process state and match against the default rules.
//! Anything may come back as an error; nothing may panic or read out of
//! bounds.
#![no_main]

use std::sync::OnceLock;

use kestrel::decode::{decode_into, Event};
use kestrel::output::event_line::EventLineWriter;
use kestrel::record::Record;
use kestrel::rules::event::EventFields;
use kestrel::rules::{Engine, EngineOptions};
use kestrel::state::{State, StateOptions};
use libfuzzer_sys::fuzz_target;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let text = include_str!("../../rules/kestrel_rules.yaml");
        Engine::load_texts(&[("kestrel_rules.yaml", text)], EngineOptions::default())
            .expect("the default rules load")
    })
}

fuzz_target!(|data: &[u8]| {
    let engine = engine();
    // The input may hold several records back to back (the fuzzer learns
    // the layout from the seeds): each one that parses is decoded.
    let mut state = State::new(StateOptions::for_replay(None));
    let mut rest = data;
    while !rest.is_empty() {
        let Ok(rec) = Record::parse(rest) else {
            break;
        };
        let len = rec.len();
        let mut ev = Event::default();
        if decode_into(&rec, &mut ev).is_ok() {
            let _ = EventLineWriter::new().write_event_line(&mut std::io::sink(), &ev, 0, 0);
            state.apply(&ev);
            let mut src = EventFields::new(&ev);
            src.state = Some(&state);
            engine.matches(&src, |rule| {
                let _ = rule.output.render(&src);
            });
        }
        rest = &rest[len.max(8).min(rest.len())..];
    }
});
