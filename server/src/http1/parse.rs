//! Owns request-head parsing: httparse over the connection's buffer, the limits, the framing
//! decision (RFC 9112 section 6) and the mapping of every parse failure to one status.

use std::mem::MaybeUninit;
use std::ops::Range;

use super::target::{check_form, TargetError};

/// The limits a head is checked against (from the command line), counted as gunicorn counts them.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Maximum bytes of the request line, without its CRLF (414 beyond).
    pub request_line: usize,
    /// Maximum header fields (431 beyond).
    pub fields: usize,
    /// Maximum bytes of one header field line, counting its CRLF as gunicorn does (431 beyond).
    pub field_size: usize,
}

impl Limits {
    /// gunicorn's defaults, which are portico's: `--limit-request-line 4094`,
    /// `--limit-request-fields 100`, `--limit-request-field-size 8190`.
    pub const GUNICORN: Limits = Limits {
        request_line: 4094,
        fields: 100,
        field_size: 8190,
    };
}

/// Header arrays up to this size live on the stack; larger `--limit-request-fields` values
/// fall back to one heap array per parse.
const STACK_HEADERS: usize = 128;

/// Most bytes of empty lines (CRLF or LF) skipped before a request line. RFC 9112 section 2.2:
/// a server "SHOULD ignore at least one empty line (CRLF) received prior to the request-line";
/// the bound keeps a client from making us buffer and rescan empty lines without end.
pub const MAX_LEADING_EMPTY_LINES: usize = 1024;

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
    /// The request-target exactly as received (origin-, absolute-, authority- or asterisk-form).
    pub target: Range<usize>,
    /// The target's path, still percent-encoded; empty for an absolute-form target without a
    /// path (which means `/`, RFC 9110 section 4.2.3).
    pub path: Range<usize>,
    /// The target's query, without the `?` (empty when there is none).
    pub query: Range<usize>,
    /// The authority of an absolute-form target (`http://HOST:PORT/...`): it replaces the Host
    /// header for the app (RFC 9112 section 3.2.2).
    pub authority: Option<Range<usize>>,
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
    /// More empty lines before the request line than [`MAX_LEADING_EMPTY_LINES`].
    EmptyLines,
    /// The request line is longer than the limit.
    RequestLineTooLong,
    /// One header field is longer than the limit, or the head cannot fit the limits.
    FieldTooLarge,
    /// A version other than HTTP/1.0 or HTTP/1.1.
    Version,
    /// An absolute-form target without a valid authority (empty, userinfo, bad bytes).
    BadTarget,
    /// An HTTP/1.1 request without a Host field.
    MissingHost,
    /// A Content-Length that is not a decimal number, or several that differ.
    BadContentLength,
    /// Both Content-Length and Transfer-Encoding.
    LengthAndEncoding,
    /// Transfer-Encoding whose final coding is not a single `chunked`, or on HTTP/1.0: the body
    /// length cannot be determined (RFC 9112 section 6.3).
    BadTransferEncoding,
    /// A well-framed Transfer-Encoding with a coding before `chunked` that we do not implement.
    UnsupportedTransferCoding,
    /// More than one Host field (RFC 9112 section 3.2: the target would be ambiguous).
    DuplicateHost,
    /// More than one Content-Type field: a singleton field (RFC 9110 section 5.3) that cannot be
    /// joined, so the body's type would be ambiguous; gunicorn refuses it too.
    DuplicateContentType,
    /// A target in none of the four forms (`foo/bar`, `s://]x/:`, a scheme other than http(s)).
    InvalidTarget,
    /// The asterisk-form (`*`) with a method other than OPTIONS.
    AsteriskForm,
    /// The authority-form (`host:port`) with a method other than CONNECT.
    AuthorityForm,
    /// CONNECT with a target other than the authority-form.
    ConnectTarget,
    /// CONNECT (a tunnel), which portico does not implement.
    Connect,
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
        ParseError::EmptyLines => (400, "too many empty lines before the request line"),
        ParseError::RequestLineTooLong => (414, "request line too long"),
        ParseError::FieldTooLarge => (431, "header field too large"),
        ParseError::BadTarget => (400, "invalid absolute-form request target"),
        ParseError::MissingHost => (400, "missing Host header"),
        ParseError::BadContentLength => (400, "invalid Content-Length"),
        ParseError::LengthAndEncoding => (400, "both Content-Length and Transfer-Encoding"),
        ParseError::BadTransferEncoding => (400, "invalid Transfer-Encoding"),
        // RFC 9112 section 6.1: "A server that receives a request message with a transfer
        // coding it does not understand SHOULD respond with 501 (Not Implemented)."
        ParseError::UnsupportedTransferCoding => (501, "unsupported transfer coding"),
        ParseError::DuplicateHost => (400, "more than one Host header"),
        ParseError::DuplicateContentType => (400, "more than one Content-Type header"),
        ParseError::InvalidTarget => (400, "invalid request target"),
        ParseError::AsteriskForm => (400, "the asterisk-form target is for OPTIONS only"),
        ParseError::AuthorityForm => (400, "the authority-form target is for CONNECT only"),
        ParseError::ConnectTarget => (400, "CONNECT needs an authority-form target"),
        // RFC 9110 section 9.1: a method the origin server does not implement "SHOULD" get 501.
        ParseError::Connect => (501, "CONNECT is not supported"),
    }
}

