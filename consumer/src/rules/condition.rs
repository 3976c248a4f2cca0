//! Falco condition syntax → syntax tree, with byte offsets for errors.
//!
//! ```text
//! expr    := and ("or" and)*
//! and     := unary ("and" unary)*
//! unary   := "not" unary | primary
//! primary := "(" expr ")"
//!          | NAME                                    macro reference
//!          | FIELD ["[" ARG "]"] "exists"
//!          | FIELD ["[" ARG "]"] OP VALUE
//!          | FIELD ["[" ARG "]"] LISTOP ( "(" VALUE ("," VALUE)* ")" | NAME )
//! ```
//!
//! Values are quoted (`'..'`, `".."`, with backslash escapes) or bare (a
//! run of characters up to white space, a parenthesis or a comma, so
//! `evt.dir = <` and `fd.name = /a=b` read as written).

use std::fmt;

pub use super::transform::Transform;

/// A byte range in the condition text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `=` or `==`.
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
    /// Substring.
    Contains,
    /// Substring, ASCII case-insensitive.
    IContains,
    /// Byte substring, value given in hex.
    BContains,
    /// Prefix.
    StartsWith,
    /// Byte prefix, value given in hex.
    BStartsWith,
    /// Suffix.
    EndsWith,
    /// Member of a set (for list fields: every element is).
    In,
    /// Some element of a list field is in the set.
    Intersects,
    /// Path below one of a set of directories (or equal to one).
    PMatch,
    /// Shell wildcard match of the whole value.
    Glob,
    /// Shell wildcard, ASCII case-insensitive.
    IGlob,
    /// Regular expression, matching anywhere unless anchored.
    Regex,
    /// The field has a value.
    Exists,
}

impl Op {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Contains => "contains",
            Op::IContains => "icontains",
            Op::BContains => "bcontains",
            Op::StartsWith => "startswith",
            Op::BStartsWith => "bstartswith",
            Op::EndsWith => "endswith",
            Op::In => "in",
            Op::Intersects => "intersects",
            Op::PMatch => "pmatch",
            Op::Glob => "glob",
            Op::IGlob => "iglob",
            Op::Regex => "regex",
            Op::Exists => "exists",
        }
    }

    /// Operators written as words.
    pub fn from_word(w: &str) -> Option<Op> {
        Some(match w {
            "contains" => Op::Contains,
            "icontains" => Op::IContains,
            "bcontains" => Op::BContains,
            "startswith" => Op::StartsWith,
            "bstartswith" => Op::BStartsWith,
            "endswith" => Op::EndsWith,
            "in" => Op::In,
            "intersects" => Op::Intersects,
            "pmatch" => Op::PMatch,
            "glob" => Op::Glob,
            "iglob" => Op::IGlob,
            "regex" => Op::Regex,
            "exists" => Op::Exists,
            _ => return None,
        })
    }

    /// Whether the right-hand side is a list.
    pub fn takes_list(self) -> bool {
        matches!(self, Op::In | Op::Intersects | Op::PMatch)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One constant on the right of an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    /// The text, unquoted and unescaped.
    pub text: String,
    /// Written in quotes (never a list reference).
    pub quoted: bool,
    /// Where it was written.
    pub span: Span,
}

/// The right of an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rhs {
    /// `exists`.
    None,
    /// One value.
    Single(Value),
    /// `(a, b, c)`, or a bare list name after a list operator (then one
    /// unquoted item).
    List(Vec<Value>),
    /// Another field's value: `val(proc.pname)`, possibly transformed
    /// (`tolower(val(proc.pname))`).
    Field(FieldOperand),
}

/// A field as an operand: its name, argument, transformers (innermost
/// first) and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldOperand {
    /// Field name as written.
    pub field: String,
    /// Bracketed argument.
    pub arg: Option<String>,
    /// Transformers, innermost first.
    pub transforms: Vec<Transform>,
    /// Where the field was written.
    pub span: Span,
}

/// A condition's syntax tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// All of.
    And(Vec<Expr>),
    /// Any of.
    Or(Vec<Expr>),
    /// Negation.
    Not(Box<Expr>),
    /// A macro, by name.
    Macro {
        /// Its name.
        name: String,
        /// Where it was named.
        span: Span,
    },
    /// `field op value`.
    Compare {
        /// Field name as written (`evt.arg.flags`).
        field: String,
        /// Bracketed argument (`2` in `proc.aname[2]`).
        arg: Option<String>,
        /// Where the field (with its argument) was written.
        field_span: Span,
        /// Operator.
        op: Op,
        /// Where the operator was written.
        op_span: Span,
        /// Right-hand side.
        rhs: Rhs,
        /// Transformers of the field, innermost first (`tolower(...)`).
        transforms: Vec<Transform>,
    },
}

