//! HTTP status codes and their reason phrases (Python's `http.HTTPStatus`, which Django's
//! `HttpResponse.reason_phrase` reads).

/// 200 OK.
pub const OK: u16 = 200;
/// 201 Created.
pub const CREATED: u16 = 201;
/// 204 No Content.
pub const NO_CONTENT: u16 = 204;
/// 301 Moved Permanently.
pub const MOVED_PERMANENTLY: u16 = 301;
/// 302 Found.
pub const FOUND: u16 = 302;
/// 304 Not Modified.
pub const NOT_MODIFIED: u16 = 304;
/// 400 Bad Request.
pub const BAD_REQUEST: u16 = 400;
/// 401 Unauthorized.
pub const UNAUTHORIZED: u16 = 401;
/// 403 Forbidden.
pub const FORBIDDEN: u16 = 403;
/// 404 Not Found.
pub const NOT_FOUND: u16 = 404;
/// 405 Method Not Allowed.
pub const METHOD_NOT_ALLOWED: u16 = 405;
/// 410 Gone.
pub const GONE: u16 = 410;
/// 412 Precondition Failed.
pub const PRECONDITION_FAILED: u16 = 412;
/// 500 Internal Server Error.
pub const INTERNAL_SERVER_ERROR: u16 = 500;
/// 502 Bad Gateway.
pub const BAD_GATEWAY: u16 = 502;
/// 503 Service Unavailable.
pub const SERVICE_UNAVAILABLE: u16 = 503;

/// The standard reason phrase of `code`, or `"Unknown Status Code"` as Django says for codes
/// `http.HTTPStatus` does not know.
pub fn reason_phrase(code: u16) -> &'static str {
    match code {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Requested Range Not Satisfiable",
        418 => "I'm a Teapot",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Unknown Status Code",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_codes_have_standard_phrases() {
        let expected = [
            (200, "OK"),
            (201, "Created"),
            (204, "No Content"),
            (301, "Moved Permanently"),
            (302, "Found"),
            (304, "Not Modified"),
            (400, "Bad Request"),
            (401, "Unauthorized"),
            (403, "Forbidden"),
            (404, "Not Found"),
            (405, "Method Not Allowed"),
            (500, "Internal Server Error"),
            (502, "Bad Gateway"),
            (503, "Service Unavailable"),
        ];
        for (code, phrase) in expected {
            assert_eq!(reason_phrase(code), phrase);
        }
        assert_eq!(reason_phrase(299), "Unknown Status Code");
    }
}
