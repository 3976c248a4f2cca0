//! Compiled conditions and their evaluation against a [`FieldSource`].
//!
//! Everything that can be prepared once is prepared at load: constants are
//! parsed to the field's type, `in` lists become hash sets, `pmatch` lists a
//! tree of path components, `contains` a substring searcher, globs and
//! regular expressions compiled.  Evaluation allocates nothing for fields
//! the source can lend.

use std::cell::Cell;
use std::cmp::Ordering;
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::IpAddr;

use memchr::memmem;

use super::fields::{FieldRef, FieldSource, FieldValue, Negation};
use super::transform::Transform;

/// A compiled condition.
#[derive(Debug, Clone)]
pub enum Node {
    /// Always this.
    Const(bool),
    /// All of.
    And(Box<[Node]>),
    /// Any of.
    Or(Box<[Node]>),
    /// Negation.
    Not(Box<Node>),
    /// `evt.type` is (or, negated, is not) one of these names.
    EvtType {
        /// Event names.
        names: Box<[Box<str>]>,
        /// `!=`.
        negate: bool,
        /// The same names as a bitmap over the ABI's event type numbers;
        /// a type number beyond it is matched by name.
        types: Box<[u64]>,
    },
    /// A field test.
    Check(Box<Check>),
}

/// One field test.
#[derive(Debug, Clone)]
pub struct Check {
    /// The field.
    pub field: FieldRef,
    /// Transformers applied to its value first, innermost first.
    pub transforms: Box<[Transform]>,
    /// The test.
    pub test: Test,
    /// This check's bit in the per-event [`Memo`] when several active
    /// rules make the very same check (a shared macro such as
    /// `opened_for_writing`), else [`NO_MEMO`].
    pub memo: u8,
}

/// Words of a [`Memo`]: 64 shared checks each (Falco's three files share
/// about 150).
const MEMO_WORDS: usize = 4;
/// Shared checks a [`Memo`] remembers (one slot value is [`NO_MEMO`]).
const MEMO_SLOTS: usize = MEMO_WORDS * 64 - 1;

/// [`Check::memo`] of a check no other rule makes.
pub const NO_MEMO: u8 = u8::MAX;

/// Results of the shared checks already made for one event, so that a
/// check several rules make is made once per event.  Fields do not change
/// while one event is matched, so a remembered result is the result.
#[derive(Debug, Default)]
pub struct Memo {
    known: [Cell<u64>; MEMO_WORDS],
    value: [Cell<u64>; MEMO_WORDS],
}

/// The bitmap of event type numbers whose `evt.type` is one of `names`,
/// covering every type of the ABI's event table.
pub fn event_type_bits(names: &[Box<str>]) -> Box<[u64]> {
    let schemas = kestrel_abi::schemas();
    let max = schemas
        .iter()
        .map(|s| usize::from(s.event_type))
        .max()
        .unwrap_or(0);
    let mut bits = vec![0u64; max / 64 + 1];
    for s in schemas {
        if names.iter().any(|n| **n == *s.name) {
            let t = usize::from(s.event_type);
            bits[t / 64] |= 1 << (t % 64);
        }
    }
    bits.into()
}

/// An ordering comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

/// A constant from a condition, parsed every way the field might need.
#[derive(Debug, Clone, PartialEq)]
pub struct Const {
    /// As text.
    pub text: Box<[u8]>,
    /// As an integer (decimal, or 0x hex).
    pub int: Option<i128>,
    /// As an address.
    pub ip: Option<IpAddr>,
    /// As a network (address/prefix; a bare address is /32 or /128).
    pub net: Option<(IpAddr, u8)>,
    /// As true/false.
    pub boolean: Option<bool>,
}

