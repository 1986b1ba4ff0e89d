//! Owns response serialization (RFC 9112): the status line, the app's header block checked and
//! filtered (hop-by-hop fields dropped), the framing decision (length, chunked, close-delimited,
//! none) with the bodyless-status rule in one place, chunk framing, and the server's own short
//! error responses. Nothing here touches a socket.

use super::date::append_date;

/// The `Server` header value: the name without the version, as gunicorn sends it since 20.1
/// (a version on every answer tells a scanner which known flaws to try). An app that sets its
/// own `Server` replaces it.
pub const SERVER_HEADER: &str = "portico";

/// The server's name and version as the app sees it (the host table's `server_name`, CGI's
/// `SERVER_SOFTWARE`).
pub const SERVER_SOFTWARE: &str = concat!("portico/", env!("CARGO_PKG_VERSION"));

/// The last chunk of a chunked body.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// The interim response sent before reading a body the client held back with `Expect`.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Header fields that describe one connection, not the message (RFC 9110 section 7.6.1): the
/// server owns the connection and the framing, so an app's values are dropped.
const HOP_BY_HOP: [&[u8]; 7] = [
    b"connection",
    b"keep-alive",
    b"transfer-encoding",
    b"te",
    b"trailer",
    b"upgrade",
    b"proxy-connection",
];

/// The reason phrase for a status (empty when unknown: the phrase is optional on the wire).
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

/// Whether a response with this status to this method carries no body on the wire (RFC 9112
/// section 6.3: a response to HEAD, and any 1xx, 204 or 304, ends with its head).
pub fn bodyless(status: u16, head_request: bool) -> bool {
    head_request || status == 204 || status == 304 || (100..200).contains(&status)
}

/// Whether a response with this status states a `Content-Length`: not a 1xx or 204 (RFC 9110
/// section 8.6: "A server MUST NOT send a Content-Length header field in any response with a
/// status code of 1xx ... or 204"), nor a 304, whose length would be the 200's.
pub fn states_length(status: u16) -> bool {
    !(status == 204 || status == 304 || (100..200).contains(&status))
}

/// How a response body is delimited on the wire, decided when the head is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked` (HTTP/1.1 only).
    Chunked,
    /// The body ends when the connection closes (HTTP/1.0 without a length).
    Close,
    /// No body on the wire (HEAD, 1xx, 204, 304); a length may still be stated.
    None(Option<u64>),
}

impl Framing {
    /// The framing of a response: `length` is the declared `Content-Length`, or the length the
    /// server knows because the whole body was written before the head closed.
    pub fn choose(status: u16, head_request: bool, length: Option<u64>, minor: u8) -> Framing {
        if bodyless(status, head_request) {
            Framing::None(length.filter(|_| states_length(status)))
        } else if let Some(n) = length {
            Framing::Length(n)
        } else if minor >= 1 {
            Framing::Chunked
        } else {
            Framing::Close
        }
    }
}

/// Which bytes are token characters (RFC 9110 section 5.6.2), what a field name is made of: a
/// table, because every byte of every header name an app sends is checked.
const TOKEN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    table
};

fn is_token(b: u8) -> bool {
    TOKEN[usize::from(b)]
}

/// A decimal `Content-Length` value with optional surrounding whitespace.
fn parse_length(value: &[u8]) -> Option<u64> {
    let digits = value.trim_ascii();
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0u64, |n, d| n * 10 + u64::from(d - b'0')),
    )
}

/// Why an app's status or header block was refused (`GW_ERR_INVALID`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidHead {
    /// A status outside 100..=999, or a 1xx other than 101 (the server sends 100 itself).
    Status,
    /// A field name that is empty or not a token.
    Name,
    /// A field value holding CR, LF or NUL.
    Value,
    /// A `Content-Length` that is not a number, or two that differ.
    ContentLength,
}

/// What the server must know about an app's header block once it is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppHead {
    /// The `Content-Length` the app declared.
    pub declared: Option<u64>,
    /// The app gave its own `Date`.
    pub has_date: bool,
    /// The app gave its own `Server`.
    pub has_server: bool,
}

