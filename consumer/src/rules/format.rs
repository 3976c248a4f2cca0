//! Alerts: a rule's output with `%field` substituted, Falco's text line
//! (`HH:MM:SS.nnnnnnnnn: Priority output`) and Falco's alert JSON
//! (`output, priority, rule, time, output_fields, hostname, source, tags`).

use serde_json::{Map, Value as Json};

use super::fields::{Field, FieldRef, FieldSource, FieldValue};
use super::transform::{apply_all, Transform};
use super::Priority;

/// A parsed output format.
#[derive(Debug, Clone)]
pub struct OutputFormat {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Field(OutputField),
}

/// A `%field` of an output, with the transformers around it
/// (`%toupper(basename(proc.exepath))`) and its `output_fields` key (the
/// reference as written, without `%`).
#[derive(Debug, Clone, PartialEq)]
struct OutputField {
    field: FieldRef,
    /// Innermost first.
    transforms: Vec<Transform>,
    key: String,
}

impl OutputField {
    fn value<'s, S: FieldSource + ?Sized>(&self, src: &'s S) -> Option<FieldValue<'s>> {
        let v = src.field(&self.field)?;
        if self.transforms.is_empty() {
            return Some(v);
        }
        apply_all(&self.transforms, v)
    }
}

/// The reference after a `%` at `b[j..]`: transformers (`tolower(`,
/// `val(` which only names the field), the field and its `[argument]`, and
/// the closing parentheses.  Returns it with the offset after it, or
/// `None` if no field name follows.
fn output_field(text: &str, mut j: usize) -> Result<Option<(OutputField, usize)>, String> {
    let b = text.as_bytes();
    let word_end = |mut k: usize| {
        while k < b.len() && (b[k].is_ascii_alphanumeric() || matches!(b[k], b'.' | b'_')) {
            k += 1;
        }
        k
    };
    // Outermost first as written.
    let mut outer: Vec<Option<Transform>> = Vec::new();
    loop {
        let end = word_end(j);
        if b.get(end) != Some(&b'(') {
            break;
        }
        let word = &text[j..end];
        // Otherwise a field followed by text: "%proc.name(%proc.pid)".
        match (word, Transform::by_name(word)) {
            ("val", _) => outer.push(None),
            (_, Some(t)) => outer.push(Some(t)),
            _ => break,
        }
        j = end + 1;
    }
    let name_start = j;
    let mut name_end = word_end(j);
    // A sentence may end right after a field: "file %fd.name."
    while name_end > name_start && b[name_end - 1] == b'.' {
        name_end -= 1;
    }
    if name_end == name_start {
        if outer.is_empty() {
            return Ok(None);
        }
        return Err("expected a field inside the transformer".into());
    }
    j = name_end;
    let mut arg = None;
    if b.get(j) == Some(&b'[') {
        match text[j..].find(']') {
            Some(close) => {
                arg = Some(&text[j + 1..j + close]);
                j += close + 1;
            }
            None => return Err("expected ']' after the field argument".into()),
        }
    }
    let field = FieldRef::resolve(&text[name_start..name_end], arg)?;
    let mut key = field.to_string();
    for t in outer.iter().rev() {
        if b.get(j) != Some(&b')') {
            return Err(format!(
                "expected ')' to close {}(",
                t.map_or("val", Transform::name)
            ));
        }
        j += 1;
        key = format!("{}({key})", t.map_or("val", Transform::name));
    }
    let transforms = outer.into_iter().rev().flatten().collect();
    Ok(Some((
        OutputField {
            field,
            transforms,
            key,
        },
        j,
    )))
}

/// Text printed for a field without a value, as Falco prints it.
pub const MISSING: &str = "<NA>";

