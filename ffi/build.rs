//! Generates the Rust ABI types from the module's one ABI header (bindgen for
//! the structs and constants, a small strict parser for its event table), and
//! the x86_64 syscall name table from the system's `asm/unistd_64.h`.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

/// The header both sides of the ABI are built from.
const ABI_HEADER: &str = "../kmod/kestrel_abi.h";

/// Where Debian (linux-libc-dev) and other distributions keep the x86_64
/// syscall numbers.
const UNISTD_CANDIDATES: &[&str] = &[
    "/usr/include/x86_64-linux-gnu/asm/unistd_64.h",
    "/usr/include/asm/unistd_64.h",
];

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-changed={ABI_HEADER}");
    println!("cargo:rerun-if-changed=schema_gen.rs");

    let bindings = bindgen::Builder::default()
        .header(ABI_HEADER)
        .allowlist_type("kestrel_.*")
        .allowlist_var("KESTREL_.*")
        .allowlist_type("__u(8|16|32|64)")
        .rustified_non_exhaustive_enum("kestrel_event_type")
        // The ioctl numbers are _IOR()-style macros, which bindgen's own
        // evaluator cannot expand: let clang evaluate them, so the numbers
        // come from the header as the module sees them.
        .clang_macro_fallback()
        .clang_macro_fallback_build_dir(&out)
        .derive_default(true)
        .derive_debug(true)
        .derive_copy(true)
        .layout_tests(true)
        .generate()
        .unwrap_or_else(|e| {
            panic!("bindgen failed on {ABI_HEADER} (is libclang-dev installed?): {e}")
        });
    bindings
        .write_to_file(out.join("abi.rs"))
        .expect("write bindgen output");

    let unistd = UNISTD_CANDIDATES
        .iter()
        .map(Path::new)
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!("no asm/unistd_64.h found in {UNISTD_CANDIDATES:?}: install linux-libc-dev")
        });
    println!("cargo:rerun-if-changed={}", unistd.display());
    let text = fs::read_to_string(unistd).expect("read unistd_64.h");
    let mut table = String::from(
        "/// x86_64 syscall names and numbers, from asm/unistd_64.h, sorted by number.\n\
         pub const SYSCALLS: &[(&str, u32)] = &[\n",
    );
    let mut entries: Vec<(String, u32)> = text
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("#define __NR_")?;
            let mut parts = rest.split_whitespace();
            let name = parts.next()?;
            let nr: u32 = parts.next()?.parse().ok()?;
            Some((name.to_string(), nr))
        })
        .collect();
    entries.sort_by_key(|e| e.1);
    for (name, nr) in &entries {
        table.push_str(&format!("    (\"{name}\", {nr}),\n"));
    }
    table.push_str("];\n");
    fs::write(out.join("syscalls.rs"), table).expect("write syscall table");

    let header = fs::read_to_string(ABI_HEADER).expect("read the ABI header");
    match schema_rs(&header, &entries) {
        Ok(schema) => fs::write(out.join("schema.rs"), schema).expect("write schema table"),
        Err(e) => panic!("{e}"),
    }
}

// The table parser, shared with the crate's unit tests.
include!("schema_gen.rs");
