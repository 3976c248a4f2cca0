//! Where things are in a rules file: positions (file:line:column), the
//! source text, condition text that keeps its place across `append`s,
//! where each top-level item's keys and values begin (serde_yaml gives no
//! positions for values, so a YAML parser that keeps them, yaml-rust2,
//! reads the file's structure a second time), and the split of
//! multi-document files.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
/// A place in a rules file (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pos {
    /// File name as given.
    pub file: Arc<str>,
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1 (in characters).
    pub col: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// A reason a rules file was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// Where.
    pub pos: Pos,
    /// What was wrong, or what was expected.
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pos, self.message)
    }
}

/// Something worth telling that does not stop the load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Where.
    pub pos: Pos,
    /// What.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: warning: {}", self.pos, self.message)
    }
}

/// One rules file's text.
#[derive(Debug)]
pub struct SourceFile {
    /// Name used in messages.
    pub name: Arc<str>,
    /// The whole text.
    pub text: String,
    pub(super) line_starts: Vec<usize>,
}

impl SourceFile {
    /// Wraps a file's text.
    pub fn new(name: &str, text: String) -> SourceFile {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceFile {
            name: name.into(),
            text,
            line_starts,
        }
    }

    /// The position of byte `offset`.
    pub fn pos(&self, offset: usize) -> Pos {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        Pos {
            file: self.name.clone(),
            line: line + 1,
            col,
        }
    }
}

/// A piece of condition text and where it came from.
#[derive(Debug, Clone)]
pub(super) struct Fragment {
    /// Start in the joined text.
    pub(super) start: usize,
    pub(super) file: Arc<SourceFile>,
    /// Byte offset in the file where the scalar's text begins.
    pub(super) value_at: usize,
}

/// A condition's text, possibly joined from several items (`append`), able
/// to say where any byte of it was written.
#[derive(Debug, Clone)]
pub struct CondText {
    /// The condition as the parser sees it.
    pub text: String,
    pub(super) frags: Vec<Fragment>,
}

impl CondText {
    pub(super) fn new(text: String, file: &Arc<SourceFile>, value_at: usize) -> CondText {
        CondText {
            text,
            frags: vec![Fragment {
                start: 0,
                file: file.clone(),
                value_at,
            }],
        }
    }

    pub(super) fn append(&mut self, other: &CondText) {
        self.text.push(' ');
        let base = self.text.len();
        self.text.push_str(&other.text);
        self.frags.extend(other.frags.iter().map(|f| Fragment {
            start: f.start + base,
            ..f.clone()
        }));
    }

    /// Where byte `offset` of the condition was written.
    pub fn pos(&self, offset: usize) -> Pos {
        let i = self.frags.partition_point(|f| f.start <= offset).max(1) - 1;
        let f = &self.frags[i];
        let end = self
            .frags
            .get(i + 1)
            .map_or(self.text.len(), |n| n.start - 1);
        let piece = &self.text[f.start..end.max(f.start)];
        let at = align(piece, &f.file.text, f.value_at, offset - f.start);
        f.file.pos(at)
    }
}

/// Finds the file offset of byte `target` of `scalar`, whose text starts at
/// `from` in `file`: matches non-blank characters in order, skipping white
/// space (folding, indentation) and quoting on the file side.
pub(super) fn align(scalar: &str, file: &str, from: usize, target: usize) -> usize {
    let s = scalar.as_bytes();
    let f = file.as_bytes();
    let (mut i, mut j) = (0, from.min(f.len()));
    if matches!(f.get(j), Some(b'"' | b'\'')) {
        j += 1;
    }
    let mut last = j;
    loop {
        while i < s.len() && s[i].is_ascii_whitespace() && i < target {
            i += 1;
        }
        if i >= s.len() && i > 0 {
            // Past the end of the text: just after its last character.
            return (last + 1).min(f.len());
        }
        if i >= target || i >= s.len() {
            while j < f.len() && f[j].is_ascii_whitespace() {
                j += 1;
            }
            return j.min(f.len());
        }
        while j < f.len() && f[j].is_ascii_whitespace() {
            j += 1;
        }
        if j >= f.len() {
            return last;
        }
        if s[i] == f[j] {
            last = j;
            i += 1;
            j += 1;
        } else if matches!(f[j], b'\\' | b'\'' | b'"') && f.get(j + 1) == Some(&s[i]) {
            j += 1;
        } else {
            return last;
        }
    }
}

/// A key of an item with the place it was written.
#[derive(Debug, Clone)]
pub(super) struct KeyAt {
    pub(super) pos: usize,
    pub(super) value_at: usize,
}

/// Where one top-level item and its keys were written.
#[derive(Debug, Clone, Default)]
pub(super) struct ItemAt {
    pub(super) start: usize,
    pub(super) keys: HashMap<String, KeyAt>,
}

