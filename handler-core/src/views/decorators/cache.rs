//! Django's `views/decorators/cache.py` and `vary.py`: [`cache_page`] (the cache middleware
//! around one view, [`CachePage`] for its `cache` and `key_prefix` arguments),
//! [`vary_on_headers`] and [`vary_on_cookie`].

use crate::cache::Timeout;
use crate::http::HttpRequest;
use crate::middleware::cache::CacheMiddleware;
use crate::middleware::Middleware;
use crate::utils::cache::patch_vary_headers;
use crate::views::{ViewFn, ViewResult};

/// Django's `cache_page(timeout, cache=..., key_prefix=...)` as a value:
/// `CachePage::new(60).cache("default").key_prefix("site").wrap(view)`.
#[derive(Debug, Clone)]
pub struct CachePage {
    timeout: Timeout,
    cache: Option<String>,
    key_prefix: Option<String>,
}

impl CachePage {
    /// Pages kept `timeout` seconds (`0`: not stored; `Timeout::Never`: until evicted;
    /// `Timeout::Default`: Django's `cache_page(None)`, the response's `max-age`, else
    /// `cache_middleware_seconds`).
    pub fn new(timeout: impl Into<Timeout>) -> Self {
        CachePage {
            timeout: timeout.into(),
            cache: None,
            key_prefix: None,
        }
    }

    /// Django's `cache=`: the alias of the cache the pages go to (`default` without it).
    pub fn cache(mut self, alias: &str) -> Self {
        self.cache = Some(alias.to_string());
        self
    }

    /// Django's `key_prefix=`.
    pub fn key_prefix(mut self, prefix: &str) -> Self {
        self.key_prefix = Some(prefix.to_string());
        self
    }

    /// `view` with its GET and HEAD answers served from the cache, as Django's
    /// `decorator_from_middleware_with_args(CacheMiddleware)` runs it: the fetch before the
    /// view, the update after (on the view's own response, before the outer middleware's
    /// `process_response`, so a `Vary: Cookie` that `sessions` adds later is not seen: Django's
    /// behaviour too).
    pub fn wrap(self, view: ViewFn) -> ViewFn {
        ViewFn::wraps(
            &view.clone(),
            move |request: &mut HttpRequest| -> ViewResult {
                let middleware = CacheMiddleware::new(
                    request.settings(),
                    Some(self.timeout),
                    self.cache.as_deref(),
                    self.key_prefix.as_deref(),
                );
                if let Some(response) = middleware.process_request(request)? {
                    return Ok(response);
                }
                let response = view.call(request)?;
                middleware.process_response(request, response)
            },
        )
    }
}

/// Django's `cache_page(timeout)`: `view`'s pages kept `timeout` seconds in the default cache.
pub fn cache_page(timeout: impl Into<Timeout>, view: ViewFn) -> ViewFn {
    CachePage::new(timeout).wrap(view)
}

/// Django's `vary_on_headers(*headers)`: each added to the response's `Vary`.
pub fn vary_on_headers(headers: &'static [&'static str], view: ViewFn) -> ViewFn {
    ViewFn::wraps(
        &view.clone(),
        move |request: &mut HttpRequest| -> ViewResult {
            let mut response = view.call(request)?;
            patch_vary_headers(&mut response, headers);
            Ok(response)
        },
    )
}

