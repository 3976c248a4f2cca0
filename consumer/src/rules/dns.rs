//! Domain names for `fd.cip.name`, `fd.sip.name`, `fd.lip.name` and
//! `fd.rip.name`, the way Falco answers them: the names a condition
//! compares with are resolved (`getaddrinfo`) and kept fresh by a
//! background thread; an address "has" a name when the name resolved to
//! it.  Nothing is ever resolved on the matching path: until a name has
//! been resolved once, no address has it.
//!
//! Names are registered when a condition is compiled ([`watch`]); the
//! resolver thread starts with the first lookup ([`names_of`]), so
//! `kestrel rules validate` resolves nothing.

use std::collections::HashMap;
use std::net::{IpAddr, ToSocketAddrs};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

/// How often every watched name is resolved again.
pub const REFRESH: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Registry {
    /// Name → the addresses it last resolved to (empty: not yet, or none).
    names: HashMap<Box<str>, Vec<IpAddr>>,
    resolver_started: bool,
}

fn registry() -> &'static Mutex<Registry> {
    static R: OnceLock<Mutex<Registry>> = OnceLock::new();
    R.get_or_init(Mutex::default)
}

/// Wakes the resolver thread when a new name is watched.
fn new_name() -> &'static Condvar {
    static C: OnceLock<Condvar> = OnceLock::new();
    C.get_or_init(Condvar::new)
}

/// Registers `name` as one a condition compares with.
pub fn watch(name: &str) {
    let mut r = registry().lock().unwrap_or_else(|e| e.into_inner());
    if !r.names.contains_key(name) {
        r.names.insert(name.into(), Vec::new());
        new_name().notify_all();
    }
}

/// Sets the addresses of `name` as if it had just resolved to them (the
/// resolver thread and tests).
pub fn set_addresses(name: &str, addrs: Vec<IpAddr>) {
    let mut r = registry().lock().unwrap_or_else(|e| e.into_inner());
    r.names.insert(name.into(), addrs);
}

fn resolve(name: &str) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = (name, 0u16)
        .to_socket_addrs()
        .map(|it| it.map(|a| a.ip()).collect())
        .unwrap_or_default();
    out.sort();
    out.dedup();
    out
}

fn start_resolver(r: &mut Registry) {
    if r.resolver_started {
        return;
    }
    r.resolver_started = true;
    let spawned = std::thread::Builder::new()
        .name("kestrel-dns".into())
        .spawn(|| loop {
            let names: Vec<Box<str>> = {
                let r = registry().lock().unwrap_or_else(|e| e.into_inner());
                r.names.keys().cloned().collect()
            };
            for n in names {
                let addrs = resolve(&n);
                if !addrs.is_empty() {
                    set_addresses(&n, addrs);
                }
            }
            let r = registry().lock().unwrap_or_else(|e| e.into_inner());
            let known = r.names.len();
            // Until the refresh is due, or a name is added.
            let _ = new_name()
                .wait_timeout_while(r, REFRESH, |r| r.names.len() == known)
                .unwrap_or_else(|e| e.into_inner());
        });
    if let Err(e) = spawned {
        log::warn!("cannot start the DNS resolver thread: {e}");
    }
}

/// The watched names that resolved to `ip`, in name order.
pub fn names_of(ip: IpAddr) -> Vec<Box<str>> {
    let mut r = registry().lock().unwrap_or_else(|e| e.into_inner());
    if r.names.is_empty() {
        return Vec::new();
    }
    start_resolver(&mut r);
    let mut out: Vec<Box<str>> = r
        .names
        .iter()
        .filter(|(_, a)| a.contains(&ip))
        .map(|(n, _)| n.clone())
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_has_the_names_that_resolved_to_it() {
        let ip: IpAddr = "203.0.113.77".parse().unwrap();
        assert!(names_of(ip).is_empty());
        watch("c2.test.invalid");
        set_addresses("c2.test.invalid", vec![ip]);
        watch("other.test.invalid");
        assert_eq!(names_of(ip), vec![Box::<str>::from("c2.test.invalid")]);
    }

    #[test]
    fn names_resolve_through_the_system_resolver() {
        // localhost resolves through /etc/hosts, without a network.  (The
        // resolver thread calls the same function; other tests' names may
        // keep it busy with timeouts, so it is not waited for here.)
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(resolve("localhost").contains(&lo));
        assert!(resolve("name with spaces.invalid").is_empty());
        watch("localhost");
        let _ = names_of(lo);
        assert!(registry().lock().unwrap().resolver_started);
    }
}
