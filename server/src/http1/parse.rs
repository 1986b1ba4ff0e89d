//! Owns request-head parsing: httparse over the connection's buffer, the limits, the framing
//! decision (RFC 9112 section 6) and the mapping of every parse failure to one status.

use std::ops::Range;

/// The limits a head is checked against (from the command line).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Maximum request-line bytes (414 beyond).
    pub request_line: usize,
    /// Maximum header fields (431 beyond).
    pub fields: usize,
    /// Maximum bytes of one field, `name: value` (431 beyond).
    pub field_size: usize,
}

/// Header arrays up to this size live on the stack; larger `--limit-request-fields` values
/// fall back to one heap array per parse.
const STACK_HEADERS: usize = 128;

/// How the request body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// No body.
    Empty,
    /// `Content-Length: n` (n > 0).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed request head; ranges index the buffer it was parsed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Bytes of the head, up to and including the blank line.
    pub len: usize,
    /// The method token.
    pub method: Range<usize>,
    /// The request-target.
    pub target: Range<usize>,
    /// HTTP minor version (0 or 1).
    pub minor: u8,
    /// Each header's name and value.
    pub headers: Vec<(Range<usize>, Range<usize>)>,
    /// The body framing.
    pub body: BodyKind,
    /// Whether the client allows the connection to persist after this request.
    pub keep_alive: bool,
    /// `Expect: 100-continue` was sent on an HTTP/1.1 request.
    pub expect_continue: bool,
}

/// Why a head was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// httparse rejected the syntax.
    Syntax(httparse::Error),
    /// The request line is longer than the limit.
    RequestLineTooLong,
    /// One header field is longer than the limit.
    FieldTooLarge,
    /// A version other than HTTP/1.0 or HTTP/1.1.
    Version,
    /// A Content-Length that is not a decimal number, or several that differ.
    BadContentLength,
    /// Both Content-Length and Transfer-Encoding.
    LengthAndEncoding,
    /// A transfer coding other than a final `chunked`, or Transfer-Encoding on HTTP/1.0.
    BadTransferEncoding,
    /// More than one Host field (RFC 9112 section 3.2: the target would be ambiguous).
    DuplicateHost,
}

/// The status and one-line reason for a refused head: the one place parse failures map to HTTP.
pub fn error_status(err: ParseError) -> (u16, &'static str) {
    match err {
        ParseError::Syntax(httparse::Error::TooManyHeaders) => (431, "too many header fields"),
        ParseError::Syntax(httparse::Error::Version) | ParseError::Version => {
            (400, "unsupported HTTP version")
        }
        ParseError::Syntax(httparse::Error::HeaderName) => (400, "invalid header name"),
        ParseError::Syntax(httparse::Error::HeaderValue) => (400, "invalid header value"),
        ParseError::Syntax(httparse::Error::Token) => (400, "invalid request line"),
        ParseError::Syntax(_) => (400, "malformed request"),
        ParseError::RequestLineTooLong => (414, "request line too long"),
        ParseError::FieldTooLarge => (431, "header field too large"),
        ParseError::BadContentLength => (400, "invalid Content-Length"),
        ParseError::LengthAndEncoding => (400, "both Content-Length and Transfer-Encoding"),
        ParseError::BadTransferEncoding => (400, "unsupported Transfer-Encoding"),
        ParseError::DuplicateHost => (400, "more than one Host header"),
    }
}

/// Parses a head from the start of `buf`. `Ok(None)`: incomplete, read more.
pub fn parse_head(buf: &[u8], limits: &Limits) -> Result<Option<Head>, ParseError> {
    // Some clients send stray CRLFs between requests (RFC 9112 section 2.2 allows skipping them);
    // httparse skips them too, and the ranges it returns stay relative to `buf`.
    let line_end = memchr::memchr(b'\n', buf);
    match line_end {
        None if buf.len() > limits.request_line + 2 => return Err(ParseError::RequestLineTooLong),
        Some(end) if end > limits.request_line + 2 && !starts_with_blank_lines(buf, end) => {
            return Err(ParseError::RequestLineTooLong)
        }
        _ => {}
    }
    if limits.fields <= STACK_HEADERS {
        let mut headers = [httparse::EMPTY_HEADER; STACK_HEADERS];
        parse_with(buf, limits, &mut headers[..limits.fields])
    } else {
        let mut headers = vec![httparse::EMPTY_HEADER; limits.fields];
        parse_with(buf, limits, &mut headers)
    }
}

