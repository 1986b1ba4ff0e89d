//! Cookie parsing and Set-Cookie rendering (Django's `http.cookie`).
//!
//! Parsing is Django's lenient `parse_cookie`; rendering reproduces what Django's
//! `HttpResponse.set_cookie` writes through Python's `SimpleCookie`/`Morsel`, with attributes in
//! Python's sorted-key order (`Domain`, `expires`, `HttpOnly`, `Max-Age`, `Path`, `SameSite`,
//! `Secure`).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The `expires` Django writes when deleting a cookie.
pub const EPOCH_EXPIRES: &str = "Thu, 01 Jan 1970 00:00:00 GMT";

/// Python's `http.cookies._LegalChars` minus letters and digits: what a cookie name (and an
/// unquoted value) may contain.
const LEGAL_PUNCTUATION: &str = "!#$%&'*+-.^_`|~:";

/// Python's `_UnreservedChars` extras: characters a quoted value carries without escaping.
const UNRESERVED_EXTRA: &str = " ()/<=>?@[]{}";

/// Attribute names `Morsel` refuses as cookie names (compared case-insensitively).
const RESERVED_NAMES: &[&str] = &[
    "expires", "path", "comment", "domain", "max-age", "secure", "httponly", "version", "samesite",
];

/// The last date `httpdate` can format (9999-12-31T23:59:59Z); later expiry times are clamped.
const MAX_HTTP_DATE_SECS: u64 = 253_402_300_799;

/// Why a cookie could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CookieError {
    /// The name is empty or has a character outside Python's legal cookie characters.
    IllegalName(String),
    /// The name is an attribute name such as `Path` (Python: "Attempt to set a reserved key").
    ReservedName(String),
    /// The value holds CR or LF, which would split the header.
    IllegalValue,
    /// An attribute (path, domain, expires, samesite) holds a control character or `;`.
    IllegalAttribute(&'static str),
    /// `samesite` is not lax, none or strict (Django raises `ValueError`).
    InvalidSameSite(String),
}

impl fmt::Display for CookieError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CookieError::IllegalName(n) => write!(f, "Illegal key {n:?}"),
            CookieError::ReservedName(n) => write!(f, "Attempt to set a reserved key {n:?}"),
            CookieError::IllegalValue => f.write_str("Cookie value contains CR or LF"),
            CookieError::IllegalAttribute(a) => {
                write!(
                    f,
                    "Cookie attribute {a} contains a control character or ';'"
                )
            }
            CookieError::InvalidSameSite(_) => {
                f.write_str("samesite must be \"lax\", \"none\", or \"strict\".")
            }
        }
    }
}

impl std::error::Error for CookieError {}

/// The arguments of Django's `set_cookie` besides key and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieOptions {
    /// Seconds until expiry; also sets `expires` when that is not given.
    pub max_age: Option<i64>,
    /// An HTTP date string written as is.
    pub expires: Option<String>,
    /// The cookie path, `/` by default (an empty path is left out).
    pub path: String,
    /// The cookie domain.
    pub domain: Option<String>,
    /// Send over HTTPS only.
    pub secure: bool,
    /// Hide from scripts.
    pub httponly: bool,
    /// `Lax`, `None` or `Strict` (any case), written as given.
    pub samesite: Option<String>,
}

impl Default for CookieOptions {
    fn default() -> Self {
        CookieOptions {
            max_age: None,
            expires: None,
            path: "/".to_string(),
            domain: None,
            secure: false,
            httponly: false,
            samesite: None,
        }
    }
}