/// Parses a head from the start of `buf`. `Ok(None)`: incomplete, read more.
pub fn parse_head(buf: &[u8], limits: &Limits) -> Result<Option<Head>, ParseError> {
    parse_head_reusing(buf, limits, &mut Vec::new())
}

/// [`parse_head`], with the header list of the returned head taken from `spare` (cleared), so
/// a connection that hands each finished head's list back parses without allocating. On a
/// partial or refused head `spare` keeps its list.
pub fn parse_head_reusing(
    buf: &[u8],
    limits: &Limits,
    spare: &mut Vec<(Range<usize>, Range<usize>)>,
) -> Result<Option<Head>, ParseError> {
    // Some clients send stray CRLFs between requests (RFC 9112 section 2.2 allows skipping them);
    // httparse skips them too, and the ranges it returns stay relative to `buf`.
    let skipped = leading_empty_lines(buf);
    if skipped > MAX_LEADING_EMPTY_LINES {
        return Err(ParseError::EmptyLines);
    }
    // The request line is measured before httparse runs, so an over-long line is refused as soon
    // as its bytes exceed the limit, whole or not. Like gunicorn, the limit counts the line
    // without its CRLF; a trailing CR of an incomplete line may be the start of that CRLF.
    let rest = &buf[skipped..];
    // No line is longer than the bytes buffered: the common short head skips the scan.
    if rest.len() > limits.request_line {
        let line = match memchr::memchr(b'\n', rest) {
            Some(end) => &rest[..end],
            None => rest,
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > limits.request_line {
            return Err(ParseError::RequestLineTooLong);
        }
    }
    if limits.fields <= STACK_HEADERS {
        // Uninitialised: zeroing 128 entries (4 KiB) would cost more than parsing a short head.
        let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; STACK_HEADERS];
        parse_with(buf, skipped, limits, &mut headers[..limits.fields], spare)
    } else {
        let mut headers: Vec<MaybeUninit<httparse::Header<'_>>> = Vec::with_capacity(limits.fields);
        headers.resize_with(limits.fields, MaybeUninit::uninit);
        parse_with(buf, skipped, limits, &mut headers, spare)
    }
}

/// Bytes of empty lines (CRLF or a bare LF, as httparse skips them) at the start of `buf`.
fn leading_empty_lines(buf: &[u8]) -> usize {
    let mut i = 0;
    loop {
        match buf.get(i..) {
            Some([b'\n', ..]) => i += 1,
            Some([b'\r', b'\n', ..]) => i += 2,
            _ => return i,
        }
    }
}

fn offset(buf: &[u8], part: &[u8]) -> Range<usize> {
    let start = part.as_ptr() as usize - buf.as_ptr() as usize;
    start..start + part.len()
}

/// The most head bytes (after leading empty lines) a head within `limits` can take: the request
/// line and its CRLF, every field line with its CRLF, and the final CRLF.
fn max_head(limits: &Limits) -> usize {
    limits
        .request_line
        .saturating_add(2)
        .saturating_add(limits.fields.saturating_mul(limits.field_size))
        .saturating_add(2)
}