fn starts_with_blank_lines(buf: &[u8], end: usize) -> bool {
    buf[..end].iter().all(|b| *b == b'\r' || *b == b'\n')
}

fn offset(buf: &[u8], part: &[u8]) -> Range<usize> {
    let start = part.as_ptr() as usize - buf.as_ptr() as usize;
    start..start + part.len()
}

fn parse_with<'b>(
    buf: &'b [u8],
    limits: &Limits,
    storage: &mut [httparse::Header<'b>],
) -> Result<Option<Head>, ParseError> {
    let mut req = httparse::Request::new(storage);
    let status = req.parse(buf).map_err(ParseError::Syntax)?;
    let len = match status {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => {
            let max_head = limits.request_line
                + 2
                + limits
                    .fields
                    .saturating_mul(limits.field_size.saturating_add(2))
                + 2;
            if buf.len() > max_head {
                return Err(ParseError::FieldTooLarge);
            }
            return Ok(None);
        }
    };
    let (Some(method), Some(path), Some(version)) = (req.method, req.path, req.version) else {
        return Err(ParseError::Syntax(httparse::Error::Token));
    };
    if method.len() + path.len() + 10 > limits.request_line + 1 {
        return Err(ParseError::RequestLineTooLong);
    }
    if version > 1 {
        return Err(ParseError::Version);
    }
    let mut head = Head {
        len,
        method: offset(buf, method.as_bytes()),
        target: offset(buf, path.as_bytes()),
        minor: version,
        headers: Vec::with_capacity(req.headers.len()),
        body: BodyKind::Empty,
        keep_alive: version == 1,
        expect_continue: false,
    };
    let mut content_length: Option<u64> = None;
    let mut chunked = false;
    let mut has_te = false;
    let mut has_host = false;
    for h in req.headers.iter() {
        if h.name.len() + h.value.len() + 2 > limits.field_size {
            return Err(ParseError::FieldTooLarge);
        }
        head.headers
            .push((offset(buf, h.name.as_bytes()), offset(buf, h.value)));
        let name = h.name.as_bytes();
        if name.eq_ignore_ascii_case(b"content-length") {
            for part in h.value.split(|b| *b == b',') {
                let n = parse_length(trim(part)).ok_or(ParseError::BadContentLength)?;
                if content_length.is_some_and(|prev| prev != n) {
                    return Err(ParseError::BadContentLength);
                }
                content_length = Some(n);
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            has_te = true;
            for coding in h.value.split(|b| *b == b',') {
                let coding = trim(coding);
                if coding.is_empty() {
                    continue;
                }
                // chunked must be the final coding and appear once; any other coding is one we
                // cannot decode, and accepting it would desync us from a proxy in front.
                if chunked || !coding.eq_ignore_ascii_case(b"chunked") {
                    return Err(ParseError::BadTransferEncoding);
                }
                chunked = true;
            }
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in h.value.split(|b| *b == b',') {
                let token = trim(token);
                if token.eq_ignore_ascii_case(b"close") {
                    head.keep_alive = false;
                } else if token.eq_ignore_ascii_case(b"keep-alive") && version == 0 {
                    head.keep_alive = true;
                }
            }
        } else if name.eq_ignore_ascii_case(b"host") {
            if has_host {
                return Err(ParseError::DuplicateHost);
            }
            has_host = true;
        } else if name.eq_ignore_ascii_case(b"expect") {
            head.expect_continue =
                version == 1 && trim(h.value).eq_ignore_ascii_case(b"100-continue");
        }
    }
    if has_te {
        if content_length.is_some() {
            return Err(ParseError::LengthAndEncoding);
        }
        if version == 0 || !chunked {
            return Err(ParseError::BadTransferEncoding);
        }
        head.body = BodyKind::Chunked;
    } else if let Some(n) = content_length {
        head.body = if n == 0 {
            BodyKind::Empty
        } else {
            BodyKind::Length(n)
        };
    }
    Ok(Some(head))
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

fn parse_length(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, d| {
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    const LIMITS: Limits = Limits {
        request_line: 4094,
        fields: 100,
        field_size: 8190,
    };

    fn parse(text: &[u8]) -> Result<Option<Head>, ParseError> {
        parse_head(text, &LIMITS)
    }

    #[test]
    fn a_simple_get_parses() {
        let buf = b"GET /a?b=1 HTTP/1.1\r\nHost: x\r\n\r\nrest";
        let head = parse(buf).unwrap().unwrap();
        assert_eq!(&buf[head.method.clone()], b"GET");
        assert_eq!(&buf[head.target.clone()], b"/a?b=1");
        assert_eq!(head.len, buf.len() - 4);
        assert!(head.keep_alive);
        assert_eq!(head.body, BodyKind::Empty);
    }

    #[test]
    fn partial_heads_ask_for_more() {
        assert_eq!(parse(b"GET / HTTP/1.1\r\nHost:"), Ok(None));
        assert_eq!(parse(b""), Ok(None));
    }

    #[test]
    fn limits_map_to_414_and_431() {
        let small = Limits {
            request_line: 20,
            fields: 2,
            field_size: 16,
        };
        let long_line = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(40));
        let e = parse_head(long_line.as_bytes(), &small).unwrap_err();
        assert_eq!(error_status(e).0, 414);
        let e = parse_head(b"GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &small).unwrap_err();
        assert_eq!(error_status(e).0, 414);
        let e = parse_head(b"GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\n\r\n", &small).unwrap_err();
        assert_eq!(error_status(e).0, 431);
        let e = parse_head(b"GET / HTTP/1.1\r\nabc: 0123456789abcdef\r\n\r\n", &small).unwrap_err();
        assert_eq!(error_status(e).0, 431);
    }

    fn fixture_dir(kind: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/requests")
            .join(kind)
    }

    fn fixtures(kind: &str) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(fixture_dir(kind))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "http"))
            .collect();
        files.sort();
        files
    }

    /// Fixture bytes: the `.http` file with every `\n` turned into `\r\n`, so fixtures stay
    /// readable; a line ending in `\` keeps a bare `\n` (for tests of bare LF).
    fn wire(path: &Path) -> Vec<u8> {
        let text = std::fs::read(path).unwrap();
        let mut out = Vec::new();
        for (i, line) in text.split(|b| *b == b'\n').enumerate() {
            if i > 0 {
                if out.last() == Some(&b'\\') {
                    out.pop();
                    out.push(b'\n');
                } else {
                    out.extend_from_slice(b"\r\n");
                }
            }
            out.extend_from_slice(line);
        }
        out
    }

    /// Describes a parsed head the way `.expected` files state it.
    fn describe(buf: &[u8], head: &Head) -> String {
        let s = |r: &Range<usize>| String::from_utf8_lossy(&buf[r.clone()]).into_owned();
        let mut out = format!(
            "method {}\ntarget {}\nversion 1.{}\nkeep-alive {}\nbody {}\n",
            s(&head.method),
            s(&head.target),
            head.minor,
            head.keep_alive,
            match head.body {
                BodyKind::Empty => "none".to_string(),
                BodyKind::Length(n) => format!("length {n}"),
                BodyKind::Chunked => "chunked".to_string(),
            }
        );
        for (n, v) in &head.headers {
            out.push_str(&format!("header {}: {}\n", s(n), s(v)));
        }
        out
    }

    #[test]
    fn valid_fixtures_parse_as_expected() {
        let files = fixtures("valid");
        assert!(!files.is_empty());
        for path in files {
            let buf = wire(&path);
            let head = parse(&buf)
                .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()))
                .unwrap_or_else(|| panic!("{}: incomplete", path.display()));
            let expected = std::fs::read_to_string(path.with_extension("expected")).unwrap();
            assert_eq!(describe(&buf, &head), expected, "{}", path.display());
        }
    }

    #[test]
    fn invalid_fixtures_fail_with_the_expected_status() {
        let files = fixtures("invalid");
        assert!(!files.is_empty());
        for path in files {
            let buf = wire(&path);
            let expected = std::fs::read_to_string(path.with_extension("expected")).unwrap();
            let status: u16 = expected.trim().parse().unwrap();
            match parse(&buf) {
                Err(e) => assert_eq!(error_status(e).0, status, "{}", path.display()),
                Ok(h) => panic!("{}: parsed as {h:?}", path.display()),
            }
        }
    }
}
