//! `json.loads(request.body)` as the seeds' views see it: the Python values a JSON body becomes
//! (unbounded ints, floats, `NaN` and `Infinity`, strings that may hold lone surrogates), their
//! truthiness (`if not title`), `str()` of them (what a Django `CharField` stores) and
//! `json.dumps` of them (what `JsonResponse` sends back).
//!
//! The parser follows CPython's `json` module (`Modules/_json.c`, strict mode, no hooks): the
//! body's encoding is detected as `json.detect_encoding` does and decoded with
//! `surrogatepass`; any `ValueError` it would raise is [`LoadError::Invalid`], and nesting deep
//! enough for Python's `RecursionError` is [`LoadError::TooDeep`].

use std::fmt;
use std::hash::{Hash, Hasher};

use indexmap::{Equivalent, IndexMap};
use num_bigint::BigInt;

use handler_core::python::{float_repr, repr_code_points, str_repr};

use crate::python;

/// Containers nested deeper than this: Python's `RecursionError` (its default recursion limit
/// is 1000 frames, a few of which the request cycle already uses).
pub const MAX_DEPTH: usize = 990;

/// Why `json.loads` raised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// A `ValueError` (`JSONDecodeError`, `UnicodeDecodeError`, the int digit limit): the
    /// seeds' `except ValueError` answers "Invalid JSON".
    Invalid(String),
    /// `RecursionError`, which is not a `ValueError`: the view does not catch it.
    TooDeep,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Invalid(why) => f.write_str(why),
            LoadError::TooDeep => f.write_str(
                "maximum recursion depth exceeded while decoding a JSON array from a unicode string",
            ),
        }
    }
}

impl std::error::Error for LoadError {}

/// A Python `str`: text, or code points when it holds a lone surrogate (`"\ud800"` in JSON),
/// which Python accepts and a Rust `String` cannot hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PyStr {
    /// Valid Unicode text.
    Text(String),
    /// Code points, at least one of them a surrogate.
    Surrogates(Vec<u32>),
}

impl PyStr {
    fn from_code_points(cps: Vec<u32>) -> PyStr {
        match cps
            .iter()
            .map(|&c| char::from_u32(c))
            .collect::<Option<String>>()
        {
            Some(text) => PyStr::Text(text),
            None => PyStr::Surrogates(cps),
        }
    }

    fn code_points(&self) -> Box<dyn Iterator<Item = u32> + '_> {
        match self {
            PyStr::Text(t) => Box::new(t.chars().map(u32::from)),
            PyStr::Surrogates(cps) => Box::new(cps.iter().copied()),
        }
    }

    /// `len(s) == 0`.
    pub fn is_empty(&self) -> bool {
        match self {
            PyStr::Text(t) => t.is_empty(),
            PyStr::Surrogates(cps) => cps.is_empty(),
        }
    }

    /// The text as the database driver encodes it (`s.encode("utf-8")`): a lone surrogate is
    /// Python's `UnicodeEncodeError`, with its message.
    pub fn to_utf8(&self) -> Result<&str, EncodeError> {
        match self {
            PyStr::Text(t) => Ok(t),
            PyStr::Surrogates(cps) => {
                let position = cps
                    .iter()
                    .position(|&c| char::from_u32(c).is_none())
                    .unwrap_or_default();
                Err(EncodeError {
                    code_point: cps[position],
                    position,
                })
            }
        }
    }

    /// `needle in s`.
    pub fn contains(&self, needle: &str) -> bool {
        match self {
            PyStr::Text(t) => t.contains(needle),
            PyStr::Surrogates(cps) => {
                let needle: Vec<u32> = needle.chars().map(u32::from).collect();
                needle.is_empty() || cps.windows(needle.len()).any(|w| w == needle.as_slice())
            }
        }
    }

    /// `repr(s)`.
    pub fn repr(&self) -> String {
        match self {
            PyStr::Text(t) => str_repr(t),
            PyStr::Surrogates(cps) => repr_code_points(cps.iter().copied()),
        }
    }
}

/// Hashes as the text itself, so a dict key can be looked up by a `&str` (see the
/// [`Equivalent`] impl below) without building a `PyStr`. Text never equals code points (those
/// hold a surrogate), so the two variants may hash alike.
impl Hash for PyStr {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            PyStr::Text(t) => t.hash(state),
            PyStr::Surrogates(cps) => cps.hash(state),
        }
    }
}

