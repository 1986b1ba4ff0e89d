//! `json.loads(request.body)` as the seeds' views see it: the Python values a JSON body becomes
//! (unbounded ints, floats, `NaN` and `Infinity`, strings that may hold lone surrogates), their
//! truthiness (`if not title`), `str()` of them (what a Django `CharField` stores) and
//! `json.dumps` of them (what `JsonResponse` sends back).
//!
//! The parser follows CPython's `json` module (`Modules/_json.c`, strict mode, no hooks): the
//! body's encoding is detected as `json.detect_encoding` does and decoded with
//! `surrogatepass`; any `ValueError` it would raise is [`LoadError::Invalid`], and nesting deep
//! enough for Python's `RecursionError` is [`LoadError::TooDeep`].

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};

use indexmap::{Equivalent, IndexMap};
use num_bigint::BigInt;

use handler_core::python::{float_repr, repr_code_points, str_repr};

use crate::python;

/// Containers nested deeper than this: Python's `RecursionError` (its default recursion limit
/// is 1000 frames, a few of which the request cycle already uses).
pub(crate) const MAX_DEPTH: usize = 990;

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
    fn code_points(&self) -> Box<dyn Iterator<Item = u32> + '_> {
        match self {
            PyStr::Text(t) => Box::new(t.chars().map(u32::from)),
            PyStr::Surrogates(cps) => Box::new(cps.iter().copied()),
        }
    }

    /// `len(s) == 0`.
    pub(crate) fn is_empty(&self) -> bool {
        match self {
            PyStr::Text(t) => t.is_empty(),
            PyStr::Surrogates(cps) => cps.is_empty(),
        }
    }

    /// The text as the database driver encodes it (`s.encode("utf-8")`): a lone surrogate is
    /// Python's `UnicodeEncodeError`, with its message.
    pub(crate) fn to_utf8(&self) -> Result<&str, EncodeError> {
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
    pub(crate) fn contains(&self, needle: &str) -> bool {
        match self {
            PyStr::Text(t) => t.contains(needle),
            PyStr::Surrogates(cps) => {
                let needle: Vec<u32> = needle.chars().map(u32::from).collect();
                needle.is_empty() || cps.windows(needle.len()).any(|w| w == needle.as_slice())
            }
        }
    }

    /// `repr(s)`.
    pub(crate) fn repr(&self) -> String {
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
pub(crate) struct EncodeError {
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
pub(crate) struct NotIterable(&'static str);

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
    pub(crate) fn insert(&mut self, key: PyStr, value: PyValue) {
        self.0.insert(key, value);
    }

    /// `d.get(key)`.
    pub(crate) fn get(&self, key: &str) -> Option<&PyValue> {
        self.0.get(key)
    }

    /// `d.pop(key, None)`: the value, taken out (the order of the other items is not kept).
    pub(crate) fn remove(&mut self, key: &str) -> Option<PyValue> {
        self.0.swap_remove(key)
    }

    /// `not d`.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The items in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&PyStr, &PyValue)> {
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
    pub(crate) fn str(text: &str) -> PyValue {
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
    pub(crate) fn repr(&self) -> String {
        let mut out = String::new();
        self.write(Style::Repr, &mut out);
        out
    }

    /// `needle in value` for a string needle: a substring of a string, an element of a list,
    /// a key of a dict; a number is Python's `TypeError`.
    pub(crate) fn contains_str(&self, needle: &str) -> Result<bool, NotIterable> {
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
    let decoded = decode(body)?;
    let mut parser = match &decoded {
        Decoded::Text(text) => Parser::new(text.as_bytes(), Some(text)),
        Decoded::Wtf8(bytes) => Parser::new(bytes, None),
    };
    parser.skip_ws();
    let value = parser.value()?;
    parser.skip_ws();
    if parser.pos != parser.s.len() {
        return Err(parser.error("Extra data"));
    }
    Ok(value)
}

/// A decoded body, ready to parse as bytes.
enum Decoded<'a> {
    /// Unicode text: the body itself when it is UTF-8 (the usual case, nothing copied), or
    /// UTF-16 / UTF-32 transcoded.
    Text(Cow<'a, str>),
    /// Text with surrogates, which only `surrogatepass` lets in: UTF-8 in which each code point,
    /// a surrogate too, is its own one- to four-byte sequence (a surrogate is three bytes,
    /// `ED A0..BF 80..BF`, as WTF-8 writes a lone one; two in a row stay two code points, as
    /// Python decodes them).
    Wtf8(Cow<'a, [u8]>),
}

/// `body.decode(json.detect_encoding(body), "surrogatepass")`.
fn decode(b: &[u8]) -> Result<Decoded<'_>, LoadError> {
    const UTF32_LE_BOM: &[u8] = &[0xff, 0xfe, 0, 0];
    const UTF32_BE_BOM: &[u8] = &[0, 0, 0xfe, 0xff];
    if b.starts_with(UTF32_LE_BOM) {
        return decode_utf32(&b[4..], false).map(transcode);
    }
    if b.starts_with(UTF32_BE_BOM) {
        return decode_utf32(&b[4..], true).map(transcode);
    }
    if b.starts_with(&[0xff, 0xfe]) {
        return Ok(transcode(decode_utf16(&b[2..], false)?));
    }
    if b.starts_with(&[0xfe, 0xff]) {
        return Ok(transcode(decode_utf16(&b[2..], true)?));
    }
    if let Some(rest) = b.strip_prefix(&[0xef, 0xbb, 0xbf]) {
        return decode_utf8(rest);
    }
    // No BOM: the zero bytes of the first two ASCII characters tell UTF-16 and UTF-32 apart.
    let code_points = match b {
        [0, b1, ..] if b.len() >= 4 => {
            if *b1 != 0 {
                decode_utf16(b, true)?
            } else {
                decode_utf32(b, true)?
            }
        }
        [_, 0, b2, b3, ..] => {
            if *b2 != 0 || *b3 != 0 {
                decode_utf16(b, false)?
            } else {
                decode_utf32(b, false)?
            }
        }
        [0, _] => decode_utf16(b, true)?,
        [_, 0] => decode_utf16(b, false)?,
        _ => return decode_utf8(b),
    };
    Ok(transcode(code_points))
}

fn decode_error(codec: &str, why: &str) -> LoadError {
    LoadError::Invalid(format!("'{codec}' codec can't decode bytes: {why}"))
}

/// UTF-8 with `surrogatepass`: the three-byte forms of U+D800..U+DFFF are accepted. Nothing is
/// copied: valid UTF-8 is the text, and with surrogates the bytes are already [`Decoded::Wtf8`].
fn decode_utf8(body: &[u8]) -> Result<Decoded<'_>, LoadError> {
    let mut b = body;
    loop {
        match std::str::from_utf8(b) {
            Ok(text) if b.len() == body.len() => return Ok(Decoded::Text(Cow::Borrowed(text))),
            Ok(_) => return Ok(Decoded::Wtf8(Cow::Borrowed(body))),
            Err(e) => match &b[e.valid_up_to()..] {
                [0xed, 0xa0..=0xbf, 0x80..=0xbf, rest @ ..] => b = rest,
                _ => return Err(decode_error("utf-8", "invalid start or continuation byte")),
            },
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

/// Code points (at most 0x10FFFF) as the parser reads them: text, or WTF-8 when a surrogate
/// is among them.
fn transcode(code_points: Vec<u32>) -> Decoded<'static> {
    if let Some(text) = code_points
        .iter()
        .map(|&c| char::from_u32(c))
        .collect::<Option<String>>()
    {
        return Decoded::Text(Cow::Owned(text));
    }
    let mut out = Vec::with_capacity(code_points.len());
    for cp in code_points {
        push_wtf8(&mut out, cp);
    }
    Decoded::Wtf8(Cow::Owned(out))
}

/// Appends a code point as UTF-8 would encode it, a surrogate too.
fn push_wtf8(out: &mut Vec<u8>, cp: u32) {
    // The casts keep the low bits, which is what each byte takes.
    let continuation = |shift: u32| 0x80 | ((cp >> shift) & 0x3f) as u8;
    match cp {
        0..=0x7f => out.push(cp as u8),
        0x80..=0x7ff => out.extend([0xc0 | (cp >> 6) as u8, continuation(0)]),
        0x800..=0xffff => out.extend([0xe0 | (cp >> 12) as u8, continuation(6), continuation(0)]),
        _ => out.extend([
            0xf0 | (cp >> 18) as u8,
            continuation(12),
            continuation(6),
            continuation(0),
        ]),
    }
}

/// The code points of WTF-8 bytes (whole sequences, as [`Decoded::Wtf8`] holds them).
fn wtf8_code_points(b: &[u8]) -> impl Iterator<Item = u32> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        let lead = *b.get(i)?;
        let (len, bits) = match lead {
            0..=0x7f => (1, u32::from(lead)),
            0xc0..=0xdf => (2, u32::from(lead & 0x1f)),
            0xe0..=0xef => (3, u32::from(lead & 0x0f)),
            _ => (4, u32::from(lead & 0x07)),
        };
        let rest = b.get(i + 1..i + len)?;
        i += len;
        Some(
            rest.iter()
                .fold(bits, |cp, &c| (cp << 6) | u32::from(c & 0x3f)),
        )
    })
}

/// A string being unescaped: text until a lone surrogate shows up, code points from then on.
enum StrBuf {
    Text(String),
    CodePoints(Vec<u32>),
}

impl StrBuf {
    fn push_str(&mut self, s: &str) {
        match self {
            StrBuf::Text(t) => t.push_str(s),
            StrBuf::CodePoints(cps) => cps.extend(s.chars().map(u32::from)),
        }
    }

    fn push(&mut self, cp: u32) {
        match self {
            StrBuf::Text(t) => match char::from_u32(cp) {
                Some(c) => t.push(c),
                None => {
                    let mut cps: Vec<u32> = t.chars().map(u32::from).collect();
                    cps.push(cp);
                    *self = StrBuf::CodePoints(cps);
                }
            },
            StrBuf::CodePoints(cps) => cps.push(cp),
        }
    }

    fn finish(self) -> PyStr {
        match self {
            StrBuf::Text(t) => PyStr::Text(t),
            StrBuf::CodePoints(cps) => PyStr::Surrogates(cps),
        }
    }
}

/// The parser, on the decoded body's bytes (UTF-8, or WTF-8 when it holds surrogates): every
/// delimiter is ASCII, so it steps byte by byte and copies string contents as whole runs.
/// Positions in error messages count code points, as Python's do.
struct Parser<'a> {
    s: &'a [u8],
    /// `s` as text, when it is valid UTF-8 (no surrogates).
    text: Option<&'a str>,
    pos: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn new(s: &'a [u8], text: Option<&'a str>) -> Self {
        Parser {
            s,
            text,
            pos: 0,
            depth: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn at(&self, c: u8) -> bool {
        self.peek() == Some(c)
    }

    fn error(&self, what: &str) -> LoadError {
        // The code points before `pos`: every byte but the continuation bytes starts one.
        let chars = self.s[..self.pos]
            .iter()
            .filter(|&&b| !(0x80..=0xbf).contains(&b))
            .count();
        LoadError::Invalid(format!("{what}: char {chars}"))
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn literal(&mut self, word: &str) -> bool {
        let matches = self.s[self.pos..].starts_with(word.as_bytes());
        if matches {
            self.pos += word.len();
        }
        matches
    }

    fn value(&mut self) -> Result<PyValue, LoadError> {
        match self.peek() {
            Some(b'"') => Ok(PyValue::Str(self.string()?)),
            Some(b'{') => self.nested(Parser::object),
            Some(b'[') => self.nested(Parser::array),
            Some(b'n') if self.literal("null") => Ok(PyValue::None),
            Some(b't') if self.literal("true") => Ok(PyValue::Bool(true)),
            Some(b'f') if self.literal("false") => Ok(PyValue::Bool(false)),
            Some(b'N') if self.literal("NaN") => Ok(PyValue::Float(f64::NAN)),
            Some(b'I') if self.literal("Infinity") => Ok(PyValue::Float(f64::INFINITY)),
            Some(b'-') if self.literal("-Infinity") => Ok(PyValue::Float(f64::NEG_INFINITY)),
            Some(b'-' | b'0'..=b'9') => self.number(),
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
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`; a `.` or an exponent without digits
    /// is not part of the number (what follows is then "Extra data" or a delimiter error).
    fn number(&mut self) -> Result<PyValue, LoadError> {
        let start = self.pos;
        if self.at(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => {
                self.pos = start;
                return Err(self.error("Expecting value"));
            }
        }
        let mut is_float = false;
        if self.at(b'.') && matches!(self.s.get(self.pos + 1), Some(b'0'..=b'9')) {
            self.pos += 1;
            self.digits();
            is_float = true;
        }
        if self.at(b'e') || self.at(b'E') {
            let mark = self.pos;
            self.pos += 1;
            if self.at(b'+') || self.at(b'-') {
                self.pos += 1;
            }
            if self.digits() == 0 {
                self.pos = mark;
            } else {
                is_float = true;
            }
        }
        // ASCII: a sign, digits, `.`, `e`.
        let text = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or_default();
        if is_float {
            // Python's float() of the literal: correctly rounded, out of range as ±inf.
            let x: f64 = text
                .parse()
                .map_err(|_| LoadError::Invalid(format!("could not convert {text:?}")))?;
            return Ok(PyValue::Float(x));
        }
        int(text).map(PyValue::Int)
    }

    fn hex4(&mut self) -> Result<u32, LoadError> {
        let digits = self
            .s
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.error("Invalid \\uXXXX escape"))?;
        let mut v = 0;
        for &d in digits {
            let d = char::from(d)
                .to_digit(16)
                .ok_or_else(|| self.error("Invalid \\uXXXX escape"))?;
            v = v * 16 + d;
        }
        self.pos += 4;
        Ok(v)
    }

    /// Appends `s[start..end]`, which starts and ends at ASCII bytes (a quote, a backslash, an
    /// escape's last character) or at the end of the body, so at whole characters.
    fn push_run(&self, out: &mut StrBuf, start: usize, end: usize) {
        match self.text {
            Some(text) => out.push_str(&text[start..end]),
            None => match std::str::from_utf8(&self.s[start..end]) {
                Ok(run) => out.push_str(run),
                Err(_) => wtf8_code_points(&self.s[start..end]).for_each(|cp| out.push(cp)),
            },
        }
    }

    fn string(&mut self) -> Result<PyStr, LoadError> {
        self.pos += 1; // the opening quote
        let mut out = StrBuf::Text(String::new());
        loop {
            let run = self.pos;
            while matches!(self.peek(), Some(c) if c != b'"' && c != b'\\' && c >= 0x20) {
                self.pos += 1;
            }
            if self.pos > run {
                self.push_run(&mut out, run, self.pos);
            }
            let c = self
                .peek()
                .ok_or_else(|| self.error("Unterminated string starting at"))?;
            self.pos += 1;
            match c {
                b'"' => return Ok(out.finish()),
                b'\\' => {
                    let e = self
                        .peek()
                        .ok_or_else(|| self.error("Unterminated string starting at"))?;
                    self.pos += 1;
                    let unescaped = match e {
                        b'"' => 0x22,
                        b'\\' => 0x5c,
                        b'/' => 0x2f,
                        b'b' => 0x08,
                        b'f' => 0x0c,
                        b'n' => 0x0a,
                        b'r' => 0x0d,
                        b't' => 0x09,
                        b'u' => {
                            let u = self.hex4()?;
                            // A high surrogate followed by an escaped low one is one character.
                            if (0xd800..0xdc00).contains(&u)
                                && self.at(b'\\')
                                && self.s.get(self.pos + 1) == Some(&b'u')
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
                _ => {
                    // A control character (below U+0020).
                    self.pos -= 1;
                    return Err(self.error("Invalid control character at"));
                }
            }
        }
    }

    fn object(&mut self) -> Result<PyValue, LoadError> {
        self.pos += 1; // {
        let mut dict = PyDict::default();
        self.skip_ws();
        if self.at(b'}') {
            self.pos += 1;
            return Ok(PyValue::Dict(dict));
        }
        loop {
            if !self.at(b'"') {
                return Err(self.error("Expecting property name enclosed in double quotes"));
            }
            let key = self.string()?;
            self.skip_ws();
            if !self.at(b':') {
                return Err(self.error("Expecting ':' delimiter"));
            }
            self.pos += 1;
            self.skip_ws();
            let value = self.value()?;
            dict.insert(key, value);
            self.skip_ws();
            if self.at(b'}') {
                self.pos += 1;
                return Ok(PyValue::Dict(dict));
            }
            if !self.at(b',') {
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
        if self.at(b']') {
            self.pos += 1;
            return Ok(PyValue::List(items));
        }
        loop {
            items.push(self.value()?);
            self.skip_ws();
            if self.at(b']') {
                self.pos += 1;
                return Ok(PyValue::List(items));
            }
            if !self.at(b',') {
                return Err(self.error("Expecting ',' delimiter"));
            }
            self.pos += 1;
            self.skip_ws();
        }
    }
}

/// `int()` of a JSON integer literal. The grammar already limited it to `-?[0-9]+`, so none of
/// `int()`'s other rules (whitespace, `+`, underscores, other scripts' digits) apply; only its
/// digit limit does, with the same `ValueError`.
fn int(text: &str) -> Result<BigInt, LoadError> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, text),
    };
    // 18 digits always fit an i64.
    if digits.len() <= 18 {
        let magnitude = digits
            .bytes()
            .fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
        return Ok(BigInt::from(if negative { -magnitude } else { magnitude }));
    }
    if digits.len() > python::INT_MAX_STR_DIGITS {
        return Err(LoadError::Invalid(
            python::IntError::TooManyDigits(digits.len()).to_string(),
        ));
    }
    BigInt::parse_bytes(text.as_bytes(), 10).ok_or_else(|| {
        LoadError::Invalid(python::IntError::InvalidLiteral(text.to_string()).to_string())
    })
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
    fn surrogates_from_every_encoding_and_positions_in_code_points() {
        // Raw surrogates (UTF-8 surrogatepass) next to escapes and other text; two raw ones in a
        // row stay two code points.
        assert_eq!(
            loads(b"\"a\xed\xa0\x80\\n\xc3\xa9\xed\xa0\xbd\xed\xb8\x80\""),
            Ok(PyValue::Str(PyStr::Surrogates(vec![
                0x61, 0xd800, 0x0a, 0xe9, 0xd83d, 0xde00
            ])))
        );
        let utf16le: Vec<u8> = [0x22, 0xdc00, 0x78, 0x22]
            .iter()
            .flat_map(|u: &u16| u.to_le_bytes())
            .collect();
        assert_eq!(
            loads(&utf16le),
            Ok(PyValue::Str(PyStr::Surrogates(vec![0xdc00, 0x78])))
        );
        let utf32le: Vec<u8> = [0x22, 0xd83d, 0xde00, 0x22]
            .iter()
            .flat_map(|c: &u32| c.to_le_bytes())
            .collect();
        assert_eq!(
            loads(&utf32le),
            Ok(PyValue::Str(PyStr::Surrogates(vec![0xd83d, 0xde00])))
        );
        // Error positions count code points, not bytes.
        assert_eq!(
            loads("[\"é😀\" x]".as_bytes()),
            Err(LoadError::Invalid("Expecting ',' delimiter: char 6".into()))
        );
        assert_eq!(
            loads(b"\"\xed\xa0\x80\\q\""),
            Err(LoadError::Invalid("Invalid \\escape: char 4".into()))
        );
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
