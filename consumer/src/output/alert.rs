//! Alerts as Falco prints them: the text line and the alert JSON object,
//! with the `falco.yaml` switches that shape them ([`AlertFormat`]).
//!
//! Facts from Falco's documentation and `falco.yaml`:
//!
//! - the text line is `<time>: <Priority> <output>`, where the time is
//!   `%evt.time` (`HH:MM:SS.nnnnnnnnn`) or, with `time_format_iso_8601`,
//!   `%evt.time.iso8601` (`2017-10-09T23:31:56.746609046+0000`);
//! - the JSON object has the keys `hostname`, `output`, `output_fields`,
//!   `priority`, `rule`, `source`, `tags`, `time`, in that (sorted) order;
//!   `time` is always ISO 8601 UTC with nanoseconds and a `Z`; `output` is
//!   the whole text line and is left out when `json_include_output_property`
//!   is off, `tags` likewise with `json_include_tags_property`;
//!   `output_fields` also holds the time field of the text line's prefix
//!   (`evt.time`, or `evt.time.iso8601`);
//! - internal alerts (source `internal`) carry the bare message as `output`
//!   and no `tags`.
//!
//! Kestrel differs in one point, on purpose: `%evt.time` is printed in UTC,
//! not in the local time zone (hosts and containers rarely agree on one),
//! and control characters in the text line are escaped as JSON escapes
//! them, so that one alert is always one line.

use std::io::{self, Write};

use serde::ser::{Serialize, SerializeMap, SerializeStruct, Serializer};
use serde_json::Value as Json;

use super::event_line::format_wall_time;
use crate::rules::format::{clock_time, Alert, SOURCE_INTERNAL};

/// How alerts are rendered, in the terms of `falco.yaml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertFormat {
    /// `json_output`: Falco's JSON object instead of the text line.
    pub json: bool,
    /// `json_include_output_property`: the JSON object carries `output`.
    pub include_output: bool,
    /// `json_include_tags_property`: the JSON object carries `tags`.
    pub include_tags: bool,
    /// `time_format_iso_8601`: the text line starts with an ISO 8601 time
    /// instead of `HH:MM:SS.nnnnnnnnn`.
    pub iso8601_time: bool,
}

impl Default for AlertFormat {
    /// Falco's defaults: text lines; in JSON, `output` and `tags` included.
    fn default() -> Self {
        AlertFormat {
            json: false,
            include_output: true,
            include_tags: true,
            iso8601_time: false,
        }
    }
}

/// `2017-10-09T23:31:56.746609046+0000`: Falco's `%evt.time.iso8601`.
pub fn iso8601_offset_time(unix_ns: i128) -> String {
    let mut t = format_wall_time(unix_ns);
    t.pop(); // the 'Z'
    t.push_str("+0000");
    t
}

/// Appends `s`, escaping control characters (below U+0020, and only those)
/// as JSON does.
fn push_escaping_controls(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
}

/// Falco's text line for `alert`: `<time>: <Priority> <output>`, the time as
/// `fmt.iso8601_time` asks.  Never contains a newline.
pub fn text_line(alert: &Alert, fmt: &AlertFormat) -> String {
    let time = if fmt.iso8601_time {
        iso8601_offset_time(alert.time_ns)
    } else {
        clock_time(alert.time_ns)
    };
    let mut s = String::with_capacity(time.len() + alert.output.len() + 16);
    s.push_str(&time);
    s.push_str(": ");
    s.push_str(alert.priority.name());
    s.push(' ');
    push_escaping_controls(&mut s, &alert.output);
    s
}

/// The alert JSON object, serialized straight from the borrowed alert.
struct JsonAlert<'a> {
    alert: &'a Alert,
    fmt: &'a AlertFormat,
}

/// `output_fields` plus the time field of the text line's prefix.
struct OutputFields<'a> {
    alert: &'a Alert,
    fmt: &'a AlertFormat,
}

