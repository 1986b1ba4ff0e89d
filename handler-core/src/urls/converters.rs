//! Path converters (Django's `django.urls.converters`): the captured value type, the
//! `Converter` trait, the five built-ins and the registry that pattern builders consult.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::python::str_repr;

/// A value captured from a URL, as a converter's `to_python` yields it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathValue {
    /// From the `int` converter (Django gives a Python `int`).
    Int(i64),
    /// From the `int` converter, a value beyond `i64`: Python ints are unbounded, so Django's
    /// converter matches it and the view decides (an id no row can have is its 404). The
    /// decimal digits, without leading zeros.
    BigInt(String),
    /// From every other built-in converter and from `re_path` groups.
    Str(String),
}

impl PathValue {
    /// The integer, if this is an `Int` (not for a `BigInt`, which no `i64` holds).
    pub fn as_int(&self) -> Option<i64> {
        match self {
            PathValue::Int(i) => Some(*i),
            PathValue::BigInt(_) | PathValue::Str(_) => None,
        }
    }

    /// The string, if this is a `Str`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            PathValue::Int(_) | PathValue::BigInt(_) => None,
            PathValue::Str(s) => Some(s),
        }
    }

    /// Python's `repr()` of the value, used in Django-style error messages.
    pub(crate) fn py_repr(&self) -> String {
        match self {
            PathValue::Int(i) => i.to_string(),
            PathValue::BigInt(digits) => digits.clone(),
            PathValue::Str(s) => str_repr(s),
        }
    }
}

impl From<i64> for PathValue {
    fn from(v: i64) -> Self {
        PathValue::Int(v)
    }
}

impl From<&str> for PathValue {
    fn from(v: &str) -> Self {
        PathValue::Str(v.to_owned())
    }
}

impl From<String> for PathValue {
    fn from(v: String) -> Self {
        PathValue::Str(v)
    }
}

/// The `to_url` form: what Django's `str(value)` gives.
impl fmt::Display for PathValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathValue::Int(i) => write!(f, "{i}"),
            PathValue::BigInt(digits) => f.write_str(digits),
            PathValue::Str(s) => f.write_str(s),
        }
    }
}

/// A converter refused a value (Django's `ValueError` from `to_python` / `to_url`): while
/// resolving it means "this pattern does not match, try the next one".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversionError(pub String);

impl fmt::Display for ConversionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConversionError {}

/// A path converter, as in Django: a regex for the segment, and the two directions.
pub trait Converter: Send + Sync {
    /// The regex one captured segment must match (no anchors, no capture groups needed).
    fn regex(&self) -> &str;
    /// Turns the matched text into the view's value; an error means "no match".
    fn to_python(&self, s: &str) -> Result<PathValue, ConversionError>;
    /// Turns a value back into URL text for `reverse`; an error means "this pattern cannot
    /// reverse this value".
    fn to_url(&self, v: &PathValue) -> Result<String, ConversionError>;
}

/// Django's `IntConverter`: `[0-9]+`, so `-1` never matches.
#[derive(Debug, Clone, Copy, Default)]
pub struct IntConverter;

impl Converter for IntConverter {
    fn regex(&self) -> &str {
        "[0-9]+"
    }
    fn to_python(&self, s: &str) -> Result<PathValue, ConversionError> {
        // Django's `int(value)`: any run of digits is an int, however long.
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ConversionError(format!("invalid int {s:?}")));
        }
        Ok(match s.parse::<i64>() {
            Ok(i) => PathValue::Int(i),
            Err(_) => {
                let digits = s.trim_start_matches('0');
                PathValue::BigInt(if digits.is_empty() { "0" } else { digits }.to_owned())
            }
        })
    }
    fn to_url(&self, v: &PathValue) -> Result<String, ConversionError> {
        Ok(v.to_string())
    }
}

/// Django's `StringConverter`: any non-empty segment without `/`.
#[derive(Debug, Clone, Copy, Default)]
pub struct StringConverter;

impl Converter for StringConverter {
    fn regex(&self) -> &str {
        "[^/]+"
    }
    fn to_python(&self, s: &str) -> Result<PathValue, ConversionError> {
        Ok(PathValue::Str(s.to_owned()))
    }
    fn to_url(&self, v: &PathValue) -> Result<String, ConversionError> {
        Ok(v.to_string())
    }
}

/// Django's `SlugConverter`: ASCII letters, digits, `-` and `_`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SlugConverter;

impl Converter for SlugConverter {
    fn regex(&self) -> &str {
        "[-a-zA-Z0-9_]+"
    }
    fn to_python(&self, s: &str) -> Result<PathValue, ConversionError> {
        Ok(PathValue::Str(s.to_owned()))
    }
    fn to_url(&self, v: &PathValue) -> Result<String, ConversionError> {
        Ok(v.to_string())
    }
}

/// Django's `UUIDConverter`: the canonical lowercase 8-4-4-4-12 form only (Django's regex is
/// lowercase-only); the value stays a string.
#[derive(Debug, Clone, Copy, Default)]
pub struct UuidConverter;

impl Converter for UuidConverter {
    fn regex(&self) -> &str {
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    }
    fn to_python(&self, s: &str) -> Result<PathValue, ConversionError> {
        Ok(PathValue::Str(s.to_owned()))
    }
    fn to_url(&self, v: &PathValue) -> Result<String, ConversionError> {
        match v {
            PathValue::Str(s) => Ok(s.clone()),
            other => Err(ConversionError(format!("{other} is not a UUID"))),
        }
    }
}