impl Const {
    /// Parses `text` every way.
    pub fn new(text: &str) -> Const {
        let t = text.trim();
        let int = if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            i128::from_str_radix(hex, 16).ok()
        } else {
            t.parse::<i128>().ok()
        };
        let ip = t.parse::<IpAddr>().ok();
        let net = match t.split_once('/') {
            Some((a, p)) => match (a.parse::<IpAddr>(), p.parse::<u8>()) {
                (Ok(a), Ok(p)) if p <= if a.is_ipv4() { 32 } else { 128 } => Some((a, p)),
                _ => None,
            },
            None => ip.map(|a| (a, if a.is_ipv4() { 32 } else { 128 })),
        };
        let boolean = match t {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        };
        Const {
            text: text.as_bytes().into(),
            int,
            ip,
            net,
            boolean,
        }
    }

    fn order(&self, v: &FieldValue<'_>) -> Option<Ordering> {
        match v {
            FieldValue::Str(s) => Some(s.as_ref().cmp(&self.text)),
            FieldValue::Int(i) => self.int.map(|c| i128::from(*i).cmp(&c)),
            FieldValue::Uint(u) => self.int.map(|c| i128::from(*u).cmp(&c)),
            FieldValue::Bool(b) => self.boolean.map(|c| b.cmp(&c)),
            FieldValue::Ip(ip) => {
                if let Some(c) = self.ip {
                    return Some(if *ip == c {
                        Ordering::Equal
                    } else {
                        Ordering::Less
                    });
                }
                let (net, prefix) = self.net?;
                Some(if in_net(*ip, net, prefix) {
                    Ordering::Equal
                } else {
                    Ordering::Less
                })
            }
            FieldValue::List(_) | FieldValue::AnyOf(..) => None,
        }
    }

    fn equals(&self, v: &FieldValue<'_>) -> bool {
        self.order(v) == Some(Ordering::Equal)
    }
}

/// Whether `ip` is inside `net/prefix`.
pub fn in_net(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(prefix.min(32)))
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(prefix.min(128)))
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// A fast hasher for the short strings of `in` sets and path trees, eight
/// bytes at a time (the multiply-rotate mix of rustc's FxHasher).  The keys
/// come from rules files; a collision costs time, never correctness.
#[derive(Default, Clone, Copy)]
pub struct Fnv(u64);

const MIX: u64 = 0x517c_c1b7_2722_0a95;

impl Fnv {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(MIX);
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
}

/// Sets at most this large are scanned rather than hashed.
const SMALL_SET: usize = 8;

/// A set of constants for `in` and `intersects`.
#[derive(Debug, Clone)]
pub struct ValueSet {
    /// Texts, hashed (large sets).
    pub strs: HashSet<Box<[u8]>, BuildHasherDefault<Fnv>>,
    /// Texts, scanned (small sets: comparing lengths first is cheaper than
    /// hashing).
    pub small: Vec<Box<[u8]>>,
    /// The same constants for non-text values.
    pub consts: Vec<Const>,
}

impl ValueSet {
    /// Builds a set.
    pub fn new(items: &[String]) -> ValueSet {
        let mut uniq: Vec<Box<[u8]>> = items.iter().map(|s| s.as_bytes().into()).collect();
        uniq.sort();
        uniq.dedup();
        let (small, strs) = if uniq.len() <= SMALL_SET {
            (uniq, HashSet::default())
        } else {
            (Vec::new(), uniq.into_iter().collect())
        };
        ValueSet {
            strs,
            small,
            consts: items.iter().map(|s| Const::new(s)).collect(),
        }
    }

    fn contains(&self, v: &FieldValue<'_>) -> bool {
        match v {
            FieldValue::Str(s) if self.strs.is_empty() => {
                let s: &[u8] = s;
                self.small.iter().any(|c| c.len() == s.len() && **c == *s)
            }
            FieldValue::Str(s) => self.strs.contains(s.as_ref()),
            other => self.consts.iter().any(|c| c.equals(other)),
        }
    }
}

/// A shell wildcard pattern (`*`, `?`, `[...]`), matched against the whole
/// value; `*` also matches `/`.
#[derive(Debug, Clone)]
pub struct Glob {
    pat: Box<[u8]>,
    fold: bool,
}

