//! The seeds' middleware, registered by name for settings' `middleware` list: `request_timer`,
//! `powered_by`, `api_logging`, `api_key_check`, `token_auth`, `error_handler`.
//!
//! The decisions each one makes live in small functions here so they are tested without a
//! request cycle around them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use handler_core::contrib::auth::{RequestUserExt, User};
use handler_core::exception::ViewError;
use handler_core::http::{HttpRequest, HttpResponse, JsonResponse};
use handler_core::middleware::{Middleware, Next};

use crate::bodies::ServerErrorBody;
use crate::config::TokenUser;

/// The response header `request_timer` sets.
pub const DURATION_HEADER: &str = "X-Duration-ms";

/// The response header `powered_by` sets.
pub const POWERED_BY_HEADER: &str = "X-Powered-By";

/// The request header `api_key_check` reads.
pub const API_KEY_HEADER: &str = "X-API-KEY";

/// Paths under this prefix need the API key.
pub const PRIVATE_PREFIX: &str = "/api/private/";

/// Paths under this prefix are logged by `api_logging`.
pub const API_PREFIX: &str = "/api/";

/// `api_key_check`'s 401 body (plain text, as the seeds' `HttpResponse(..., status=401)`).
pub const INVALID_API_KEY: &str = "Invalid or missing API Key";

/// The log target of `api_logging`'s records, so they can be filtered (`RUST_LOG=api_logging`).
pub const API_LOG_TARGET: &str = "api_logging";

/// How many bytes of a JSON body `api_logging` writes into one log line: enough to read a
/// request, not so many that a large upload floods the log.
pub const MAX_LOGGED_BODY: usize = 2048;

/// `X-Duration-ms`'s value: milliseconds with microsecond precision (`%.3f` of the
/// milliseconds, as the seeds write it), built from integers: this runs on every response.
pub fn format_duration_ms(elapsed: Duration) -> DurationMs {
    // Rounded to the nearest microsecond, as %.3f rounds the milliseconds.
    let micros = (elapsed.as_nanos() + 500) / 1000;
    let (ms, frac) = (micros / 1000, micros % 1000);
    let mut out = DurationMs {
        text: [b'0'; 44],
        len: 0,
    };
    let mut digits = itoa::Buffer::new();
    out.push(digits.format(ms).as_bytes());
    out.push(b".");
    let frac = digits.format(frac);
    out.len += 3 - frac.len();
    out.push(frac.as_bytes());
    out
}

/// A duration in milliseconds with three decimals, as text on the stack (it goes into a header
/// on every response: no allocation for it).
#[derive(Clone, Copy)]
pub struct DurationMs {
    /// Room for the largest `u128` count of milliseconds, the point and three digits.
    text: [u8; 44],
    len: usize,
}

