//! Falco's field transformers: `tolower()`, `toupper()`, `b64()` (decode
//! base64), `basename()` and `len()`, applied to a field's value before it
//! is compared (`tolower(proc.name) = bash`), on either side of an
//! operator (`proc.name = val(proc.pname)` compares two fields).

use super::fields::FieldValue;

/// One transformer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transform {
    /// ASCII lower case.
    ToLower,
    /// ASCII upper case.
    ToUpper,
    /// Base64-decoded bytes (missing if the value is not base64).
    B64,
    /// What follows the last `/` (the whole value without one).
    Basename,
    /// Length: bytes of text, items of a list.
    Len,
}

impl Transform {
    /// The transformer called `name` in a condition.
    pub fn by_name(name: &str) -> Option<Transform> {
        Some(match name {
            "tolower" => Transform::ToLower,
            "toupper" => Transform::ToUpper,
            "b64" => Transform::B64,
            "basename" => Transform::Basename,
            "len" => Transform::Len,
            _ => return None,
        })
    }

    /// Its name in a condition.
    pub fn name(self) -> &'static str {
        match self {
            Transform::ToLower => "tolower",
            Transform::ToUpper => "toupper",
            Transform::B64 => "b64",
            Transform::Basename => "basename",
            Transform::Len => "len",
        }
    }

    /// Applies it.  Text transformers apply to each item of a list;
    /// a value they do not apply to (a number) is missing.
    pub fn apply<'a>(self, v: FieldValue<'a>) -> Option<FieldValue<'a>> {
        if self == Transform::Len {
            return Some(FieldValue::Uint(match &v {
                FieldValue::Str(s) => s.len() as u64,
                FieldValue::List(items) | FieldValue::AnyOf(items, _) => items.len() as u64,
                _ => return None,
            }));
        }
        match v {
            FieldValue::Str(s) => Some(FieldValue::owned(self.text(&s)?)),
            FieldValue::List(items) => Some(FieldValue::List(
                items.into_iter().filter_map(|i| self.apply(i)).collect(),
            )),
            FieldValue::AnyOf(items, negation) => Some(FieldValue::AnyOf(
                items.into_iter().filter_map(|i| self.apply(i)).collect(),
                negation,
            )),
            _ => None,
        }
    }

    fn text(self, s: &[u8]) -> Option<Vec<u8>> {
        Some(match self {
            Transform::ToLower => s.to_ascii_lowercase(),
            Transform::ToUpper => s.to_ascii_uppercase(),
            Transform::Basename => match s.iter().rposition(|&b| b == b'/') {
                Some(i) => s[i + 1..].to_vec(),
                None => s.to_vec(),
            },
            Transform::B64 => b64_decode(s)?,
            Transform::Len => return None,
        })
    }
}

/// Standard base64 (with or without `=` padding); `None` if not base64.
fn b64_decode(s: &[u8]) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let body = s
        .strip_suffix(b"==")
        .or_else(|| s.strip_suffix(b"="))
        .unwrap_or(s);
    if body.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    for chunk in body.chunks(4) {
        let mut acc = 0u32;
        for &c in chunk {
            acc = acc << 6 | val(c)?;
        }
        acc <<= 6 * (4 - chunk.len() as u32);
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

/// Applies transformers, innermost first.
pub fn apply_all<'a>(transforms: &[Transform], mut v: FieldValue<'a>) -> Option<FieldValue<'a>> {
    for t in transforms {
        v = t.apply(v)?;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> FieldValue<'static> {
        FieldValue::owned(v.as_bytes().to_vec())
    }

    #[test]
    fn transformers_do_what_falco_documents() {
        assert_eq!(Transform::ToLower.apply(s("BaSh")), Some(s("bash")));
        assert_eq!(Transform::ToUpper.apply(s("etc")), Some(s("ETC")));
        assert_eq!(
            Transform::Basename.apply(s("/usr/bin/curl")),
            Some(s("curl"))
        );
        assert_eq!(Transform::Basename.apply(s("curl")), Some(s("curl")));
        assert_eq!(Transform::Basename.apply(s("/tmp/")), Some(s("")));
        assert_eq!(Transform::B64.apply(s("aGVsbG8=")), Some(s("hello")));
        assert_eq!(
            Transform::B64.apply(s("aGVsbG8gd29ybGQ")),
            Some(s("hello world"))
        );
        assert_eq!(Transform::B64.apply(s("not base64!")), None);
        assert_eq!(Transform::Len.apply(s("abc")), Some(FieldValue::Uint(3)));
        assert_eq!(
            Transform::Len.apply(FieldValue::List(vec![s("a"), s("b")])),
            Some(FieldValue::Uint(2))
        );
        assert_eq!(Transform::ToLower.apply(FieldValue::Int(3)), None);
        assert_eq!(
            apply_all(&[Transform::Basename, Transform::ToUpper], s("/bin/sh")),
            Some(s("SH"))
        );
    }
}
