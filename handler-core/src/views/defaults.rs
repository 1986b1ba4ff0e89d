//! The plain error pages used when `debug = false` (Django's `views/defaults.py`):
//! `page_not_found`, `server_error`, `bad_request`, `permission_denied`.

use crate::exception::ViewError;
use crate::http::{HttpRequest, HttpResponse};

/// Django's `ERROR_PAGE_TEMPLATE`, which opens with a line break.
fn error_page(status: u16, title: &str, details: &str) -> HttpResponse {
    HttpResponse::with_status(
        status,
        format!(
            "\n<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>{title}</title>\n</head>\n<body>\n  <h1>{title}</h1><p>{details}</p>\n</body>\n</html>\n"
        ),
    )
}

/// Django's `page_not_found` (404).
pub fn page_not_found(_request: &mut HttpRequest, _error: &ViewError) -> HttpResponse {
    error_page(
        404,
        "Not Found",
        "The requested resource was not found on this server.",
    )
}

/// Django's `server_error` (500).
pub fn server_error(_request: &mut HttpRequest, _error: &ViewError) -> HttpResponse {
    error_page(500, "Server Error (500)", "")
}

/// Django's `bad_request` (400).
pub fn bad_request(_request: &mut HttpRequest, _error: &ViewError) -> HttpResponse {
    error_page(400, "Bad Request (400)", "")
}

/// Django's `permission_denied` (403).
pub fn permission_denied(_request: &mut HttpRequest, _error: &ViewError) -> HttpResponse {
    error_page(403, "403 Forbidden", "")
}
