//! View decorators (Django's `views/decorators/http.py` and `contrib/auth/decorators.py`, with
//! [`csrf`], [`clickjacking`] and [`cache`] (`cache_page`, `vary_on_cookie`) beside them): they take a view and return a view, keeping its
//! name and attributes.

pub mod cache;
pub mod clickjacking;
pub mod csrf;

pub use cache::{cache_page, vary_on_cookie, vary_on_headers, CachePage};
pub use clickjacking::{xframe_options_deny, xframe_options_exempt, xframe_options_sameorigin};
pub use csrf::{csrf_exempt, csrf_protect, ensure_csrf_cookie, requires_csrf_token};

use super::{ViewFn, ViewResult};
use crate::contrib::auth::RequestUserExt;
use crate::http::encoding::{quote, unicode_escape};
use crate::http::{HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect};
use crate::shortcuts::resolve_url;

/// Django's `require_http_methods(methods)`: any other method gets 405 with `Allow` listing
/// `methods` (HEAD is not implied by GET, exactly as in Django), logged once through
/// `log_response` as `Method Not Allowed (<method>): <path>`.
pub fn require_http_methods(methods: &'static [&'static str], view: ViewFn) -> ViewFn {
    ViewFn::wraps(
        &view.clone(),
        move |request: &mut HttpRequest| -> ViewResult {
            if !methods.contains(&request.method.as_str()) {
                let mut response = HttpResponseNotAllowed::new(methods);
                log_method_not_allowed(request, &mut response);
                return Ok(response);
            }
            view.call(request)
        },
    )
}

/// `log_response("Method Not Allowed (%s): %s", request.method, request.path)`: the response
/// is marked, so `get_response` does not log it a second time.
pub(crate) fn log_method_not_allowed(request: &HttpRequest, response: &mut HttpResponse) {
    crate::handler::log_response(
        response,
        crate::handler::REQUEST_LOGGER,
        None,
        format_args!(
            "Method Not Allowed ({}): {}",
            unicode_escape(&request.method),
            unicode_escape(&request.path)
        ),
    );
}

/// Django's `never_cache`: `Expires` now, and `Cache-Control: max-age=0, no-cache, no-store,
/// must-revalidate, private` (`add_never_cache_headers`).
pub fn never_cache(view: ViewFn) -> ViewFn {
    ViewFn::wraps(
        &view.clone(),
        move |request: &mut HttpRequest| -> ViewResult {
            let mut response = view.call(request)?;
            if !response.has_header("Expires") {
                response.headers.set(
                    "Expires",
                    httpdate::fmt_http_date(std::time::SystemTime::now()),
                );
            }
            response.headers.set(
                "Cache-Control",
                "max-age=0, no-cache, no-store, must-revalidate, private",
            );
            Ok(response)
        },
    )
}

/// Django's `require_GET`.
#[allow(non_snake_case)]
pub fn require_GET(view: ViewFn) -> ViewFn {
    require_http_methods(&["GET"], view)
}

/// Django's `require_POST`.
#[allow(non_snake_case)]
pub fn require_POST(view: ViewFn) -> ViewFn {
    require_http_methods(&["POST"], view)
}

/// Django's `require_safe`: GET and HEAD.
pub fn require_safe(view: ViewFn) -> ViewFn {
    require_http_methods(&["GET", "HEAD"], view)
}

/// Django's `login_required`: an anonymous user is redirected (302) to the settings'
/// `login_url` with `?next=<the current path>`. The login URL goes through `resolve_url`: a
/// route name that does not reverse (and does not look like a URL) is `NoReverseMatch`, a
/// 500, as in Django.
pub fn login_required(view: ViewFn) -> ViewFn {
    login_required_impl(None, view)
}

/// Django's `login_required(login_url=...)`: as [`login_required`] with another login URL (a
/// path or a route name).
pub fn login_required_at(login_url: &'static str, view: ViewFn) -> ViewFn {
    login_required_impl(Some(login_url), view)
}

fn login_required_impl(login_url: Option<&'static str>, view: ViewFn) -> ViewFn {
    ViewFn::wraps(
        &view.clone(),
        move |request: &mut HttpRequest| -> ViewResult {
            if request.user().is_authenticated() {
                return view.call(request);
            }
            let target = login_url.unwrap_or(request.settings().login_url.as_str());
            let resolved = resolve_url(target)?;
            // Django resolves the URL again inside redirect_to_login; it is resolved already.
            login_redirect(&next_for(request, &resolved), &resolved)
        },
    )
}

/// Django's `user_passes_test`: `next` is the path alone when the login URL is on the same
/// scheme and host, the absolute URI otherwise.
pub(crate) fn next_for(request: &HttpRequest, login_url: &str) -> String {
    let Some((scheme, rest)) = login_url.split_once("://") else {
        return request.get_full_path();
    };
    let netloc = rest.split('/').next().unwrap_or("");
    match request.build_absolute_uri(None) {
        Ok(current) => {
            let same = current
                .split_once("://")
                .is_some_and(|(s, r)| s == scheme && r.split('/').next() == Some(netloc));
            if same {
                request.get_full_path()
            } else {
                current
            }
        }
        // The host is not allowed: fall back to the path, as the redirect stays safe.
        Err(_) => request.get_full_path(),
    }
}

