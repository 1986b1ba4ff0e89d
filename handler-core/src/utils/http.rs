//! Django's `django.utils.http` URL checks, on Python's `urllib.parse.urlsplit` (3.11), which
//! they are defined by: `is_same_domain` (CSRF's Origin and Referer checks) and
//! `url_has_allowed_host_and_scheme` (is a `next` URL safe to redirect to?).

/// Django's `MAX_URL_LENGTH`: a longer URL is never considered safe.
pub const MAX_URL_LENGTH: usize = 2048;

/// The five parts of a URL as Python's `urlsplit` returns them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SplitResult {
    /// The scheme, lower-cased; empty when there is none.
    pub scheme: String,
    /// The network location (`user@host:port`); empty when there is none.
    pub netloc: String,
    /// The path.
    pub path: String,
    /// The query, without `?`.
    pub query: String,
    /// The fragment, without `#`.
    pub fragment: String,
}

/// Python's `urlsplit` raised `ValueError` (a bracketed host that is not an IPv6 address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidUrl(pub &'static str);

impl std::fmt::Display for InvalidUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for InvalidUrl {}

/// Python's `scheme_chars`.
fn is_scheme_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')
}

/// Python 3.11's `urlsplit(url)`: leading C0 controls and spaces stripped, tab, CR and LF
/// removed, the scheme when the text before the first `:` is one, the netloc after `//`, then
/// fragment and query. A bracketed host that is not an IPv6 address is an error, as Python's
/// `_check_bracketed_netloc` makes it.
pub fn urlsplit(url: &str) -> Result<SplitResult, InvalidUrl> {
    let cleaned: String = url
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
        .collect();
    let mut rest = cleaned.as_str();
    let mut out = SplitResult::default();
    if let Some(i) = rest.find(':') {
        let candidate = &rest[..i];
        let first_ok = candidate
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic());
        if i > 0 && first_ok && candidate.chars().all(is_scheme_char) {
            out.scheme = candidate.to_ascii_lowercase();
            rest = &rest[i + 1..];
        }
    }
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        out.netloc = after[..end].to_string();
        rest = &after[end..];
        let (open, close) = (out.netloc.contains('['), out.netloc.contains(']'));
        if open != close {
            return Err(InvalidUrl("Invalid IPv6 URL"));
        }
        if open {
            check_bracketed_netloc(&out.netloc)?;
        }
    }
    let (before_fragment, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (path, query) = before_fragment
        .split_once('?')
        .unwrap_or((before_fragment, ""));
    out.path = path.to_string();
    out.query = query.to_string();
    out.fragment = fragment.to_string();
    Ok(out)
}

/// Python's `_check_bracketed_netloc` and `_check_bracketed_host`.
fn check_bracketed_netloc(netloc: &str) -> Result<(), InvalidUrl> {
    let host_and_port = netloc.rsplit_once('@').map_or(netloc, |(_, h)| h);
    let hostname = match host_and_port.split_once('[') {
        Some((before, bracketed)) => {
            if !before.is_empty() {
                return Err(InvalidUrl("Invalid IPv6 URL"));
            }
            let (host, port) = bracketed.split_once(']').unwrap_or((bracketed, ""));
            if !port.is_empty() && !port.starts_with(':') {
                return Err(InvalidUrl("Invalid IPv6 URL"));
            }
            host
        }
        None => host_and_port
            .split_once(':')
            .map_or(host_and_port, |(h, _)| h),
    };
    if let Some(future) = hostname.strip_prefix('v') {
        let valid = future.split_once('.').is_some_and(|(hex, tail)| {
            !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()) && !tail.is_empty()
        });
        return if valid {
            Ok(())
        } else {
            Err(InvalidUrl("IPvFuture address is invalid"))
        };
    }
    // ipaddress.ip_address: an IPv4 address in brackets is refused, anything else must be
    // IPv6 (a zone id after `%` is allowed).
    let address = hostname.split_once('%').map_or(hostname, |(a, _)| a);
    if address.parse::<std::net::Ipv6Addr>().is_ok() {
        Ok(())
    } else if hostname.parse::<std::net::Ipv4Addr>().is_ok() {
        Err(InvalidUrl("An IPv4 address cannot be in brackets"))
    } else {
        Err(InvalidUrl("Invalid IPv6 URL"))
    }
}

/// Django's `is_same_domain(host, pattern)`: a pattern starting with `.` matches the domain
/// and its subdomains; anything else is an exact match. The pattern is lower-cased, the host
/// is not.
pub fn is_same_domain(host: &str, pattern: &str) -> bool {
    if pattern.is_empty() {
        return false;
    }
    let pattern = pattern.to_lowercase();
    (pattern.starts_with('.') && (host.ends_with(&pattern) || host == &pattern[1..]))
        || pattern == host
}

/// Unicode category `C*` for the characters that matter (Python's
/// `unicodedata.category(c)[0] == "C"`): controls, format characters and private use.
fn is_other_category(c: char) -> bool {
    let u = u32::from(c);
    c.is_control()
        || matches!(u,
            0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x890..=0x891 | 0x8E2 | 0x180E
            | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF
            | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F
            | 0xE000..=0xF8FF | 0xF0000..=0xFFFFD | 0x100000..=0x10FFFD)
}