/// The YAML documents of a file (`---` separates them, `...` ends one), in
/// order, as Falco loads every document of a rules file.  Each is the
/// whole file's text with everything outside the document blanked (line
/// breaks kept), so positions within it are positions in the file.
pub(super) fn documents(text: &str) -> Vec<String> {
    let is_marker = |l: &str, m: &str| {
        l == m
            || l.strip_prefix(m)
                .is_some_and(|r| r.starts_with([' ', '\t']))
    };
    let mut bounds = Vec::new(); // (start, end) byte ranges of documents
    let mut start = 0;
    let mut ended = false;
    for (at, line) in line_ranges(text) {
        if is_marker(line, "---") {
            if !ended {
                bounds.push((start, at));
            }
            // The rest of a `--- ` line belongs to the new document.
            start = at + 3;
            ended = false;
        } else if is_marker(line, "...") {
            if !ended {
                bounds.push((start, at));
            }
            ended = true;
            start = at + line.len();
        }
    }
    if bounds.is_empty() {
        return vec![text.to_string()];
    }
    if !ended {
        bounds.push((start, text.len()));
    }
    bounds
        .into_iter()
        .filter(|&(a, b)| !text[a..b].trim().is_empty() || a == 0)
        .map(|(a, b)| {
            let blank = |t: &str| -> String {
                t.chars()
                    .map(|c| if c == '\n' { '\n' } else { ' ' })
                    .collect()
            };
            let mut doc = blank(&text[..a]);
            doc.push_str(&text[a..b]);
            doc.push_str(&blank(&text[b..]));
            doc
        })
        .collect()
}

pub(super) fn line_ranges(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut at = 0;
    text.split_inclusive('\n').map(move |l| {
        let start = at;
        at += l.len();
        (start, l.trim_end_matches(['\n', '\r']))
    })
}

/// The byte offset of a parser position (1-based line, 0-based column in
/// characters).
fn byte_offset(text: &str, line_starts: &[usize], line: usize, col: usize) -> usize {
    let Some(&start) = line_starts.get(line.saturating_sub(1)) else {
        return text.len();
    };
    let rest = &text[start..];
    start + rest.char_indices().nth(col).map_or(rest.len(), |(i, _)| i)
}

/// Finds the start of every top-level sequence item and where each of its
/// keys and their values begin, from the events of a YAML parser that
/// keeps positions (yaml-rust2): block and flow mappings, quoted and block
/// scalars, anchors and aliases alike.  The values themselves come from
/// serde_yaml; on a syntax error the items found so far are returned
/// (serde_yaml reports the error).
pub(super) fn locate_items(text: &str) -> Vec<ItemAt> {
    use yaml_rust2::parser::{Event, Parser};
    let mut line_starts = vec![0];
    line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
    let mut items: Vec<ItemAt> = Vec::new();
    let mut parser = Parser::new_from_str(text);
    // Open collections; 1 is the top-level sequence, 2 an item's mapping.
    let mut depth = 0usize;
    let mut in_item_map = false;
    let mut key: Option<(String, usize)> = None;
    let mut nested_start: Option<String> = None;
    // The `-` before an item's first key, if that is how it was written.
    let dash_before = |at: usize| -> usize {
        let head = text[..at].trim_end_matches(' ');
        if head.ends_with('-') {
            head.len() - 1
        } else {
            at
        }
    };
    while let Ok((event, mark)) = parser.next_token() {
        let at = byte_offset(text, &line_starts, mark.line(), mark.col());
        match event {
            Event::StreamEnd => break,
            Event::Nothing | Event::StreamStart | Event::DocumentStart | Event::DocumentEnd => {}
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                if depth == 1 {
                    let block_map = matches!(event, Event::MappingStart(..))
                        && text.as_bytes().get(at) != Some(&b'{');
                    // A block mapping's position is reported at its first
                    // key's value: the item starts at that key (or its `-`).
                    items.push(ItemAt {
                        start: if block_map { usize::MAX } else { at },
                        keys: HashMap::new(),
                    });
                    in_item_map = matches!(event, Event::MappingStart(..));
                    key = None;
                } else if depth == 2 && in_item_map {
                    if let (Some((k, pos)), Some(item)) = (key.take(), items.last_mut()) {
                        // A block mapping, again, is reported at its first
                        // value: its first key gives where it starts.
                        let block_map = matches!(event, Event::MappingStart(..))
                            && text.as_bytes().get(at) != Some(&b'{');
                        if block_map {
                            nested_start = Some(k.clone());
                        }
                        item.keys.entry(k).or_insert(KeyAt { pos, value_at: at });
                    }
                } else if depth == 3 {
                    nested_start = None;
                }
                depth += 1;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                depth = depth.saturating_sub(1);
                if depth == 1 {
                    in_item_map = false;
                }
            }
            Event::Scalar(..) | Event::Alias(..) => {
                if let (Some(k), true) = (nested_start.take(), depth == 3) {
                    if let Some(ka) = items.last_mut().and_then(|i| i.keys.get_mut(&k)) {
                        ka.value_at = at;
                    }
                }
                if depth == 1 {
                    items.push(ItemAt {
                        start: at,
                        keys: HashMap::new(),
                    });
                } else if depth == 2 && in_item_map {
                    let Some(item) = items.last_mut() else {
                        continue;
                    };
                    match key.take() {
                        None => {
                            let name = match &event {
                                Event::Scalar(s, ..) => s.clone(),
                                _ => String::new(),
                            };
                            if item.start == usize::MAX {
                                item.start = dash_before(at);
                            }
                            key = Some((name, at));
                        }
                        Some((k, pos)) => {
                            item.keys.entry(k).or_insert(KeyAt { pos, value_at: at });
                        }
                    }
                }
            }
        }
    }
    for item in &mut items {
        if item.start == usize::MAX {
            item.start = 0;
        }
    }
    items
}