/// `d.get("key")` with a `&str`: equal to the key that is the same text.
impl Equivalent<PyStr> for str {
    fn equivalent(&self, key: &PyStr) -> bool {
        matches!(key, PyStr::Text(t) if t == self)
    }
}

impl From<&str> for PyStr {
    fn from(s: &str) -> Self {
        PyStr::Text(s.to_string())
    }
}

/// Python's `UnicodeEncodeError` for a lone surrogate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeError {
    code_point: u32,
    position: usize,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "'utf-8' codec can't encode character '\\u{:04x}' in position {}: surrogates not allowed",
            self.code_point, self.position
        )
    }
}

impl std::error::Error for EncodeError {}

/// Python's `TypeError` for `x in value` when `value` is a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotIterable(&'static str);

impl fmt::Display for NotIterable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "argument of type '{}' is not iterable", self.0)
    }
}

impl std::error::Error for NotIterable {}

/// A Python `dict` from a JSON object: keys in first-seen order, a repeated key keeping its
/// place and taking the last value (what `dict(pairs)` does, and what `IndexMap::insert` does).
#[derive(Debug, Clone, Default)]
pub struct PyDict(IndexMap<PyStr, PyValue>);

impl PyDict {
    /// `d[key] = value`.
    pub fn insert(&mut self, key: PyStr, value: PyValue) {
        self.0.insert(key, value);
    }

    /// `d.get(key)`.
    pub fn get(&self, key: &str) -> Option<&PyValue> {
        self.0.get(key)
    }

    /// `not d`.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The items in order.
    pub fn iter(&self) -> impl Iterator<Item = (&PyStr, &PyValue)> {
        self.0.iter()
    }
}

/// The same items in the same order (`IndexMap`'s own `==` ignores the order).
impl PartialEq for PyDict {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len() && self.0.iter().eq(other.0.iter())
    }
}

/// A value `json.loads` returns.
#[derive(Debug, Clone, PartialEq)]
pub enum PyValue {
    /// `null`.
    None,
    /// `true`, `false`.
    Bool(bool),
    /// A number without fraction or exponent: an unbounded `int`.
    Int(BigInt),
    /// A number with a fraction or an exponent, or `NaN`, `Infinity`, `-Infinity`.
    Float(f64),
    /// A string.
    Str(PyStr),
    /// An array.
    List(Vec<PyValue>),
    /// An object.
    Dict(PyDict),
}

impl PyValue {
    /// A string value.
    pub fn str(text: &str) -> PyValue {
        PyValue::Str(PyStr::from(text))
    }

    /// `bool(value)`: false for `None`, `False`, `0`, `0.0`, `""`, `[]` and `{}`.
    pub fn is_truthy(&self) -> bool {
        match self {
            PyValue::None => false,
            PyValue::Bool(b) => *b,
            PyValue::Int(i) => i.sign() != num_bigint::Sign::NoSign,
            PyValue::Float(x) => *x != 0.0,
            PyValue::Str(s) => !s.is_empty(),
            PyValue::List(items) => !items.is_empty(),
            PyValue::Dict(d) => !d.is_empty(),
        }
    }

    /// `str(value)`: a string as it is, anything else as its `repr()` (`5`, `True`, `1e+16`,
    /// `[1, 'a']`, `{'k': None}`).
    pub fn to_py_str(&self) -> PyStr {
        match self {
            PyValue::Str(s) => s.clone(),
            other => PyStr::Text(other.repr()),
        }
    }

    /// `repr(value)`.
    pub fn repr(&self) -> String {
        let mut out = String::new();
        self.write(Style::Repr, &mut out);
        out
    }

    /// `needle in value` for a string needle: a substring of a string, an element of a list,
    /// a key of a dict; a number is Python's `TypeError`.
    pub fn contains_str(&self, needle: &str) -> Result<bool, NotIterable> {
        match self {
            PyValue::Str(s) => Ok(s.contains(needle)),
            PyValue::List(items) => Ok(items
                .iter()
                .any(|v| matches!(v, PyValue::Str(PyStr::Text(t)) if t == needle))),
            PyValue::Dict(d) => Ok(d.get(needle).is_some()),
            PyValue::None => Err(NotIterable("NoneType")),
            PyValue::Bool(_) => Err(NotIterable("bool")),
            PyValue::Int(_) => Err(NotIterable("int")),
            PyValue::Float(_) => Err(NotIterable("float")),
        }
    }