impl OutputFormat {
    /// Parses `%field` references (`%proc.name`, `%proc.aname[2]`,
    /// `%evt.arg.flags`, `%(proc.name)`; `%%` is a percent sign), with
    /// Falco's transformers around the field (`%tolower(proc.name)`,
    /// `%len(proc.args)`).  Errors carry the byte offset of the bad
    /// reference.
    pub fn parse(text: &str) -> Result<OutputFormat, (usize, String)> {
        let b = text.as_bytes();
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] != b'%' {
                let next = text[i..].find('%').map_or(text.len(), |n| i + n);
                lit.push_str(&text[i..next]);
                i = next;
                continue;
            }
            if b.get(i + 1) == Some(&b'%') {
                lit.push('%');
                i += 2;
                continue;
            }
            let start = i;
            let paren = b.get(i + 1) == Some(&b'(');
            let j = i + 1 + usize::from(paren);
            let Some((field, mut j)) =
                output_field(text, j).map_err(|m| (start, format!("in output: {m}")))?
            else {
                lit.push('%');
                i += 1;
                continue;
            };
            if paren {
                if b.get(j) != Some(&b')') {
                    return Err((start, "expected ')' to close '%('".into()));
                }
                j += 1;
            }
            if !lit.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut lit)));
            }
            pieces.push(Piece::Field(field));
            i = j;
        }
        if !lit.is_empty() {
            pieces.push(Piece::Text(lit));
        }
        Ok(OutputFormat { pieces })
    }

    /// The fields named, in order, without repeats (a field under a
    /// transformer counts as another).
    pub fn fields(&self) -> Vec<&FieldRef> {
        self.output_fields().into_iter().map(|f| &f.field).collect()
    }

    fn output_fields(&self) -> Vec<&OutputField> {
        let mut out: Vec<&OutputField> = Vec::new();
        for p in &self.pieces {
            if let Piece::Field(f) = p {
                if !out.contains(&f) {
                    out.push(f);
                }
            }
        }
        out
    }

    /// The output for one event.
    pub fn render<S: FieldSource + ?Sized>(&self, src: &S) -> String {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Field(f) => match f.value(src) {
                    Some(v) => out.push_str(&v.render()),
                    None => out.push_str(MISSING),
                },
            }
        }
        out
    }

    /// `output_fields` for one event: field → value (null if missing).
    pub fn values<S: FieldSource + ?Sized>(&self, src: &S) -> Map<String, Json> {
        self.output_fields()
            .into_iter()
            .map(|f| {
                // Falco's JSON gives evt.time as ns since the epoch.
                let v = if f.field.field == Field::EvtTime && f.transforms.is_empty() {
                    src.field(&FieldRef::plain(Field::EvtRawtime))
                } else {
                    f.value(src)
                };
                (f.key.clone(), v.map_or(Json::Null, |v| v.to_json()))
            })
            .collect()
    }
}

/// `source` of alerts raised by rules on system call events.
pub const SOURCE_SYSCALL: &str = "syscall";

/// `source` of Kestrel's own alerts (such as event drops), as Falco names
/// its internal messages.  Their JSON `output` is the message alone, without
/// the time and priority prefix, and carries no `tags`.
pub const SOURCE_INTERNAL: &str = "internal";

/// One alert, ready to print.  Rendering (Falco's text line and JSON, with
/// their configuration switches) lives in [`crate::output`].
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Rule name.
    pub rule: String,
    /// Rule priority.
    pub priority: Priority,
    /// Output with fields substituted.
    pub output: String,
    /// Event time, ns since the Unix epoch.
    pub time_ns: i128,
    /// Field values named by the output.
    pub output_fields: Map<String, Json>,
    /// Rule tags.
    pub tags: Vec<String>,
    /// Host name.
    pub hostname: String,
    /// Event source: [`SOURCE_SYSCALL`] for rule alerts,
    /// [`SOURCE_INTERNAL`] for Kestrel's own.
    pub source: &'static str,
}

/// `HH:MM:SS.nnnnnnnnn` (UTC), Falco's evt.time.
pub fn clock_time(unix_ns: i128) -> String {
    let secs = unix_ns.div_euclid(1_000_000_000);
    let nanos = unix_ns.rem_euclid(1_000_000_000);
    let sod = secs.rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02}.{nanos:09}",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

impl Alert {
    /// Falco's text line, `time: Priority output`, with Falco's default
    /// switches (see [`crate::output::text_line`]).
    pub fn text_line(&self) -> String {
        crate::output::text_line(self, &crate::output::AlertFormat::default())
    }

    /// Falco's alert JSON object, with Falco's default switches (see
    /// [`crate::output::json_value`]).
    pub fn to_json(&self) -> Json {
        crate::output::json_value(self, &crate::output::AlertFormat::default())
    }
}