impl Glob {
    /// Prepares a pattern; `fold` makes it ASCII case-insensitive.
    pub fn new(pat: &str, fold: bool) -> Glob {
        let p = if fold {
            pat.to_ascii_lowercase()
        } else {
            pat.to_string()
        };
        Glob {
            pat: p.into_bytes().into(),
            fold,
        }
    }

    /// Whether `s` matches.
    pub fn matches(&self, s: &[u8]) -> bool {
        glob_match(&self.pat, s, self.fold)
    }
}

/// Iterative wildcard match with one backtrack point (linear-ish, no
/// recursion, so no stack risk).
fn glob_match(p: &[u8], s: &[u8], fold: bool) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    let low = |c: u8| if fold { c.to_ascii_lowercase() } else { c };
    while si < s.len() {
        if pi < p.len() {
            match p[pi] {
                b'*' => {
                    star = Some((pi, si));
                    pi += 1;
                    continue;
                }
                b'?' => {
                    pi += 1;
                    si += 1;
                    continue;
                }
                b'[' => {
                    if let Some((hit, next)) = class_match(&p[pi..], low(s[si]), fold) {
                        if hit {
                            pi += next;
                            si += 1;
                            continue;
                        }
                    } else if s[si] == b'[' {
                        pi += 1;
                        si += 1;
                        continue;
                    }
                }
                b'\\' if pi + 1 < p.len() => {
                    if p[pi + 1] == low(s[si]) {
                        pi += 2;
                        si += 1;
                        continue;
                    }
                }
                c => {
                    if c == low(s[si]) {
                        pi += 1;
                        si += 1;
                        continue;
                    }
                }
            }
        }
        match star {
            Some((sp, ss)) => {
                pi = sp + 1;
                si = ss + 1;
                star = Some((sp, ss + 1));
            }
            None => return false,
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// Matches `c` against the class at the start of `p` (`[abc]`, `[a-z]`,
/// `[!x]`); returns (matched, class length), or None if unterminated.
fn class_match(p: &[u8], c: u8, fold: bool) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(1), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == b']' && !first {
            return Some((hit != negate, i + 1));
        }
        first = false;
        let lo = p[i];
        if p.get(i + 1) == Some(&b'-') && p.get(i + 2).is_some_and(|&h| h != b']') {
            let hi = p[i + 2];
            let (lo, hi) = if fold {
                (lo.to_ascii_lowercase(), hi.to_ascii_lowercase())
            } else {
                (lo, hi)
            };
            hit |= lo <= c && c <= hi;
            i += 3;
        } else {
            hit |= lo == c;
            i += 1;
        }
    }
    None
}

/// `pmatch`: a tree of path components; a value matches if a whole prefix
/// of its components reaches a node that ends a listed path.  Components
/// may be globs.
#[derive(Debug, Clone, Default)]
pub struct PathTrie {
    end: bool,
    children: std::collections::HashMap<Box<[u8]>, PathTrie, BuildHasherDefault<Fnv>>,
    globs: Vec<(Glob, PathTrie)>,
}

impl PathTrie {
    /// Builds the tree from paths.
    pub fn new(paths: &[String]) -> PathTrie {
        let mut root = PathTrie::default();
        for p in paths {
            let mut node = &mut root;
            for comp in p.split('/').filter(|c| !c.is_empty()) {
                if comp.contains(['*', '?', '[']) {
                    let i = match node
                        .globs
                        .iter()
                        .position(|(g, _)| &*g.pat == comp.as_bytes())
                    {
                        Some(i) => i,
                        None => {
                            node.globs
                                .push((Glob::new(comp, false), PathTrie::default()));
                            node.globs.len() - 1
                        }
                    };
                    node = &mut node.globs[i].1;
                } else {
                    node = node.children.entry(comp.as_bytes().into()).or_default();
                }
            }
            node.end = true;
        }
        root
    }

