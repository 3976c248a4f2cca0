//! Where an event type keeps the parameters the field code reads, worked
//! out once per type from the ABI's event table (and what the type means,
//! from its roles in `kestrel_abi::roles`), so that matching looks up no
//! names.

use std::sync::OnceLock;

use kestrel_abi::EventClass as Class;

/// Parameters the field code reads, by name in the ABI's event table.
#[derive(Debug, Clone, Copy)]
#[repr(u8)]
pub(super) enum K {
    Res,
    Flags,
    Mode,
    Fullpath,
    Name,
    Fd,
    Tuple,
    Addr,
    Comm,
    Exe,
    Args,
    Cwd,
    Tty,
    Vpid,
    Vtid,
    Env,
    Euid,
    Loginuid,
    Egid,
}

pub(super) const KEY_NAMES: [&str; 19] = [
    "res", "flags", "mode", "fullpath", "name", "fd", "tuple", "addr", "comm", "exe", "args",
    "cwd", "tty", "vpid", "vtid", "env", "euid", "loginuid", "egid",
];

pub(super) const NO_SLOT: u8 = u8::MAX;

/// Per event type, worked out once from the ABI's event table so that
/// matching compares no names: where each parameter is, and the kind of
/// call.
#[derive(Debug, Clone, Copy)]
pub(super) struct TypeInfo {
    pub(super) slots: [u8; KEY_NAMES.len()],
    pub(super) class: Class,
    /// `res` is the new fd (open*, socket, accept, dup*, ...).
    pub(super) fd_from_res: bool,
    /// The local end is the server's (accept, bind, listen).
    pub(super) server_side: bool,
    /// Where `fs.path.name`, `.source` and `.target` read their path, and
    /// whether it is made absolute (from `kestrel_abi::roles`).
    pub(super) fs_paths: [Option<(u8, bool)>; 3],
}

pub(super) const UNKNOWN_TYPE: TypeInfo = TypeInfo {
    slots: [NO_SLOT; KEY_NAMES.len()],
    class: Class::Other,
    fd_from_res: false,
    server_side: false,
    fs_paths: [None; 3],
};

pub(super) fn type_info(event_type: u16) -> &'static TypeInfo {
    static TABLE: OnceLock<Vec<TypeInfo>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let schemas = kestrel_abi::schemas();
        let max = schemas.iter().map(|s| s.event_type).max().unwrap_or(0);
        let mut t = vec![UNKNOWN_TYPE; usize::from(max) + 1];
        for s in schemas {
            let mut info = UNKNOWN_TYPE;
            for (k, name) in KEY_NAMES.iter().enumerate() {
                if let Some(i) = s.param_index(name) {
                    info.slots[k] = u8::try_from(i).unwrap_or(NO_SLOT);
                }
            }
            // What the event means comes from the one roles table.
            let roles = kestrel_abi::event_roles(s.event_type);
            info.class = roles.class;
            info.fd_from_res = roles.fd_from_res;
            info.server_side = roles.server_side;
            for (n, role) in roles.fs_paths.iter().enumerate() {
                info.fs_paths[n] = role.and_then(|pp| {
                    let slot = u8::try_from(s.param_index(pp.path)?).ok()?;
                    Some((slot, pp.resolve))
                });
            }
            t[usize::from(s.event_type)] = info;
        }
        t
    });
    table.get(usize::from(event_type)).unwrap_or(&UNKNOWN_TYPE)
}
