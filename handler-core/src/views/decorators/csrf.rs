//! CSRF decorators (Django's `django.views.decorators.csrf`): `csrf_exempt`, `csrf_protect`,
//! `requires_csrf_token` and `ensure_csrf_cookie`.

use std::sync::OnceLock;

use crate::exception::ViewError;
use crate::http::HttpRequest;
use crate::middleware::csrf::CsrfViewMiddleware;
use crate::middleware::Middleware;
use crate::views::{ViewFn, ViewResult};

/// Django's `csrf_exempt`: `CsrfViewMiddleware` does not check this view.
pub fn csrf_exempt(view: ViewFn) -> ViewFn {
    let mut attrs = view.attrs();
    attrs.csrf_exempt = true;
    view.with_attrs(attrs)
}

/// Django's `decorator_from_middleware(CsrfViewMiddleware)` and its variants: the
/// middleware's `process_request`, `process_view` and `process_response` around the view,
/// configured from the request's settings on first use.
fn from_middleware(view: ViewFn, reject: bool, ensure_cookie: bool) -> ViewFn {
    let middleware: OnceLock<Result<CsrfViewMiddleware, String>> = OnceLock::new();
    let inner = view.clone();
    ViewFn::wraps(&view, move |request: &mut HttpRequest| -> ViewResult {
        let mw = middleware
            .get_or_init(|| {
                CsrfViewMiddleware::new(request.settings())
                    .map(|m| m.variant(reject, ensure_cookie))
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| ViewError::msg(format!("ImproperlyConfigured: {e}")))?;
        if let Some(response) = mw.process_request(request)? {
            return Ok(response);
        }
        if let Some(response) = mw.process_view(request, &inner)? {
            return Ok(response);
        }
        let response = inner.call(request)?;
        mw.process_response(request, response)
    })
}

/// Django's `csrf_protect`: the CSRF checks on this view even without the middleware.
pub fn csrf_protect(view: ViewFn) -> ViewFn {
    from_middleware(view, true, false)
}

/// Django's `requires_csrf_token`: the token machinery without the rejection.
pub fn requires_csrf_token(view: ViewFn) -> ViewFn {
    from_middleware(view, false, false)
}

/// Django's `ensure_csrf_cookie`: the view's response always carries the CSRF cookie.
pub fn ensure_csrf_cookie(view: ViewFn) -> ViewFn {
    from_middleware(view, false, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::HttpResponse;
    use crate::settings::Settings;
    use crate::views::view;
    use std::sync::Arc;

    fn ok(_r: &mut HttpRequest) -> ViewResult {
        Ok(HttpResponse::new("ok"))
    }

    fn post() -> HttpRequest {
        let mut s = Settings::default();
        s.allowed_hosts = vec!["testserver".into()];
        HttpRequest::new("POST", "/", "", Arc::new(s)).with_header("Host", "testserver")
    }

    #[test]
    fn protect_rejects_exempt_marks_ensure_sets_the_cookie() {
        let (r, _) = crate::test_log::capture(|| csrf_protect(view(ok)).call(&mut post()).unwrap());
        assert_eq!(r.status_code, 403);
        assert!(csrf_exempt(view(ok)).csrf_exempt());
        // Another decorator keeps the attribute, as functools.wraps keeps __dict__.
        let wrapped = super::super::require_POST(csrf_exempt(view(ok)));
        assert!(wrapped.csrf_exempt());
        let r = requires_csrf_token(view(ok)).call(&mut post()).unwrap();
        assert_eq!((r.status_code, r.get("Set-Cookie")), (200, None));
        let r = ensure_csrf_cookie(view(ok)).call(&mut post()).unwrap();
        assert_eq!(r.status_code, 200);
        assert!(r.get("Set-Cookie").unwrap().starts_with("csrftoken="));
    }
}