impl DurationMs {
    fn push(&mut self, bytes: &[u8]) {
        self.text[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    /// The text, e.g. `1.500`.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and a point were written.
        std::str::from_utf8(&self.text[..self.len]).unwrap_or_default()
    }
}

impl AsRef<str> for DurationMs {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for DurationMs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for DurationMs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq<&str> for DurationMs {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// The token of an `Authorization: Token <t>` header (the scheme compared case-insensitively,
/// as DRF's `TokenAuthentication` does); `None` for any other scheme or shape.
pub fn token_from_authorization(value: &str) -> Option<&str> {
    let mut parts = value.split_ascii_whitespace();
    let scheme = parts.next()?;
    let token = parts.next()?;
    if parts.next().is_some() || !scheme.eq_ignore_ascii_case("token") {
        return None;
    }
    Some(token)
}

/// Whether `path` is behind `api_key_check`.
pub fn needs_api_key(path: &str) -> bool {
    path.starts_with(PRIVATE_PREFIX)
}

/// Compares the sent key with the expected one in time independent of where they differ, so
/// the key cannot be guessed byte by byte from response times.
pub fn api_key_matches(sent: Option<&str>, expected: &str) -> bool {
    let Some(sent) = sent else {
        return false;
    };
    let (a, b) = (sent.as_bytes(), expected.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether `api_logging` logs a request to `path`.
pub fn is_api_path(path: &str) -> bool {
    path.starts_with(API_PREFIX)
}

/// A body as `api_logging` writes it: JSON bodies as compact JSON text (cut at
/// `MAX_LOGGED_BODY`), empty bodies as `-`, anything else as its type and size, so binary
/// uploads never reach the log.
pub fn loggable_body(content_type: Option<&str>, body: &[u8]) -> String {
    if body.is_empty() {
        return "-".to_string();
    }
    if crate::forms::is_json(content_type) {
        let text = match serde_json::from_slice::<serde_json::Value>(body) {
            // Re-serialised so the line stays one line whatever the client's formatting.
            Ok(value) => value.to_string(),
            Err(_) => String::from_utf8_lossy(body).replace(['\r', '\n'], " "),
        };
        return truncate(text, MAX_LOGGED_BODY);
    }
    format!(
        "<{} bytes of {}>",
        body.len(),
        content_type.unwrap_or("unknown type")
    )
}

fn truncate(mut text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    text.push_str("...");
    text
}

/// One `api_logging` line: method, path, status, duration and both bodies. It names the
/// middleware itself because the host's log format may not print the record's target.
pub fn api_log_line(
    method: &str,
    path: &str,
    status: u16,
    elapsed: Duration,
    request_body: &str,
    response_body: &str,
) -> String {
    format!(
        "api_logging: {method} {path} {status} {} ms request={request_body} response={response_body}",
        format_duration_ms(elapsed)
    )
}

/// When the request entered `request_timer` (kept in the request's extensions).
struct RequestStart(Instant);

/// `request_timer`: `X-Duration-ms` on every response, measured from `process_request` to
/// `process_response`, so it covers every middleware inside it and the view.
pub struct RequestTimer;

impl Middleware for RequestTimer {
    fn process_request(
        &self,
        request: &mut HttpRequest,
    ) -> Result<Option<HttpResponse>, ViewError> {
        request.extensions.insert(RequestStart(Instant::now()));
        Ok(None)
    }

    fn process_response(
        &self,
        request: &mut HttpRequest,
        mut response: HttpResponse,
    ) -> Result<HttpResponse, ViewError> {
        if let Some(RequestStart(start)) = request.extensions.get::<RequestStart>() {
            response
                .headers
                .set(DURATION_HEADER, format_duration_ms(start.elapsed()));
        }
        Ok(response)
    }
}

/// `powered_by`: `X-Powered-By` from `[app] powered_by` on every response.
pub struct PoweredBy {
    /// The header's value.
    pub value: String,
}

impl Middleware for PoweredBy {
    fn process_response(
        &self,
        _request: &mut HttpRequest,
        mut response: HttpResponse,
    ) -> Result<HttpResponse, ViewError> {
        response.headers.set(POWERED_BY_HEADER, self.value.clone());
        Ok(response)
    }
}

/// `api_logging`: one info line per `/api/` request with the method, path, status, duration
/// and the JSON bodies both ways (the wrapper form: it needs the request before and the
/// response after).
pub struct ApiLogging;

impl Middleware for ApiLogging {
    fn call(
        &self,
        request: &mut HttpRequest,
        get_response: Next<'_>,
    ) -> Result<HttpResponse, ViewError> {
        if !is_api_path(&request.path) {
            return Ok(get_response.run(request));
        }
        let start = Instant::now();
        // Read before the view, as the twin's `request_body = request.body`: a multipart body
        // over data_upload_max_memory_size is RequestDataTooBig here (400).
        request.checked_body()?;
        let response = get_response.run(request);
        // As the seeds' `api_logger.isEnabledFor(logging.INFO)`: with the logger above INFO
        // (a production --log-level), the bodies are not even formatted.
        if log::log_enabled!(target: API_LOG_TARGET, log::Level::Info) {
            let request_body = loggable_body(request.headers.get("Content-Type"), request.body());
            let response_body = if response.is_streaming() {
                "<streaming>".to_string()
            } else {
                loggable_body(response.get("Content-Type"), response.content())
            };
            log::info!(
                target: API_LOG_TARGET,
                "{}",
                api_log_line(
                    &request.method,
                    &request.path,
                    response.status_code,
                    start.elapsed(),
                    &request_body,
                    &response_body,
                )
            );
        }
        Ok(response)
    }
}

/// `api_key_check`: `/api/private/` answers 401 unless `X-API-KEY` is `[app] api_key`.
pub struct ApiKeyCheck {
    /// The expected key.
    pub api_key: String,
}

impl Middleware for ApiKeyCheck {
    fn process_request(
        &self,
        request: &mut HttpRequest,
    ) -> Result<Option<HttpResponse>, ViewError> {
        if needs_api_key(&request.path)
            && !api_key_matches(request.headers.get(API_KEY_HEADER), &self.api_key)
        {
            return Ok(Some(HttpResponse::with_status(401, INVALID_API_KEY)));
        }
        Ok(None)
    }
}

/// `token_auth`: `Authorization: Token <t>` signs in the user `[app.tokens]` maps `t` to; any
/// other request stays anonymous (the views decide what anonymous users get).
pub struct TokenAuth {
    /// Token to user.
    pub tokens: BTreeMap<String, TokenUser>,
}

impl Middleware for TokenAuth {
    fn process_request(
        &self,
        request: &mut HttpRequest,
    ) -> Result<Option<HttpResponse>, ViewError> {
        let user = request
            .headers
            .get("Authorization")
            .and_then(token_from_authorization)
            .and_then(|token| self.tokens.get(token));
        if let Some(user) = user {
            request.set_user(User::authenticated(user.username.clone(), user.staff));
        }
        Ok(None)
    }
}

/// `error_handler`: with `debug = false`, an unhandled view error (or panic) becomes the JSON
/// 500 `{"status_code": 500, "message": "Internal Server Error", "data": {"message": ...}}`.
/// With `debug = true` it steps aside so the debug page shows. 404, 403 and 400 errors are
/// left to Django's usual handling.
pub struct ErrorHandler {
    /// The settings' `debug`.
    pub debug: bool,
}

impl Middleware for ErrorHandler {
    fn process_exception(
        &self,
        request: &mut HttpRequest,
        error: &ViewError,
    ) -> Option<HttpResponse> {
        // As the twin's `process_exception`: every error a view raises (a malformed form
        // body, too many fields, BadRequest included), not only the 500s.
        if self.debug {
            return None;
        }
        // Answering here means the runtime will not log the error: log it as Django would.
        log::error!(
            target: "django.request",
            "Internal Server Error: {}\n{error}",
            request.path
        );
        let message = error.message();
        let response = JsonResponse::with_status(500, &ServerErrorBody::new(&message))
            .unwrap_or_else(|_| {
                HttpResponse::with_status(500, "Internal Server Error")
                    .content_type("text/plain; charset=utf-8")
            });
        Some(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_written_as_percent_3f_milliseconds() {
        for (nanos, text) in [
            (0, "0.000"),
            (1_234_567, "1.235"),
            (999_499, "0.999"),
            (999_500, "1.000"),
            (12_000_000_000, "12000.000"),
            (5_000, "0.005"),
        ] {
            assert_eq!(
                format_duration_ms(Duration::from_nanos(nanos)),
                text,
                "{nanos} ns"
            );
        }
    }

    #[test]
    fn durations_are_milliseconds() {
        assert_eq!(format_duration_ms(Duration::from_micros(1500)), "1.500");
        assert_eq!(format_duration_ms(Duration::ZERO), "0.000");
        let parsed: f64 = format_duration_ms(Duration::from_millis(300))
            .as_str()
            .parse()
            .unwrap();
        assert!((parsed - 300.0).abs() < 1e-9);
    }

    #[test]
    fn token_headers() {
        assert_eq!(
            token_from_authorization("Token user-token"),
            Some("user-token")
        );
        assert_eq!(token_from_authorization("token  abc "), Some("abc"));
        assert_eq!(token_from_authorization("Bearer abc"), None);
        assert_eq!(token_from_authorization("Token"), None);
        assert_eq!(token_from_authorization("Token a b"), None);
        assert_eq!(token_from_authorization("abc"), None);
    }

    #[test]
    fn api_key_paths_and_comparison() {
        assert!(needs_api_key("/api/private/data/"));
        assert!(!needs_api_key("/api/privateer/"));
        assert!(!needs_api_key("/api/success/"));
        assert!(api_key_matches(Some("k3y"), "k3y"));
        assert!(!api_key_matches(Some("K3Y"), "k3y"));
        assert!(!api_key_matches(Some("k3"), "k3y"));
        assert!(!api_key_matches(Some(""), "k3y"));
        assert!(!api_key_matches(None, "k3y"));
    }

    #[test]
    fn bodies_in_the_log() {
        assert_eq!(loggable_body(None, b""), "-");
        assert_eq!(
            loggable_body(Some("application/json"), b"{\n \"a\": 1\n}"),
            r#"{"a":1}"#
        );
        assert_eq!(
            loggable_body(Some("application/json"), b"{bad\njson"),
            "{bad json"
        );
        assert_eq!(
            loggable_body(Some("application/octet-stream"), &[0, 1, 2]),
            "<3 bytes of application/octet-stream>"
        );
        let big = format!("\"{}\"", "é".repeat(MAX_LOGGED_BODY));
        let logged = loggable_body(Some("application/json"), big.as_bytes());
        assert!(logged.len() <= MAX_LOGGED_BODY + 3 && logged.ends_with("..."));
    }

    #[test]
    fn the_log_line_has_every_part() {
        let line = api_log_line(
            "POST",
            "/api/articles/",
            201,
            Duration::from_millis(2),
            r#"{"title":"t"}"#,
            r#"{"id":1}"#,
        );
        assert_eq!(
            line,
            r#"api_logging: POST /api/articles/ 201 2.000 ms request={"title":"t"} response={"id":1}"#
        );
        assert!(is_api_path("/api/x/") && !is_api_path("/apix/"));
    }
}
