//! The request/response cycle (Django's `core/handlers/base.py` `BaseHandler` and
//! `core/handlers/exception.py`): the middleware chain built once, `get_response`,
//! `_get_response` (resolve, `process_view`, the view, `process_exception`), and
//! `convert_exception_to_response` / `response_for_exception` around every layer.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use crate::exception::{ErrorHandler, ViewError};
use crate::http::{HttpRequest, HttpResponse};
use crate::middleware::{Middleware, Next};
use crate::settings::Settings;
use crate::urls::{PathValue, UrlResolver};
use crate::views::{debug, ViewFn};

/// The app's error views (Django's `handler400`, `handler403`, `handler404`, `handler500`).
#[derive(Clone)]
pub struct ErrorHandlers {
    /// `handler400`.
    pub bad_request: ErrorHandler,
    /// `handler403`.
    pub permission_denied: ErrorHandler,
    /// `handler404`.
    pub page_not_found: ErrorHandler,
    /// `handler500`.
    pub server_error: ErrorHandler,
}

impl Default for ErrorHandlers {
    fn default() -> Self {
        use crate::views::defaults;
        ErrorHandlers {
            bad_request: Arc::new(defaults::bad_request),
            permission_denied: Arc::new(defaults::permission_denied),
            page_not_found: Arc::new(defaults::page_not_found),
            server_error: Arc::new(defaults::server_error),
        }
    }
}

/// Django's `BaseHandler` with its middleware loaded: built once at start-up, shared by every
/// worker thread.
pub struct Handler {
    settings: Arc<Settings>,
    resolver: Arc<UrlResolver<ViewFn>>,
    chain: Vec<Arc<dyn Middleware>>,
    handlers: ErrorHandlers,
}

thread_local! {
    /// The URL conf of the request running on this thread, for `reverse` / `redirect` /
    /// `is_valid_path` (Django reads the thread's urlconf the same way).
    static CURRENT_RESOLVER: RefCell<Option<Arc<UrlResolver<ViewFn>>>> = const { RefCell::new(None) };
}

/// Restores the previous thread's resolver when the cycle ends, even by unwinding.
struct ResolverGuard {
    previous: Option<Arc<UrlResolver<ViewFn>>>,
}

impl Drop for ResolverGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT_RESOLVER.with(|c| *c.borrow_mut() = previous);
    }
}

fn with_current_resolver<T>(f: impl FnOnce(Option<&UrlResolver<ViewFn>>) -> T) -> T {
    CURRENT_RESOLVER.with(|c| f(c.borrow().as_deref()))
}

/// Django's `is_valid_path`: does `path` resolve in the current URL conf?
pub fn is_valid_path(path: &str) -> bool {
    with_current_resolver(|r| r.is_some_and(|r| r.resolve(path).is_ok()))
}

/// Django's `reverse(viewname, args, kwargs)` against the URL conf of the running request.
pub fn reverse(
    name: &str,
    args: &[PathValue],
    kwargs: &[(&str, PathValue)],
) -> Result<String, ViewError> {
    with_current_resolver(|r| match r {
        Some(r) => r.reverse(name, args, kwargs).map_err(ViewError::from),
        None => Err(ViewError::from(NoReverseMatchOutsideRequest(
            name.to_string(),
        ))),
    })
}

#[derive(Debug)]
struct NoReverseMatchOutsideRequest(String);

impl std::fmt::Display for NoReverseMatchOutsideRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Reverse for '{}' called outside a request cycle", self.0)
    }
}

impl std::error::Error for NoReverseMatchOutsideRequest {}

impl Handler {
    /// Builds the handler: the chain of middleware (outermost first) around the URL conf.
    pub fn new(
        settings: Arc<Settings>,
        resolver: UrlResolver<ViewFn>,
        chain: Vec<Arc<dyn Middleware>>,
        handlers: ErrorHandlers,
    ) -> Self {
        Handler {
            settings,
            resolver: Arc::new(resolver),
            chain,
            handlers,
        }
    }

    /// The settings.
    pub fn settings(&self) -> &Arc<Settings> {
        &self.settings
    }

    /// The URL conf.
    pub fn resolver(&self) -> &UrlResolver<ViewFn> {
        &self.resolver
    }

    /// Django's `get_response`: runs the whole chain and returns the response; a 4xx or 5xx
    /// not yet logged is logged (Django's `log_response`).
    pub fn get_response(&self, request: &mut HttpRequest) -> HttpResponse {
        let previous = CURRENT_RESOLVER.with(|c| c.replace(Some(Arc::clone(&self.resolver))));
        let _guard = ResolverGuard { previous };
        let response = self.run_layer(0, request);
        if response.status_code >= 400 && !response.logged {
            log_response(request, &response);
        }
        response
    }