/// Django's `PathConverter`: any non-empty text, `/` included.
#[derive(Debug, Clone, Copy, Default)]
pub struct PathConverter;

impl Converter for PathConverter {
    fn regex(&self) -> &str {
        ".+"
    }
    fn to_python(&self, s: &str) -> Result<PathValue, ConversionError> {
        Ok(PathValue::Str(s.to_owned()))
    }
    fn to_url(&self, v: &PathValue) -> Result<String, ConversionError> {
        Ok(v.to_string())
    }
}

/// The converter names a `path()` route may use (Django's `get_converters()`), with the
/// built-ins by default. Unlike Django's module-global registry this is a value handed to
/// [`UrlResolver::with_converters`](super::UrlResolver::with_converters), so tests and apps
/// never share mutable global state.
#[derive(Clone)]
pub struct Converters {
    by_name: HashMap<String, Arc<dyn Converter>>,
}

impl Converters {
    /// The five built-ins: `int`, `str`, `slug`, `uuid`, `path`.
    pub fn new() -> Self {
        let mut by_name: HashMap<String, Arc<dyn Converter>> = HashMap::new();
        by_name.insert("int".into(), Arc::new(IntConverter));
        by_name.insert("str".into(), Arc::new(StringConverter));
        by_name.insert("slug".into(), Arc::new(SlugConverter));
        by_name.insert("uuid".into(), Arc::new(UuidConverter));
        by_name.insert("path".into(), Arc::new(PathConverter));
        Converters { by_name }
    }

    /// Django's `register_converter(converter, type_name)`: a later registration of the same
    /// name replaces the earlier one.
    pub fn register_converter(&mut self, name: &str, converter: Arc<dyn Converter>) {
        self.by_name.insert(name.to_owned(), converter);
    }

    /// The converter registered under `name`.
    pub fn get(&self, name: &str) -> Option<Arc<dyn Converter>> {
        self.by_name.get(name).cloned()
    }
}

impl Default for Converters {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Converters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.by_name.keys().collect();
        names.sort();
        f.debug_struct("Converters").field("names", &names).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    fn full(c: &dyn Converter, s: &str) -> bool {
        Regex::new(&format!("^(?:{})$", c.regex()))
            .map(|r| r.is_match(s))
            .unwrap_or(false)
    }

    #[test]
    fn int_accepts_digits_only() {
        assert!(full(&IntConverter, "42"));
        assert!(!full(&IntConverter, "-1"));
        assert!(!full(&IntConverter, "abc"));
        assert_eq!(IntConverter.to_python("007"), Ok(PathValue::Int(7)));
        // Python ints are unbounded: Django's converter matches and the view decides.
        assert_eq!(
            IntConverter.to_python("0099999999999999999999"),
            Ok(PathValue::BigInt("99999999999999999999".into()))
        );
        assert_eq!(
            IntConverter.to_python("9223372036854775807"),
            Ok(PathValue::Int(i64::MAX))
        );
        assert_eq!(
            IntConverter.to_url(&PathValue::BigInt("99999999999999999999".into())),
            Ok("99999999999999999999".into())
        );
        assert_eq!(IntConverter.to_url(&PathValue::Int(5)), Ok("5".into()));
    }

    #[test]
    fn str_slug_path() {
        assert!(full(&StringConverter, "hello world"));
        assert!(!full(&StringConverter, "a/b"));
        assert!(!full(&StringConverter, ""));
        assert!(full(&SlugConverter, "my-post_2"));
        assert!(!full(&SlugConverter, "my post"));
        assert!(full(&PathConverter, "a/b/c"));
        assert!(!full(&PathConverter, ""));
    }

    #[test]
    fn uuid_is_lowercase_canonical_only() {
        let ok = "123e4567-e89b-12d3-a456-426614174000";
        assert!(full(&UuidConverter, ok));
        assert!(!full(&UuidConverter, &ok.to_uppercase()));
        assert!(!full(&UuidConverter, "123e4567e89b12d3a456426614174000"));
        assert_eq!(UuidConverter.to_python(ok), Ok(PathValue::Str(ok.into())));
        assert!(UuidConverter.to_url(&PathValue::Int(1)).is_err());
    }

    #[test]
    fn registry_has_builtins_and_takes_user_converters() {
        let mut c = Converters::new();
        for n in ["int", "str", "slug", "uuid", "path"] {
            assert!(c.get(n).is_some(), "{n}");
        }
        assert!(c.get("yyyy").is_none());
        c.register_converter("yyyy", Arc::new(IntConverter));
        assert!(c.get("yyyy").is_some());
    }

    #[test]
    fn path_value_forms() {
        assert_eq!(PathValue::from(3).to_string(), "3");
        assert_eq!(PathValue::from("x").as_str(), Some("x"));
        // Python's repr: double quotes when the text holds a ' and no ".
        assert_eq!(PathValue::from(String::from("it's")).py_repr(), "\"it's\"");
        assert_eq!(PathValue::from(String::from("a\\b")).py_repr(), "'a\\\\b'");
        assert_eq!(PathValue::Int(4).as_int(), Some(4));
    }
}