    /// `json.dumps(value)` with its defaults: `", "` and `": "`, `ensure_ascii` (everything
    /// outside printable ASCII as `\uXXXX`), `NaN` / `Infinity` allowed.
    pub fn dumps(&self) -> String {
        let mut out = String::new();
        self.write(Style::Json, &mut out);
        out
    }

    /// The walk `repr` and `json.dumps` share: lists and dicts are written alike (`", "`
    /// between items, `": "` after a key), only the leaves differ with the style.
    fn write(&self, style: Style, out: &mut String) {
        match self {
            PyValue::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.write(style, out);
                }
                out.push(']');
            }
            PyValue::Dict(d) => {
                out.push('{');
                for (i, (k, v)) in d.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    style.write_str(k, out);
                    out.push_str(": ");
                    v.write(style, out);
                }
                out.push('}');
            }
            PyValue::Str(s) => style.write_str(s, out),
            PyValue::None => out.push_str(style.pick("None", "null")),
            PyValue::Bool(true) => out.push_str(style.pick("True", "true")),
            PyValue::Bool(false) => out.push_str(style.pick("False", "false")),
            PyValue::Int(i) => out.push_str(&i.to_string()),
            PyValue::Float(x) => match style {
                Style::Json if x.is_nan() => out.push_str("NaN"),
                Style::Json if x.is_infinite() => {
                    out.push_str(if *x > 0.0 { "Infinity" } else { "-Infinity" })
                }
                _ => out.push_str(&float_repr(*x)),
            },
        }
    }
}

/// What [`PyValue::write`] writes: Python's `repr()` or `json.dumps`.
#[derive(Debug, Clone, Copy)]
enum Style {
    Repr,
    Json,
}

impl Style {
    fn pick(self, repr: &'static str, json: &'static str) -> &'static str {
        match self {
            Style::Repr => repr,
            Style::Json => json,
        }
    }

    fn write_str(self, s: &PyStr, out: &mut String) {
        match self {
            Style::Repr => out.push_str(&s.repr()),
            Style::Json => write_json_string(s, out),
        }
    }
}

fn write_json_string(s: &PyStr, out: &mut String) {
    out.push('"');
    for cp in s.code_points() {
        match cp {
            0x22 => out.push_str("\\\""),
            0x5c => out.push_str("\\\\"),
            0x0a => out.push_str("\\n"),
            0x0d => out.push_str("\\r"),
            0x09 => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            0x20..=0x7e => out.push(char::from(cp as u8)),
            0x10000.. => {
                let v = cp - 0x10000;
                out.push_str(&format!(
                    "\\u{:04x}\\u{:04x}",
                    0xd800 + (v >> 10),
                    0xdc00 + (v & 0x3ff)
                ));
            }
            _ => out.push_str(&format!("\\u{cp:04x}")),
        }
    }
    out.push('"');
}

/// `json.loads(body)` for a bytes body.
pub fn loads(body: &[u8]) -> Result<PyValue, LoadError> {
    let text = decode(body)?;
    let mut parser = Parser {
        s: &text,
        pos: 0,
        depth: 0,
    };
    parser.skip_ws();
    let value = parser.value()?;
    parser.skip_ws();
    if parser.pos != text.len() {
        return Err(parser.error("Extra data"));
    }
    Ok(value)
}