impl Serialize for OutputFields<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let fields = &self.alert.output_fields;
        let internal = self.alert.source == SOURCE_INTERNAL;
        let time_key = if self.fmt.iso8601_time {
            "evt.time.iso8601"
        } else {
            "evt.time"
        };
        let add_time = !internal && !fields.contains_key(time_key);
        let mut m = s.serialize_map(Some(fields.len() + usize::from(add_time)))?;
        for (k, v) in fields {
            m.serialize_entry(k, v)?;
        }
        if add_time {
            if self.fmt.iso8601_time {
                m.serialize_entry(time_key, &iso8601_offset_time(self.alert.time_ns))?;
            } else {
                // As Falco: evt.time in JSON is ns since the epoch.
                m.serialize_entry(time_key, &(self.alert.time_ns as i64))?;
            }
        }
        m.end()
    }
}

impl Serialize for JsonAlert<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let a = self.alert;
        let internal = a.source == SOURCE_INTERNAL;
        let with_output = self.fmt.include_output || internal;
        let with_tags = self.fmt.include_tags && !internal;
        let mut m = s.serialize_struct(
            "Alert",
            6 + usize::from(with_output) + usize::from(with_tags),
        )?;
        m.serialize_field("hostname", &a.hostname)?;
        if with_output {
            if internal {
                m.serialize_field("output", &a.output)?;
            } else {
                m.serialize_field("output", &text_line(a, self.fmt))?;
            }
        }
        m.serialize_field(
            "output_fields",
            &OutputFields {
                alert: a,
                fmt: self.fmt,
            },
        )?;
        m.serialize_field("priority", a.priority.name())?;
        m.serialize_field("rule", &a.rule)?;
        m.serialize_field("source", a.source)?;
        if with_tags {
            m.serialize_field("tags", &a.tags)?;
        }
        m.serialize_field("time", &format_wall_time(a.time_ns))?;
        m.end()
    }
}

/// Writes Falco's alert JSON object for `alert` (one line, no newline).
pub fn write_json(
    out: &mut (impl Write + ?Sized),
    alert: &Alert,
    fmt: &AlertFormat,
) -> io::Result<()> {
    serde_json::to_writer(out, &JsonAlert { alert, fmt }).map_err(io::Error::from)
}

/// Falco's alert JSON object for `alert`, as a value.
pub fn json_value(alert: &Alert, fmt: &AlertFormat) -> Json {
    serde_json::to_value(JsonAlert { alert, fmt }).unwrap_or(Json::Null)
}

/// Appends the alert as `fmt` says (JSON object or text line) to `out`,
/// without a newline.  What every sink delivers.
pub fn render_into(out: &mut Vec<u8>, alert: &Alert, fmt: &AlertFormat) {
    if fmt.json {
        // Writing to a Vec cannot fail, and every key is a string.
        let _ = write_json(out, alert, fmt);
    } else {
        out.extend_from_slice(text_line(alert, fmt).as_bytes());
    }
}

