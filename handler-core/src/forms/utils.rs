//! django.forms.utils and the bits of django.utils.html / json the forms need: `escape` as
//! Django's templates escape, `pretty_name`, `%(name)s` message interpolation, and
//! `json.dumps`' exact output for `as_json`.

/// Django's `django.utils.html.escape` (Python's `html.escape(quote=True)`), what the
/// DjangoTemplates form renderer autoescapes with: `&#x27;` and `&quot;`, unlike markupsafe.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(s, &mut out);
    out
}

/// [`escape`] appending to `out`.
pub fn escape_into(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
}

/// Django's `pretty_name`: `first_name` -> `First name` (Python's `str.capitalize`: the first
/// character upper-cased, the rest lower-cased).
pub fn pretty_name(name: &str) -> String {
    let spaced = name.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        None => String::new(),
        Some(first) => {
            let mut out: String = first.to_uppercase().collect();
            out.extend(chars.flat_map(char::to_lowercase));
            out
        }
    }
}

/// Python's `msg % params` for `%(name)s` / `%(name)d` placeholders (the only forms Django's
/// messages use); `%%` is a literal `%`. An unknown name is left as written.
pub fn interpolate(message: &str, params: &[(String, String)]) -> String {
    if !message.contains('%') || params.is_empty() {
        return message.to_string();
    }
    let mut out = String::with_capacity(message.len() + 16);
    let mut rest = message;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('%') {
            out.push('%');
            rest = tail;
            continue;
        }
        if let Some(inner) = after.strip_prefix('(') {
            if let Some(close) = inner.find(')') {
                let name = &inner[..close];
                let spec = inner[close + 1..].chars().next();
                if let (Some(spec @ ('s' | 'd')), Some((_, v))) =
                    (spec, params.iter().find(|(k, _)| k == name))
                {
                    let _ = spec;
                    out.push_str(v);
                    rest = &inner[close + 2..];
                    continue;
                }
            }
        }
        out.push('%');
        rest = after;
    }
    out.push_str(rest);
    out
}

/// A JSON string as Python's `json.dumps` writes it (`ensure_ascii=True`): non-ASCII as
/// `\uXXXX` (surrogate pairs beyond the BMP).
pub fn python_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7f => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Python's `str.strip()` (Unicode whitespace, as Rust's `trim`).
pub(crate) fn py_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_name_is_django_s() {
        assert_eq!(pretty_name("first_name"), "First name");
        assert_eq!(pretty_name("URL_path"), "Url path");
        assert_eq!(pretty_name(""), "");
    }

    #[test]
    fn interpolates_python_placeholders() {
        let p = vec![
            ("limit_value".to_string(), "5".to_string()),
            ("show_value".to_string(), "7".to_string()),
        ];
        assert_eq!(
            interpolate(
                "at most %(limit_value)d characters (it has %(show_value)d). 100%%",
                &p
            ),
            "at most 5 characters (it has 7). 100%"
        );
        assert_eq!(interpolate("%(missing)s", &p), "%(missing)s");
    }

    #[test]
    fn json_strings_are_ascii_as_python_dumps_them() {
        let mut out = String::new();
        python_json_string("“a” é \u{1F600}\n", &mut out);
        assert_eq!(out, "\"\\u201ca\\u201d \\u00e9 \\ud83d\\ude00\\n\"");
    }

    #[test]
    fn escapes_as_django() {
        assert_eq!(
            escape("<a href='x'>&\"</a>"),
            "&lt;a href=&#x27;x&#x27;&gt;&amp;&quot;&lt;/a&gt;"
        );
    }
}