/// The length of the field line starting at `start` (name through value and any trailing
/// whitespace), plus 2 for its CRLF, as gunicorn counts `limit_request_field_size`.
fn field_line_len(buf: &[u8], start: usize) -> usize {
    let rest = &buf[start..];
    let line = match memchr::memchr(b'\n', rest) {
        Some(end) => &rest[..end],
        None => rest,
    };
    line.strip_suffix(b"\r").unwrap_or(line).len() + 2
}

fn parse_with<'b>(
    buf: &'b [u8],
    skipped: usize,
    limits: &Limits,
    storage: &mut [MaybeUninit<httparse::Header<'b>>],
    spare: &mut Vec<(Range<usize>, Range<usize>)>,
) -> Result<Option<Head>, ParseError> {
    let mut req = httparse::Request::new(&mut []);
    let status = req
        .parse_with_uninit_headers(buf, storage)
        .map_err(ParseError::Syntax)?;
    let len = match status {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => {
            // Every complete head within the limits fits in max_head bytes, so a partial one
            // already longer can never be accepted: refuse it now rather than buffer more.
            if buf.len() - skipped > max_head(limits) {
                return Err(ParseError::FieldTooLarge);
            }
            return Ok(None);
        }
    };
    let (Some(method), Some(target), Some(version)) = (req.method, req.path, req.version) else {
        return Err(ParseError::Syntax(httparse::Error::Token));
    };
    if version > 1 {
        return Err(ParseError::Version);
    }
    let target = offset(buf, target.as_bytes());
    let (authority, mut origin) = split_absolute_form(buf, target.clone())?;
    check_form(method.as_bytes(), &buf[target.clone()], authority.is_some()).map_err(
        |e| match e {
            TargetError::Invalid => ParseError::InvalidTarget,
            TargetError::AsteriskForm => ParseError::AsteriskForm,
            TargetError::AuthorityForm => ParseError::AuthorityForm,
            TargetError::ConnectTarget => ParseError::ConnectTarget,
            TargetError::Connect => ParseError::Connect,
        },
    )?;
    // A fragment is the client's own (RFC 9110 section 4.2.4: never sent); gunicorn's urlsplit
    // drops it from PATH_INFO and QUERY_STRING, so a stray one must not reach the app's routes.
    if let Some(i) = memchr::memchr(b'#', &buf[origin.clone()]) {
        origin.end = origin.start + i;
    }
    let (path, query) = match memchr::memchr(b'?', &buf[origin.clone()]) {
        Some(i) => (
            origin.start..origin.start + i,
            origin.start + i + 1..origin.end,
        ),
        None => (origin.clone(), origin.end..origin.end),
    };
    let mut head = Head {
        len,
        method: offset(buf, method.as_bytes()),
        target,
        path,
        query,
        authority,
        minor: version,
        headers: Vec::new(),
        body: BodyKind::Empty,
        keep_alive: version == 1,
        expect_continue: false,
    };
    spare.clear();
    let mut content_length: Option<u64> = None;
    let mut chunked = false;
    let mut unknown_coding = false;
    let mut has_te = false;
    let mut has_host = false;
    let mut has_content_type = false;
    // A field line is part of the head: when the whole head fits the field limit, no line can
    // exceed it, and the per-line scan is skipped (the common case by far).
    let check_fields = len - skipped > limits.field_size;
    for h in req.headers.iter() {
        let name_range = offset(buf, h.name.as_bytes());
        if check_fields && field_line_len(buf, name_range.start) > limits.field_size {
            return Err(ParseError::FieldTooLarge);
        }
        spare.push((name_range, offset(buf, h.value)));
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
                // chunked must be the final coding and appear once (RFC 9112 section 6.3): any
                // coding after it leaves the body length unknown, and guessing would desync us
                // from a proxy in front.
                if chunked {
                    return Err(ParseError::BadTransferEncoding);
                }
                if coding.eq_ignore_ascii_case(b"chunked") {
                    chunked = true;
                } else {
                    unknown_coding = true;
                }
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
        } else if name.eq_ignore_ascii_case(b"content-type") {
            if has_content_type {
                return Err(ParseError::DuplicateContentType);
            }
            has_content_type = true;
        } else if name.eq_ignore_ascii_case(b"expect") {
            head.expect_continue =
                version == 1 && trim(h.value).eq_ignore_ascii_case(b"100-continue");
        }
    }
    // RFC 9112 section 3.2: "A server MUST respond with a 400 (Bad Request) status code to any
    // HTTP/1.1 request message that lacks a Host header field", absolute-form or not.
    if version == 1 && !has_host {
        return Err(ParseError::MissingHost);
    }
    if has_te {
        if content_length.is_some() {
            return Err(ParseError::LengthAndEncoding);
        }
        if version == 0 || !chunked {
            return Err(ParseError::BadTransferEncoding);
        }
        if unknown_coding {
            return Err(ParseError::UnsupportedTransferCoding);
        }
        head.body = BodyKind::Chunked;
    } else if let Some(n) = content_length {
        head.body = if n == 0 {
            BodyKind::Empty
        } else {
            BodyKind::Length(n)
        };
    }
    head.headers = std::mem::take(spare);
    Ok(Some(head))
}