/// A syntax error: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset in the condition.
    pub offset: usize,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at offset {}: {}", self.offset, self.message)
    }
}

/// Most nesting a condition may have (parentheses and `not`), so a
/// hostile file cannot overflow the stack.
pub const MAX_DEPTH: usize = 200;

/// Parses a whole condition.
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        pos: 0,
        depth: 0,
    };
    p.ws();
    if p.pos == p.s.len() {
        return Err(p.err("expected a condition, found nothing"));
    }
    let e = p.or()?;
    p.ws();
    if p.pos < p.s.len() {
        return Err(p.err(format!(
            "expected 'and', 'or' or the end of the condition, found '{}'",
            p.peek_word()
        )));
    }
    Ok(e)
}

struct Parser<'t> {
    s: &'t [u8],
    text: &'t str,
    pos: usize,
    depth: usize,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-')
}

fn is_bare_end(c: u8) -> bool {
    c.is_ascii_whitespace() || matches!(c, b'(' | b')' | b',')
}

impl Parser<'_> {
    fn err(&self, message: impl Into<String>) -> ParseError {
        ParseError {
            offset: self.pos,
            message: message.into(),
        }
    }

    fn ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    /// What stands at the cursor, for messages.
    fn peek_word(&self) -> String {
        if self.pos >= self.s.len() {
            return "end of condition".into();
        }
        let rest = &self.text[self.pos..];
        let end = rest
            .char_indices()
            .find(|&(i, c)| i > 0 && (c.is_whitespace() || "(),".contains(c)))
            .map_or(rest.len(), |(i, _)| i);
        rest[..end].to_string()
    }

    /// The identifier at the cursor, without moving.
    fn ident_len(&self) -> usize {
        if !self.peek().is_some_and(is_ident_start) {
            return 0;
        }
        self.s[self.pos..]
            .iter()
            .take_while(|&&c| is_ident(c))
            .count()
    }

    /// Consumes the keyword `kw` if it stands at the cursor as a whole word.
    fn keyword(&mut self, kw: &str) -> bool {
        let n = self.ident_len();
        if n == kw.len() && &self.s[self.pos..self.pos + n] == kw.as_bytes() {
            self.pos += n;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut items = vec![self.and()?];
        loop {
            self.ws();
            if self.keyword("or") {
                self.ws();
                items.push(self.and()?);
            } else {
                break;
            }
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one item")
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut items = vec![self.unary()?];
        loop {
            self.ws();
            if self.keyword("and") {
                self.ws();
                items.push(self.unary()?);
            } else {
                break;
            }
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one item")
        } else {
            Expr::And(items)
        })
    }

    fn nest(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(format!("condition nests deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        self.ws();
        if self.keyword("not") {
            self.nest()?;
            self.ws();
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        self.ws();
        match self.peek() {
            None => {
                Err(self
                    .err("expected a field, a macro, 'not' or '(', found the end of the condition"))
            }
            Some(b'(') => {
                self.nest()?;
                self.pos += 1;
                let e = self.or()?;
                self.ws();
                if self.peek() != Some(b')') {
                    return Err(self.err(format!(
                        "expected ')' or 'and'/'or', found '{}'",
                        self.peek_word()
                    )));
                }
                self.pos += 1;
                self.depth -= 1;
                Ok(e)
            }
            Some(c) if is_ident_start(c) => self.comparison(),
            Some(_) => Err(self.err(format!(
                "expected a field, a macro, 'not' or '(', found '{}'",
                self.peek_word()
            ))),
        }
    }

    /// `transformer(` ... prefixes: the transformers, outermost first, with
    /// the position after them.
    fn transformer_prefix(&mut self) -> Vec<Transform> {
        let mut out = Vec::new();
        loop {
            let n = self.ident_len();
            let word = &self.text[self.pos..self.pos + n];
            let Some(t) = Transform::by_name(word) else {
                break;
            };
            if self.s.get(self.pos + n) != Some(&b'(') {
                break;
            }
            out.push(t);
            self.pos += n + 1;
            self.ws();
        }
        out
    }

    /// The `)` closing each of `count` transformers (or `val(`).
    fn close_parens(&mut self, count: usize, what: &str) -> Result<(), ParseError> {
        for _ in 0..count {
            self.ws();
            if self.peek() != Some(b')') {
                return Err(self.err(format!("expected ')' to close {what}")));
            }
            self.pos += 1;
        }
        Ok(())
    }

    /// A field with its optional `[argument]`.
    fn field_name(&mut self) -> Result<(String, Option<String>, Span), ParseError> {
        let start = self.pos;
        let n = self.ident_len();
        if n == 0 {
            return Err(self.err(format!("expected a field, found '{}'", self.peek_word())));
        }
        let name = self.text[start..start + n].to_string();
        self.pos += n;
        let mut arg = None;
        if self.peek() == Some(b'[') {
            let open = self.pos;
            match self.s[open..].iter().position(|&c| c == b']') {
                Some(c) => {
                    arg = Some(self.text[open + 1..open + c].to_string());
                    self.pos = open + c + 1;
                }
                None => {
                    return Err(self.err(format!("expected ']' to close the argument of '{name}'")))
                }
            }
        }
        Ok((
            name,
            arg,
            Span {
                start,
                end: self.pos,
            },
        ))
    }

    /// `val(field)`, possibly inside transformers, on the right of an
    /// operator; `None` (position unchanged) if the text is not one.
    fn rhs_field(&mut self) -> Result<Option<FieldOperand>, ParseError> {
        let save = self.pos;
        let mut transforms = self.transformer_prefix();
        let n = self.ident_len();
        if &self.text[self.pos..self.pos + n] != "val" || self.s.get(self.pos + n) != Some(&b'(') {
            self.pos = save;
            return Ok(None);
        }
        self.pos += n + 1;
        self.ws();
        let (field, arg, span) = self.field_name()?;
        self.close_parens(1, "val(")?;
        self.close_parens(transforms.len(), "a transformer")?;
        transforms.reverse();
        Ok(Some(FieldOperand {
            field,
            arg,
            transforms,
            span,
        }))
    }

    fn comparison(&mut self) -> Result<Expr, ParseError> {
        let mut transforms = self.transformer_prefix();
        let start = self.pos;
        let n = self.ident_len();
        let name = self.text[start..start + n].to_string();
        if matches!(name.as_str(), "and" | "or") {
            return Err(self.err(format!(
                "expected a field, a macro, 'not' or '(', found '{name}'"
            )));
        }
        self.pos += n;
        let mut arg = None;
        if self.peek() == Some(b'[') {
            let open = self.pos;
            let close = self.s[open..].iter().position(|&c| c == b']');
            match close {
                Some(c) => {
                    arg = Some(self.text[open + 1..open + c].to_string());
                    self.pos = open + c + 1;
                }
                None => {
                    return Err(self.err(format!("expected ']' to close the argument of '{name}'")))
                }
            }
        }
        let field_span = Span {
            start,
            end: self.pos,
        };
        if !transforms.is_empty() {
            self.close_parens(transforms.len(), "a transformer")?;
            transforms.reverse();
        }
        let after_field = self.pos;
        self.ws();
        let op_start = self.pos;
        let op = self.operator();
        let Some(op) = op else {
            if arg.is_none() && !name.contains('.') && transforms.is_empty() {
                self.pos = after_field;
                return Ok(Expr::Macro {
                    name,
                    span: field_span,
                });
            }
            return Err(self.err(format!(
                "expected an operator (=, !=, <, <=, >, >=, contains, icontains, bcontains, startswith, bstartswith, endswith, in, intersects, pmatch, glob, iglob, regex, exists) after '{}', found '{}'",
                &self.text[field_span.start..field_span.end],
                self.peek_word()
            )));
        };
        let op_span = Span {
            start: op_start,
            end: self.pos,
        };
        let rhs = if op == Op::Exists {
            Rhs::None
        } else {
            self.ws();
            if op.takes_list() {
                if self.peek() == Some(b'(') {
                    Rhs::List(self.list(op)?)
                } else {
                    let n = self.ident_len();
                    if n == 0 {
                        return Err(self.err(format!(
                            "expected '(' and a list of values, or a list name, after '{op}', found '{}'",
                            self.peek_word()
                        )));
                    }
                    let v = Value {
                        text: self.text[self.pos..self.pos + n].to_string(),
                        quoted: false,
                        span: Span {
                            start: self.pos,
                            end: self.pos + n,
                        },
                    };
                    self.pos += n;
                    Rhs::List(vec![v])
                }
            } else {
                match self.rhs_field()? {
                    Some(f) => Rhs::Field(f),
                    None => Rhs::Single(self.value(op)?),
                }
            }
        };
        Ok(Expr::Compare {
            field: name,
            arg,
            field_span,
            op,
            op_span,
            rhs,
            transforms,
        })
    }

    fn operator(&mut self) -> Option<Op> {
        let two = self.s.get(self.pos..self.pos + 2);
        let sym = match two {
            Some(b"==") => Some((Op::Eq, 2)),
            Some(b"!=") => Some((Op::Ne, 2)),
            Some(b"<=") => Some((Op::Le, 2)),
            Some(b">=") => Some((Op::Ge, 2)),
            _ => match self.peek() {
                Some(b'=') => Some((Op::Eq, 1)),
                Some(b'<') => Some((Op::Lt, 1)),
                Some(b'>') => Some((Op::Gt, 1)),
                _ => None,
            },
        };
        if let Some((op, len)) = sym {
            self.pos += len;
            return Some(op);
        }
        let n = self.ident_len();
        let op = Op::from_word(&self.text[self.pos..self.pos + n])?;
        self.pos += n;
        Some(op)
    }

    fn list(&mut self, op: Op) -> Result<Vec<Value>, ParseError> {
        self.pos += 1; // '('
        let mut items = Vec::new();
        loop {
            self.ws();
            if self.peek() == Some(b')') && items.is_empty() {
                self.pos += 1;
                return Ok(items);
            }
            items.push(self.value(op)?);
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b')') => {
                    self.pos += 1;
                    return Ok(items);
                }
                _ => {
                    return Err(self.err(format!(
                        "expected ',' or ')' in the list after '{op}', found '{}'",
                        self.peek_word()
                    )))
                }
            }
        }
    }

    fn value(&mut self, op: Op) -> Result<Value, ParseError> {
        let start = self.pos;
        match self.peek() {
            Some(q @ (b'"' | b'\'')) => {
                self.pos += 1;
                let mut out = Vec::new();
                loop {
                    match self.peek() {
                        None => {
                            return Err(ParseError {
                                offset: start,
                                message: "unterminated quoted string".into(),
                            })
                        }
                        Some(b'\\') => {
                            let esc = self.s.get(self.pos + 1).copied();
                            match esc {
                                Some(c @ (b'"' | b'\'' | b'\\')) => out.push(c),
                                Some(b'n') => out.push(b'\n'),
                                Some(b't') => out.push(b'\t'),
                                Some(c) => {
                                    out.push(b'\\');
                                    out.push(c);
                                }
                                None => out.push(b'\\'),
                            }
                            self.pos += if esc.is_some() { 2 } else { 1 };
                        }
                        Some(c) if c == q => {
                            self.pos += 1;
                            break;
                        }
                        Some(c) => {
                            out.push(c);
                            self.pos += 1;
                        }
                    }
                }
                Ok(Value {
                    text: String::from_utf8_lossy(&out).into_owned(),
                    quoted: true,
                    span: Span {
                        start,
                        end: self.pos,
                    },
                })
            }
            _ => {
                while self.pos < self.s.len() && !is_bare_end(self.s[self.pos]) {
                    self.pos += 1;
                }
                if self.pos == start {
                    return Err(self.err(format!(
                        "expected a value after '{op}', found '{}'",
                        self.peek_word()
                    )));
                }
                Ok(Value {
                    text: self.text[start..self.pos].to_string(),
                    quoted: false,
                    span: Span {
                        start,
                        end: self.pos,
                    },
                })
            }
        }
    }
}

/// A list item written as one quoted string (`'"75-system-updat"'` in
/// YAML is the item `"75-system-updat"`): its text, as the condition
/// parser reads a quoted value, since Falco expands list items into the
/// condition before parsing it.  `None` for any other item.
pub fn unquote_item(item: &str) -> Option<String> {
    let b = item.as_bytes();
    let q = *b.first()?;
    if !(q == b'"' || q == b'\'') || b.len() < 2 {
        return None;
    }
    let mut out = Vec::new();
    let mut i = 1;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                match b.get(i + 1) {
                    Some(&c @ (b'"' | b'\'' | b'\\')) => out.push(c),
                    Some(b'n') => out.push(b'\n'),
                    Some(b't') => out.push(b'\t'),
                    Some(&c) => {
                        out.push(b'\\');
                        out.push(c);
                    }
                    None => out.push(b'\\'),
                }
                i += 2;
            }
            c if c == q => {
                // The closing quote must end the item.
                return (i + 1 == b.len()).then(|| String::from_utf8_lossy(&out).into_owned());
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(e: &Expr) -> (&str, Op, &Rhs) {
        match e {
            Expr::Compare { field, op, rhs, .. } => (field.as_str(), *op, rhs),
            other => panic!("not a comparison: {other:?}"),
        }
    }

    #[test]
    fn precedence_not_and_or() {
        let e = parse("not a and b or c").unwrap();
        let Expr::Or(items) = e else { panic!() };
        assert_eq!(items.len(), 2);
        let Expr::And(ands) = &items[0] else { panic!() };
        assert!(matches!(&ands[0], Expr::Not(m) if matches!(**m, Expr::Macro{..})));
        assert!(matches!(&items[1], Expr::Macro { name, .. } if name == "c"));
    }

    #[test]
    fn operators_values_and_lists() {
        let e = parse("evt.type in (open, 'openat', \"x y\") and evt.dir = < and fd.name=/a=b")
            .unwrap();
        let Expr::And(items) = e else { panic!() };
        let (f, op, rhs) = cmp(&items[0]);
        assert_eq!((f, op), ("evt.type", Op::In));
        let Rhs::List(vals) = rhs else { panic!() };
        let texts: Vec<&str> = vals.iter().map(|v| v.text.as_str()).collect();
        assert_eq!(texts, ["open", "openat", "x y"]);
        assert!(vals[1].quoted && !vals[0].quoted);
        let (_, op, rhs) = cmp(&items[1]);
        assert_eq!(op, Op::Eq);
        assert!(matches!(rhs, Rhs::Single(v) if v.text == "<"));
        let (_, _, rhs) = cmp(&items[2]);
        assert!(matches!(rhs, Rhs::Single(v) if v.text == "/a=b"));
    }

    #[test]
    fn field_arguments_and_word_operators() {
        let e = parse("proc.aname[2] startswith sh and evt.arg[0] exists and evt.arg.flags contains O_TRUNC and fd.name pmatch my_dirs").unwrap();
        let Expr::And(items) = e else { panic!() };
        match &items[0] {
            Expr::Compare {
                field,
                arg,
                field_span,
                ..
            } => {
                assert_eq!(field, "proc.aname");
                assert_eq!(arg.as_deref(), Some("2"));
                assert_eq!((field_span.start, field_span.end), (0, 13));
            }
            _ => panic!(),
        }
        assert_eq!(cmp(&items[1]).1, Op::Exists);
        assert_eq!(cmp(&items[2]).0, "evt.arg.flags");
        assert!(matches!(cmp(&items[3]).2, Rhs::List(v) if v.len() == 1 && v[0].text == "my_dirs"));
    }

    #[test]
    fn quoted_list_items_are_their_text() {
        assert_eq!(
            unquote_item("\"75-system-updat\"").as_deref(),
            Some("75-system-updat")
        );
        assert_eq!(unquote_item("'10.0.0.0/8'").as_deref(), Some("10.0.0.0/8"));
        assert_eq!(unquote_item("\"a \\\" b\"").as_deref(), Some("a \" b"));
        assert_eq!(unquote_item("plain"), None);
        assert_eq!(unquote_item("\"a\" b \"c\""), None);
        assert_eq!(unquote_item("\"open"), None);
    }

    #[test]
    fn quoted_escapes() {
        let e = parse(r#"proc.cmdline contains "say \"hi\"\\" "#).unwrap();
        assert!(matches!(cmp(&e).2, Rhs::Single(v) if v.text == "say \"hi\"\\"));
    }

    #[test]
    fn errors_point_at_the_problem() {
        let cases = [
            ("", 0, "found nothing"),
            ("proc.name =", 11, "expected a value"),
            ("proc.name = x and", 17, "expected a field"),
            ("(proc.name = x", 14, "expected ')'"),
            ("proc.name bogus x", 10, "expected an operator"),
            ("proc.name in x y", 15, "expected 'and', 'or'"),
            ("proc.name = 'x", 12, "unterminated"),
            ("proc.name in (a b)", 16, "expected ',' or ')'"),
            ("= x", 0, "expected a field"),
            ("proc.aname[2 = x", 10, "expected ']'"),
        ];
        for (text, offset, what) in cases {
            let e = parse(text).unwrap_err();
            assert_eq!(e.offset, offset, "{text}: {e}");
            assert!(e.message.contains(what), "{text}: {e}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "(".repeat(10_000) + "a" + &")".repeat(10_000);
        assert!(parse(&deep).unwrap_err().message.contains("nests deeper"));
        let nots = "not ".repeat(10_000) + "a";
        assert!(parse(&nots).is_err());
    }
}
