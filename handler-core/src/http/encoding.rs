//! Percent-decoding and header-parameter parsing (Django's `utils.encoding`, `utils.http`).
//!
//! Everything here is total: malformed input is kept or replaced, never an error, because
//! Django (through Python's `urllib.parse`) is lenient in the same places.

/// Characters Django's `iri_to_uri` leaves alone on top of Python's always-safe set: the
/// reserved characters of RFC 3986 plus `%` (so an already-quoted URI is not quoted twice).
const IRI_SAFE: &str = "/#%[]=:;$&()+,!?*@'~";

/// Python's `quote` writes escapes in upper-case hex.
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn push_escaped(out: &mut String, byte: u8) {
    out.push('%');
    out.push(char::from(HEX_UPPER[usize::from(byte >> 4)]));
    out.push(char::from(HEX_UPPER[usize::from(byte & 0x0f)]));
}

/// Decodes `%XX` escapes to bytes; an escape that is not two hex digits stays literal, as in
/// Python's `urllib.parse.unquote_to_bytes`.
pub fn unquote_to_bytes(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' && i + 2 < s.len() {
            if let (Some(hi), Some(lo)) = (hex_value(s[i + 1]), hex_value(s[i + 2])) {
                out.push(hi << 4 | lo);
                i += 3;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

/// Python's `unquote_plus` with `errors="replace"`: `+` is a space, `%XX` is decoded, and
/// invalid UTF-8 becomes U+FFFD.
pub fn unquote_plus(s: &[u8]) -> String {
    let spaced: Vec<u8> = s
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    String::from_utf8_lossy(&unquote_to_bytes(&spaced)).into_owned()
}

/// Percent-decodes with Python's `unquote(value, encoding=...)` for the charsets RFC 2231
/// values use in practice; an unknown charset falls back to lossy UTF-8.
fn unquote_with_charset(s: &str, charset: &str) -> String {
    let bytes = unquote_to_bytes(s.as_bytes());
    match charset.trim().to_ascii_lowercase().as_str() {
        "iso-8859-1" | "latin-1" | "latin1" | "iso8859-1" | "l1" => {
            bytes.iter().map(|&b| char::from(b)).collect()
        }
        _ => String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// Turns a raw request path into Django's `path_info`: percent-decode, then decode UTF-8,
/// re-percent-encoding each invalid byte (Django's `repercent_broken_unicode`) so the result
/// is lossless and still routable.
pub fn path_from_raw(raw: &[u8]) -> String {
    let mut out = String::new();
    path_from_raw_into(raw, &mut out);
    out
}

/// [`path_from_raw`], appending to `out` (the adapter reuses one buffer per thread).
pub(crate) fn path_from_raw_into(raw: &[u8], out: &mut String) {
    // The usual path has no escapes and is ASCII: one copy, no decoding pass.
    if raw.is_ascii() && memchr::memchr(b'%', raw).is_none() {
        // SAFETY: ASCII is UTF-8.
        out.push_str(unsafe { std::str::from_utf8_unchecked(raw) });
        return;
    }
    let decoded = unquote_to_bytes(raw);
    out.reserve(decoded.len());
    for chunk in decoded.utf8_chunks() {
        out.push_str(chunk.valid());
        for &b in chunk.invalid() {
            push_escaped(out, b);
        }
    }
}

/// Python's `urllib.parse.quote(s, safe)`: ASCII letters, digits, `_.-~` and the characters
/// in `safe` stay; every other UTF-8 byte becomes `%XX` (upper-case hex).
pub fn quote(s: &str, safe: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'_' | b'.' | b'-' | b'~')
            || (b.is_ascii() && safe.as_bytes().contains(&b));
        if keep {
            out.push(char::from(b));
        } else {
            push_escaped(&mut out, b);
        }
    }
    out
}

/// Python's `quote_plus(s, safe="")`, the encoder behind `urlencode`: a space is `+`.
pub fn quote_plus(s: &str) -> String {
    if s.contains(' ') {
        quote(s, " ").replace(' ', "+")
    } else {
        quote(s, "")
    }
}

/// Django's `iri_to_uri`: quotes everything that may not appear in a URI while keeping the
/// reserved characters and existing `%` escapes.
pub fn iri_to_uri(s: &str) -> String {
    quote(s, IRI_SAFE)
}

/// Django's `escape()`: the five HTML-significant characters become entities.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            _ => out.push(c),
        }
    }
    out
}