/// The alert as `fmt` says, as a string without a newline.
pub fn render(alert: &Alert, fmt: &AlertFormat) -> String {
    let mut v = Vec::new();
    render_into(&mut v, alert, fmt);
    // Both renderings are built from `str`s.
    String::from_utf8(v).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::rules::format::SOURCE_SYSCALL;
    use crate::rules::Priority;
    use serde_json::Map;

    /// An alert for unit tests of the sinks.
    pub(crate) fn sample_alert(n: u32) -> Alert {
        let mut fields = Map::new();
        fields.insert("proc.name".into(), "cat".into());
        fields.insert("fd.name".into(), "/etc/shadow".into());
        fields.insert("proc.pid".into(), n.into());
        Alert {
            rule: "Read sensitive file".into(),
            priority: Priority::Warning,
            output: format!("Sensitive file opened (file=/etc/shadow n={n})"),
            time_ns: 1_507_591_916_746_609_046,
            output_fields: fields,
            tags: vec!["filesystem".into(), "mitre_credential_access".into()],
            hostname: "node-1".into(),
            source: SOURCE_SYSCALL,
        }
    }

    #[test]
    fn text_line_in_both_time_formats() {
        let a = sample_alert(1);
        assert_eq!(
            text_line(&a, &AlertFormat::default()),
            "23:31:56.746609046: Warning Sensitive file opened (file=/etc/shadow n=1)"
        );
        let iso = AlertFormat {
            iso8601_time: true,
            ..Default::default()
        };
        assert_eq!(
            text_line(&a, &iso),
            "2017-10-09T23:31:56.746609046+0000: Warning Sensitive file opened (file=/etc/shadow n=1)"
        );
    }

    #[test]
    fn text_line_is_one_line_whatever_the_output() {
        let mut a = sample_alert(1);
        a.output = "evil\nname\ttab\u{1b}[31m \"quoted\" ü".into();
        let line = text_line(&a, &AlertFormat::default());
        assert!(!line.contains('\n'));
        assert!(
            line.ends_with("evil\\nname\\ttab\\u001b[31m \"quoted\" ü"),
            "{line}"
        );
    }

    #[test]
    fn json_has_falco_keys_in_falco_order() {
        let a = sample_alert(7);
        let j = json_value(&a, &AlertFormat::default());
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
        assert_eq!(j["time"], "2017-10-09T23:31:56.746609046Z");
        assert_eq!(j["hostname"], "node-1");
        assert_eq!(j["source"], "syscall");
        assert_eq!(j["priority"], "Warning");
        assert_eq!(j["rule"], "Read sensitive file");
        assert_eq!(
            j["tags"],
            serde_json::json!(["filesystem", "mitre_credential_access"])
        );
        assert_eq!(j["output"], text_line(&a, &AlertFormat::default()));
        assert_eq!(j["output_fields"]["proc.pid"], 7);
        assert_eq!(j["output_fields"]["evt.time"], 1_507_591_916_746_609_046i64);
        // The streamed form and the value agree.
        let mut buf = Vec::new();
        write_json(&mut buf, &a, &AlertFormat::default()).unwrap();
        assert_eq!(serde_json::from_slice::<Json>(&buf).unwrap(), j);
    }

    #[test]
    fn json_switches_leave_out_output_and_tags() {
        let a = sample_alert(1);
        let fmt = AlertFormat {
            json: true,
            include_output: false,
            include_tags: false,
            iso8601_time: true,
        };
        let j: Json = serde_json::from_str(&render(&a, &fmt)).unwrap();
        let o = j.as_object().unwrap();
        assert!(!o.contains_key("output"));
        assert!(!o.contains_key("tags"));
        assert_eq!(o.len(), 6);
        assert_eq!(
            j["output_fields"]["evt.time.iso8601"],
            "2017-10-09T23:31:56.746609046+0000"
        );
        assert!(j["output_fields"].get("evt.time").is_none());
    }

    #[test]
    fn internal_alerts_carry_the_bare_message() {
        let mut a = sample_alert(1);
        a.source = SOURCE_INTERNAL;
        a.output = "Falco internal: syscall event drop".into();
        a.output_fields = Map::new();
        let j = json_value(
            &a,
            &AlertFormat {
                include_output: false,
                ..Default::default()
            },
        );
        assert_eq!(j["output"], "Falco internal: syscall event drop");
        assert_eq!(j["source"], "internal");
        assert!(j.get("tags").is_none());
        assert_eq!(j["output_fields"], serde_json::json!({}));
    }

    #[test]
    fn render_follows_the_json_switch() {
        let a = sample_alert(3);
        assert_eq!(render(&a, &AlertFormat::default()), a.text_line());
        let j: Json = serde_json::from_str(&render(
            &a,
            &AlertFormat {
                json: true,
                ..Default::default()
            },
        ))
        .unwrap();
        assert_eq!(j, a.to_json());
    }
}