    /// Whether `path` is one of the paths or below one.
    pub fn matches(&self, path: &[u8]) -> bool {
        // Plain components are followed without collecting the path; a
        // node with glob children switches to the general walk.
        let mut node = self;
        let mut rest = path;
        loop {
            if node.end {
                return true;
            }
            if !node.globs.is_empty() {
                let comps: SmallPath<'_> = rest
                    .split(|&b| b == b'/')
                    .filter(|c| !c.is_empty())
                    .collect();
                return node.walk(comps.as_slice());
            }
            while let [b'/', tail @ ..] = rest {
                rest = tail;
            }
            if rest.is_empty() {
                return false;
            }
            let end = rest.iter().position(|&b| b == b'/').unwrap_or(rest.len());
            match node.children.get(&rest[..end]) {
                Some(child) => node = child,
                None => return false,
            }
            rest = &rest[end..];
        }
    }

    fn walk(&self, comps: &[&[u8]]) -> bool {
        if self.end {
            return true;
        }
        let Some((first, rest)) = comps.split_first() else {
            return false;
        };
        if let Some(child) = self.children.get(*first) {
            if child.walk(rest) {
                return true;
            }
        }
        self.globs
            .iter()
            .any(|(g, child)| g.matches(first) && child.walk(rest))
    }
}

/// Path components on the stack for the common case.
struct SmallPath<'a> {
    items: [&'a [u8]; 32],
    len: usize,
}

impl<'a> FromIterator<&'a [u8]> for SmallPath<'a> {
    fn from_iter<I: IntoIterator<Item = &'a [u8]>>(iter: I) -> Self {
        let mut sp = SmallPath {
            items: [&[]; 32],
            len: 0,
        };
        for c in iter {
            if sp.len == sp.items.len() {
                break; // deeper paths match on their first 32 components
            }
            sp.items[sp.len] = c;
            sp.len += 1;
        }
        sp
    }
}

impl<'a> SmallPath<'a> {
    fn as_slice(&self) -> &[&'a [u8]] {
        &self.items[..self.len]
    }
}

/// What a [`Check`] does with the value.
#[derive(Debug, Clone)]
pub enum Test {
    /// The value is there.
    Exists,
    /// Ordering comparison.
    Cmp(CmpOp, Const),
    /// Substring (also bcontains, with the bytes decoded from hex).
    Contains(memmem::Finder<'static>),
    /// Substring, ASCII case-insensitive (needle lower-cased).
    IContains(Box<[u8]>),
    /// Prefix (also bstartswith).
    StartsWith(Box<[u8]>),
    /// Suffix.
    EndsWith(Box<[u8]>),
    /// Member (list values: every element is a member).
    In(ValueSet),
    /// Some element is a member.
    Intersects(ValueSet),
    /// Below one of the paths.
    PMatch(PathTrie),
    /// Shell wildcard.
    Glob(Glob),
    /// Regular expression.
    Regex(regex::bytes::Regex),
    /// Compared with another field's value (`val(...)`).
    Field(Box<FieldTest>),
}

/// A comparison with another field (`proc.name = val(proc.pname)`).
#[derive(Debug, Clone)]
pub struct FieldTest {
    /// How they are compared.
    pub op: FieldOp,
    /// The other field.
    pub field: FieldRef,
    /// Its transformers, innermost first.
    pub transforms: Box<[Transform]>,
}

/// The operators that take a field on their right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldOp {
    /// `=`, `!=`, `<`, ...: numbers as numbers, text as bytes.
    Cmp(CmpOp),
    /// Substring.
    Contains,
    /// Substring, ASCII case-insensitive.
    IContains,
    /// Prefix.
    StartsWith,
    /// Suffix.
    EndsWith,
}