/// Python's `s.encode("unicode_escape").decode("ascii")`, which Django's `log_response`
/// applies to its arguments so a request path cannot forge log lines: a backslash is doubled,
/// `\t` `\n` `\r` are written as such, other control characters and non-ASCII characters
/// become `\xNN`, `\uNNNN` or `\UNNNNNNNN` (lower-case hex). Printable ASCII, the usual
/// case, is borrowed as is.
pub fn unicode_escape(s: &str) -> std::borrow::Cow<'_, str> {
    use std::fmt::Write as _;
    if s.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'\\') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        let _ = match c {
            '\\' => out.write_str("\\\\"),
            '\t' => out.write_str("\\t"),
            '\n' => out.write_str("\\n"),
            '\r' => out.write_str("\\r"),
            ' '..='~' => out.write_char(c),
            c if u32::from(c) < 0x100 => write!(out, "\\x{:02x}", u32::from(c)),
            c if u32::from(c) < 0x10000 => write!(out, "\\u{:04x}", u32::from(c)),
            c => write!(out, "\\U{:08x}", u32::from(c)),
        };
    }
    std::borrow::Cow::Owned(out)
}

/// Splits `s` (which starts after a `;`) at the next `;` that is not inside a quoted string,
/// like Django's `_parseparam`; returns the trimmed chunk and the rest (starting at `;`).
fn next_param(s: &str) -> (&str, &str) {
    let bytes = s.as_bytes();
    let mut quotes = 0usize;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' if i == 0 || bytes[i - 1] != b'\\' => quotes += 1,
            // Django's loop only honours a `;` at index > 0 once quotes are balanced.
            b';' if i > 0 && quotes.is_multiple_of(2) => return (s[..i].trim(), &s[i..]),
            b';' if i == 0 => return ("", &s[i..]),
            _ => {}
        }
    }
    (s.trim(), "")
}

