//! Signals: SIGINT/SIGTERM stop (a second one exits at once), SIGHUP
//! reloads, SIGUSR1 reopens the outputs' files.  The handlers only set
//! flags the run loop polls.

use std::sync::atomic::{AtomicBool, Ordering};

/// Set by SIGINT or SIGTERM: stop capture, drain, flush, exit.
pub static STOP: AtomicBool = AtomicBool::new(false);
/// Set by SIGHUP: reload configuration and rules.
pub static RELOAD: AtomicBool = AtomicBool::new(false);
/// Set by SIGUSR1: reopen file outputs.
pub static REOPEN: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop(_: libc::c_int) {
    // Relaxed: flags polled by the run loop; no data rides on them.  swap
    // tells whether a stop was already asked for.
    if STOP.swap(true, Ordering::Relaxed) {
        const MSG: &[u8] = b"kestrel: second signal: exiting at once\n";
        // SAFETY: write(2) and _exit(2) are async-signal-safe; MSG is a
        // valid buffer of MSG.len() bytes.
        unsafe {
            libc::write(2, MSG.as_ptr().cast(), MSG.len());
            libc::_exit(1);
        }
    }
}

extern "C" fn on_reload(_: libc::c_int) {
    // Relaxed: see on_stop.
    RELOAD.store(true, Ordering::Relaxed);
}

extern "C" fn on_reopen(_: libc::c_int) {
    // Relaxed: see on_stop.
    REOPEN.store(true, Ordering::Relaxed);
}

/// Installs the stop handlers (SIGINT, SIGTERM) and, with `service`, the
/// reload (SIGHUP) and reopen (SIGUSR1) ones.  No SA_RESTART: a `poll()`
/// returns EINTR so the loop sees the flag at once.
pub fn install(service: bool) -> Result<(), String> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let mut handlers: Vec<(Signal, extern "C" fn(libc::c_int))> =
        vec![(Signal::SIGINT, on_stop), (Signal::SIGTERM, on_stop)];
    if service {
        handlers.push((Signal::SIGHUP, on_reload));
        handlers.push((Signal::SIGUSR1, on_reopen));
    }
    for (sig, handler) in handlers {
        let action = SigAction::new(
            SigHandler::Handler(handler),
            SaFlags::empty(),
            SigSet::empty(),
        );
        // SAFETY: the handlers only touch atomics and call write/_exit,
        // all async-signal-safe, and replace no handler we rely on.
        unsafe { sigaction(sig, &action) }
            .map_err(|e| format!("installing the {sig} handler: {e}"))?;
    }
    Ok(())
}

/// Takes (reads and clears) a flag.
pub fn take(flag: &AtomicBool) -> bool {
    // Relaxed: see on_stop.
    flag.swap(false, Ordering::Relaxed)
}
