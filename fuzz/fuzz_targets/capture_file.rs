//! A capture file (`kestrel capture`'s output) as `kestrel replay` reads
//! it: header, then frames, each record decoded.  A bad file is an error
//! naming its offset, never a panic or an out-of-bounds read.
#![no_main]

use kestrel::capture::CaptureFile;
use kestrel::decode::{decode_into, Event};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(capture) = CaptureFile::from_bytes(data.to_vec()) else {
        return;
    };
    let _ = capture.header();
    let mut ev = Event::default();
    for frame in capture.records() {
        let Ok((_at, _ring, rec)) = frame else {
            break;
        };
        let _ = decode_into(&rec, &mut ev);
    }
});