/// For an absolute-form target (`http://authority/path?query`, RFC 9112 section 3.2.2), the
/// authority's range and the origin part's range (`/path?query`, possibly empty); any other form
/// is all origin part. "A server MUST accept the use of absolute-form in requests."
fn split_absolute_form(
    buf: &[u8],
    target: Range<usize>,
) -> Result<(Option<Range<usize>>, Range<usize>), ParseError> {
    let bytes = &buf[target.clone()];
    let scheme_len = [&b"http://"[..], b"https://"]
        .iter()
        .find(|scheme| {
            bytes.len() >= scheme.len() && bytes[..scheme.len()].eq_ignore_ascii_case(scheme)
        })
        .map(|scheme| scheme.len());
    let Some(scheme_len) = scheme_len else {
        return Ok((None, target));
    };
    let rest = &bytes[scheme_len..];
    let end = rest
        .iter()
        .position(|b| *b == b'/' || *b == b'?')
        .unwrap_or(rest.len());
    let authority = &rest[..end];
    // An http(s) URI needs a host; userinfo is deprecated and "a recipient SHOULD ... treat its
    // presence as an error" (RFC 9110 section 4.2.4).
    if authority.is_empty() || !authority.iter().all(|b| is_authority_byte(*b)) {
        return Err(ParseError::BadTarget);
    }
    let start = target.start + scheme_len;
    Ok((Some(start..start + end), start + end..target.end))
}