/// Django 5's `parse_header_parameters`: `"text/html; charset=UTF-8"` gives
/// `("text/html", [("charset", "UTF-8")])`. The main value and parameter names are
/// lower-cased, quoted values unquoted, RFC 2231 `name*=charset'lang'value` decoded; a repeated
/// name keeps its first position and its last value, as a Python dict does.
pub fn parse_header_parameters(value: &str) -> (String, Vec<(String, String)>) {
    let (key, mut rest) = next_param(value);
    let key = key.to_lowercase();
    let mut params: Vec<(String, String)> = Vec::new();
    while let Some(after) = rest.strip_prefix(';') {
        let (p, tail) = next_param(after);
        rest = tail;
        let Some(eq) = p.find('=') else { continue };
        let mut name = p[..eq].trim().to_lowercase();
        let mut has_encoding = false;
        if let Some(stripped) = name.strip_suffix('*') {
            name = stripped.to_string();
            has_encoding = p.matches('\'').count() == 2;
        }
        let mut val = p[eq + 1..].trim().to_string();
        if val.len() >= 2 && val.starts_with('"') && val.ends_with('"') {
            val = val[1..val.len() - 1]
                .replace("\\\\", "\\")
                .replace("\\\"", "\"");
        }
        if has_encoding {
            let mut pieces = val.splitn(3, '\'');
            if let (Some(charset), Some(_lang), Some(encoded)) =
                (pieces.next(), pieces.next(), pieces.next())
            {
                val = unquote_with_charset(encoded, charset);
            }
        }
        match params.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = val,
            None => params.push((name, val)),
        }
    }
    (key, params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unicode_escape_matches_python() {
        // Values checked against CPython's `str.encode("unicode_escape")`.
        assert!(matches!(
            unicode_escape("/plain/?a=1"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(unicode_escape("/a\nb\r\t"), "/a\\nb\\r\\t");
        assert_eq!(unicode_escape("back\\slash"), "back\\\\slash");
        assert_eq!(unicode_escape("\u{1b}[31m\u{7f}"), "\\x1b[31m\\x7f");
        assert_eq!(
            unicode_escape("caf\u{e9} \u{20ac} \u{1F600}"),
            "caf\\xe9 \\u20ac \\U0001f600"
        );
        assert_eq!(unicode_escape("'\"~ "), "'\"~ ");
    }

    #[test]
    fn unquote_decodes_valid_escapes_and_keeps_invalid_ones() {
        assert_eq!(unquote_to_bytes(b"a%20b%2fc"), b"a b/c");
        assert_eq!(unquote_to_bytes(b"%zz%2%"), b"%zz%2%");
        assert_eq!(unquote_to_bytes(b"100%"), b"100%");
        assert_eq!(unquote_to_bytes(b"%4"), b"%4");
        assert_eq!(unquote_to_bytes(b"%41%4"), b"A%4");
    }

    #[test]
    fn unquote_plus_turns_plus_into_space_and_replaces_bad_utf8() {
        assert_eq!(unquote_plus(b"a+b%2B"), "a b+");
        assert_eq!(unquote_plus(b"caf%C3%A9"), "café");
        assert_eq!(unquote_plus(b"%FFx"), "\u{FFFD}x");
    }

    #[test]
    fn path_from_raw_repercents_broken_utf8() {
        assert_eq!(path_from_raw(b"/caf%C3%A9/"), "/café/");
        assert_eq!(path_from_raw(b"/a%FFb/"), "/a%FFb/");
        assert_eq!(path_from_raw(b"/%E2%82/x"), "/%E2%82/x");
        assert_eq!(path_from_raw(b"/a%20b"), "/a b");
        assert_eq!(path_from_raw(b"/100%"), "/100%");
    }

    #[test]
    fn quote_matches_python() {
        assert_eq!(quote("a b/c", "/"), "a%20b/c");
        assert_eq!(quote("a b/c", ""), "a%20b%2Fc");
        assert_eq!(quote("é~_.-", ""), "%C3%A9~_.-");
        assert_eq!(quote_plus("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
    }

    #[test]
    fn iri_to_uri_keeps_reserved_and_escapes() {
        assert_eq!(
            iri_to_uri("/blog/for/Jürgen Münster/"),
            "/blog/for/J%C3%BCrgen%20M%C3%BCnster/"
        );
        assert_eq!(iri_to_uri("/a%20b?x=1&y=[2]#f"), "/a%20b?x=1&y=[2]#f");
        assert_eq!(iri_to_uri("<\"{}\\^`|>"), "%3C%22%7B%7D%5C%5E%60%7C%3E");
    }

    #[test]
    fn escape_html_escapes_five_characters() {
        assert_eq!(
            escape_html("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#x27;&amp;&#x27;&lt;/a&gt;"
        );
    }

    #[test]
    fn header_parameters_basic() {
        let (main, params) = parse_header_parameters("Text/HTML; Charset=UTF-8");
        assert_eq!(main, "text/html");
        assert_eq!(params, vec![("charset".to_string(), "UTF-8".to_string())]);
    }

    #[test]
    fn header_parameters_quoted_semicolons_and_escapes() {
        let (main, params) =
            parse_header_parameters("form-data; name=\"a;b\"; filename=\"x\\\"y.txt\"; novalue; ;");
        assert_eq!(main, "form-data");
        assert_eq!(
            params,
            vec![
                ("name".to_string(), "a;b".to_string()),
                ("filename".to_string(), "x\"y.txt".to_string()),
            ]
        );
    }

    #[test]
    fn header_parameters_rfc2231_and_repeats() {
        let (_, params) = parse_header_parameters(
            "attachment; filename=plain.txt; filename*=UTF-8''caf%C3%A9.txt",
        );
        assert_eq!(
            params,
            vec![("filename".to_string(), "café.txt".to_string())]
        );
        let (_, params) = parse_header_parameters("a; x*=iso-8859-1'en'%E9");
        assert_eq!(params, vec![("x".to_string(), "é".to_string())]);
    }

    #[test]
    fn header_parameters_empty_and_odd_input() {
        assert_eq!(parse_header_parameters(""), (String::new(), vec![]));
        let (main, params) = parse_header_parameters(";;=;\"");
        assert_eq!(main, "");
        assert_eq!(params, vec![(String::new(), String::new())]);
    }
}
