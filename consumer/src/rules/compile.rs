//! Definitions → compiled conditions: macros inlined, lists expanded,
//! fields resolved against the catalogue, constants typed, operators
//! prepared (sets, path trees, searchers, globs, regexes), exceptions
//! folded in, and each condition's possible event types worked out.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_yaml::Value as Yaml;

use super::condition::{self, Expr, FieldOperand, Op, Rhs, Span, Value};
use super::eval::{CmpOp, Const, FieldOp, Glob, Node, PathTrie, Test, ValueSet};
use super::fields::{Field, FieldRef, FieldType};
use super::load::{CondText, Definitions, ExceptionDef, ExceptionFields, Pos, RuleError, Warning};
use super::transform::Transform;

/// Something that can say where a byte of a condition was written.
pub trait Locate {
    /// Position of byte `offset`.
    fn pos(&self, offset: usize) -> Pos;
}

impl Locate for CondText {
    fn pos(&self, offset: usize) -> Pos {
        CondText::pos(self, offset)
    }
}

impl Locate for Pos {
    fn pos(&self, _: usize) -> Pos {
        self.clone()
    }
}

/// The event types a condition can match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTypes {
    /// `None`: any type.  `Some(set)`: only these names.
    pub names: Option<BTreeSet<String>>,
    /// The condition is equivalent to "evt.type is in `names`", so its
    /// negation is the complement (needed to handle `not`).
    exact: bool,
}

impl EventTypes {
    fn any(exact: bool) -> EventTypes {
        EventTypes { names: None, exact }
    }

    /// Works the set out from a compiled condition; `universe` is every
    /// known event name (for `!=` and `not`).
    pub fn of(node: &Node, universe: &BTreeSet<String>) -> EventTypes {
        match node {
            Node::Const(true) => EventTypes::any(true),
            Node::Const(false) => EventTypes {
                names: Some(BTreeSet::new()),
                exact: true,
            },
            Node::EvtType { names, negate, .. } => {
                let set: BTreeSet<String> = names.iter().map(|n| n.to_string()).collect();
                EventTypes {
                    names: Some(if *negate {
                        universe.difference(&set).cloned().collect()
                    } else {
                        set
                    }),
                    exact: true,
                }
            }
            Node::Check(_) => EventTypes::any(false),
            Node::Not(inner) => {
                let t = EventTypes::of(inner, universe);
                if !t.exact {
                    return EventTypes::any(false);
                }
                EventTypes {
                    names: Some(match t.names {
                        None => BTreeSet::new(),
                        Some(s) => universe.difference(&s).cloned().collect(),
                    }),
                    exact: true,
                }
            }
            Node::And(items) => {
                let mut acc = EventTypes::any(true);
                for i in items.iter() {
                    let t = EventTypes::of(i, universe);
                    acc.exact &= t.exact;
                    acc.names = match (acc.names, t.names) {
                        (None, x) | (x, None) => x,
                        (Some(a), Some(b)) => Some(a.intersection(&b).cloned().collect()),
                    };
                }
                acc
            }
            Node::Or(items) => {
                let mut acc = EventTypes {
                    names: Some(BTreeSet::new()),
                    exact: true,
                };
                for i in items.iter() {
                    let t = EventTypes::of(i, universe);
                    acc.exact &= t.exact;
                    acc.names = match (acc.names, t.names) {
                        (None, _) | (_, None) => None,
                        (Some(mut a), Some(b)) => {
                            a.extend(b);
                            Some(a)
                        }
                    };
                }
                acc
            }
        }
    }
}

/// A rough cost of evaluating a node, to order the operands of `and` and
/// `or`: event type tests cost nothing, fields the event carries little,
/// fields from process state more, regular expressions and globs most.
pub fn cost(node: &Node) -> u32 {
    match node {
        Node::Const(_) | Node::EvtType { .. } => 0,
        Node::Not(inner) => cost(inner),
        Node::And(items) | Node::Or(items) => items.iter().map(cost).sum(),
        Node::Check(c) => {
            let name = c.field.field.name();
            // Event fields rendered as text per lookup (an argument's flags
            // by name, all arguments, times, errno names) cost about what a
            // state field does.
            let rendered = matches!(
                c.field.field,
                Field::EvtArg
                    | Field::EvtArgs
                    | Field::EvtRes
                    | Field::EvtTime
                    | Field::EvtTimeS
                    | Field::EvtTimeIso
                    | Field::EvtDatetime
            );
            let source = if rendered {
                3
            } else if name.starts_with("evt.") || name.starts_with("fs.path.") {
                1
            } else if name.starts_with("fd.") {
                2
            } else {
                4
            };
            let test = match c.test {
                Test::Regex(_) | Test::Field(_) => 4,
                Test::Glob(_) | Test::PMatch(_) => 1,
                _ => 0,
            };
            source + test
        }
    }
}