/// Django's `redirect_to_login(next, login_url)`: `login_url` (a URL or a route name) goes
/// through `resolve_url`, and `next` is added to its query string, quoted with `/` kept. The
/// errors are those of `resolve_url` and `HttpResponseRedirect`.
pub fn redirect_to_login(next: &str, login_url: &str) -> ViewResult {
    login_redirect(next, &resolve_url(login_url)?)
}

/// The redirect to an already resolved `login_url` with `next` in its query string.
pub(crate) fn login_redirect(next: &str, login_url: &str) -> ViewResult {
    let sep = if login_url.contains('?') { '&' } else { '?' };
    let url = format!("{login_url}{sep}next={}", quote(next, "/"));
    HttpResponseRedirect::new(&url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contrib::auth::User;
    use crate::http::HttpResponse;
    use crate::settings::Settings;
    use crate::views::view;
    use std::sync::Arc;

    fn ok(_r: &mut HttpRequest) -> ViewResult {
        Ok(HttpResponse::new("ok"))
    }

    fn run(v: &ViewFn, method: &str, path: &str, query: &str, user: User) -> HttpResponse {
        let mut s = Settings::default();
        s.login_url = "/login/".into();
        let mut r = HttpRequest::new(method, path, query, Arc::new(s));
        r.set_user(user);
        v.call(&mut r).unwrap()
    }

    #[test]
    fn require_http_methods_answers_405_with_allow() {
        let v = require_http_methods(&["GET"], view(ok));
        assert_eq!(run(&v, "GET", "/", "", User::anonymous()).status_code, 200);
        for m in ["HEAD", "POST", "DELETE"] {
            let r = run(&v, m, "/", "", User::anonymous());
            assert_eq!((r.status_code, r.get("Allow")), (405, Some("GET")));
            assert!(r.content().is_empty());
        }
        let safe = require_safe(view(ok));
        assert_eq!(
            run(&safe, "HEAD", "/", "", User::anonymous()).status_code,
            200
        );
        let r = run(&safe, "PUT", "/", "", User::anonymous());
        assert_eq!(r.get("Allow"), Some("GET, HEAD"));
        assert_eq!(
            run(&require_POST(view(ok)), "GET", "/", "", User::anonymous()).status_code,
            405
        );
        assert_eq!(
            run(&require_GET(view(ok)), "GET", "/", "", User::anonymous()).status_code,
            200
        );
    }

    #[test]
    fn login_required_redirects_anonymous_users_with_next() {
        let v = login_required(view(ok));
        let r = run(&v, "GET", "/dashboard/", "", User::anonymous());
        assert_eq!(r.status_code, 302);
        assert_eq!(r.get("Location"), Some("/login/?next=/dashboard/"));
        let r = run(&v, "GET", "/d/", "a=1", User::anonymous());
        assert_eq!(r.get("Location"), Some("/login/?next=/d/%3Fa%3D1"));
        let r = run(
            &v,
            "GET",
            "/dashboard/",
            "",
            User::authenticated("alice", false),
        );
        assert_eq!(r.status_code, 200);
        let sso = login_required_at("https://sso.example.com/login/", view(ok));
        let mut s = Settings::default();
        s.allowed_hosts = vec!["app.example.com".into()];
        let mut r =
            HttpRequest::new("GET", "/d/", "", Arc::new(s)).with_header("Host", "app.example.com");
        let resp = sso.call(&mut r).unwrap();
        assert_eq!(
            resp.get("Location"),
            Some("https://sso.example.com/login/?next=http%3A//app.example.com/d/")
        );
        let at = login_required_at("/accounts/in/", view(ok));
        let r = run(&at, "GET", "/x/", "", User::anonymous());
        assert_eq!(r.get("Location"), Some("/accounts/in/?next=/x/"));
    }

    #[test]
    fn login_required_with_a_login_url_that_does_not_resolve_is_an_error() {
        // Django's resolve_url raises NoReverseMatch for a name that is neither a route nor a
        // URL; the user is not sent to `Location: nosuch?next=…`.
        let v = login_required_at("nosuch", view(ok));
        let mut r = HttpRequest::new("GET", "/x/", "", Arc::new(Settings::default()));
        let e = v.call(&mut r).unwrap_err();
        assert_eq!(e.status_code(), 500);
        assert_eq!(e.kind(), "NoReverseMatchOutsideRequest");
        let mut s = Settings::default();
        s.login_url = "nosuch".into();
        let mut r = HttpRequest::new("GET", "/x/", "", Arc::new(s));
        assert!(login_required(view(ok)).call(&mut r).is_err());
        // A signed-in user never needs the login URL.
        r.set_user(User::authenticated("alice", false));
        assert_eq!(
            login_required(view(ok)).call(&mut r).unwrap().status_code,
            200
        );
        let e = redirect_to_login("/x/", "javascript:alert(document.domain)").unwrap_err();
        assert!(matches!(
            e,
            crate::exception::ViewError::DisallowedRedirect(_)
        ));
    }
}