impl FieldOp {
    /// Whether `a op b`.
    fn holds(self, a: &FieldValue<'_>, b: &FieldValue<'_>) -> bool {
        let text = |v: &FieldValue<'_>| -> Option<Vec<u8>> {
            match v {
                FieldValue::Str(s) => Some(s.to_vec()),
                FieldValue::List(_) | FieldValue::AnyOf(..) => None,
                other => Some(other.render().into_bytes()),
            }
        };
        let num = |v: &FieldValue<'_>| -> Option<i128> {
            match v {
                FieldValue::Int(i) => Some((*i).into()),
                FieldValue::Uint(u) => Some((*u).into()),
                _ => None,
            }
        };
        match self {
            FieldOp::Cmp(op) => {
                let order = match (num(a), num(b)) {
                    (Some(x), Some(y)) => x.cmp(&y),
                    _ => match (text(a), text(b)) {
                        (Some(x), Some(y)) => x.cmp(&y),
                        _ => return false,
                    },
                };
                match op {
                    CmpOp::Eq => order == Ordering::Equal,
                    CmpOp::Ne => order != Ordering::Equal,
                    CmpOp::Lt => order == Ordering::Less,
                    CmpOp::Le => order != Ordering::Greater,
                    CmpOp::Gt => order == Ordering::Greater,
                    CmpOp::Ge => order != Ordering::Less,
                }
            }
            _ => {
                let (Some(x), Some(y)) = (text(a), text(b)) else {
                    return false;
                };
                match self {
                    FieldOp::Contains => memmem::find(&x, &y).is_some(),
                    FieldOp::IContains => icontains(&x, &y.to_ascii_lowercase()),
                    FieldOp::StartsWith => x.starts_with(&y),
                    _ => x.ends_with(&y),
                }
            }
        }
    }
}

fn icontains(hay: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    hay.windows(needle.len()).any(|w| {
        w.iter()
            .zip(needle)
            .all(|(a, b)| a.to_ascii_lowercase() == *b)
    })
}

impl Test {
    /// Tests one value (not a list).
    fn scalar(&self, v: &FieldValue<'_>) -> bool {
        let text = match v {
            FieldValue::Str(s) => Some(s.as_ref()),
            _ => None,
        };
        match self {
            Test::Exists => true,
            Test::Cmp(op, c) => match (op, c.order(v)) {
                (CmpOp::Ne, Some(o)) => o != Ordering::Equal,
                (CmpOp::Ne, None) => true,
                (_, None) => false,
                (CmpOp::Eq, Some(o)) => o == Ordering::Equal,
                (CmpOp::Lt, Some(o)) => o == Ordering::Less,
                (CmpOp::Le, Some(o)) => o != Ordering::Greater,
                (CmpOp::Gt, Some(o)) => o == Ordering::Greater,
                (CmpOp::Ge, Some(o)) => o != Ordering::Less,
            },
            Test::Contains(f) => text.is_some_and(|t| f.find(t).is_some()),
            Test::IContains(n) => text.is_some_and(|t| icontains(t, n)),
            Test::StartsWith(p) => text.is_some_and(|t| t.starts_with(p)),
            Test::EndsWith(p) => text.is_some_and(|t| t.ends_with(p)),
            Test::In(set) | Test::Intersects(set) => set.contains(v),
            Test::PMatch(t) => text.is_some_and(|s| t.matches(s)),
            Test::Glob(g) => text.is_some_and(|s| g.matches(s)),
            Test::Regex(r) => text.is_some_and(|s| r.is_match(s)),
            // Made by Check::make, which has the event to read the other
            // field from.
            Test::Field(_) => false,
        }
    }

    /// Tests a value, lists included.
    #[inline]
    pub fn test(&self, v: &FieldValue<'_>) -> bool {
        match v {
            FieldValue::List(items) => match self {
                Test::Exists => true,
                Test::In(_) => !items.is_empty() && items.iter().all(|i| self.scalar(i)),
                Test::Cmp(CmpOp::Ne, _) => items.iter().all(|i| self.scalar(i)),
                _ => items.iter().any(|i| self.scalar(i)),
            },
            // Falco: any ancestor, either end of the socket.
            FieldValue::AnyOf(items, negation) => match (self, negation) {
                (Test::Cmp(CmpOp::Ne, _), Negation::NoneEqual) => {
                    !items.is_empty() && items.iter().all(|i| self.scalar(i))
                }
                _ => items.iter().any(|i| self.scalar(i)),
            },
            other => self.scalar(other),
        }
    }
}

