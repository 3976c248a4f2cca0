// The strict parser of `kmod/kestrel_abi.h`'s X-macro tables, included by
// `build.rs` (which generates `schema.rs` with it) and by the crate's unit
// tests (which feed it malformed tables).

/// One call `NAME(arg, arg, ...)` of an X-macro body.
struct Call {
    name: String,
    args: Vec<String>,
}

/// The body of `#define <name>(<params>)`, continuation lines joined.
fn macro_body(header: &str, name: &str) -> Result<String, String> {
    let lines: Vec<&str> = header.lines().collect();
    let prefix = format!("#define {name}(");
    let start = lines
        .iter()
        .position(|l| l.starts_with(&prefix))
        .ok_or_else(|| format!("{ABI_HEADER}: no `{prefix}...)` table"))?;
    let first = lines[start];
    let close = first
        .find(')')
        .ok_or_else(|| format!("{ABI_HEADER}:{}: unclosed parameter list", start + 1))?;
    let mut body = String::new();
    let mut line = &first[close + 1..];
    let mut i = start;
    loop {
        let (text, more) = match line.trim_end().strip_suffix('\\') {
            Some(t) => (t, true),
            None => (line, false),
        };
        body.push_str(text);
        body.push(' ');
        if !more {
            break;
        }
        i += 1;
        line = lines
            .get(i)
            .ok_or_else(|| format!("{ABI_HEADER}: {name} runs past the end of the file"))?;
    }
    Ok(body)
}

/// Parses `A(x, y) B(z)` into calls; arguments may hold nested calls.
fn parse_calls(body: &str, what: &str) -> Result<Vec<Call>, String> {
    let b = body.as_bytes();
    let mut calls = Vec::new();
    let mut i = 0;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == b.len() {
            return Ok(calls);
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
            i += 1;
        }
        if start == i || i == b.len() || b[i] != b'(' {
            return Err(format!(
                "{ABI_HEADER}: {what}: expected NAME(...) at `{}`",
                &body[start..body.len().min(start + 40)]
            ));
        }
        let name = body[start..i].to_string();
        i += 1;
        let mut depth = 1;
        let mut args = Vec::new();
        let mut arg_start = i;
        while depth > 0 {
            let c = *b.get(i).ok_or_else(|| {
                format!("{ABI_HEADER}: {what}: unbalanced parentheses in {name}(...)")
            })?;
            match c {
                b'(' => depth += 1,
                b')' => depth -= 1,
                b',' if depth == 1 => {
                    args.push(body[arg_start..i].trim().to_string());
                    arg_start = i + 1;
                }
                _ => {}
            }
            if depth == 0 {
                args.push(body[arg_start..i].trim().to_string());
            }
            i += 1;
        }
        calls.push(Call { name, args });
    }
}

fn expect_call(c: &Call, name: &str, nargs: usize, what: &str) -> Result<(), String> {
    if c.name != name || c.args.len() != nargs {
        return Err(format!(
            "{ABI_HEADER}: {what}: expected {name}() with {nargs} arguments, found {}({})",
            c.name,
            c.args.join(", ")
        ));
    }
    Ok(())
}

fn ident(s: &str, what: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!("{ABI_HEADER}: {what}: `{s}` is not an identifier"))
    }
}

fn number(s: &str, what: &str) -> Result<u32, String> {
    s.parse()
        .map_err(|_| format!("{ABI_HEADER}: {what}: `{s}` is not a decimal number"))
}

