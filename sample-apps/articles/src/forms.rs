//! Reading the views' inputs the way the seeds' Django views do: `json.loads(request.body)`
//! into an object, required non-empty fields, Python's `int()` for query numbers, and the email
//! check.

use serde_json::{Map, Value};

/// The body was not a JSON object (Django's `json.JSONDecodeError` branch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidJson;

impl std::fmt::Display for InvalidJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Invalid JSON")
    }
}

impl std::error::Error for InvalidJson {}

/// Whether a `Content-Type` value announces JSON (`application/json`, with or without
/// parameters, any case).
pub fn is_json(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// Parses `body` as a JSON object. Anything else (bad syntax, an array, a number) is
/// `InvalidJson`: the views read fields by name, and a non-object has none.
pub fn json_object(body: &[u8]) -> Result<Map<String, Value>, InvalidJson> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(InvalidJson),
    }
}

/// A field from a JSON object as text: strings as they are, numbers and booleans as their JSON
/// text (Python would store `str(value)`); null, arrays and objects count as absent.
pub fn json_text(map: &Map<String, Value>, name: &str) -> Option<String> {
    match map.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// `Some(text)` only when the text is non-empty: the seeds' `if not title or not content`.
pub fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

/// Python's `int(text)` for the sizes an HTTP query carries: surrounding whitespace, an optional
/// sign, ASCII digits with single underscores between them. `None` where Python raises
/// `ValueError` (or the value does not fit an `i64`).
pub fn python_int(text: &str) -> Option<i64> {
    let t = text.trim();
    let (negative, digits) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    {
        return None;
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    let magnitude: i128 = clean.parse().ok()?;
    let value = if negative { -magnitude } else { magnitude };
    i64::try_from(value).ok()
}

/// A count from the query string (`?n=`, `?ms=`): `default` when absent, Python's `int()`
/// otherwise, negative values as 0 and large ones capped at `max` (the contract's "at most").
/// `None` when the text is not an integer.
pub fn bounded_count(text: Option<&str>, default: u64, max: u64) -> Option<u64> {
    let Some(text) = text else {
        return Some(default.min(max));
    };
    let n = python_int(text)?;
    Some(u64::try_from(n).unwrap_or(0).min(max))
}

/// The seeds' email check: an `@` somewhere.
pub fn looks_like_email(email: &str) -> bool {
    email.contains('@')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types() {
        assert!(is_json(Some("application/json")));
        assert!(is_json(Some("Application/JSON; charset=utf-8")));
        assert!(!is_json(Some("application/x-www-form-urlencoded")));
        assert!(!is_json(Some("application/jsonp")));
        assert!(!is_json(None));
    }

    #[test]
    fn only_objects_are_valid_payloads() {
        let map = json_object(br#"{"title": "t", "n": 5, "b": true, "z": null}"#).unwrap();
        assert_eq!(json_text(&map, "title").as_deref(), Some("t"));
        assert_eq!(json_text(&map, "n").as_deref(), Some("5"));
        assert_eq!(json_text(&map, "b").as_deref(), Some("True"));
        assert_eq!(json_text(&map, "z"), None);
        assert_eq!(json_text(&map, "missing"), None);
        assert_eq!(json_object(b"[1, 2]"), Err(InvalidJson));
        assert_eq!(json_object(b"{'a': 1}"), Err(InvalidJson));
        assert_eq!(json_object(b""), Err(InvalidJson));
    }

    #[test]
    fn empty_counts_as_missing() {
        assert_eq!(non_empty(Some(String::new())), None);
        assert_eq!(non_empty(None), None);
        assert_eq!(non_empty(Some("x".into())).as_deref(), Some("x"));
    }

    #[test]
    fn python_int_accepts_what_python_accepts() {
        assert_eq!(python_int("7"), Some(7));
        assert_eq!(python_int(" -12 "), Some(-12));
        assert_eq!(python_int("+3"), Some(3));
        assert_eq!(python_int("1_000"), Some(1000));
        assert_eq!(python_int("007"), Some(7));
        for bad in [
            "",
            " ",
            "-",
            "1.5",
            "x",
            "1e3",
            "_1",
            "1_",
            "1__0",
            "0x10",
            "9999999999999999999999",
        ] {
            assert_eq!(python_int(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn counts_default_clamp_and_reject() {
        assert_eq!(bounded_count(None, 10, 10_000), Some(10));
        assert_eq!(bounded_count(Some("5"), 10, 10_000), Some(5));
        assert_eq!(bounded_count(Some("50000"), 10, 10_000), Some(10_000));
        assert_eq!(bounded_count(Some("-3"), 10, 10_000), Some(0));
        assert_eq!(bounded_count(Some("x"), 10, 10_000), None);
        assert_eq!(bounded_count(Some(""), 10, 10_000), None);
    }

    #[test]
    fn email_needs_an_at() {
        assert!(looks_like_email("a@b"));
        assert!(!looks_like_email("ab.example.com"));
    }
}
