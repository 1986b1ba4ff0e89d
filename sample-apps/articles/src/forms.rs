//! Reading the views' inputs the way the seeds' Django views do: the body's fields (the
//! seeds' `_payload`: `json.loads(request.body)`, `request.POST`, or `QueryDict(request.body)`),
//! and counts from the query string.

use std::borrow::Cow;

use handler_core::exception::ViewError;
use handler_core::http::querydict::QueryDict;
use handler_core::http::HttpRequest;
use num_bigint::Sign;

use crate::pyjson::{self, LoadError, PyDict, PyValue};
use crate::python;

/// The body was not a JSON object (the seeds' `except ValueError` and `isinstance(data, dict)`
/// branches, answered "Invalid JSON").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidJson;

/// Whether a `Content-Type` value announces JSON: Django's `request.content_type` (the media
/// type without parameters, lower-cased) `== "application/json"`.
pub fn is_json(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// A request body's fields, as the seeds' `_payload(request)` returns them.
#[derive(Debug)]
pub enum Payload<'a> {
    /// A JSON object.
    Json(PyDict),
    /// Form fields: `request.POST` for a POST, `QueryDict(request.body)` otherwise.
    Form(&'a QueryDict),
}

impl Payload<'_> {
    /// The seeds' `_payload(request)`:
    ///
    /// ```python
    /// if request.content_type == "application/json":
    ///     data = json.loads(request.body or b"{}")        # ValueError: "Invalid JSON"
    ///     return data if isinstance(data, dict) else None  # None: "Invalid JSON"
    /// if request.method == "POST":
    ///     return request.POST      # urlencoded or multipart; empty for any other type
    /// return QueryDict(request.body, encoding=request.encoding)
    /// ```
    ///
    /// The outer error is what Django raises past the view: `TooManyFieldsSent` and
    /// `MultiPartParserError` (400), JSON nested past Python's recursion limit (500).
    pub fn from_request(
        request: &HttpRequest,
    ) -> Result<Result<Payload<'_>, InvalidJson>, ViewError> {
        if is_json(request.headers.get("Content-Type")) {
            let body = match request.body() {
                b"" => b"{}".as_slice(),
                body => body,
            };
            return match pyjson::loads(body) {
                Ok(PyValue::Dict(dict)) => Ok(Ok(Payload::Json(dict))),
                Ok(_) | Err(LoadError::Invalid(_)) => Ok(Err(InvalidJson)),
                Err(e @ LoadError::TooDeep) => Err(ViewError::from(e)),
            };
        }
        if request.method == "POST" {
            return Ok(Ok(Payload::Form(request.POST()?)));
        }
        // `QueryDict(request.body)`, with its field limit.
        Ok(Ok(Payload::Form(request.form_body()?)))
    }

    /// `data.get(name)`: a JSON value, or a form field's last value as a string.
    pub fn get(&self, name: &str) -> Option<Cow<'_, PyValue>> {
        match self {
            Payload::Json(dict) => dict.get(name).map(Cow::Borrowed),
            Payload::Form(form) => form.get(name).map(|v| Cow::Owned(PyValue::str(v))),
        }
    }

    /// `data.get(name)` when it is truthy: the seeds' `if not title or not content` treats
    /// `None`, `""`, `0`, `False`, `[]` and `{}` as missing.
    pub fn truthy(&self, name: &str) -> Option<Cow<'_, PyValue>> {
        self.get(name).filter(|v| v.is_truthy())
    }

    /// `data.get(name)`, taken out of a JSON object instead of copied (what the PUT view
    /// answers with is the value itself).
    pub fn take(&mut self, name: &str) -> Option<PyValue> {
        match self {
            Payload::Json(dict) => dict.remove(name),
            Payload::Form(form) => form.get(name).map(PyValue::str),
        }
    }
}

/// What is wrong with a count in the query string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CountError {
    /// Not something Python's `int()` reads: its `ValueError`.
    NotAnInteger(python::IntError),
    /// Below zero.
    Negative,
}

/// A count from the query string (`?n=`, `?ms=`): `default` when absent; otherwise Python's
/// `int()` of the text (`" 5 "` and `"1_000"` are integers), refused when negative, and capped
/// at `max`, however large (an integer past `u64` is simply over the maximum).
pub fn bounded_count(text: Option<&str>, default: u64, max: u64) -> Result<u64, CountError> {
    let Some(text) = text else {
        return Ok(default.min(max));
    };
    let n = python::parse_int(text).map_err(CountError::NotAnInteger)?;
    if n.sign() == Sign::Minus {
        return Err(CountError::Negative);
    }
    Ok(u64::try_from(&n).unwrap_or(u64::MAX).min(max))
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
    fn counts_default_cap_and_reject() {
        assert_eq!(bounded_count(None, 10, 10_000), Ok(10));
        assert_eq!(bounded_count(Some("5"), 10, 10_000), Ok(5));
        assert_eq!(bounded_count(Some(" 1_000 "), 10, 10_000), Ok(1000));
        assert_eq!(bounded_count(Some("50000"), 10, 10_000), Ok(10_000));
        assert_eq!(
            bounded_count(Some("99999999999999999999"), 10, 10_000),
            Ok(10_000)
        );
        assert_eq!(bounded_count(Some("-0"), 10, 10_000), Ok(0));
        assert_eq!(
            bounded_count(Some("-1"), 10, 10_000),
            Err(CountError::Negative)
        );
        assert_eq!(
            bounded_count(Some("-99999999999999999999"), 10, 10_000),
            Err(CountError::Negative)
        );
        for bad in ["x", "", "1.5", "1e3"] {
            assert!(
                matches!(
                    bounded_count(Some(bad), 10, 10_000),
                    Err(CountError::NotAnInteger(_))
                ),
                "{bad:?}"
            );
        }
    }
}