/// Whether an error was about an unknown field (for skip-if-unknown-filter).
const UNKNOWN_FIELD: &str = "unknown field";

/// Compiles conditions against a set of definitions.
pub struct Compiler<'d> {
    defs: &'d Definitions,
    universe: &'d BTreeSet<String>,
    macro_ix: HashMap<&'d str, usize>,
    list_ix: HashMap<&'d str, usize>,
    macro_ast: HashMap<usize, Option<Expr>>,
    /// Macros referenced (directly or through other macros) by some rule.
    pub used_macros: HashSet<usize>,
    /// Lists referenced by some rule, macro or other list.
    pub used_lists: HashSet<usize>,
    stack: Vec<usize>,
    /// How deep the expression being compiled nests, macros included.
    depth: usize,
    /// Errors, deduplicated.
    pub errors: Vec<RuleError>,
    /// Warnings (unknown event names).
    pub warnings: Vec<Warning>,
    /// Where Kestrel differs without the rules being wrong (an event
    /// Falco knows that kestrel.ko does not record): told by
    /// `rules validate`, never a warning.
    pub notes: Vec<Warning>,
}

type Res<T> = Result<T, ()>;

fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if s.len() % 2 != 0 || s.is_empty() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// How deep a condition may nest (parentheses, `not`, macros inside
/// macros) and lists inside lists.
pub const MAX_NESTING: usize = 256;