/// `USER_INT` → `UserInt`.
fn camel(s: &str) -> String {
    s.split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let lower = p.to_ascii_lowercase();
            let mut c = lower.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// Wire encodings a kind may name, and their Rust `WireType` variants.
const WIRES: &[(&str, &str)] = &[
    ("S64", "S64"),
    ("U64", "U64"),
    ("U32", "U32"),
    ("STR", "Str"),
    ("BYTES", "Bytes"),
    ("ARGV", "Argv"),
    ("SOCKADDR", "SockAddr"),
    ("TUPLE", "Tuple"),
];

/// Generates the schema statics from the header's three X-macro tables.
fn schema_rs(header: &str, syscalls: &[(String, u32)]) -> Result<String, String> {
    let mut out = String::new();

    // Parameter kinds.
    let kinds = parse_calls(
        &macro_body(header, "KESTREL_PARAM_KINDS")?,
        "KESTREL_PARAM_KINDS",
    )?;
    let mut kind_names = Vec::new();
    out.push_str(
        "/// How a parameter is filled and encoded (`KESTREL_PARAM_KINDS` in\n\
         /// `kmod/kestrel_abi.h`, which documents each).\n\
         #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]\n\
         pub enum ParamKind {\n",
    );
    let mut wire_arms = String::new();
    for (i, k) in kinds.iter().enumerate() {
        let what = format!("KESTREL_PARAM_KINDS entry {}", i + 1);
        expect_call(k, "K", 3, &what)?;
        let name = ident(&k.args[0], &what)?;
        let nr = number(&k.args[1], &what)?;
        if nr as usize != i + 1 {
            return Err(format!(
                "{ABI_HEADER}: {what}: {name} is numbered {nr}, expected {}",
                i + 1
            ));
        }
        let wire = WIRES
            .iter()
            .find(|(w, _)| *w == k.args[2])
            .ok_or_else(|| format!("{ABI_HEADER}: {what}: unknown wire type `{}`", k.args[2]))?
            .1;
        if kind_names.contains(&name) {
            return Err(format!("{ABI_HEADER}: {what}: kind {name} defined twice"));
        }
        out.push_str(&format!(
            "    /// `KESTREL_PK_{name}` (number {nr}), encoded as {}.\n    {} = {nr},\n",
            k.args[2],
            camel(&name)
        ));
        wire_arms.push_str(&format!(
            "            ParamKind::{} => WireType::{wire},\n",
            camel(&name)
        ));
        kind_names.push(name);
    }
    out.push_str("}\n\n");
    out.push_str(&format!(
        "impl ParamKind {{\n    /// How the parameter's bytes are encoded in a record.\n    \
         pub const fn wire(self) -> WireType {{\n        match self {{\n{wire_arms}        }}\n    }}\n}}\n\n"
    ));

    // Formats.
    let formats = parse_calls(
        &macro_body(header, "KESTREL_PARAM_FORMATS")?,
        "KESTREL_PARAM_FORMATS",
    )?;
    let mut format_names = Vec::new();
    out.push_str(
        "/// How the consumer may render an integer parameter besides its raw value\n\
         /// (`KESTREL_PARAM_FORMATS` in `kmod/kestrel_abi.h`).\n\
         #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]\n\
         pub enum ParamFormat {\n",
    );
    for (i, f) in formats.iter().enumerate() {
        let what = format!("KESTREL_PARAM_FORMATS entry {}", i + 1);
        expect_call(f, "F", 2, &what)?;
        let name = ident(&f.args[0], &what)?;
        let nr = number(&f.args[1], &what)?;
        if nr as usize != i {
            return Err(format!(
                "{ABI_HEADER}: {what}: {name} is numbered {nr}, expected {i}"
            ));
        }
        out.push_str(&format!(
            "    /// `{name}`.\n    {} = {nr},\n",
            camel(&name)
        ));
        format_names.push(name);
    }
    out.push_str("}\n\n");

    // Events.
    let events = parse_calls(
        &macro_body(header, "KESTREL_EVENT_TABLE")?,
        "KESTREL_EVENT_TABLE",
    )?;
    let mut max_params = 0;
    let mut ids = Vec::new();
    out.push_str(
        "/// Every event type, indexed by number - 1.\nstatic SCHEMAS: &[EventSchema] = &[\n",
    );
    for (i, e) in events.iter().enumerate() {
        let what = format!("KESTREL_EVENT_TABLE entry {}", i + 1);
        expect_call(e, "EV", 6, &what)?;
        let id = ident(&e.args[0], &what)?;
        let what = format!("KESTREL_EVENT_TABLE entry {} ({id})", i + 1);
        let nr = number(&e.args[1], &what)?;
        if nr as usize != i + 1 {
            return Err(format!(
                "{ABI_HEADER}: {what}: numbered {nr}, expected {}",
                i + 1
            ));
        }
        if ids.contains(&id) {
            return Err(format!("{ABI_HEADER}: {what}: ID defined twice"));
        }
        ids.push(id.clone());
        let name = ident(&e.args[2], &what)?;
        let enter = match e.args[3].as_str() {
            "E" => true,
            "X" | "K" => false,
            other => {
                return Err(format!(
                    "{ABI_HEADER}: {what}: direction `{other}` is not E, X or K"
                ))
            }
        };
        let syscall = match (e.args[3].as_str(), e.args[4].as_str()) {
            ("K", "_") => "None".to_string(),
            ("K", s) => {
                return Err(format!(
                    "{ABI_HEADER}: {what}: a K event names syscall `{s}`"
                ))
            }
            (_, "_") if id == "GENERIC" => "None".to_string(),
            (_, s) => {
                let s = ident(s, &what)?;
                let nr = syscalls
                    .iter()
                    .find(|(n, _)| *n == s)
                    .ok_or_else(|| format!("{ABI_HEADER}: {what}: no x86_64 syscall `{s}`"))?
                    .1;
                format!("Some({nr})")
            }
        };
        let params = parse_calls(&e.args[5], &what)?;
        max_params = max_params.max(params.len());
        let mut names: Vec<String> = Vec::new();
        let mut ps = String::new();
        for (j, p) in params.iter().enumerate() {
            let what = format!("{what} parameter {j}");
            expect_call(p, "P", 5, &what)?;
            let kind = ident(&p.args[0], &what)?;
            if !kind_names.contains(&kind) {
                return Err(format!("{ABI_HEADER}: {what}: unknown kind `{kind}`"));
            }
            let pname = ident(&p.args[1], &what)?;
            if names.contains(&pname) {
                return Err(format!(
                    "{ABI_HEADER}: {what}: parameter name `{pname}` used twice"
                ));
            }
            let a = number(&p.args[2], &what)?;
            let b = number(&p.args[3], &what)?;
            if a > 6 || b > 255 {
                return Err(format!(
                    "{ABI_HEADER}: {what}: argument numbers {a}, {b} out of range"
                ));
            }
            let fmt = ident(&p.args[4], &what)?;
            if !format_names.contains(&fmt) {
                return Err(format!("{ABI_HEADER}: {what}: unknown format `{fmt}`"));
            }
            if kind == "RES" && (j != 0 || e.args[3] != "X") && id != "GENERIC" {
                return Err(format!(
                    "{ABI_HEADER}: {what}: res must come first, in exit events only"
                ));
            }
            ps.push_str(&format!(
                "            ParamSchema {{ name: \"{pname}\", kind: ParamKind::{}, format: ParamFormat::{}, arg: {a}, sub: {b} }},\n",
                camel(&kind),
                camel(&fmt)
            ));
            names.push(pname);
        }
        if e.args[3] == "X" && names.first().map(String::as_str) != Some("res") {
            return Err(format!(
                "{ABI_HEADER}: {what}: a syscall exit event must start with res"
            ));
        }
        out.push_str(&format!(
            "    EventSchema {{\n        event_type: {nr},\n        id: \"{id}\",\n        name: \"{name}\",\n        \
             enter: {enter},\n        syscall: {syscall},\n        params: &[\n{ps}        ],\n    }},\n"
        ));
    }
    out.push_str("];\n\n");
    out.push_str(&format!(
        "/// The most parameters any event in the table has.\npub const TABLE_MAX_PARAMS: usize = {max_params};\n"
    ));
    Ok(out)
}