/// This machine's host name (empty if it cannot be read).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::fields::{FieldArg, FieldValue};

    struct Fake;
    impl FieldSource for Fake {
        fn event_type(&self) -> u16 {
            0
        }
        fn event_name(&self) -> &str {
            "openat"
        }
        fn field(&self, f: &FieldRef) -> Option<FieldValue<'_>> {
            match (f.field, &f.arg) {
                (Field::ProcName, _) => Some(FieldValue::str("cat")),
                (Field::ProcAname, FieldArg::Index(2)) => Some(FieldValue::str("sshd")),
                (Field::EvtArg, FieldArg::Key(k)) if &**k == "flags" => Some(FieldValue::Uint(0)),
                (Field::ProcPid, _) => Some(FieldValue::Int(42)),
                (Field::EvtTime, _) => Some(FieldValue::str("12:00:00.000000001")),
                (Field::EvtRawtime, _) => Some(FieldValue::Uint(43_200_000_000_001)),
                _ => None,
            }
        }
    }

    #[test]
    fn substitutes_fields_with_arguments() {
        let f = OutputFormat::parse(
            "%evt.time 100%% sure: %proc.name (%proc.pid) gp=%proc.aname[2] flags=%evt.arg.flags file=%fd.name. %(proc.name)x % end",
        )
        .unwrap();
        assert_eq!(
            f.render(&Fake),
            "12:00:00.000000001 100% sure: cat (42) gp=sshd flags=0 file=<NA>. catx % end"
        );
        let v = f.values(&Fake);
        assert_eq!(v["proc.pid"], 42);
        assert_eq!(v["proc.aname[2]"], "sshd");
        assert_eq!(v["fd.name"], Json::Null);
        assert_eq!(v["evt.time"], 43_200_000_000_001u64);
        assert_eq!(v.len(), 6);
    }

    #[test]
    fn bad_references_are_errors() {
        assert_eq!(OutputFormat::parse("x %proc.nmae").unwrap_err().0, 2);
        assert!(OutputFormat::parse("%proc.aname[2").is_err());
        assert!(OutputFormat::parse("%(proc.name").is_err());
        assert_eq!(
            OutputFormat::parse("a %tolower(proc.name").unwrap_err().0,
            2
        );
        assert!(OutputFormat::parse("%nosuch(proc.name)")
            .unwrap_err()
            .1
            .contains("unknown field 'nosuch'"));
        assert!(OutputFormat::parse("%tolower()").is_err());
    }

    /// Falco's transformers work in outputs too: the value is transformed,
    /// and `output_fields` keys the field as written.
    #[test]
    fn transformers_in_outputs() {
        let f = OutputFormat::parse(
            "%toupper(proc.name) %len(proc.name) %toupper(basename(evt.time)) %val(proc.pid) %(tolower(proc.name)) %b64(evt.time) %proc.name. %proc.name(%proc.pid)",
        )
        .unwrap();
        assert_eq!(
            f.render(&Fake),
            "CAT 3 12:00:00.000000001 42 cat <NA> cat. cat(42)"
        );
        let v = f.values(&Fake);
        assert_eq!(v["toupper(proc.name)"], "CAT");
        assert_eq!(v["len(proc.name)"], 3);
        assert_eq!(v["val(proc.pid)"], 42);
        assert_eq!(v["tolower(proc.name)"], "cat");
        assert_eq!(v["b64(evt.time)"], Json::Null);
        assert_eq!(v["proc.name"], "cat");
        // Under a transformer evt.time is the text it transforms.
        assert_eq!(v["toupper(basename(evt.time))"], "12:00:00.000000001");
        assert_eq!(v.len(), 8);
    }

    #[test]
    fn alert_shapes() {
        let a = Alert {
            rule: "R".into(),
            priority: Priority::Warning,
            output: "hello".into(),
            time_ns: 1_507_591_916_746_609_046,
            output_fields: Map::new(),
            tags: vec!["t".into()],
            hostname: "h".into(),
            source: SOURCE_SYSCALL,
        };
        assert_eq!(a.text_line(), "23:31:56.746609046: Warning hello");
        let j = a.to_json();
        assert_eq!(j["time"], "2017-10-09T23:31:56.746609046Z");
        assert_eq!(j["priority"], "Warning");
        assert_eq!(j["source"], "syscall");
        assert_eq!(j["output"], "23:31:56.746609046: Warning hello");
        let keys: Vec<&str> = j.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "hostname",
                "output",
                "output_fields",
                "priority",
                "rule",
                "source",
                "tags",
                "time"
            ]
        );
    }
}