impl<'d> Compiler<'d> {
    /// A compiler over `defs`; `universe` holds every known event name.
    pub fn new(defs: &'d Definitions, universe: &'d BTreeSet<String>) -> Compiler<'d> {
        Compiler {
            defs,
            universe,
            macro_ix: defs
                .macros
                .iter()
                .enumerate()
                .map(|(i, m)| (m.name.as_str(), i))
                .collect(),
            list_ix: defs
                .lists
                .iter()
                .enumerate()
                .map(|(i, l)| (l.name.as_str(), i))
                .collect(),
            macro_ast: HashMap::new(),
            used_macros: HashSet::new(),
            used_lists: HashSet::new(),
            stack: Vec::new(),
            depth: 0,
            errors: Vec::new(),
            warnings: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn error(&mut self, pos: Pos, message: impl Into<String>) {
        let e = RuleError {
            pos,
            message: message.into(),
        };
        if !self.errors.contains(&e) {
            self.errors.push(e);
        }
    }

    /// Parses and compiles a rule's condition with its exceptions.
    /// Returns None (with errors recorded) if it does not compile; the bool
    /// says whether the failure was only unknown fields.
    pub fn rule_condition(
        &mut self,
        cond: &CondText,
        exceptions: &[ExceptionDef],
    ) -> Result<Node, bool> {
        let before = self.errors.len();
        let result = (|| {
            let ast = match condition::parse(&cond.text) {
                Ok(a) => a,
                Err(e) => {
                    self.error(cond.pos(e.offset), e.message);
                    return Err(());
                }
            };
            let node = self.expr(&ast, cond)?;
            let mut excepted = Vec::new();
            for ex in exceptions {
                if let Some(n) = self.exception(ex)? {
                    excepted.push(n);
                }
            }
            Ok(if excepted.is_empty() {
                node
            } else {
                let any = if excepted.len() == 1 {
                    excepted.pop().expect("one")
                } else {
                    Node::Or(excepted.into())
                };
                Node::And(vec![node, Node::Not(Box::new(any))].into())
            })
        })();
        result.map_err(|()| {
            self.errors[before..]
                .iter()
                .all(|e| e.message.starts_with(UNKNOWN_FIELD))
        })
    }

    /// Marks what a disabled or skipped rule's condition references,
    /// without reporting errors (so its macros do not count as unused).
    pub fn mark_references(&mut self, cond: &CondText) {
        let saved = self.errors.len();
        if let Ok(ast) = condition::parse(&cond.text) {
            let _ = self.expr(&ast, cond);
        }
        self.errors.truncate(saved);
    }

    fn macro_body(&mut self, i: usize) -> Option<Expr> {
        if let Some(e) = self.macro_ast.get(&i) {
            return e.clone();
        }
        let m = &self.defs.macros[i];
        let parsed = match condition::parse(&m.cond.text) {
            Ok(e) => Some(e),
            Err(e) => {
                self.error(m.cond.pos(e.offset), e.message);
                None
            }
        };
        self.macro_ast.insert(i, parsed.clone());
        parsed
    }

    fn expr(&mut self, e: &Expr, loc: &dyn Locate) -> Res<Node> {
        // A counter, not the stack, bounds macro chains and nesting: a
        // chain of any length is an error, never a crash.
        if self.depth >= MAX_NESTING {
            let at = match e {
                Expr::Macro { span, .. } => span.start,
                Expr::Compare { field_span, .. } => field_span.start,
                _ => 0,
            };
            self.error(
                loc.pos(at),
                format!("the condition nests deeper than {MAX_NESTING} levels (macros inside macros included)"),
            );
            return Err(());
        }
        self.depth += 1;
        let r = self.expr_inner(e, loc);
        self.depth -= 1;
        r
    }

    fn expr_inner(&mut self, e: &Expr, loc: &dyn Locate) -> Res<Node> {
        Ok(match e {
            Expr::And(items) => {
                let mut nodes = items
                    .iter()
                    .map(|i| self.expr(i, loc))
                    .collect::<Res<Vec<_>>>()?;
                // Conditions have no side effects, so the order of tests is
                // free: cheap ones (event type, the event's own fields)
                // first, state lookups and regexes last; ties keep the
                // author's order.
                nodes.sort_by_key(cost);
                Node::And(nodes.into())
            }
            Expr::Or(items) => {
                let mut nodes = items
                    .iter()
                    .map(|i| self.expr(i, loc))
                    .collect::<Res<Vec<_>>>()?;
                nodes.sort_by_key(cost);
                Node::Or(nodes.into())
            }
            Expr::Not(inner) => Node::Not(Box::new(self.expr(inner, loc)?)),
            Expr::Macro { name, span } => {
                let Some(&i) = self.macro_ix.get(name.as_str()) else {
                    let msg = if self.list_ix.contains_key(name.as_str()) {
                        format!("'{name}' is a list, not a macro: expected a field and an operator such as 'proc.name in ({name})'")
                    } else {
                        format!("undefined macro '{name}' (expected a macro name, or a field and an operator)")
                    };
                    self.error(loc.pos(span.start), msg);
                    return Err(());
                };
                if self.stack.contains(&i) {
                    self.error(
                        loc.pos(span.start),
                        format!("macro '{name}' refers to itself"),
                    );
                    return Err(());
                }
                self.used_macros.insert(i);
                let body = self.macro_body(i).ok_or(())?;
                self.stack.push(i);
                let defs = self.defs;
                let r = self.expr(&body, &defs.macros[i].cond);
                self.stack.pop();
                r?
            }
            Expr::Compare {
                field,
                arg,
                field_span,
                op,
                op_span,
                rhs,
                transforms,
            } => self.compare(
                field,
                arg.as_deref(),
                *field_span,
                *op,
                *op_span,
                rhs,
                transforms,
                loc,
            )?,
        })
    }

    /// Expands list names among `values` (recursively), marking them used.
    fn expand(&mut self, values: &[Value], loc: &dyn Locate) -> Res<Vec<String>> {
        let mut out = Vec::new();
        for v in values {
            if !v.quoted {
                if let Some(&i) = self.list_ix.get(v.text.as_str()) {
                    let mut seen = Vec::new();
                    self.expand_list(i, &mut out, &mut seen, loc, v.span)?;
                    continue;
                }
            }
            out.push(v.text.clone());
        }
        Ok(out)
    }

    fn expand_list(
        &mut self,
        i: usize,
        out: &mut Vec<String>,
        seen: &mut Vec<usize>,
        loc: &dyn Locate,
        span: Span,
    ) -> Res<()> {
        if seen.len() >= MAX_NESTING {
            let name = self.defs.lists[i].name.clone();
            self.error(
                loc.pos(span.start),
                format!("list '{name}' is nested in lists deeper than {MAX_NESTING} levels"),
            );
            return Err(());
        }
        if seen.contains(&i) {
            let name = self.defs.lists[i].name.clone();
            self.error(
                loc.pos(span.start),
                format!("list '{name}' includes itself"),
            );
            return Err(());
        }
        seen.push(i);
        self.used_lists.insert(i);
        let defs = self.defs;
        for item in &defs.lists[i].items {
            match self.list_ix.get(item.as_str()) {
                Some(&j) => self.expand_list(j, out, seen, loc, span)?,
                // Falco expands items into the condition text, so an item
                // written with quotes is a quoted string: its text.
                None => out.push(condition::unquote_item(item).unwrap_or_else(|| item.clone())),
            }
        }
        seen.pop();
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn compare(
        &mut self,
        field: &str,
        arg: Option<&str>,
        field_span: Span,
        op: Op,
        op_span: Span,
        rhs: &Rhs,
        transforms: &[Transform],
        loc: &dyn Locate,
    ) -> Res<Node> {
        let fref = match FieldRef::resolve(field, arg) {
            Ok(f) => f,
            Err(msg) => {
                self.error(loc.pos(field_span.start), msg);
                return Err(());
            }
        };
        let Some(ty) = self.transformed_type(fref.field.info().ty, transforms, field_span, loc)
        else {
            return Err(());
        };
        if let Rhs::Field(other) = rhs {
            return self.field_comparison(fref, ty, transforms, op, op_span, other, loc);
        }
        let op_err = |c: &mut Self, what: &str| {
            c.error(
                loc.pos(op_span.start),
                format!(
                    "operator '{op}' does not apply to {} ({}){what}",
                    fref.field.name(),
                    ty.describe()
                ),
            );
            Err(())
        };
        let allowed = match ty {
            FieldType::Str | FieldType::StrList => !matches!(op, Op::Lt | Op::Le | Op::Gt | Op::Ge),
            FieldType::Bytes => matches!(
                op,
                Op::Eq
                    | Op::Ne
                    | Op::BContains
                    | Op::BStartsWith
                    | Op::Contains
                    | Op::StartsWith
                    | Op::Exists
            ),
            FieldType::Int | FieldType::Uint => matches!(
                op,
                Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge | Op::In | Op::Exists
            ),
            FieldType::Bool => matches!(op, Op::Eq | Op::Ne | Op::Exists),
            FieldType::Ip | FieldType::IpNet => {
                matches!(op, Op::Eq | Op::Ne | Op::In | Op::Exists)
            }
            FieldType::Dynamic => true,
        };
        if !allowed {
            return op_err(self, "");
        }
        let domain = matches!(
            fref.field,
            Field::FdCipName | Field::FdSipName | Field::FdLipName | Field::FdRipName
        );
        if domain && !matches!(op, Op::Eq | Op::Ne | Op::In | Op::Exists) {
            return op_err(self, ": domain name fields take only =, != and in");
        }
        let (values, first_span) = match rhs {
            Rhs::None | Rhs::Field(_) => (Vec::new(), op_span),
            Rhs::Single(v) => (vec![v.text.clone()], v.span),
            Rhs::List(items) => (
                self.expand(items, loc)?,
                items.first().map_or(op_span, |v| v.span),
            ),
        };
        // Typed constants: numbers, booleans, addresses must parse.
        for v in &values {
            let c = Const::new(v);
            let bad = match ty {
                FieldType::Int | FieldType::Uint => c.int.is_none(),
                FieldType::Bool => c.boolean.is_none(),
                FieldType::Ip if op == Op::In => c.net.is_none(),
                FieldType::Ip => c.ip.is_none(),
                FieldType::IpNet => c.net.is_none(),
                _ => false,
            };
            if bad {
                self.error(
                    loc.pos(first_span.start),
                    format!(
                        "expected a {} for {}, found '{v}'",
                        match ty {
                            FieldType::Bool => "true or false",
                            FieldType::Ip => "an IP address",
                            FieldType::IpNet => "an IP address or network (10.0.0.0/8)",
                            _ => "number",
                        },
                        fref.field.name()
                    ),
                );
                return Err(());
            }
        }
        if fref.field == Field::EvtType && matches!(op, Op::Eq | Op::Ne | Op::In) {
            for v in &values {
                if !self.universe.contains(v) {
                    let pos = loc.pos(first_span.start);
                    if kestrel_abi::syscall_number(v).is_some() {
                        // A real syscall: valid in Falco, only not recorded here.
                        let note = Warning {
                            pos,
                            message: format!(
                                "kestrel.ko does not record '{v}': this test can never match it"
                            ),
                        };
                        if !self.notes.contains(&note) {
                            self.notes.push(note);
                        }
                    } else {
                        let w = Warning {
                            pos,
                            message: format!(
                                "no event called '{v}' exists: this test can never match it"
                            ),
                        };
                        if !self.warnings.contains(&w) {
                            self.warnings.push(w);
                        }
                    }
                }
            }
            let names: Box<[Box<str>]> = values.iter().map(|v| v.as_str().into()).collect();
            return Ok(Node::EvtType {
                types: super::eval::event_type_bits(&names),
                names,
                negate: op == Op::Ne,
            });
        }
        let one = values.first().cloned().unwrap_or_default();
        let test = match op {
            Op::In | Op::Eq | Op::Ne if domain => {
                // The names are resolved in the background; an address has
                // the names that resolved to it (see rules::dns).
                for v in &values {
                    super::dns::watch(v);
                }
                match op {
                    Op::In => Test::Intersects(ValueSet::new(&values)),
                    Op::Eq => Test::Cmp(CmpOp::Eq, Const::new(&one)),
                    _ => Test::Cmp(CmpOp::Ne, Const::new(&one)),
                }
            }
            Op::Exists => Test::Exists,
            Op::Eq => Test::Cmp(CmpOp::Eq, Const::new(&one)),
            Op::Ne => Test::Cmp(CmpOp::Ne, Const::new(&one)),
            Op::Lt => Test::Cmp(CmpOp::Lt, Const::new(&one)),
            Op::Le => Test::Cmp(CmpOp::Le, Const::new(&one)),
            Op::Gt => Test::Cmp(CmpOp::Gt, Const::new(&one)),
            Op::Ge => Test::Cmp(CmpOp::Ge, Const::new(&one)),
            Op::Contains => {
                Test::Contains(memchr::memmem::Finder::new(one.as_bytes()).into_owned())
            }
            Op::IContains => Test::IContains(one.to_ascii_lowercase().into_bytes().into()),
            Op::StartsWith => Test::StartsWith(one.into_bytes().into()),
            Op::EndsWith => Test::EndsWith(one.into_bytes().into()),
            Op::BContains | Op::BStartsWith => {
                let Some(bytes) = hex_bytes(&one) else {
                    self.error(
                        loc.pos(first_span.start),
                        format!("expected hexadecimal bytes (such as CAFEBABE) after '{op}', found '{one}'"),
                    );
                    return Err(());
                };
                if op == Op::BContains {
                    Test::Contains(memchr::memmem::Finder::new(&bytes).into_owned())
                } else {
                    Test::StartsWith(bytes.into())
                }
            }
            Op::In => Test::In(ValueSet::new(&values)),
            Op::Intersects => Test::Intersects(ValueSet::new(&values)),
            Op::PMatch => Test::PMatch(PathTrie::new(&values)),
            Op::Glob => Test::Glob(Glob::new(&one, false)),
            Op::IGlob => Test::Glob(Glob::new(&one, true)),
            // Falco matches with RE2's FullMatch: the whole value.
            Op::Regex => match regex::bytes::RegexBuilder::new(&format!("\\A(?:{one})\\z"))
                .size_limit(1 << 20)
                .build()
            {
                Ok(r) => Test::Regex(r),
                Err(e) => {
                    let msg = e.to_string();
                    let last = msg.lines().last().unwrap_or("").trim().to_string();
                    self.error(
                        loc.pos(first_span.start),
                        format!("expected a regular expression after 'regex': {last}"),
                    );
                    return Err(());
                }
            },
        };
        Ok(Node::Check(Box::new(super::eval::Check {
            field: fref,
            transforms: transforms.into(),
            test,
            memo: super::eval::NO_MEMO,
        })))
    }

    /// The type of a field's value after `transforms`, or `None` (with an
    /// error) if one does not apply to it.
    fn transformed_type(
        &mut self,
        mut ty: FieldType,
        transforms: &[Transform],
        span: Span,
        loc: &dyn Locate,
    ) -> Option<FieldType> {
        for t in transforms {
            let text = matches!(
                ty,
                FieldType::Str | FieldType::Bytes | FieldType::StrList | FieldType::Dynamic
            );
            if !text {
                self.error(
                    loc.pos(span.start),
                    format!(
                        "transformer {}() applies to text, not to a {}",
                        t.name(),
                        ty.describe()
                    ),
                );
                return None;
            }
            if *t == Transform::Len {
                ty = FieldType::Uint;
            }
        }
        Some(ty)
    }

    /// `field op val(other)`: two fields compared.
    #[allow(clippy::too_many_arguments)]
    fn field_comparison(
        &mut self,
        fref: FieldRef,
        ty: FieldType,
        transforms: &[Transform],
        op: Op,
        op_span: Span,
        other: &FieldOperand,
        loc: &dyn Locate,
    ) -> Res<Node> {
        let rhs = match FieldRef::resolve(&other.field, other.arg.as_deref()) {
            Ok(f) => f,
            Err(msg) => {
                self.error(loc.pos(other.span.start), msg);
                return Err(());
            }
        };
        let Some(rty) =
            self.transformed_type(rhs.field.info().ty, &other.transforms, other.span, loc)
        else {
            return Err(());
        };
        let cmp = match op {
            Op::Eq => FieldOp::Cmp(CmpOp::Eq),
            Op::Ne => FieldOp::Cmp(CmpOp::Ne),
            Op::Lt => FieldOp::Cmp(CmpOp::Lt),
            Op::Le => FieldOp::Cmp(CmpOp::Le),
            Op::Gt => FieldOp::Cmp(CmpOp::Gt),
            Op::Ge => FieldOp::Cmp(CmpOp::Ge),
            Op::Contains => FieldOp::Contains,
            Op::IContains => FieldOp::IContains,
            Op::StartsWith => FieldOp::StartsWith,
            Op::EndsWith => FieldOp::EndsWith,
            _ => {
                self.error(
                    loc.pos(op_span.start),
                    format!("operator '{op}' does not take a field (val()) on its right"),
                );
                return Err(());
            }
        };
        let numeric = |t: FieldType| matches!(t, FieldType::Int | FieldType::Uint);
        if numeric(ty) != numeric(rty) && ty != FieldType::Dynamic && rty != FieldType::Dynamic {
            self.error(
                loc.pos(other.span.start),
                format!(
                    "cannot compare {} ({}) with {} ({})",
                    fref.field.name(),
                    ty.describe(),
                    rhs.field.name(),
                    rty.describe()
                ),
            );
            return Err(());
        }
        Ok(Node::Check(Box::new(super::eval::Check {
            field: fref,
            transforms: transforms.into(),
            test: Test::Field(Box::new(super::eval::FieldTest {
                op: cmp,
                field: rhs,
                transforms: other.transforms.clone().into(),
            })),
            memo: super::eval::NO_MEMO,
        })))
    }

    fn exception_value(v: &Yaml) -> Option<Rhs> {
        let item = |t: String| Value {
            text: t,
            quoted: false,
            span: Span::default(),
        };
        match v {
            Yaml::Sequence(s) => {
                let items: Option<Vec<Value>> = s
                    .iter()
                    .map(|x| match x {
                        Yaml::String(t) => Some(t.clone()),
                        Yaml::Number(n) => Some(n.to_string()),
                        Yaml::Bool(b) => Some(b.to_string()),
                        _ => None,
                    })
                    .map(|t| t.map(item))
                    .collect();
                items.map(Rhs::List)
            }
            Yaml::String(t) => Some(Rhs::Single(item(t.clone()))),
            Yaml::Number(n) => Some(Rhs::Single(item(n.to_string()))),
            Yaml::Bool(b) => Some(Rhs::Single(item(b.to_string()))),
            _ => None,
        }
    }

    fn op_named(&mut self, ex: &ExceptionDef, text: &str) -> Res<Op> {
        let op = match text {
            "=" | "==" => Some(Op::Eq),
            "!=" => Some(Op::Ne),
            "<" => Some(Op::Lt),
            "<=" => Some(Op::Le),
            ">" => Some(Op::Gt),
            ">=" => Some(Op::Ge),
            w => Op::from_word(w),
        };
        match op {
            Some(Op::Exists) | None => {
                self.error(
                    ex.pos.clone(),
                    format!(
                        "exception '{}': expected a comparison operator in 'comps', found '{text}'",
                        ex.name
                    ),
                );
                Err(())
            }
            Some(op) => Ok(op),
        }
    }

    fn cmp_expr(field: &str, op: Op, rhs: Rhs) -> Expr {
        // A list value for a single-value operator: any of them.
        let rhs = match (op.takes_list(), rhs) {
            (true, Rhs::Single(v)) => Rhs::List(vec![v]),
            (_, r) => r,
        };
        if let (false, Rhs::List(items)) = (op.takes_list(), &rhs) {
            return Expr::Or(
                items
                    .iter()
                    .map(|v| Self::cmp_expr(field, op, Rhs::Single(v.clone())))
                    .collect(),
            );
        }
        let (name, arg) = match field.split_once('[') {
            Some((n, a)) => (n.to_string(), Some(a.trim_end_matches(']').to_string())),
            None => (field.to_string(), None),
        };
        Expr::Compare {
            field: name,
            arg,
            field_span: Span::default(),
            op,
            op_span: Span::default(),
            rhs,
            transforms: Vec::new(),
        }
    }

    /// An exception as "any of its value tuples matches".
    fn exception(&mut self, ex: &ExceptionDef) -> Res<Option<Node>> {
        let pos = ex.pos.clone();
        let mut alternatives = Vec::new();
        match &ex.fields {
            ExceptionFields::One(field) => {
                let op = match ex.comps.as_slice() {
                    [] => Op::In,
                    [one] => self.op_named(ex, one)?,
                    _ => {
                        self.error(
                            pos,
                            format!(
                                "exception '{}': one field takes one operator in 'comps'",
                                ex.name
                            ),
                        );
                        return Err(());
                    }
                };
                // Validate the field even without values.
                if let Err(msg) = FieldRef::resolve(
                    field.split('[').next().unwrap_or(""),
                    field.split_once('[').map(|(_, a)| a.trim_end_matches(']')),
                ) {
                    self.error(pos, format!("exception '{}': {msg}", ex.name));
                    return Err(());
                }
                if ex.values.is_empty() {
                    return Ok(None);
                }
                let mut items = Vec::new();
                for v in &ex.values {
                    match Self::exception_value(v) {
                        Some(Rhs::Single(v)) => items.push(v),
                        Some(Rhs::List(vs)) => items.extend(vs),
                        _ => {
                            self.error(
                                pos,
                                format!("exception '{}': expected text values", ex.name),
                            );
                            return Err(());
                        }
                    }
                }
                alternatives.push(Self::cmp_expr(field, op, Rhs::List(items)));
            }
            ExceptionFields::Many(fields) => {
                if fields.is_empty() {
                    self.error(pos, format!("exception '{}' needs 'fields'", ex.name));
                    return Err(());
                }
                let ops: Vec<Op> = if ex.comps.is_empty() {
                    vec![Op::Eq; fields.len()]
                } else if ex.comps.len() == fields.len() {
                    let mut ops = Vec::new();
                    for c in &ex.comps {
                        ops.push(self.op_named(ex, c)?);
                    }
                    ops
                } else {
                    self.error(
                        pos,
                        format!(
                            "exception '{}': {} fields but {} operators in 'comps'",
                            ex.name,
                            fields.len(),
                            ex.comps.len()
                        ),
                    );
                    return Err(());
                };
                for f in fields {
                    if let Err(msg) = FieldRef::resolve(
                        f.split('[').next().unwrap_or(""),
                        f.split_once('[').map(|(_, a)| a.trim_end_matches(']')),
                    ) {
                        self.error(pos, format!("exception '{}': {msg}", ex.name));
                        return Err(());
                    }
                }
                for tuple in &ex.values {
                    let Some(items) = tuple.as_sequence().filter(|s| s.len() == fields.len())
                    else {
                        self.error(
                            pos,
                            format!(
                                "exception '{}': expected each value to be a list of {} items, one per field",
                                ex.name,
                                fields.len()
                            ),
                        );
                        return Err(());
                    };
                    let mut all = Vec::new();
                    for ((f, op), v) in fields.iter().zip(&ops).zip(items) {
                        let Some(rhs) = Self::exception_value(v) else {
                            self.error(
                                pos,
                                format!("exception '{}': expected text values", ex.name),
                            );
                            return Err(());
                        };
                        all.push(Self::cmp_expr(f, *op, rhs));
                    }
                    alternatives.push(Expr::And(all));
                }
            }
        }
        if alternatives.is_empty() {
            return Ok(None);
        }
        let e = if alternatives.len() == 1 {
            alternatives.pop().expect("one")
        } else {
            Expr::Or(alternatives)
        };
        self.expr(&e, &pos).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn universe() -> BTreeSet<String> {
        ["open", "openat", "execve", "connect", "procexit"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn compile(text: &str) -> Result<(Node, EventTypes), Vec<RuleError>> {
        let u = universe();
        let mut defs = Definitions::default();
        let yaml = format!(
            "- list: opens\n  items: [open, openat]\n- macro: m_open\n  condition: evt.type in (opens)\n- rule: r\n  desc: d\n  condition: {text}\n  output: o\n  priority: info\n"
        );
        defs.load_file("t.yaml", yaml)?;
        let mut c = Compiler::new(&defs, &u);
        let node = c
            .rule_condition(&defs.rules[0].cond, &defs.rules[0].exceptions)
            .map_err(|_| c.errors.clone())?;
        let types = EventTypes::of(&node, &u);
        Ok((node, types))
    }

    fn names(t: &EventTypes) -> Option<Vec<&str>> {
        t.names
            .as_ref()
            .map(|s| s.iter().map(|x| x.as_str()).collect())
    }

    #[test]
    fn event_types_follow_the_logic() {
        let cases: &[(&str, Option<&[&str]>)] = &[
            ("evt.type = execve", Some(&["execve"])),
            ("m_open and proc.name = x", Some(&["open", "openat"])),
            (
                "m_open or evt.type = connect",
                Some(&["connect", "open", "openat"]),
            ),
            ("m_open or proc.name = x", None),
            ("proc.name = x", None),
            (
                "not evt.type = execve",
                Some(&["connect", "open", "openat", "procexit"]),
            ),
            (
                "evt.type != execve and proc.name = x",
                Some(&["connect", "open", "openat", "procexit"]),
            ),
            ("not (evt.type = execve and proc.name = x)", None),
            ("evt.type = execve and not proc.name = x", Some(&["execve"])),
            ("evt.type = execve and evt.type = open", Some(&[])),
        ];
        for (cond, want) in cases {
            let (_, t) = compile(cond).unwrap();
            assert_eq!(names(&t).as_deref(), *want, "{cond}");
        }
    }

    #[test]
    fn cheap_tests_run_first() {
        let (node, _) =
            compile("proc.name = x and fd.name = /y and evt.type = open and evt.rawres = 0")
                .unwrap();
        let Node::And(items) = node else { panic!() };
        let costs: Vec<u32> = items.iter().map(cost).collect();
        assert_eq!(costs, [0, 1, 2, 4]);
        assert!(matches!(&items[0], Node::EvtType { .. }));
        // An argument rendered as flag names runs after the raw result.
        let (node, _) = compile("evt.arg.flags contains O_CREAT and evt.rawres >= 0").unwrap();
        let Node::And(items) = node else { panic!() };
        let costs: Vec<u32> = items.iter().map(cost).collect();
        assert_eq!(costs, [1, 3]);
    }

    #[test]
    fn field_and_operator_errors_have_positions() {
        let cases: &[(&str, &str, usize)] = &[
            ("proc.nam = x", "unknown field 'proc.nam'", 14),
            ("proc.pid = abc", "expected a number", 25),
            ("proc.name < x", "does not apply", 24),
            ("nope", "undefined macro 'nope'", 14),
            ("opens", "is a list, not a macro", 14),
            ("proc.name regex '('", "regular expression", 30),
            ("evt.buffer bcontains XYZ", "hexadecimal", 35),
            ("fd.net = 10.0.0.0/99", "network", 23),
            ("evt.failed = maybe", "true or false", 27),
        ];
        for (cond, what, col) in cases {
            let errs = compile(cond).unwrap_err();
            assert!(errs[0].message.contains(what), "{cond}: {errs:?}");
            assert_eq!(
                (errs[0].pos.line, errs[0].pos.col),
                (7, *col),
                "{cond}: {}",
                errs[0]
            );
        }
    }

    #[test]
    fn long_macro_and_list_chains_are_errors_not_crashes() {
        let u = universe();
        // 10,000 macros, each the next; 50,000 lists, each the next.
        let mut text = String::new();
        for i in 0..10_000 {
            text.push_str(&format!("- macro: m{i}\n  condition: m{}\n", i + 1));
        }
        text.push_str("- macro: m10000\n  condition: proc.name = x\n");
        for i in 0..50_000 {
            text.push_str(&format!("- list: l{i}\n  items: [l{}]\n", i + 1));
        }
        text.push_str("- list: l50000\n  items: [x]\n");
        text.push_str("- rule: r\n  desc: d\n  condition: m0\n  output: o\n  priority: info\n");
        text.push_str(
            "- rule: s\n  desc: d\n  condition: proc.name in (l0)\n  output: o\n  priority: info\n",
        );
        let mut defs = Definitions::default();
        defs.load_file("chain", text).unwrap();
        let mut c = Compiler::new(&defs, &u);
        assert!(c.rule_condition(&defs.rules[0].cond, &[]).is_err());
        assert!(c.rule_condition(&defs.rules[1].cond, &[]).is_err());
        assert!(
            c.errors[0].message.contains("nests deeper than 256"),
            "{:?}",
            c.errors
        );
        assert!(
            c.errors[1].message.contains("deeper than 256"),
            "{:?}",
            c.errors
        );
        // A chain within the bound compiles.
        let mut text = String::new();
        for i in 0..100 {
            text.push_str(&format!("- macro: m{i}\n  condition: m{}\n", i + 1));
        }
        text.push_str("- macro: m100\n  condition: proc.name = x\n");
        text.push_str("- rule: r\n  desc: d\n  condition: m0\n  output: o\n  priority: info\n");
        let mut defs = Definitions::default();
        defs.load_file("short", text).unwrap();
        let mut c = Compiler::new(&defs, &u);
        assert!(c.rule_condition(&defs.rules[0].cond, &[]).is_ok());
    }

    #[test]
    fn recursive_macros_and_lists_are_errors() {
        let u = universe();
        let mut defs = Definitions::default();
        defs.load_file(
            "t",
            "- macro: a\n  condition: b\n- macro: b\n  condition: a\n- list: l1\n  items: [l2]\n- list: l2\n  items: [l1]\n- rule: r\n  desc: d\n  condition: a\n  output: o\n  priority: info\n- rule: s\n  desc: d\n  condition: proc.name in (l1)\n  output: o\n  priority: info\n"
                .into(),
        )
        .unwrap();
        let mut c = Compiler::new(&defs, &u);
        assert!(c.rule_condition(&defs.rules[0].cond, &[]).is_err());
        assert!(
            c.errors[0].message.contains("refers to itself"),
            "{:?}",
            c.errors
        );
        assert!(c.rule_condition(&defs.rules[1].cond, &[]).is_err());
        assert!(c.errors.last().unwrap().message.contains("includes itself"));
    }
}