/// `body.decode(json.detect_encoding(body), "surrogatepass")`, as code points.
fn decode(b: &[u8]) -> Result<Vec<u32>, LoadError> {
    const UTF32_LE_BOM: &[u8] = &[0xff, 0xfe, 0, 0];
    const UTF32_BE_BOM: &[u8] = &[0, 0, 0xfe, 0xff];
    if b.starts_with(UTF32_LE_BOM) {
        return decode_utf32(&b[4..], false);
    }
    if b.starts_with(UTF32_BE_BOM) {
        return decode_utf32(&b[4..], true);
    }
    if b.starts_with(&[0xff, 0xfe]) {
        return decode_utf16(&b[2..], false);
    }
    if b.starts_with(&[0xfe, 0xff]) {
        return decode_utf16(&b[2..], true);
    }
    if let Some(rest) = b.strip_prefix(&[0xef, 0xbb, 0xbf]) {
        return decode_utf8(rest);
    }
    // No BOM: the zero bytes of the first two ASCII characters tell UTF-16 and UTF-32 apart.
    match b {
        [0, b1, ..] if b.len() >= 4 => {
            if *b1 != 0 {
                decode_utf16(b, true)
            } else {
                decode_utf32(b, true)
            }
        }
        [_, 0, b2, b3, ..] => {
            if *b2 != 0 || *b3 != 0 {
                decode_utf16(b, false)
            } else {
                decode_utf32(b, false)
            }
        }
        [0, _] => decode_utf16(b, true),
        [_, 0] => decode_utf16(b, false),
        _ => decode_utf8(b),
    }
}

fn decode_error(codec: &str, why: &str) -> LoadError {
    LoadError::Invalid(format!("'{codec}' codec can't decode bytes: {why}"))
}

/// UTF-8 with `surrogatepass`: the three-byte forms of U+D800..U+DFFF are accepted.
fn decode_utf8(mut b: &[u8]) -> Result<Vec<u32>, LoadError> {
    let mut out = Vec::with_capacity(b.len());
    loop {
        match std::str::from_utf8(b) {
            Ok(s) => {
                out.extend(s.chars().map(u32::from));
                return Ok(out);
            }
            Err(e) => {
                let (valid, rest) = b.split_at(e.valid_up_to());
                // SAFETY-free: `valid` is exactly the prefix from_utf8 checked.
                out.extend(
                    std::str::from_utf8(valid)
                        .unwrap_or_default()
                        .chars()
                        .map(u32::from),
                );
                match rest {
                    [0xed, b1 @ 0xa0..=0xbf, b2 @ 0x80..=0xbf, ..] => {
                        out.push(0xd000 | (u32::from(b1 & 0x3f) << 6) | u32::from(b2 & 0x3f));
                        b = &rest[3..];
                    }
                    _ => return Err(decode_error("utf-8", "invalid start or continuation byte")),
                }
            }
        }
    }
}

fn decode_utf16(b: &[u8], big_endian: bool) -> Result<Vec<u32>, LoadError> {
    let pairs = b.chunks_exact(2);
    if !pairs.remainder().is_empty() {
        return Err(decode_error("utf-16", "truncated data"));
    }
    let units = pairs.map(|p| {
        if big_endian {
            u16::from_be_bytes([p[0], p[1]])
        } else {
            u16::from_le_bytes([p[0], p[1]])
        }
    });
    Ok(char::decode_utf16(units)
        .map(|r| r.map_or_else(|e| u32::from(e.unpaired_surrogate()), u32::from))
        .collect())
}

fn decode_utf32(b: &[u8], big_endian: bool) -> Result<Vec<u32>, LoadError> {
    let quads = b.chunks_exact(4);
    if !quads.remainder().is_empty() {
        return Err(decode_error("utf-32", "truncated data"));
    }
    quads
        .map(|p| {
            let cp = if big_endian {
                u32::from_be_bytes([p[0], p[1], p[2], p[3]])
            } else {
                u32::from_le_bytes([p[0], p[1], p[2], p[3]])
            };
            if cp <= 0x10ffff {
                Ok(cp)
            } else {
                Err(decode_error("utf-32", "code point not in range(0x110000)"))
            }
        })
        .collect()
}