    /// One layer of the onion, wrapped in `convert_exception_to_response`: middleware `index`,
    /// or `_get_response` below the last one.
    pub(crate) fn run_layer(&self, index: usize, request: &mut HttpRequest) -> HttpResponse {
        let result = catch_unwind(AssertUnwindSafe(|| match self.chain.get(index) {
            Some(mw) => mw.call(
                request,
                Next {
                    handler: self,
                    index: index + 1,
                },
            ),
            None => self.inner_get_response(request),
        }));
        let outcome = result.unwrap_or_else(|payload| Err(ViewError::from_panic(payload)));
        match outcome {
            Ok(r) => r,
            Err(e) => self.response_for_exception(request, &e),
        }
    }

    /// Django's `_get_response`: resolve, `process_view` in order, the view, and on error
    /// `process_exception` in reverse order.
    fn inner_get_response(&self, request: &mut HttpRequest) -> Result<HttpResponse, ViewError> {
        let matched = match self.resolver.resolve(&request.path_info) {
            Ok(m) => m,
            Err(r404) => {
                let message = format!("No route matches the path '{}'", r404.path);
                request.resolver404 = Some(r404);
                return Err(ViewError::Http404(message));
            }
        };
        let view = matched.func.clone();
        request.resolver_match = Some(matched);

        for mw in &self.chain {
            if let Some(response) = mw.process_view(request, &view)? {
                return Ok(response);
            }
        }
        let result = catch_unwind(AssertUnwindSafe(|| view.call(request)))
            .unwrap_or_else(|payload| Err(ViewError::from_panic(payload)));
        match result {
            Ok(r) => Ok(r),
            Err(e) => {
                for mw in self.chain.iter().rev() {
                    if let Some(response) = mw.process_exception(request, &e) {
                        return Ok(response);
                    }
                }
                Err(e)
            }
        }
    }

    /// Django's `response_for_exception`: 404, 403, 400 through the app's handlers (the
    /// technical 404 in debug), anything else logged and answered by `handler500` (the
    /// technical 500 in debug).
    pub fn response_for_exception(
        &self,
        request: &mut HttpRequest,
        error: &ViewError,
    ) -> HttpResponse {
        let debug = self.settings.debug;
        let mut response = match error {
            ViewError::Http404(_) if debug => debug::technical_404_response(request, error),
            ViewError::Http404(_) => {
                self.call_handler(&self.handlers.page_not_found, request, error)
            }
            ViewError::PermissionDenied(_) => {
                self.call_handler(&self.handlers.permission_denied, request, error)
            }
            ViewError::BadRequest(_) => {
                self.call_handler(&self.handlers.bad_request, request, error)
            }
            ViewError::SuspiciousOperation(_) | ViewError::DisallowedHost(_) => {
                // Django logs these under django.security and, in DEBUG, shows the technical
                // page with status 400.
                log::error!(target: "django.security", "{error}");
                if debug {
                    debug::technical_500_response(request, error, 400)
                } else {
                    self.call_handler(&self.handlers.bad_request, request, error)
                }
            }
            ViewError::Other(_) => {
                log::error!(
                    target: "django.request",
                    "Internal Server Error: {}\n{}{}",
                    request.path,
                    error,
                    error
                        .sources()
                        .iter()
                        .map(|s| format!("\ncaused by: {s}"))
                        .collect::<String>()
                );
                if debug {
                    debug::technical_500_response(request, error, 500)
                } else {
                    self.call_handler(&self.handlers.server_error, request, error)
                }
            }
        };
        if !matches!(error, ViewError::Other(_)) {
            log_response(request, &response);
        }
        response.logged = true;
        response
    }

    /// Runs an error handler; one that panics falls back to a bare 500 (Django would let the
    /// exception reach the server).
    fn call_handler(
        &self,
        handler: &ErrorHandler,
        request: &mut HttpRequest,
        error: &ViewError,
    ) -> HttpResponse {
        catch_unwind(AssertUnwindSafe(|| handler(request, error))).unwrap_or_else(|_| {
            log::error!(target: "django.request", "error handler panicked for {}", request.path);
            HttpResponse::with_status(500, "<h1>Server Error (500)</h1>")
        })
    }
}

/// Django's `log_response`: 4xx as warnings, 5xx as errors, `<reason>: <path>`.
fn log_response(request: &HttpRequest, response: &HttpResponse) {
    if response.status_code >= 500 {
        log::error!(target: "django.request", "{}: {}", response.reason_phrase(), request.path);
    } else if response.status_code >= 400 {
        log::warn!(target: "django.request", "{}: {}", response.reason_phrase(), request.path);
    }
}