impl Node {
    /// Evaluates the condition for one event.
    #[inline]
    pub fn eval<S: FieldSource + ?Sized>(&self, src: &S) -> bool {
        self.eval_memo(src, &Memo::default())
    }

    /// Evaluates the condition for one event, reusing (and recording) the
    /// results of shared checks in `memo`, which must be fresh for each
    /// event.
    pub fn eval_memo<S: FieldSource + ?Sized>(&self, src: &S, memo: &Memo) -> bool {
        match self {
            Node::Const(b) => *b,
            Node::And(items) => items.iter().all(|n| n.eval_child(src, memo)),
            Node::Or(items) => items.iter().any(|n| n.eval_child(src, memo)),
            Node::Not(n) => !n.eval_child(src, memo),
            Node::EvtType { .. } => self.type_matches(src),
            Node::Check(c) => c.eval(src, memo),
        }
    }

    /// An operand of and/or/not: leaves (most operands) are evaluated in
    /// the caller's frame rather than through another recursive call.
    #[inline(always)]
    fn eval_child<S: FieldSource + ?Sized>(&self, src: &S, memo: &Memo) -> bool {
        match self {
            Node::Check(c) => c.eval(src, memo),
            Node::EvtType { .. } => self.type_matches(src),
            _ => self.eval_memo(src, memo),
        }
    }

    /// An `EvtType` node's test (false for any other node).
    #[inline(always)]
    fn type_matches<S: FieldSource + ?Sized>(&self, src: &S) -> bool {
        let Node::EvtType {
            names,
            negate,
            types,
        } = self
        else {
            return false;
        };
        let t = usize::from(src.event_type());
        let hit = match types.get(t / 64) {
            Some(word) => word >> (t % 64) & 1 == 1,
            None => {
                let name = src.event_name();
                names.iter().any(|n| **n == *name)
            }
        };
        hit != *negate
    }

    /// Calls `f` with every field the condition tests.
    pub fn for_each_field(&self, f: &mut impl FnMut(super::fields::Field)) {
        match self {
            Node::Const(_) | Node::EvtType { .. } => {}
            Node::And(items) | Node::Or(items) => {
                for n in items.iter() {
                    n.for_each_field(f);
                }
            }
            Node::Not(n) => n.for_each_field(f),
            Node::Check(c) => f(c.field.field),
        }
    }

    /// Every check in the condition, for rewriting.
    pub fn for_each_check_mut(&mut self, f: &mut impl FnMut(&mut Check)) {
        match self {
            Node::Const(_) | Node::EvtType { .. } => {}
            Node::And(items) | Node::Or(items) => {
                for n in items.iter_mut() {
                    n.for_each_check_mut(f);
                }
            }
            Node::Not(n) => n.for_each_check_mut(f),
            Node::Check(c) => f(c),
        }
    }
}

impl Check {
    /// The check's result, from the memo if another rule made it already.
    #[inline]
    fn eval<S: FieldSource + ?Sized>(&self, src: &S, memo: &Memo) -> bool {
        if self.memo == NO_MEMO {
            return self.make(src);
        }
        let word = usize::from(self.memo / 64);
        let bit = 1u64 << (self.memo % 64);
        let (known_cell, value_cell) = (&memo.known[word], &memo.value[word]);
        let known = known_cell.get();
        if known & bit != 0 {
            return value_cell.get() & bit != 0;
        }
        let hit = self.make(src);
        known_cell.set(known | bit);
        if hit {
            value_cell.set(value_cell.get() | bit);
        }
        hit
    }

