//! Clickjacking decorators (Django's `django.views.decorators.clickjacking`).

use crate::http::HttpRequest;
use crate::views::{ViewFn, ViewResult};

/// Django's `xframe_options_exempt`: `XFrameOptionsMiddleware` leaves this view's responses
/// without `X-Frame-Options`.
pub fn xframe_options_exempt(view: ViewFn) -> ViewFn {
    let inner = view.clone();
    ViewFn::wraps(&view, move |request: &mut HttpRequest| -> ViewResult {
        let mut response = inner.call(request)?;
        response.xframe_options_exempt = true;
        Ok(response)
    })
}

/// Django's `xframe_options_deny`: `X-Frame-Options: DENY` on this view's responses.
pub fn xframe_options_deny(view: ViewFn) -> ViewFn {
    set_header(view, "DENY")
}

/// Django's `xframe_options_sameorigin`: `X-Frame-Options: SAMEORIGIN`.
pub fn xframe_options_sameorigin(view: ViewFn) -> ViewFn {
    set_header(view, "SAMEORIGIN")
}

fn set_header(view: ViewFn, value: &'static str) -> ViewFn {
    let inner = view.clone();
    ViewFn::wraps(&view, move |request: &mut HttpRequest| -> ViewResult {
        let mut response = inner.call(request)?;
        response.headers.set_default("X-Frame-Options", value);
        Ok(response)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::HttpResponse;
    use crate::middleware::clickjacking::XFrameOptionsMiddleware;
    use crate::middleware::Middleware;
    use crate::settings::Settings;
    use crate::views::view;
    use std::sync::Arc;

    #[test]
    fn exempt_responses_get_no_header_from_the_middleware() {
        let ok = |_r: &mut HttpRequest| -> ViewResult { Ok(HttpResponse::new("ok")) };
        let s = Settings::default();
        let mw = XFrameOptionsMiddleware::new(&s).unwrap();
        let mut r = HttpRequest::new("GET", "/", "", Arc::new(Settings::default()));
        let resp = xframe_options_exempt(view(ok)).call(&mut r).unwrap();
        let resp = mw.process_response(&mut r, resp).unwrap();
        assert_eq!(resp.get("X-Frame-Options"), None);
        let resp = xframe_options_sameorigin(view(ok)).call(&mut r).unwrap();
        let resp = mw.process_response(&mut r, resp).unwrap();
        assert_eq!(resp.get("X-Frame-Options"), Some("SAMEORIGIN"));
        let resp = xframe_options_deny(view(ok)).call(&mut r).unwrap();
        assert_eq!(resp.get("X-Frame-Options"), Some("DENY"));
    }
}
