//! The `clickjacking` middleware (Django's `XFrameOptionsMiddleware`): `X-Frame-Options` from
//! the `x_frame_options` setting (`DENY` by default) on every response that has none and is not
//! `xframe_options_exempt`.

use super::Middleware;
use crate::exception::ViewError;
use crate::http::{HttpRequest, HttpResponse};
use crate::settings::{ConfigError, Settings};

/// Django's `XFrameOptionsMiddleware`.
pub struct XFrameOptionsMiddleware {
    value: String,
}

impl XFrameOptionsMiddleware {
    /// The middleware with `x_frame_options` upper-cased, as Django's
    /// `get_xframe_options_value` does; a value that is not a header value is refused.
    pub fn new(settings: &Settings) -> Result<Self, ConfigError> {
        let value = settings.x_frame_options.to_ascii_uppercase();
        if value.is_empty() || value.chars().any(|c| c.is_control()) {
            return Err(ConfigError::new(format!(
                "x_frame_options = {:?} is not a header value (DENY or SAMEORIGIN)",
                settings.x_frame_options
            )));
        }
        Ok(XFrameOptionsMiddleware { value })
    }
}

impl Middleware for XFrameOptionsMiddleware {
    fn process_response(
        &self,
        _request: &mut HttpRequest,
        mut response: HttpResponse,
    ) -> Result<HttpResponse, ViewError> {
        if response.has_header("X-Frame-Options") || response.xframe_options_exempt {
            return Ok(response);
        }
        response.headers.set("X-Frame-Options", self.value.as_str());
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn run(settings: &Settings, response: HttpResponse) -> HttpResponse {
        let mut r = HttpRequest::new("GET", "/", "", Arc::new(Settings::default()));
        XFrameOptionsMiddleware::new(settings)
            .unwrap()
            .process_response(&mut r, response)
            .unwrap()
    }

    #[test]
    fn deny_by_default_sameorigin_by_setting_and_never_over_an_existing_value() {
        let mut s = Settings::default();
        assert_eq!(
            run(&s, HttpResponse::new("x")).get("X-Frame-Options"),
            Some("DENY")
        );
        s.x_frame_options = "sameorigin".into();
        assert_eq!(
            run(&s, HttpResponse::new("x")).get("X-Frame-Options"),
            Some("SAMEORIGIN")
        );
        let own = HttpResponse::new("x").header("X-Frame-Options", "ALLOW-FROM x");
        assert_eq!(run(&s, own).get("X-Frame-Options"), Some("ALLOW-FROM x"));
        let mut exempt = HttpResponse::new("x");
        exempt.xframe_options_exempt = true;
        assert_eq!(run(&s, exempt).get("X-Frame-Options"), None);
        s.x_frame_options = "DENY\r\nX: y".into();
        assert!(XFrameOptionsMiddleware::new(&s).is_err());
    }
}