impl CookieOptions {
    /// The options Django's `delete_cookie` uses: `max_age=0`, the 1970 `expires`, and
    /// `secure` for `__Secure-`/`__Host-` names or `samesite=None` (browsers demand it).
    pub fn for_delete(
        name: &str,
        path: &str,
        domain: Option<&str>,
        samesite: Option<&str>,
    ) -> CookieOptions {
        let secure = name.starts_with("__Secure-")
            || name.starts_with("__Host-")
            || samesite.is_some_and(|s| s.eq_ignore_ascii_case("none"));
        CookieOptions {
            max_age: Some(0),
            expires: Some(EPOCH_EXPIRES.to_string()),
            path: path.to_string(),
            domain: domain.map(str::to_string),
            secure,
            httponly: false,
            samesite: samesite.map(str::to_string),
        }
    }
}

/// Python's `http.cookies._unquote`: a `"..."` value loses its quotes, `\ooo` octal escapes
/// become that code point and `\x` becomes `x`; anything else is returned as is.
fn unquote_cookie_value(v: &str) -> String {
    if v.len() < 2 || !v.starts_with('"') || !v.ends_with('"') {
        return v.to_string();
    }
    let inner: Vec<char> = v[1..v.len() - 1].chars().collect();
    let mut out = String::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        if inner[i] == '\\' && i + 1 < inner.len() {
            let octal = inner.get(i + 1..i + 4).filter(|d| {
                matches!(d[0], '0'..='3') && matches!(d[1], '0'..='7') && matches!(d[2], '0'..='7')
            });
            if let Some(d) = octal {
                let code = d
                    .iter()
                    .fold(0u32, |acc, c| acc * 8 + (*c as u32 - '0' as u32));
                out.extend(char::from_u32(code));
                i += 4;
            } else {
                out.push(inner[i + 1]);
                i += 2;
            }
        } else {
            out.push(inner[i]);
            i += 1;
        }
    }
    out
}

/// Django's `parse_cookie`: splits on `;`, a chunk without `=` has the empty name, names and
/// values are trimmed, quoted values unquoted; a repeated name keeps its first position and
/// its last value (Django builds a dict).
pub fn parse_cookie(header: &str) -> Vec<(String, String)> {
    let mut cookies: Vec<(String, String)> = Vec::new();
    for chunk in header.split(';') {
        let (key, val) = match chunk.split_once('=') {
            Some((k, v)) => (k, v),
            None => ("", chunk),
        };
        let (key, val) = (key.trim(), val.trim());
        if key.is_empty() && val.is_empty() {
            continue;
        }
        let val = unquote_cookie_value(val);
        match cookies.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = val,
            None => cookies.push((key.to_string(), val)),
        }
    }
    cookies
}

fn is_legal_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || LEGAL_PUNCTUATION.contains(c)
}

/// Python's `http.cookies._quote`: a value of legal characters goes bare; anything else
/// (including the empty value) is double-quoted with `"` and `\` backslashed and other
/// Latin-1 characters outside the unreserved set written as `\ooo`.
fn quote_cookie_value(v: &str) -> String {
    if !v.is_empty() && v.chars().all(is_legal_char) {
        return v.to_string();
    }
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if is_legal_char(c) || UNRESERVED_EXTRA.contains(c) || (c as u32) > 0xff => {
                out.push(c)
            }
            c => out.push_str(&format!("\\{:03o}", c as u32)),
        }
    }
    out.push('"');
    out
}

fn check_attribute(value: &str, attribute: &'static str) -> Result<(), CookieError> {
    if value.chars().any(|c| c.is_control() || c == ';') {
        return Err(CookieError::IllegalAttribute(attribute));
    }
    Ok(())
}

/// Django's `http_date(time.time() + max_age)`, clamped to what an HTTP date can express.
fn expires_after(max_age: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let secs = if max_age >= 0 {
        now.saturating_add(max_age.unsigned_abs())
    } else {
        now.saturating_sub(max_age.unsigned_abs())
    }
    .min(MAX_HTTP_DATE_SECS);
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs))
}