    /// Looks the field up and tests it.  Kept out of [`Node::eval`] so that
    /// the recursion over and/or/not stays a small function: the field
    /// value and its drop need a large frame.
    #[inline(never)]
    fn make<S: FieldSource + ?Sized>(&self, src: &S) -> bool {
        let Some(mut v) = src.field(&self.field) else {
            return false;
        };
        if !self.transforms.is_empty() {
            match super::transform::apply_all(&self.transforms, v) {
                Some(t) => v = t,
                None => return false,
            }
        }
        if let Test::Field(ft) = &self.test {
            let Some(other) = src.field(&ft.field) else {
                return false;
            };
            let Some(other) = super::transform::apply_all(&ft.transforms, other) else {
                return false;
            };
            return ft.op.holds(&v, &other);
        }
        self.test.test(&v)
    }
}

/// Gives a [`Memo`] bit to each check that more than one place in
/// `conditions` makes (same field, same test), most repeated first, at
/// most 255.  Checks are compared by their full debug form, which shows
/// every part of the field and the test.
pub fn share_checks(conditions: &mut [&mut Node]) {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let key = |c: &Check| format!("{:?}|{:?}|{:?}", c.field, c.transforms, c.test);
    for n in conditions.iter_mut() {
        n.for_each_check_mut(&mut |c| *seen.entry(key(c)).or_default() += 1);
    }
    let mut shared: Vec<(usize, String)> = seen
        .into_iter()
        .filter(|(_, count)| *count > 1)
        .map(|(k, count)| (count, k))
        .collect();
    shared.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    shared.truncate(MEMO_SLOTS);
    let slots: std::collections::HashMap<String, u8> = shared
        .into_iter()
        .enumerate()
        .map(|(i, (_, k))| (k, i as u8))
        .collect();
    for n in conditions.iter_mut() {
        n.for_each_check_mut(&mut |c| {
            c.memo = slots.get(&key(c)).copied().unwrap_or(NO_MEMO);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_semantics() {
        let cases = [
            ("/etc/*", "/etc/passwd", true),
            ("/etc/*", "/etc/a/b", true),
            ("*.so", "libc.so", true),
            ("*.so", "libc.so.6", false),
            ("/bin/?ash", "/bin/bash", true),
            ("/bin/[bd]ash", "/bin/dash", true),
            ("/bin/[!bd]ash", "/bin/dash", false),
            ("/bin/[a-c]ash", "/bin/cash", true),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("", "", true),
            ("[", "[", true),
        ];
        for (p, s, want) in cases {
            assert_eq!(Glob::new(p, false).matches(s.as_bytes()), want, "{p} ~ {s}");
        }
        assert!(Glob::new("*.SO", true).matches(b"LIBC.so"));
    }

    #[test]
    fn pmatch_is_component_wise() {
        let t = PathTrie::new(&[
            "/etc".into(),
            "/usr/local/bin".into(),
            "/var/*/spool".into(),
        ]);
        assert!(t.matches(b"/etc"));
        assert!(t.matches(b"/etc/shadow"));
        assert!(!t.matches(b"/etcetera/x"));
        assert!(t.matches(b"/usr/local/bin/x"));
        assert!(!t.matches(b"/usr/local/lib/x"));
        assert!(t.matches(b"/var/lib/spool/x"));
        assert!(!t.matches(b"/var/lib/other"));
        assert!(!t.matches(b"relative"));
    }

    #[test]
    fn networks_and_constants() {
        let c = Const::new("10.0.0.0/8");
        assert!(c.equals(&FieldValue::Ip("10.1.2.3".parse().unwrap())));
        assert!(!c.equals(&FieldValue::Ip("11.1.2.3".parse().unwrap())));
        assert_eq!(Const::new("0x10").int, Some(16));
        assert!(Const::new("-5").equals(&FieldValue::Int(-5)));
        assert!(!Const::new("x").equals(&FieldValue::Int(0)));
        assert!(in_net("::1".parse().unwrap(), "::".parse().unwrap(), 0));
    }

    #[test]
    fn list_values() {
        let set = ValueSet::new(&["a".into(), "b".into()]);
        let both = FieldValue::List(vec![FieldValue::str("a"), FieldValue::str("b")]);
        let some = FieldValue::List(vec![FieldValue::str("a"), FieldValue::str("z")]);
        assert!(Test::In(set.clone()).test(&both));
        assert!(!Test::In(set.clone()).test(&some));
        assert!(Test::Intersects(set.clone()).test(&some));
        assert!(!Test::In(set).test(&FieldValue::List(vec![])));
        assert!(icontains(b"Hello World", b"o w"));
    }

    /// Falco compares `proc.aname` (no index) with each ancestor and holds
    /// if any one matches, for every operator, `!=` and `in` included
    /// (`compare_full_aname`).
    #[test]
    fn any_ancestor_matches_as_in_falco() {
        let s = |t: &'static str| FieldValue::str(t);
        let ancestors = FieldValue::AnyOf(vec![s("bash"), s("sshd")], Negation::AnyDiffers);
        let set = ValueSet::new(&["sshd".into(), "cron".into()]);
        assert!(Test::In(set.clone()).test(&ancestors));
        let only_bash = FieldValue::AnyOf(vec![s("bash")], Negation::AnyDiffers);
        assert!(!Test::In(set).test(&only_bash));
        assert!(Test::Cmp(CmpOp::Eq, Const::new("sshd")).test(&ancestors));
        // `!=`: some ancestor is not bash.
        assert!(Test::Cmp(CmpOp::Ne, Const::new("bash")).test(&ancestors));
        assert!(!Test::Cmp(CmpOp::Ne, Const::new("bash")).test(&only_bash));
        assert!(Test::StartsWith(b"ss".to_vec().into()).test(&ancestors));
        assert!(Test::Glob(Glob::new("s*d", false)).test(&ancestors));
        assert!(
            Test::PMatch(PathTrie::new(&["/usr".into()])).test(&FieldValue::AnyOf(
                vec![s("/bin/sh"), s("/usr/sbin/sshd")],
                Negation::AnyDiffers
            ))
        );
        // No ancestor: nothing matches, not even `exists` or `!=`.
        let none = FieldValue::AnyOf(vec![], Negation::AnyDiffers);
        assert!(!Test::Exists.test(&none));
        assert!(!Test::Cmp(CmpOp::Ne, Const::new("bash")).test(&none));
    }

    /// Falco compares `fd.ip`/`fd.port` with both ends: `=`, `in` and the
    /// orderings hold if either end does, `!=` only if neither end equals
    /// (`compare_ip`, `compare_port`).
    #[test]
    fn either_socket_end_matches_as_in_falco() {
        let ends = FieldValue::AnyOf(
            vec![FieldValue::Uint(40000), FieldValue::Uint(443)],
            Negation::NoneEqual,
        );
        assert!(Test::Cmp(CmpOp::Eq, Const::new("443")).test(&ends));
        assert!(!Test::Cmp(CmpOp::Ne, Const::new("443")).test(&ends));
        assert!(Test::Cmp(CmpOp::Ne, Const::new("80")).test(&ends));
        assert!(Test::Cmp(CmpOp::Lt, Const::new("1024")).test(&ends));
        let set = ValueSet::new(&["80".into(), "443".into()]);
        assert!(Test::In(set).test(&ends));
        let ips = FieldValue::AnyOf(
            vec![
                FieldValue::Ip("10.0.0.1".parse().unwrap()),
                FieldValue::Ip("8.8.8.8".parse().unwrap()),
            ],
            Negation::NoneEqual,
        );
        assert!(Test::Cmp(CmpOp::Eq, Const::new("10.0.0.0/8")).test(&ips));
        assert!(!Test::Cmp(CmpOp::Ne, Const::new("10.0.0.0/8")).test(&ips));
    }
}
