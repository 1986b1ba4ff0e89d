//! The `security` middleware (Django's `SecurityMiddleware` defaults): `X-Content-Type-Options:
//! nosniff`, `Referrer-Policy: same-origin`, `Cross-Origin-Opener-Policy: same-origin`, each
//! unless the response already set it.

use super::Middleware;
use crate::exception::ViewError;
use crate::http::{HttpRequest, HttpResponse};

/// Django's `SecurityMiddleware` with its default settings (no HTTPS redirect, no HSTS).
pub struct SecurityMiddleware;

impl Middleware for SecurityMiddleware {
    fn process_response(
        &self,
        _request: &mut HttpRequest,
        mut response: HttpResponse,
    ) -> Result<HttpResponse, ViewError> {
        response
            .headers
            .set_default("X-Content-Type-Options", "nosniff");
        response
            .headers
            .set_default("Referrer-Policy", "same-origin");
        response
            .headers
            .set_default("Cross-Origin-Opener-Policy", "same-origin");
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;
    use std::sync::Arc;

    #[test]
    fn adds_headers_without_overriding() {
        let mut r = HttpRequest::new("GET", "/", "", Arc::new(Settings::default()));
        let resp = HttpResponse::new("x").header("Referrer-Policy", "no-referrer");
        let resp = SecurityMiddleware.process_response(&mut r, resp).unwrap();
        assert_eq!(resp.get("x-content-type-options"), Some("nosniff"));
        assert_eq!(resp.get("Referrer-Policy"), Some("no-referrer"));
        assert_eq!(resp.get("Cross-Origin-Opener-Policy"), Some("same-origin"));
    }
}
