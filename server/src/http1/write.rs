//! Owns response serialization: status lines, header blocks with `Date` and `Server`, chunk
//! framing, and the server's own short error responses.

use super::date::append_date;

/// The `Server` header value.
pub const SERVER_NAME: &str = concat!("portico/", env!("CARGO_PKG_VERSION"));

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

/// Whether a response with this status to this method carries no body on the wire.
pub fn bodyless(status: u16, head_request: bool) -> bool {
    head_request || status == 204 || status == 304 || (100..200).contains(&status)
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

/// Appends one chunk (`len` in hex, CRLF, data, CRLF); nothing for empty data, which would end
/// the body.
pub fn chunk(out: &mut Vec<u8>, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// The last chunk of a chunked body.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// The interim response sent before reading a body the client held back with `Expect`.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

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
    out.extend_from_slice(b"Server: ");
    out.extend_from_slice(SERVER_NAME.as_bytes());
    out.extend_from_slice(b"\r\n");
    date_header(out);
    out.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\n");
    let message = format!("{}: {detail}\n", reason(status));
    content_length(out, message.len() as u64);
    if !keep_alive {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if head_request {
        return 0;
    }
    out.extend_from_slice(message.as_bytes());
    message.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn chunks_are_hex_framed() {
        let mut out = Vec::new();
        chunk(&mut out, &[b'x'; 26]);
        chunk(&mut out, b"");
        assert_eq!(&out[..4], b"1a\r\n");
        assert_eq!(out.len(), 4 + 26 + 2);
    }

    #[test]
    fn bodyless_statuses() {
        assert!(bodyless(204, false));
        assert!(bodyless(304, false));
        assert!(bodyless(200, true));
        assert!(!bodyless(200, false));
    }
}