struct Parser<'a> {
    s: &'a [u32],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u32> {
        self.s.get(self.pos).copied()
    }

    fn at(&self, c: char) -> bool {
        self.peek() == Some(u32::from(c))
    }

    fn error(&self, what: &str) -> LoadError {
        LoadError::Invalid(format!("{what}: char {}", self.pos))
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(0x20 | 0x09 | 0x0a | 0x0d)) {
            self.pos += 1;
        }
    }

    fn literal(&mut self, word: &str) -> bool {
        let n = word.chars().count();
        let matches = self
            .s
            .get(self.pos..self.pos + n)
            .is_some_and(|w| w.iter().copied().eq(word.chars().map(u32::from)));
        if matches {
            self.pos += n;
        }
        matches
    }

    fn value(&mut self) -> Result<PyValue, LoadError> {
        match self.peek().and_then(char::from_u32) {
            Some('"') => Ok(PyValue::Str(self.string()?)),
            Some('{') => self.nested(Parser::object),
            Some('[') => self.nested(Parser::array),
            Some('n') if self.literal("null") => Ok(PyValue::None),
            Some('t') if self.literal("true") => Ok(PyValue::Bool(true)),
            Some('f') if self.literal("false") => Ok(PyValue::Bool(false)),
            Some('N') if self.literal("NaN") => Ok(PyValue::Float(f64::NAN)),
            Some('I') if self.literal("Infinity") => Ok(PyValue::Float(f64::INFINITY)),
            Some('-') if self.literal("-Infinity") => Ok(PyValue::Float(f64::NEG_INFINITY)),
            Some('-' | '0'..='9') => self.number(),
            _ => Err(self.error("Expecting value")),
        }
    }

    fn nested(
        &mut self,
        parse: fn(&mut Self) -> Result<PyValue, LoadError>,
    ) -> Result<PyValue, LoadError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(LoadError::TooDeep);
        }
        let value = parse(self);
        self.depth -= 1;
        value
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(0x30..=0x39)) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`; a `.` or an exponent without digits
    /// is not part of the number (what follows is then "Extra data" or a delimiter error).
    fn number(&mut self) -> Result<PyValue, LoadError> {
        let start = self.pos;
        if self.at('-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(0x30) => self.pos += 1,
            Some(0x31..=0x39) => {
                self.digits();
            }
            _ => {
                self.pos = start;
                return Err(self.error("Expecting value"));
            }
        }
        let mut is_float = false;
        if self.at('.') && matches!(self.s.get(self.pos + 1), Some(0x30..=0x39)) {
            self.pos += 1;
            self.digits();
            is_float = true;
        }
        if self.at('e') || self.at('E') {
            let mark = self.pos;
            self.pos += 1;
            if self.at('+') || self.at('-') {
                self.pos += 1;
            }
            if self.digits() == 0 {
                self.pos = mark;
            } else {
                is_float = true;
            }
        }
        let text: String = self.s[start..self.pos]
            .iter()
            .filter_map(|&c| char::from_u32(c))
            .collect();
        if is_float {
            // Python's float() of the literal: correctly rounded, out of range as ±inf.
            let x: f64 = text
                .parse()
                .map_err(|_| LoadError::Invalid(format!("could not convert {text:?}")))?;
            return Ok(PyValue::Float(x));
        }
        python::parse_int(&text)
            .map(PyValue::Int)
            .map_err(|e| LoadError::Invalid(e.to_string()))
    }

    fn hex4(&mut self) -> Result<u32, LoadError> {
        let digits = self
            .s
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.error("Invalid \\uXXXX escape"))?;
        let mut v = 0;
        for &d in digits {
            let d = char::from_u32(d)
                .and_then(|c| c.to_digit(16))
                .ok_or_else(|| self.error("Invalid \\uXXXX escape"))?;
            v = v * 16 + d;
        }
        self.pos += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<PyStr, LoadError> {
        self.pos += 1; // the opening quote
        let mut out: Vec<u32> = Vec::new();
        loop {
            let c = self
                .peek()
                .ok_or_else(|| self.error("Unterminated string starting at"))?;
            self.pos += 1;
            match c {
                0x22 => return Ok(PyStr::from_code_points(out)),
                0x5c => {
                    let e = self
                        .peek()
                        .ok_or_else(|| self.error("Unterminated string starting at"))?;
                    self.pos += 1;
                    let unescaped = match char::from_u32(e) {
                        Some('"') => 0x22,
                        Some('\\') => 0x5c,
                        Some('/') => 0x2f,
                        Some('b') => 0x08,
                        Some('f') => 0x0c,
                        Some('n') => 0x0a,
                        Some('r') => 0x0d,
                        Some('t') => 0x09,
                        Some('u') => {
                            let u = self.hex4()?;
                            // A high surrogate followed by an escaped low one is one character.
                            if (0xd800..0xdc00).contains(&u)
                                && self.at('\\')
                                && self.s.get(self.pos + 1) == Some(&u32::from('u'))
                            {
                                let mark = self.pos;
                                self.pos += 2;
                                match self.hex4() {
                                    Ok(low @ 0xdc00..=0xdfff) => {
                                        0x10000 + ((u - 0xd800) << 10) + (low - 0xdc00)
                                    }
                                    _ => {
                                        self.pos = mark;
                                        u
                                    }
                                }
                            } else {
                                u
                            }
                        }
                        _ => return Err(self.error("Invalid \\escape")),
                    };
                    out.push(unescaped);
                }
                0..=0x1f => {
                    self.pos -= 1;
                    return Err(self.error("Invalid control character at"));
                }
                _ => out.push(c),
            }
        }
    }

    fn object(&mut self) -> Result<PyValue, LoadError> {
        self.pos += 1; // {
        let mut dict = PyDict::default();
        self.skip_ws();
        if self.at('}') {
            self.pos += 1;
            return Ok(PyValue::Dict(dict));
        }
        loop {
            if !self.at('"') {
                return Err(self.error("Expecting property name enclosed in double quotes"));
            }
            let key = self.string()?;
            self.skip_ws();
            if !self.at(':') {
                return Err(self.error("Expecting ':' delimiter"));
            }
            self.pos += 1;
            self.skip_ws();
            let value = self.value()?;
            dict.insert(key, value);
            self.skip_ws();
            if self.at('}') {
                self.pos += 1;
                return Ok(PyValue::Dict(dict));
            }
            if !self.at(',') {
                return Err(self.error("Expecting ',' delimiter"));
            }
            self.pos += 1;
            self.skip_ws();
        }
    }

    fn array(&mut self) -> Result<PyValue, LoadError> {
        self.pos += 1; // [
        let mut items = Vec::new();
        self.skip_ws();
        if self.at(']') {
            self.pos += 1;
            return Ok(PyValue::List(items));
        }
        loop {
            items.push(self.value()?);
            self.skip_ws();
            if self.at(']') {
                self.pos += 1;
                return Ok(PyValue::List(items));
            }
            if !self.at(',') {
                return Err(self.error("Expecting ',' delimiter"));
            }
            self.pos += 1;
            self.skip_ws();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> PyValue {
        loads(text.as_bytes()).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    fn invalid(body: &[u8]) -> bool {
        matches!(loads(body), Err(LoadError::Invalid(_)))
    }

    #[test]
    fn python_str_of_what_json_loads_returns() {
        // The right column is Python 3.11's str(json.loads(left)).
        for (json, py_str) in [
            (r#""text""#, "text"),
            ("5", "5"),
            ("-0", "0"),
            ("99999999999999999999", "99999999999999999999"),
            ("1.0", "1.0"),
            ("1e16", "1e+16"),
            ("1E-5", "1e-05"),
            ("1.5e400", "inf"),
            ("-1e400", "-inf"),
            ("NaN", "nan"),
            ("-Infinity", "-inf"),
            ("true", "True"),
            ("false", "False"),
            ("null", "None"),
            ("[1, \"a\", [true, null]]", "[1, 'a', [True, None]]"),
            (
                r#"{"a": 1, "b": {"c": "it's"}}"#,
                r#"{'a': 1, 'b': {'c': "it's"}}"#,
            ),
            (r#"{"a": 1, "b": 2, "a": 3}"#, "{'a': 3, 'b': 2}"),
            (
                r#"["\u00e9\u200b\n", "\ud83d\ude00"]"#,
                "['é\\u200b\\n', '😀']",
            ),
            (
                r#"["\ud800", "\udc00\ud800x"]"#,
                "['\\ud800', '\\udc00\\ud800x']",
            ),
        ] {
            assert_eq!(load(json).to_py_str(), PyStr::from(py_str), "{json}");
        }
    }

    #[test]
    fn truthiness() {
        for falsy in [
            "0", "-0", "0.0", "-0.0", "0e5", "false", "null", r#""""#, "[]", "{}",
        ] {
            assert!(!load(falsy).is_truthy(), "{falsy}");
        }
        for truthy in [
            "1",
            "-1",
            "0.5",
            "NaN",
            "true",
            r#"" ""#,
            "[0]",
            r#"{"": 0}"#,
        ] {
            assert!(load(truthy).is_truthy(), "{truthy}");
        }
    }

    #[test]
    fn what_python_refuses_is_invalid() {
        for bad in [
            "",
            " ",
            "{",
            "{'a': 1}",
            r#"{"a": 1,}"#,
            "[1,]",
            "01",
            "1.",
            ".5",
            "1e",
            "+1",
            "nan",
            "infinity",
            "tru",
            "\"\t\"",
            "\"\\x\"",
            "\"\\u12\"",
            r#"{"a" 1}"#,
            "[1 2]",
            "{1: 2}",
            "1 2",
        ] {
            assert!(invalid(bad.as_bytes()), "{bad:?}");
        }
        assert!(
            invalid(&"1".repeat(4301).into_bytes()),
            "the int digit limit"
        );
        assert!(invalid(b"{\"a\": \"\xff\"}"), "invalid UTF-8");
        assert!(
            !invalid("\u{feff}{}".as_bytes()),
            "a UTF-8 BOM on bytes is utf-8-sig"
        );
    }

    #[test]
    fn what_python_accepts_beyond_strict_json() {
        assert_eq!(load(" \r\n\t{}\n"), PyValue::Dict(PyDict::default()));
        assert!(matches!(load("Infinity"), PyValue::Float(x) if x == f64::INFINITY));
        // "1e" stops before the e, so the e is extra data; "1.5" is a float.
        assert!(invalid(b"1e"));
        assert_eq!(load("1.5"), PyValue::Float(1.5));
        // UTF-16 and UTF-32, with and without BOM; surrogatepass for UTF-8.
        let utf16le: Vec<u8> = "{\"a\": 1}"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let mut with_bom = vec![0xff, 0xfe];
        with_bom.extend(&utf16le);
        for body in [utf16le, with_bom] {
            let PyValue::Dict(d) = loads(&body).unwrap() else {
                panic!("a dict")
            };
            assert_eq!(d.get("a"), Some(&PyValue::Int(1.into())));
        }
        let utf32be: Vec<u8> = "[7]"
            .chars()
            .flat_map(|c| u32::from(c).to_be_bytes())
            .collect();
        assert_eq!(
            loads(&utf32be),
            Ok(PyValue::List(vec![PyValue::Int(7.into())]))
        );
        let v = loads(b"\"\xed\xa0\x80\"").unwrap();
        assert_eq!(v, PyValue::Str(PyStr::Surrogates(vec![0xd800])));
    }

    #[test]
    fn deep_nesting_is_a_recursion_error() {
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(loads(deep.as_bytes()), Err(LoadError::TooDeep));
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(loads(ok.as_bytes()).is_ok());
    }

    #[test]
    fn dumps_like_python() {
        let v = load(
            r#"{"id": 1, "t": "é\"\\\n\u007f", "n": [1.0, 1e16, NaN, -Infinity, null, 99999999999999999999], "e": "😀"}"#,
        );
        assert_eq!(
            v.dumps(),
            r#"{"id": 1, "t": "\u00e9\"\\\n\u007f", "n": [1.0, 1e+16, NaN, -Infinity, null, 99999999999999999999], "e": "\ud83d\ude00"}"#
        );
        assert_eq!(load(r#""\ud800""#).dumps(), r#""\ud800""#);
    }

    #[test]
    fn membership_and_encoding() {
        assert_eq!(load(r#""a@b""#).contains_str("@"), Ok(true));
        assert_eq!(load(r#"["@"]"#).contains_str("@"), Ok(true));
        assert_eq!(load(r#"["a@b"]"#).contains_str("@"), Ok(false));
        assert_eq!(load(r#"{"@": 0}"#).contains_str("@"), Ok(true));
        assert_eq!(
            load("5").contains_str("@").unwrap_err().to_string(),
            "argument of type 'int' is not iterable"
        );
        let PyValue::Str(s) = load(r#""ab\udfff""#) else {
            panic!("a str")
        };
        assert_eq!(
            s.to_utf8().unwrap_err().to_string(),
            "'utf-8' codec can't encode character '\\udfff' in position 2: surrogates not allowed"
        );
    }
}