/// Bytes of an authority without userinfo (RFC 3986: reg-name, IP-literal, port).
fn is_authority_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=:[]".contains(&b)
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
    use crate::http1::body::Decoder;
    use std::path::{Path, PathBuf};

    const LIMITS: Limits = Limits::GUNICORN;

    fn parse(text: &[u8]) -> Result<Option<Head>, ParseError> {
        parse_head(text, &LIMITS)
    }

    #[test]
    fn a_simple_get_parses() {
        let buf = b"GET /a?b=1 HTTP/1.1\r\nHost: x\r\n\r\nrest";
        let head = parse(buf).unwrap().unwrap();
        assert_eq!(&buf[head.method.clone()], b"GET");
        assert_eq!(&buf[head.target.clone()], b"/a?b=1");
        assert_eq!(&buf[head.path.clone()], b"/a");
        assert_eq!(&buf[head.query.clone()], b"b=1");
        assert_eq!(head.authority, None);
        assert_eq!(head.len, buf.len() - 4);
        assert!(head.keep_alive);
        assert_eq!(head.body, BodyKind::Empty);
    }

    #[test]
    fn partial_heads_ask_for_more() {
        assert_eq!(parse(b"GET / HTTP/1.1\r\nHost:"), Ok(None));
        assert_eq!(parse(b""), Ok(None));
        assert_eq!(parse(b"\r\n\r"), Ok(None));
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

    /// gunicorn refuses a request line (without its CRLF) longer than `limit_request_line`: at
    /// 20, a 20-byte line passes and a 21-byte one is 414, whole or still arriving.
    #[test]
    fn the_request_line_limit_is_exact() {
        let limits = Limits {
            request_line: 20,
            ..LIMITS
        };
        assert_eq!(b"GET /abcdef HTTP/1.1".len(), 20);
        let head = parse_head(b"GET /abcdef HTTP/1.1\r\nHost: x\r\n\r\n", &limits);
        assert!(matches!(head, Ok(Some(_))), "{head:?}");
        // Bare LF line ends count the same way.
        let head = parse_head(b"GET /abcdef HTTP/1.1\nHost: x\n\n", &limits);
        assert!(matches!(head, Ok(Some(_))), "{head:?}");
        for partial in [
            &b"GET /abcdef HTTP/1.1"[..],
            b"GET /abcdef HTTP/1.1\r",
            b"\r\nGET /abcdef HTTP/1.1\r",
        ] {
            assert_eq!(parse_head(partial, &limits), Ok(None), "{partial:?}");
        }
        for over in [
            &b"GET /abcdefg HTTP/1.1\r\nHost: x\r\n\r\n"[..],
            b"GET /abcdefg HTTP/1.1\nHost: x\n\n",
            b"GET /abcdefg HTTP/1.1",
            b"GET /abcdefg HTTP/1.1\r",
            b"\r\nGET /abcdefg HTTP/1.1\r\n",
        ] {
            assert_eq!(
                parse_head(over, &limits),
                Err(ParseError::RequestLineTooLong),
                "{over:?}"
            );
        }
    }

    /// Like gunicorn, a field line counts with its CRLF: `X-A: bcd` is 8 + 2 bytes.
    #[test]
    fn the_field_size_limit_counts_the_whole_line() {
        let limits = Limits {
            field_size: 10,
            ..LIMITS
        };
        assert!(
            parse_head(b"GET / HTTP/1.1\r\nHost: x\r\nX-A: bcd\r\n\r\n", &limits)
                .unwrap()
                .is_some()
        );
        assert_eq!(
            parse_head(b"GET / HTTP/1.1\r\nHost: x\r\nX-A: bcde\r\n\r\n", &limits),
            Err(ParseError::FieldTooLarge)
        );
        // Whitespace around the value is part of the line on the wire.
        assert_eq!(
            parse_head(b"GET / HTTP/1.1\r\nHost: x\r\nX-A:   b  \r\n\r\n", &limits),
            Err(ParseError::FieldTooLarge)
        );
    }

    #[test]
    fn empty_lines_before_the_request_are_bounded() {
        let mut buf = b"\r\n".repeat(MAX_LEADING_EMPTY_LINES / 2);
        buf.extend_from_slice(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        let head = parse(&buf).unwrap().unwrap();
        assert_eq!(&buf[head.target], b"/");
        let mut buf = b"\n".repeat(MAX_LEADING_EMPTY_LINES + 1);
        assert_eq!(parse(&buf), Err(ParseError::EmptyLines));
        buf.extend_from_slice(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(parse(&buf), Err(ParseError::EmptyLines));
    }

    #[test]
    fn absolute_form_routes_by_its_path_and_names_the_authority() {
        let buf = b"GET http://x/headers?a=1 HTTP/1.1\r\nHost: other\r\n\r\n";
        let head = parse(buf).unwrap().unwrap();
        assert_eq!(&buf[head.target.clone()], b"http://x/headers?a=1");
        assert_eq!(&buf[head.path.clone()], b"/headers");
        assert_eq!(&buf[head.query.clone()], b"a=1");
        assert_eq!(head.authority.map(|a| &buf[a]), Some(&b"x"[..]));

        let buf = b"GET HTTPS://Example.test:8443?q HTTP/1.0\r\n\r\n";
        let head = parse(buf).unwrap().unwrap();
        assert_eq!(&buf[head.path.clone()], b"", "an empty path means /");
        assert_eq!(&buf[head.query.clone()], b"q");
        assert_eq!(
            head.authority.map(|a| &buf[a]),
            Some(&b"Example.test:8443"[..])
        );

        // Other forms are left alone: authority-form and asterisk-form have no http:// prefix.
        let buf = b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n";
        let head = parse(buf).unwrap().unwrap();
        assert_eq!((&buf[head.path.clone()], head.authority), (&b"*"[..], None));

        for bad in [
            &b"GET http:///x HTTP/1.1\r\nHost: x\r\n\r\n"[..],
            b"GET http://user@x/ HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET http:// HTTP/1.1\r\nHost: x\r\n\r\n",
        ] {
            assert_eq!(parse(bad), Err(ParseError::BadTarget), "{bad:?}");
        }
    }

    #[test]
    fn http_1_1_needs_a_host_and_1_0_does_not() {
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\nX: y\r\n\r\n"),
            Err(ParseError::MissingHost)
        );
        assert_eq!(
            parse(b"GET http://x/ HTTP/1.1\r\n\r\n"),
            Err(ParseError::MissingHost)
        );
        assert!(parse(b"GET / HTTP/1.1\r\nHost:\r\n\r\n").unwrap().is_some());
        assert!(parse(b"GET / HTTP/1.0\r\n\r\n").unwrap().is_some());
        assert_eq!(error_status(ParseError::MissingHost).0, 400);
    }

    #[test]
    fn transfer_codings_we_do_not_implement_are_501_and_bad_framing_400() {
        let te = |value: &str| {
            let text = format!("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: {value}\r\n\r\n");
            parse(text.as_bytes()).map(|h| h.map(|h| h.body))
        };
        assert_eq!(te("chunked"), Ok(Some(BodyKind::Chunked)));
        assert_eq!(
            te("gzip, chunked"),
            Err(ParseError::UnsupportedTransferCoding)
        );
        assert_eq!(error_status(ParseError::UnsupportedTransferCoding).0, 501);
        for framing in [
            "chunked, gzip",
            "gzip",
            "chunked, chunked",
            ",",
            "chunked;x=1",
        ] {
            assert_eq!(
                te(framing),
                Err(ParseError::BadTransferEncoding),
                "{framing}"
            );
        }
        assert_eq!(
            parse(b"POST / HTTP/1.0\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
            Err(ParseError::BadTransferEncoding)
        );
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
            "method {}\ntarget {}\npath {}\nquery {}\n",
            s(&head.method),
            s(&head.target),
            s(&head.path),
            s(&head.query),
        );
        if let Some(authority) = &head.authority {
            out.push_str(&format!("authority {}\n", s(authority)));
        }
        out.push_str(&format!(
            "version 1.{}\nkeep-alive {}\nbody {}\n",
            head.minor,
            head.keep_alive,
            match head.body {
                BodyKind::Empty => "none".to_string(),
                BodyKind::Length(n) => format!("length {n}"),
                BodyKind::Chunked => "chunked".to_string(),
            }
        ));
        for (n, v) in &head.headers {
            out.push_str(&format!("header {}: {}\n", s(n), s(v)));
        }
        out
    }

    /// Decodes the body bytes that follow `head` in `buf` the way the connection does: `Ok` with
    /// the decoded body (empty when the fixture stops after the head), `Err` with the status.
    fn replay_body(buf: &[u8], head: &Head) -> Result<Vec<u8>, u16> {
        let rest = &buf[head.len..];
        let mut decoder = match head.body {
            BodyKind::Empty => return Ok(Vec::new()),
            BodyKind::Length(n) => Decoder::length(n),
            BodyKind::Chunked => Decoder::chunked(Some(crate::config::DEFAULT_LIMIT_REQUEST_BODY)),
        };
        let mut out = Vec::new();
        decoder.decode(rest, &mut out).map_err(|e| e.status().0)?;
        Ok(out)
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
            let mut text = describe(&buf, &head);
            let body = replay_body(&buf, &head)
                .unwrap_or_else(|status| panic!("{}: body refused with {status}", path.display()));
            if !body.is_empty() {
                text.push_str(&format!("decoded {}\n", String::from_utf8_lossy(&body)));
            }
            let expected = std::fs::read_to_string(path.with_extension("expected")).unwrap();
            assert_eq!(text, expected, "{}", path.display());
        }
    }

    /// Each invalid fixture fails with its status, in the head or, when the head is fine, in the
    /// body that follows it (over TCP, tests/tests/server_fixtures.rs replays the same files).
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
                Ok(None) => panic!("{}: incomplete", path.display()),
                Ok(Some(h)) => match replay_body(&buf, &h) {
                    Err(got) => assert_eq!(got, status, "{}", path.display()),
                    Ok(_) => panic!("{}: parsed as {h:?}", path.display()),
                },
            }
        }
    }
}
