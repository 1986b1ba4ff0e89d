//! Class-based views (Django's `views/generic/base.py` `View`): per-method handlers,
//! `dispatch`, `http_method_not_allowed`, `options`, and HEAD falling back to GET.

use std::sync::Arc;

use super::{ViewFn, ViewResult};
use crate::http::{HttpRequest, HttpResponse, HttpResponseNotAllowed};

/// The methods a class-based view can handle, in Django's `http_method_names` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `get`
    Get,
    /// `post`
    Post,
    /// `put`
    Put,
    /// `patch`
    Patch,
    /// `delete`
    Delete,
    /// `head`
    Head,
    /// `options`
    Options,
    /// `trace`
    Trace,
}

impl Method {
    /// Django's `http_method_names`, in order.
    pub const ALL: [Method; 8] = [
        Method::Get,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
        Method::Head,
        Method::Options,
        Method::Trace,
    ];

    /// The upper-case token.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
            Method::Trace => "TRACE",
        }
    }

    /// The method named by a request's token, in any case (Django's dispatch looks up
    /// `request.method.lower()` in `http_method_names`; the request's method is already
    /// upper-cased, as `WSGIRequest` does).
    pub fn from_token(token: &str) -> Option<Method> {
        Method::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(token))
    }
}

/// A class-based view (Django's `View`). Implement the handlers you need and list them in
/// [`View::HANDLERS`] (Django's `hasattr(self, method)`); a method not listed answers 405 with
/// `Allow`. `OPTIONS` is always handled and HEAD falls back to GET, as in Django.
///
/// ```
/// use handler_core::prelude::*;
///
/// struct ArticleList;
/// impl View for ArticleList {
///     const HANDLERS: &'static [Method] = &[Method::Get, Method::Post];
///     fn get(&self, _request: &mut HttpRequest) -> ViewResult {
///         Ok(HttpResponse::new("list"))
///     }
///     fn post(&self, _request: &mut HttpRequest) -> ViewResult {
///         Ok(HttpResponse::with_status(201, "created"))
///     }
/// }
/// let handle: ViewFn = ArticleList.as_view();
/// # let _ = handle;
/// ```
pub trait View: Send + Sync + Sized + 'static {
    /// The handlers this view implements (Django's `hasattr(self, m)` for
    /// `http_method_names`). `Options` need not be listed: every view has `options`.
    const HANDLERS: &'static [Method];

    /// Handles GET.
    fn get(&self, request: &mut HttpRequest) -> ViewResult {
        self.http_method_not_allowed(request)
    }
    /// Handles POST.
    fn post(&self, request: &mut HttpRequest) -> ViewResult {
        self.http_method_not_allowed(request)
    }
    /// Handles PUT.
    fn put(&self, request: &mut HttpRequest) -> ViewResult {
        self.http_method_not_allowed(request)
    }
    /// Handles PATCH.
    fn patch(&self, request: &mut HttpRequest) -> ViewResult {
        self.http_method_not_allowed(request)
    }
    /// Handles DELETE.
    fn delete(&self, request: &mut HttpRequest) -> ViewResult {
        self.http_method_not_allowed(request)
    }
    /// Handles HEAD; by default (Django's `setup`) the GET handler when there is one.
    fn head(&self, request: &mut HttpRequest) -> ViewResult {
        if Self::HANDLERS.contains(&Method::Get) {
            self.get(request)
        } else {
            self.http_method_not_allowed(request)
        }
    }
    /// Handles TRACE.
    fn trace(&self, request: &mut HttpRequest) -> ViewResult {
        self.http_method_not_allowed(request)
    }

    /// Django's `View.options`: 200, `Allow`, `Content-Length: 0`.
    fn options(&self, _request: &mut HttpRequest) -> ViewResult {
        Ok(HttpResponse::new(Vec::new())
            .header("Allow", allowed_methods::<Self>().join(", "))
            .header("Content-Length", "0"))
    }

    /// Django's `http_method_not_allowed`: answers 405 with `Allow`, logged as a warning
    /// `Method Not Allowed (<method>): <path>`. Django 5's `View` logs that with
    /// `logger.warning` and `get_response` then logs the 405 again (`Method Not Allowed:
    /// <path>`); here it goes through `log_response`, as `require_http_methods` does, so it is
    /// logged once.
    fn http_method_not_allowed(&self, request: &mut HttpRequest) -> ViewResult {
        let mut response = HttpResponseNotAllowed::new(&allowed_methods::<Self>());
        super::decorators::log_method_not_allowed(request, &mut response);
        Ok(response)
    }

    /// Django's `dispatch`: the handler for the request's method, or
    /// `http_method_not_allowed`.
    fn dispatch(&self, request: &mut HttpRequest) -> ViewResult {
        let method = Method::from_token(&request.method);
        match method {
            Some(m) if is_allowed::<Self>(m) => match m {
                Method::Get => self.get(request),
                Method::Post => self.post(request),
                Method::Put => self.put(request),
                Method::Patch => self.patch(request),
                Method::Delete => self.delete(request),
                Method::Head => self.head(request),
                Method::Options => self.options(request),
                Method::Trace => self.trace(request),
            },
            _ => self.http_method_not_allowed(request),
        }
    }

    /// Django's `as_view()`: the view handle for the URL conf.
    #[allow(clippy::wrong_self_convention)]
    fn as_view(self) -> ViewFn {
        let this = Arc::new(self);
        ViewFn::new(std::any::type_name::<Self>(), move |request| {
            this.dispatch(request)
        })
    }
}