/// The `Set-Cookie` header value Django writes for `set_cookie(name, value, **opts)`, e.g.
/// `sessionid=abc; expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Max-Age=0; Path=/`.
pub fn render_set_cookie(
    name: &str,
    value: &str,
    opts: &CookieOptions,
) -> Result<String, CookieError> {
    if name.is_empty() || !name.chars().all(is_legal_char) {
        return Err(CookieError::IllegalName(name.to_string()));
    }
    if RESERVED_NAMES.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        return Err(CookieError::ReservedName(name.to_string()));
    }
    if value.contains(['\r', '\n']) {
        return Err(CookieError::IllegalValue);
    }
    if let Some(samesite) = &opts.samesite {
        if !["lax", "none", "strict"]
            .iter()
            .any(|s| s.eq_ignore_ascii_case(samesite))
        {
            return Err(CookieError::InvalidSameSite(samesite.clone()));
        }
    }
    check_attribute(&opts.path, "path")?;
    if let Some(domain) = &opts.domain {
        check_attribute(domain, "domain")?;
    }
    if let Some(expires) = &opts.expires {
        check_attribute(expires, "expires")?;
    }

    let expires = match (&opts.expires, opts.max_age) {
        (Some(e), _) => Some(e.clone()),
        (None, Some(age)) => Some(expires_after(age)),
        (None, None) => None,
    };
    let mut out = format!("{name}={}", quote_cookie_value(value));
    let mut attr = |s: &str| {
        out.push_str("; ");
        out.push_str(s);
    };
    if let Some(domain) = opts.domain.as_deref().filter(|d| !d.is_empty()) {
        attr(&format!("Domain={domain}"));
    }
    if let Some(expires) = expires.as_deref().filter(|e| !e.is_empty()) {
        attr(&format!("expires={expires}"));
    }
    if opts.httponly {
        attr("HttpOnly");
    }
    if let Some(age) = opts.max_age {
        attr(&format!("Max-Age={age}"));
    }
    if !opts.path.is_empty() {
        attr(&format!("Path={}", opts.path));
    }
    if let Some(samesite) = opts.samesite.as_deref() {
        attr(&format!("SameSite={samesite}"));
    }
    if opts.secure {
        attr("Secure");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_simple_and_spaced_cookies() {
        assert_eq!(
            parse_cookie("a=1; b = two words ;c=3"),
            kv(&[("a", "1"), ("b", "two words"), ("c", "3")])
        );
        assert!(parse_cookie("").is_empty());
        assert!(parse_cookie(" ; ;").is_empty());
    }

    #[test]
    fn chunks_without_equals_have_an_empty_name() {
        assert_eq!(
            parse_cookie("abc; d=1; e=="),
            kv(&[("", "abc"), ("d", "1"), ("e", "=")])
        );
        assert_eq!(parse_cookie("=v"), kv(&[("", "v")]));
    }

    #[test]
    fn quoted_values_are_unquoted_like_python() {
        assert_eq!(
            parse_cookie(r#"a="x y"; b="q\"uo\\te"; c="\054\073"; d="""#),
            kv(&[("a", "x y"), ("b", "q\"uo\\te"), ("c", ",;"), ("d", "")])
        );
        // A lone quote or unbalanced quotes are not a quoted string.
        assert_eq!(
            parse_cookie("a=\"; b=\"x"),
            kv(&[("a", "\""), ("b", "\"x")])
        );
        assert_eq!(parse_cookie(r#"a="\""#), kv(&[("a", "\\")]));
    }

    #[test]
    fn repeated_names_keep_the_last_value_in_the_first_position() {
        assert_eq!(parse_cookie("a=1; b=2; a=3"), kv(&[("a", "3"), ("b", "2")]));
    }

    #[test]
    fn renders_plain_and_quoted_values() {
        let opts = CookieOptions::default();
        assert_eq!(render_set_cookie("a", "b", &opts).unwrap(), "a=b; Path=/");
        assert_eq!(
            render_set_cookie("a", "x y,z;\"\\", &opts).unwrap(),
            "a=\"x y\\054z\\073\\\"\\\\\"; Path=/"
        );
        assert_eq!(render_set_cookie("a", "", &opts).unwrap(), "a=\"\"; Path=/");
        assert_eq!(
            render_set_cookie("a", "é", &opts).unwrap(),
            "a=\"\\351\"; Path=/"
        );
        assert_eq!(
            render_set_cookie("a", "€", &opts).unwrap(),
            "a=\"€\"; Path=/"
        );
    }

    #[test]
    fn renders_every_attribute_in_python_order() {
        let opts = CookieOptions {
            max_age: Some(60),
            expires: Some("Wed, 21 Oct 2015 07:28:00 GMT".into()),
            path: "/p".into(),
            domain: Some("example.com".into()),
            secure: true,
            httponly: true,
            samesite: Some("Lax".into()),
        };
        assert_eq!(
            render_set_cookie("sid", "v", &opts).unwrap(),
            "sid=v; Domain=example.com; expires=Wed, 21 Oct 2015 07:28:00 GMT; HttpOnly; \
             Max-Age=60; Path=/p; SameSite=Lax; Secure"
        );
    }

    #[test]
    fn max_age_alone_computes_expires() {
        let opts = CookieOptions {
            max_age: Some(3600),
            ..CookieOptions::default()
        };
        let rendered = render_set_cookie("a", "b", &opts).unwrap();
        let expires = rendered
            .split("; ")
            .find_map(|p| p.strip_prefix("expires="))
            .unwrap();
        let when = httpdate::parse_http_date(expires).unwrap();
        let delta = when.duration_since(SystemTime::now()).unwrap().as_secs();
        assert!((3590..=3600).contains(&delta), "{delta}");
        assert!(rendered.ends_with("; Max-Age=3600; Path=/"));
        // Huge or negative ages are clamped instead of panicking.
        for age in [i64::MAX, i64::MIN] {
            let opts = CookieOptions {
                max_age: Some(age),
                ..CookieOptions::default()
            };
            assert!(render_set_cookie("a", "b", &opts).is_ok());
        }
    }

    #[test]
    fn delete_cookie_matches_django() {
        let opts = CookieOptions::for_delete("sessionid", "/", None, None);
        assert_eq!(
            render_set_cookie("sessionid", "", &opts).unwrap(),
            "sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/"
        );
        assert!(CookieOptions::for_delete("__Host-x", "/", None, None).secure);
        assert!(CookieOptions::for_delete("x", "/", None, Some("None")).secure);
    }

    #[test]
    fn rejects_illegal_names_values_and_attributes() {
        let opts = CookieOptions::default();
        for bad in ["", "a b", "a;b", "a=b", "a\r\nb", "é", "a,b"] {
            assert_eq!(
                render_set_cookie(bad, "v", &opts),
                Err(CookieError::IllegalName(bad.to_string()))
            );
        }
        assert!(matches!(
            render_set_cookie("Path", "v", &opts),
            Err(CookieError::ReservedName(_))
        ));
        assert_eq!(
            render_set_cookie("a", "x\r\nSet-Cookie: y=1", &opts),
            Err(CookieError::IllegalValue)
        );
        let with_path = CookieOptions {
            path: "/\r\nX: y".into(),
            ..CookieOptions::default()
        };
        assert_eq!(
            render_set_cookie("a", "v", &with_path),
            Err(CookieError::IllegalAttribute("path"))
        );
        let with_domain = CookieOptions {
            domain: Some("a.com; Secure".into()),
            ..CookieOptions::default()
        };
        assert!(render_set_cookie("a", "v", &with_domain).is_err());
        let with_samesite = CookieOptions {
            samesite: Some("sometimes".into()),
            ..CookieOptions::default()
        };
        let err = render_set_cookie("a", "v", &with_samesite).unwrap_err();
        assert_eq!(
            err.to_string(),
            "samesite must be \"lax\", \"none\", or \"strict\"."
        );
    }
}