/// Python's `str.strip()`: Unicode whitespace plus the ASCII separators `\x1c`..`\x1f`.
fn python_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c))
}

/// Django's `url_has_allowed_host_and_scheme(url, allowed_hosts, require_https)`: true when
/// `url` stays on one of `allowed_hosts` (exact `host:port` strings, as `request.get_host()`
/// gives) with an http(s) scheme, or is relative. Checked twice, the second time with `\`
/// read as `/`, as Chrome reads it.
pub fn url_has_allowed_host_and_scheme(
    url: &str,
    allowed_hosts: &[&str],
    require_https: bool,
) -> bool {
    let url = python_strip(url);
    if url.is_empty() {
        return false;
    }
    has_allowed_host_and_scheme(url, allowed_hosts, require_https)
        && has_allowed_host_and_scheme(&url.replace('\\', "/"), allowed_hosts, require_https)
}

fn has_allowed_host_and_scheme(url: &str, allowed_hosts: &[&str], require_https: bool) -> bool {
    // Chrome takes any URL with three leading slashes as absolute.
    if url.starts_with("///") || url.chars().count() > MAX_URL_LENGTH {
        return false;
    }
    let Ok(info) = urlsplit(url) else {
        return false;
    };
    // http:///example.com: a scheme without a host, which Chrome reads as the host.
    if info.netloc.is_empty() && !info.scheme.is_empty() {
        return false;
    }
    if url.chars().next().is_some_and(is_other_category) {
        return false;
    }
    let scheme = if info.scheme.is_empty() && !info.netloc.is_empty() {
        "http"
    } else {
        info.scheme.as_str()
    };
    let valid_schemes: &[&str] = if require_https {
        &["https"]
    } else {
        &["http", "https"]
    };
    (info.netloc.is_empty() || allowed_hosts.contains(&info.netloc.as_str()))
        && (scheme.is_empty() || valid_schemes.contains(&scheme))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(url: &str) -> (String, String, String, String, String) {
        let s = urlsplit(url).unwrap();
        (s.scheme, s.netloc, s.path, s.query, s.fragment)
    }

    #[test]
    fn urlsplit_follows_python() {
        let t = |a: &str, b: &str, c: &str, d: &str, e: &str| {
            (a.into(), b.into(), c.into(), d.into(), e.into())
        };
        assert_eq!(
            split("HTTPS://Example.com:8000/a/b?x=1#frag"),
            t("https", "Example.com:8000", "/a/b", "x=1", "frag")
        );
        assert_eq!(
            split("//evil.example/x"),
            t("", "evil.example", "/x", "", "")
        );
        assert_eq!(split("null"), t("", "", "null", "", ""));
        assert_eq!(
            split("/\\evil.example/"),
            t("", "", "/\\evil.example/", "", "")
        );
        assert_eq!(
            split(" \x01java\tscript:x"),
            t("javascript", "", "x", "", "")
        );
        assert_eq!(split("1http://x"), t("", "", "1http://x", "", ""));
        assert_eq!(
            split("http://[::1]:80/"),
            t("http", "[::1]:80", "/", "", "")
        );
        assert!(urlsplit("http://[::1/").is_err());
        assert!(urlsplit("http://[127.0.0.1]/").is_err());
        assert!(urlsplit("http://a[::1]/").is_err());
        assert!(urlsplit("http://[::1]x/").is_err());
    }

    #[test]
    fn same_domain() {
        assert!(is_same_domain("example.com", "example.com"));
        assert!(is_same_domain("example.com", ".example.com"));
        assert!(is_same_domain("a.example.com", ".Example.com"));
        assert!(!is_same_domain("badexample.com", ".example.com"));
        assert!(!is_same_domain("example.com:8000", "example.com"));
        assert!(!is_same_domain("x", ""));
    }

    #[test]
    fn safe_urls_as_django_decides_them() {
        let hosts = ["testserver:8000"];
        let safe = |u: &str| url_has_allowed_host_and_scheme(u, &hosts, false);
        for ok in [
            "/",
            "/notes/?a=1",
            "notes/",
            "http://testserver:8000/x",
            "//testserver:8000/x",
            "https://testserver:8000/",
            "  /padded  ",
        ] {
            assert!(safe(ok), "{ok} should be safe");
        }
        for bad in [
            "",
            "   ",
            "http://testserver/x",
            "http://testserver:9000/x",
            "//evil.example/",
            "/\\evil.example/",
            "\\\\evil.example",
            "///evil.example",
            "http:///evil.example",
            "javascript:alert(1)",
            "ftp://testserver:8000/",
            "\x08//evil.example",
            "\u{200b}//evil.example",
            "http://[::1/",
        ] {
            assert!(!safe(bad), "{bad:?} should be unsafe");
        }
        assert!(!url_has_allowed_host_and_scheme(
            "http://testserver:8000/",
            &hosts,
            true
        ));
        assert!(!safe(&format!("/{}", "a".repeat(MAX_URL_LENGTH))));
    }
}