fn is_allowed<V: View>(m: Method) -> bool {
    match m {
        Method::Options => true,
        Method::Head => V::HANDLERS.contains(&Method::Head) || V::HANDLERS.contains(&Method::Get),
        other => V::HANDLERS.contains(&other),
    }
}

/// Django's `_allowed_methods()`: the upper-cased names of the handlers present, in
/// `http_method_names` order (HEAD present when GET is, OPTIONS always).
pub fn allowed_methods<V: View>() -> Vec<&'static str> {
    Method::ALL
        .into_iter()
        .filter(|m| is_allowed::<V>(*m))
        .map(Method::as_str)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;

    struct Detail;
    impl View for Detail {
        const HANDLERS: &'static [Method] = &[Method::Get, Method::Put, Method::Delete];
        fn get(&self, _r: &mut HttpRequest) -> ViewResult {
            Ok(HttpResponse::new("detail").header("X-Handler", "get"))
        }
        fn put(&self, _r: &mut HttpRequest) -> ViewResult {
            Ok(HttpResponse::new("put"))
        }
        fn delete(&self, _r: &mut HttpRequest) -> ViewResult {
            Ok(HttpResponse::with_status(204, Vec::new()))
        }
    }

    struct PostOnly;
    impl View for PostOnly {
        const HANDLERS: &'static [Method] = &[Method::Post];
        fn post(&self, _r: &mut HttpRequest) -> ViewResult {
            Ok(HttpResponse::new("p"))
        }
    }

    fn call(v: &ViewFn, method: &str) -> HttpResponse {
        let mut r = HttpRequest::new(method, "/x/", "", Arc::new(Settings::default()));
        v.call(&mut r).unwrap()
    }

    #[test]
    fn not_allowed_lists_methods_in_django_order() {
        let v = Detail.as_view();
        let r = call(&v, "POST");
        assert_eq!(r.status_code, 405);
        assert_eq!(r.get("Allow"), Some("GET, PUT, DELETE, HEAD, OPTIONS"));
        assert!(r.content().is_empty());
        let r = call(&PostOnly.as_view(), "GET");
        assert_eq!(r.get("Allow"), Some("POST, OPTIONS"));
        assert_eq!(call(&PostOnly.as_view(), "HEAD").status_code, 405);
        assert_eq!(call(&v, "BREW").status_code, 405);
        // Django upper-cases the method first: `get` on the wire is a GET.
        let r = call(&v, "get");
        assert_eq!((r.status_code, r.get("X-Handler")), (200, Some("get")));
        assert_eq!(call(&v, "delete").status_code, 204);
        assert_eq!(Method::from_token("options"), Some(Method::Options));
        assert_eq!(Method::from_token("BREW"), None);
    }

    #[test]
    fn options_and_head() {
        let v = Detail.as_view();
        let r = call(&v, "OPTIONS");
        assert_eq!(r.status_code, 200);
        assert_eq!(r.get("Allow"), Some("GET, PUT, DELETE, HEAD, OPTIONS"));
        assert_eq!(r.get("Content-Length"), Some("0"));
        let r = call(&v, "HEAD");
        assert_eq!(r.status_code, 200);
        assert_eq!(r.get("X-Handler"), Some("get"));
        assert_eq!(call(&v, "DELETE").status_code, 204);
        assert!(v.name().ends_with("Detail"));
    }
}
