//! Where a key sits in a YAML text: a small, span-aware pass over block
//! mappings, used to give the line of a key whose *value* is wrong when
//! serde could not (values checked after deserializing).
//!
//! It understands what configuration files are made of: block mappings
//! (`key: value`, nested by indentation), block sequences of mappings
//! (`- key: value`) and comments.  A key inside a flow collection
//! (`{a: 1}`) is not found; the caller then names the nearest enclosing key
//! that is.

/// The 1-based line of the key at `path` (`["webserver", "listen_port"]`;
/// sequence indices such as `append_output[1]` pick the item), or of the
/// deepest enclosing key that can be found; `None` if not even the first
/// component is in the text.
pub fn key_line(text: &str, path: &[&str]) -> Option<usize> {
    // Components: key names, each with an optional sequence index after it.
    let comps: Vec<(&str, Option<usize>)> = path
        .iter()
        .map(|c| match c.find('[') {
            Some(i) => (
                &c[..i],
                c[i + 1..].trim_end_matches(']').parse::<usize>().ok(),
            ),
            None => (*c, None),
        })
        .collect();
    // Stack of open keys: (indent of the key, matched component index).
    let mut best: Option<(usize, usize)> = None; // (depth matched, line)
    let mut stack: Vec<Frame> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line_no = n + 1;
        let content = strip_comment(raw);
        if content.trim().is_empty() {
            continue;
        }
        let indent = content.len() - content.trim_start().len();
        let mut rest = content.trim_start();
        let mut key_indent = indent;
        let mut item = false;
        if let Some(r) = rest
            .strip_prefix("- ")
            .or(if rest == "-" { Some("") } else { None })
        {
            item = true;
            key_indent = indent + 2 + (r.len() - r.trim_start().len());
            rest = r.trim_start();
        }
        // Close what this line's indentation ends.
        while stack.last().is_some_and(|f| {
            f.indent > key_indent
                || (f.indent == key_indent && !(item && f.seq_indent == Some(indent)))
        }) {
            stack.pop();
        }
        if item {
            // A new item of the sequence whose parent key is on top.
            if let Some(top) = stack.last_mut() {
                if top.seq_indent.is_none() || top.seq_indent == Some(indent) {
                    top.seq_indent = Some(indent);
                    top.items += 1;
                }
            }
        }
        let Some(key) = mapping_key(rest) else {
            continue;
        };
        // Does this key continue the path?
        let depth = stack.len();
        let parent_matches = stack.iter().all(|f| f.matched) && depth < comps.len();
        let matched = parent_matches && {
            let (want, _) = comps[depth];
            // The parent's index, if any, must be the current item.
            let index_ok = depth == 0
                || match comps[depth - 1].1 {
                    Some(i) => stack[depth - 1].items == i + 1,
                    None => true,
                };
            key == want && index_ok
        };
        if matched && best.is_none_or(|(d, _)| depth + 1 > d) {
            best = Some((depth + 1, line_no));
        }
        stack.push(Frame {
            indent: key_indent,
            matched,
            seq_indent: None,
            items: 0,
        });
    }
    best.map(|(_, l)| l)
}

struct Frame {
    indent: usize,
    matched: bool,
    /// Indentation of the `- ` items of a block sequence under this key.
    seq_indent: Option<usize>,
    /// Items of that sequence seen so far.
    items: usize,
}

/// The line without a trailing `# comment` (a `#` outside quotes, at the
/// start or after a space).
fn strip_comment(line: &str) -> &str {
    let (mut single, mut double) = (false, false);
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\'' if !double => single = !single,
            b'"' if !single => double = !double,
            b'#' if !single && !double && (i == 0 || bytes[i - 1].is_ascii_whitespace()) => {
                return &line[..i]
            }
            _ => {}
        }
    }
    line
}

/// `key` of a `key:` or `key: value` line (plain or quoted key).
fn mapping_key(rest: &str) -> Option<&str> {
    let (key, after) = if let Some(q) = rest.strip_prefix('"') {
        let end = q.find('"')?;
        (&q[..end], &q[end + 1..])
    } else if let Some(q) = rest.strip_prefix('\'') {
        let end = q.find('\'')?;
        (&q[..end], &q[end + 1..])
    } else {
        let colon = rest
            .find(": ")
            .or_else(|| rest.ends_with(':').then(|| rest.len() - 1))?;
        if rest.starts_with(['{', '[']) {
            return None;
        }
        (rest[..colon].trim_end(), &rest[colon..])
    };
    (after.starts_with(": ") || after == ":").then_some(key)
}

#[cfg(test)]
mod tests {
    use super::key_line;

    const TEXT: &str = "\
# a comment: with a colon
rules_files:
  - /etc/kestrel/rules.d
webserver:
  enabled: true   # trailing
  listen_port: 8765
http_output:
  enabled: true
  url: \"http://x#y\"
append_output:
  - match:
      rule: A
    extra_output: one
  - extra_output: two
    extra_fields:
      - evt.type
\"quoted\": 1
";

    #[test]
    fn finds_nested_keys_and_items() {
        assert_eq!(key_line(TEXT, &["rules_files"]), Some(2));
        assert_eq!(key_line(TEXT, &["webserver", "listen_port"]), Some(6));
        assert_eq!(key_line(TEXT, &["webserver", "enabled"]), Some(5));
        assert_eq!(key_line(TEXT, &["http_output", "url"]), Some(9));
        assert_eq!(
            key_line(TEXT, &["append_output[0]", "match", "rule"]),
            Some(12)
        );
        assert_eq!(
            key_line(TEXT, &["append_output[0]", "extra_output"]),
            Some(13)
        );
        assert_eq!(
            key_line(TEXT, &["append_output[1]", "extra_output"]),
            Some(14)
        );
        assert_eq!(
            key_line(TEXT, &["append_output[1]", "extra_fields"]),
            Some(15)
        );
        assert_eq!(key_line(TEXT, &["quoted"]), Some(17));
    }

    #[test]
    fn falls_back_to_the_nearest_enclosing_key() {
        assert_eq!(key_line(TEXT, &["webserver", "ssl"]), Some(4));
        assert_eq!(key_line(TEXT, &["nothing", "here"]), None);
        // Not confused by a key of the same name elsewhere.
        assert_eq!(key_line(TEXT, &["enabled"]), None);
    }
}