/// Appends the status line and the app's fields to `out`, checking every byte and dropping the
/// hop-by-hop fields and `Content-Length` (which the framing writes). On error `out` is left as
/// it was.
pub fn app_head<'h>(
    out: &mut Vec<u8>,
    status: u16,
    headers: impl Iterator<Item = (&'h [u8], &'h [u8])>,
) -> Result<AppHead, InvalidHead> {
    if !(100..=999).contains(&status) || ((100..200).contains(&status) && status != 101) {
        return Err(InvalidHead::Status);
    }
    let start = out.len();
    status_line(out, status);
    let mut info = AppHead::default();
    let result = (|| {
        for (name, value) in headers {
            if name.is_empty() || !name.iter().all(|b| is_token(*b)) {
                return Err(InvalidHead::Name);
            }
            if memchr::memchr3(b'\r', b'\n', 0, value).is_some() {
                return Err(InvalidHead::Value);
            }
            if HOP_BY_HOP.iter().any(|h| name.eq_ignore_ascii_case(h)) {
                continue;
            }
            if name.eq_ignore_ascii_case(b"content-length") {
                match parse_length(value) {
                    Some(n) if info.declared.is_none_or(|d| d == n) => info.declared = Some(n),
                    _ => return Err(InvalidHead::ContentLength),
                }
                continue;
            }
            info.has_date |= name.eq_ignore_ascii_case(b"date");
            info.has_server |= name.eq_ignore_ascii_case(b"server");
            header(out, name, value);
        }
        Ok(())
    })();
    match result {
        Ok(()) => Ok(info),
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

/// Ends a head begun by [`app_head`]: `Server` and `Date` unless the app gave them, the
/// framing field, `Connection`, and the blank line.
pub fn close_head(out: &mut Vec<u8>, app: &AppHead, framing: Framing, keep_alive: bool, minor: u8) {
    if !app.has_server {
        header(out, b"Server", SERVER_HEADER.as_bytes());
    }
    if !app.has_date {
        date_header(out);
    }
    match framing {
        Framing::Length(n) | Framing::None(Some(n)) => content_length(out, n),
        Framing::Chunked => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
        Framing::Close | Framing::None(None) => {}
    }
    if !keep_alive || framing == Framing::Close {
        out.extend_from_slice(b"Connection: close\r\n");
    } else if minor == 0 {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends `HTTP/1.1 <status> <reason>\r\n`.
pub fn status_line(out: &mut Vec<u8>, status: u16) {
    out.extend_from_slice(b"HTTP/1.1 ");
    let mut b = itoa::Buffer::new();
    out.extend_from_slice(b.format(status).as_bytes());
    out.push(b' ');
    out.extend_from_slice(reason(status).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Appends one header line.
pub fn header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Appends `Date: ...\r\n`.
pub fn date_header(out: &mut Vec<u8>) {
    out.extend_from_slice(b"Date: ");
    append_date(out);
    out.extend_from_slice(b"\r\n");
}

/// Appends `Content-Length: n\r\n`.
pub fn content_length(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(b"Content-Length: ");
    let mut b = itoa::Buffer::new();
    out.extend_from_slice(b.format(n).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// The size line of a chunk of `len` bytes (`len` in hex, CRLF), built on the stack; the
/// data and its CRLF follow. Empty for 0, which would end the body.
pub struct ChunkSize {
    line: [u8; 18],
    start: usize,
}

impl ChunkSize {
    /// The size line for `len` bytes.
    pub fn new(len: usize) -> ChunkSize {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut line = [0u8; 18];
        if len == 0 {
            return ChunkSize { line, start: 18 };
        }
        line[16..].copy_from_slice(b"\r\n");
        let (mut i, mut n) = (16, len);
        while n > 0 {
            i -= 1;
            line[i] = HEX[n & 0xf];
            n >>= 4;
        }
        ChunkSize { line, start: i }
    }

    /// The line's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.line[self.start..]
    }
}

/// Appends the size line of a chunk of `len` bytes ([`ChunkSize`]).
pub fn chunk_header(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(ChunkSize::new(len).as_bytes());
}

/// A complete short response from the server itself: a one-line text/plain body naming the
/// reason phrase and `detail`, and `Connection: close` unless `keep_alive`. `extra` headers come
/// first (e.g. `Retry-After`). Returns the body bytes appended (0 for a HEAD request), for the
/// access log.
pub fn simple_response(
    out: &mut Vec<u8>,
    status: u16,
    detail: &str,
    keep_alive: bool,
    head_request: bool,
    extra: &[(&str, &str)],
) -> u64 {
    status_line(out, status);
    for (n, v) in extra {
        header(out, n.as_bytes(), v.as_bytes());
    }
    header(out, b"Server", SERVER_HEADER.as_bytes());
    date_header(out);
    out.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\n");
    let phrase = reason(status);
    let len = phrase.len() + 2 + detail.len() + 1;
    content_length(out, len as u64);
    if !keep_alive {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if head_request {
        return 0;
    }
    out.extend_from_slice(phrase.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(detail.as_bytes());
    out.push(b'\n');
    len as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'a>(list: &'a [(&'a str, &'a str)]) -> impl Iterator<Item = (&'a [u8], &'a [u8])> {
        list.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes()))
    }

    #[test]
    fn simple_response_is_well_formed() {
        let mut out = Vec::new();
        let body = simple_response(&mut out, 503, "busy", false, false, &[("Retry-After", "1")]);
        assert_eq!(body, 26);
        let mut head_only = Vec::new();
        assert_eq!(
            simple_response(&mut head_only, 503, "busy", true, true, &[]),
            0
        );
        assert!(head_only.ends_with(b"Content-Length: 26\r\n\r\n"));
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n"));
        assert!(text.contains("\r\nContent-Length: 26\r\n"));
        assert!(text.contains("\r\nConnection: close\r\n"));
        assert!(text.ends_with("\r\n\r\nService Unavailable: busy\n"));
    }

    #[test]
    fn chunk_sizes_are_hex() {
        let mut out = Vec::new();
        chunk_header(&mut out, 26);
        chunk_header(&mut out, 0);
        chunk_header(&mut out, 0x10000);
        assert_eq!(out, b"1a\r\n10000\r\n");
    }

    #[test]
    fn the_bodyless_rule_and_the_framing() {
        assert!(bodyless(204, false) && bodyless(304, false) && bodyless(200, true));
        assert!(bodyless(101, false) && !bodyless(200, false));
        assert_eq!(Framing::choose(200, false, Some(5), 1), Framing::Length(5));
        assert_eq!(Framing::choose(200, false, None, 1), Framing::Chunked);
        assert_eq!(Framing::choose(200, false, None, 0), Framing::Close);
        assert_eq!(
            Framing::choose(200, true, Some(11), 1),
            Framing::None(Some(11))
        );
        assert_eq!(Framing::choose(204, false, Some(3), 1), Framing::None(None));
        assert_eq!(Framing::choose(304, true, Some(3), 1), Framing::None(None));
    }

    #[test]
    fn app_heads_drop_hop_by_hop_fields_and_keep_the_declared_length() {
        let mut out = Vec::new();
        let info = app_head(
            &mut out,
            200,
            fields(&[
                ("Content-Length", "5"),
                ("Connection", "x"),
                ("Transfer-Encoding", "gzip"),
                ("X-A", "b"),
                ("content-length", " 5 "),
                ("Date", "then"),
            ]),
        )
        .unwrap();
        assert_eq!(info.declared, Some(5));
        assert!(info.has_date && !info.has_server);
        close_head(&mut out, &info, Framing::Length(5), true, 1);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\nX-A: b\r\nDate: then\r\nServer: portico\r\n"));
        assert!(text.ends_with("\r\nContent-Length: 5\r\n\r\n"), "{text}");
        assert!(
            !text.contains("Connection") && !text.contains("gzip"),
            "{text}"
        );
    }

    #[test]
    fn bad_heads_are_refused_and_leave_nothing_behind() {
        for (status, list, why) in [
            (99, &[][..], InvalidHead::Status),
            (100, &[][..], InvalidHead::Status),
            (1000, &[][..], InvalidHead::Status),
            (200, &[("Bad Name", "v")][..], InvalidHead::Name),
            (200, &[("", "v")][..], InvalidHead::Name),
            (200, &[("X", "a\r\nb")][..], InvalidHead::Value),
            (200, &[("X", "a\0b")][..], InvalidHead::Value),
            (
                200,
                &[("Content-Length", "x")][..],
                InvalidHead::ContentLength,
            ),
            (
                200,
                &[("Content-Length", "1"), ("Content-Length", "2")][..],
                InvalidHead::ContentLength,
            ),
        ] {
            let mut out = b"kept".to_vec();
            assert_eq!(app_head(&mut out, status, fields(list)), Err(why));
            assert_eq!(out, b"kept");
        }
        assert!(app_head(&mut Vec::new(), 101, fields(&[])).is_ok());
    }

    #[test]
    fn connection_fields_follow_the_version_and_the_decision() {
        let info = AppHead::default();
        let close = |framing, keep_alive, minor| {
            let mut out = Vec::new();
            close_head(&mut out, &info, framing, keep_alive, minor);
            String::from_utf8(out).unwrap()
        };
        assert!(close(Framing::Chunked, true, 1).contains("Transfer-Encoding: chunked\r\n"));
        assert!(!close(Framing::Chunked, true, 1).contains("Connection"));
        assert!(close(Framing::Length(1), true, 0).contains("Connection: keep-alive\r\n"));
        assert!(close(Framing::Length(1), false, 1).contains("Connection: close\r\n"));
        assert!(close(Framing::Close, true, 0).contains("Connection: close\r\n"));
    }
}