/// Django's `vary_on_cookie`: `Vary: Cookie`.
pub fn vary_on_cookie(view: ViewFn) -> ViewFn {
    vary_on_headers(&["Cookie"], view)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::caches;
    use crate::http::HttpResponse;
    use crate::settings::Settings;
    use crate::views::view;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Settings whose `default` cache is the locmem one every test configuration has (the
    /// process's caches are global, and other tests configure them too).
    fn settings() -> Arc<Settings> {
        let mut s = Settings::default();
        s.allowed_hosts = vec!["testserver".into()];
        Arc::new(s)
    }

    fn get(
        v: &ViewFn,
        s: &Arc<Settings>,
        method: &str,
        path: &str,
        cookie: Option<&str>,
    ) -> HttpResponse {
        let mut r = HttpRequest::new(method, path, "", Arc::clone(s));
        r.headers.append("Host", "testserver");
        if let Some(c) = cookie {
            r.headers.append("Cookie", c);
        }
        v.call(&mut r).unwrap()
    }

    static CALLS: AtomicUsize = AtomicUsize::new(0);

    fn counted(_: &mut HttpRequest) -> ViewResult {
        let n = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(HttpResponse::new(format!("call {n}")))
    }

    #[test]
    fn cache_page_serves_gets_from_the_cache_and_follows_djangos_rules() {
        let s = settings();
        let pages = caches("default").unwrap();
        let v = CachePage::new(60)
            .cache("default")
            .key_prefix("t")
            .wrap(view(counted));
        let first = get(&v, &s, "GET", "/dec-cached/", None);
        assert_eq!(first.get("Cache-Control"), Some("max-age=60"));
        assert!(first.has_header("Expires"));
        let again = get(&v, &s, "GET", "/dec-cached/", None);
        assert_eq!(again.content(), first.content(), "served from the cache");
        assert_eq!(again.get("Cache-Control"), Some("max-age=60"));
        // HEAD finds the GET page; POST is never cached; another URL is another page.
        assert_eq!(
            get(&v, &s, "HEAD", "/dec-cached/", None).content(),
            first.content()
        );
        assert_ne!(
            get(&v, &s, "POST", "/dec-cached/", None).content(),
            first.content()
        );
        assert_ne!(
            get(&v, &s, "GET", "/other/", None).content(),
            first.content()
        );
        // A page gone from the cache is rebuilt.
        let mut req = HttpRequest::new("GET", "/dec-cached/", "", Arc::clone(&s));
        req.headers.append("Host", "testserver");
        let key = crate::utils::cache::get_cache_key(&req, "t", "GET", &pages)
            .unwrap()
            .unwrap();
        assert!(pages.delete(&key).unwrap());
        assert_ne!(
            get(&v, &s, "GET", "/dec-cached/", None).content(),
            first.content()
        );

        // Not stored: non-200, private, max-age=0 (never_cache), a cookie set for a
        // cookie-less request that varies on Cookie.
        let not_found = CachePage::new(60)
            .cache("default")
            .wrap(view(|_: &mut HttpRequest| {
                let n = CALLS.fetch_add(1, Ordering::SeqCst);
                Ok(HttpResponse::with_status(404, n.to_string()))
            }));
        let private = CachePage::new(60)
            .cache("default")
            .wrap(view(|_: &mut HttpRequest| {
                let n = CALLS.fetch_add(1, Ordering::SeqCst);
                Ok(HttpResponse::new(n.to_string()).header("Cache-Control", "private"))
            }));
        let cookie = CachePage::new(60)
            .cache("default")
            .wrap(view(|_: &mut HttpRequest| {
                let n = CALLS.fetch_add(1, Ordering::SeqCst);
                Ok(HttpResponse::new(n.to_string())
                    .header("Set-Cookie", "a=b")
                    .header("Vary", "Cookie"))
            }));
        for (v, path) in [
            (&not_found, "/404/"),
            (&private, "/private/"),
            (&cookie, "/cookie/"),
        ] {
            let a = get(v, &s, "GET", path, None);
            let b = get(v, &s, "GET", path, None);
            assert_ne!(a.content(), b.content(), "{path} is not cached");
        }
        // Django 5.2.19: not even for a request with cookies.
        let a = get(&cookie, &s, "GET", "/cookie/", Some("x=1"));
        assert_ne!(
            get(&cookie, &s, "GET", "/cookie/", Some("x=1")).content(),
            a.content()
        );
        // A page served from the cache says how old it is.
        let age = get(&v, &s, "GET", "/dec-cached/", None);
        let age: i64 = age.get("Age").and_then(|a| a.parse().ok()).unwrap();
        assert!((0..=1).contains(&age), "{age}");
        // Nor no-cache, no-store or Vary: *.
        for (name, value) in [
            ("Cache-Control", "No-Cache"),
            ("Cache-Control", "no-store"),
            ("Vary", "*"),
        ] {
            let page = CachePage::new(60).wrap(view(move |_: &mut HttpRequest| {
                let n = CALLS.fetch_add(1, Ordering::SeqCst);
                Ok(HttpResponse::new(n.to_string()).header(name, value))
            }));
            let path = format!("/dec-{}/", value.to_ascii_lowercase());
            let a = get(&page, &s, "GET", &path, None);
            assert_ne!(
                get(&page, &s, "GET", &path, None).content(),
                a.content(),
                "{value}"
            );
        }
        let never = CachePage::new(60)
            .cache("default")
            .wrap(crate::views::decorators::never_cache(view(counted)));
        let a = get(&never, &s, "GET", "/never/", None);
        assert_ne!(
            get(&never, &s, "GET", "/never/", None).content(),
            a.content()
        );
        // A timeout of 0 stores nothing.
        let zero = CachePage::new(0).cache("default").wrap(view(counted));
        let a = get(&zero, &s, "GET", "/zero/", None);
        assert_ne!(get(&zero, &s, "GET", "/zero/", None).content(), a.content());
    }

    #[test]
    fn a_request_with_credentials_gets_a_page_varying_on_them() {
        let s = settings();
        let v = cache_page(60, view(counted));
        let mut r = HttpRequest::new("GET", "/dec-auth/", "", Arc::clone(&s));
        r.headers.append("Host", "testserver");
        r.headers.append("Authorization", "Basic YTpi");
        let first = v.call(&mut r).unwrap();
        assert_eq!(first.get("Vary"), Some("Authorization"));
        // Without credentials, the stored page (which varies on them) is not the one served.
        let other = get(&v, &s, "GET", "/dec-auth/", None);
        assert_ne!(other.content(), first.content());
    }

    #[test]
    fn vary_decorators_patch_vary() {
        let s = settings();
        let v = vary_on_cookie(vary_on_headers(
            &["Accept-Language", "cookie"],
            view(counted),
        ));
        let r = get(&v, &s, "GET", "/", None);
        assert_eq!(r.get("Vary"), Some("Accept-Language, cookie"));
        let v = vary_on_cookie(view(counted));
        assert_eq!(get(&v, &s, "GET", "/", None).get("Vary"), Some("Cookie"));
    }
}
