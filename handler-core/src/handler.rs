//! The request/response cycle (Django's `core/handlers/base.py` `BaseHandler` and
//! `core/handlers/exception.py`): the middleware chain built once, `get_response`,
//! `_get_response` (resolve, `process_view`, the view, `process_exception`), and
//! `convert_exception_to_response` / `response_for_exception` around every layer.

use std::cell::RefCell;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use crate::exception::{ErrorHandler, ViewError};
use crate::http::encoding::unicode_escape;
use crate::http::{Extensions, HttpRequest, HttpResponse, HttpResponseServerError};
use crate::middleware::{Middleware, Next};
use crate::settings::Settings;
use crate::urls::{PathValue, UrlResolver};
use crate::views::{debug, ViewFn, ViewResult};

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
    /// The app's typed registry (opaque here: the stores contrib registered, for the test
    /// client's `force_login`).
    extensions: Extensions,
    /// Django's `connections`: opened per thread at first use, closed by
    /// `close_old_connections` when a request starts and ends.
    databases: Arc<crate::db::Databases>,
    /// The aliases with `atomic_requests`: each view runs in a transaction on them (Django's
    /// `make_view_atomic`). Empty for most apps: one length check per request.
    atomic_requests: Box<[Arc<str>]>,
    /// `text/html; charset=<default_charset>` when that is not utf-8 (Django builds the default
    /// Content-Type from DEFAULT_CHARSET); `None` keeps the hot path free of rewriting.
    default_content_type: Option<String>,
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
        let charset = settings.default_charset.trim();
        let default_content_type = (!charset.eq_ignore_ascii_case("utf-8"))
            .then(|| format!("text/html; charset={charset}"));
        let databases = Arc::clone(settings.connections());
        let atomic_requests = databases.atomic_request_aliases().into_boxed_slice();
        Handler {
            databases,
            atomic_requests,
            settings,
            resolver: Arc::new(resolver),
            chain,
            handlers,
            extensions: Extensions::default(),
            default_content_type,
        }
    }

    /// Keeps the app's typed registry ([`App::extension`](crate::App::extension)).
    pub(crate) fn set_extensions(&mut self, extensions: Extensions) {
        self.extensions = extensions;
    }

    /// The app's typed registry: a value the app (or contrib for it) registered, by type.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// The databases (Django's `connections`).
    pub fn databases(&self) -> &Arc<crate::db::Databases> {
        &self.databases
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
    /// not yet logged is logged (Django's `log_response`, `<reason>: <path>`).
    pub fn get_response(&self, request: &mut HttpRequest) -> HttpResponse {
        let previous = CURRENT_RESOLVER.with(|c| c.replace(Some(Arc::clone(&self.resolver))));
        let _guard = ResolverGuard { previous };
        // Django's request_started / request_finished signals: the thread's connections are
        // checked at both ends of the request (nothing to do on a thread that never queried).
        let _databases = self.databases.activate();
        crate::db::close_old_connections();
        // Every layer converts its errors, but the conversion can fail in turn (an error whose
        // `Display` panics, a broken debug page): in Django that exception reaches the WSGI
        // server, which answers a bare 500. So does this, rather than unwinding to the ABI.
        let mut response = catch_unwind(AssertUnwindSafe(|| self.run_layer(0, request)))
            .unwrap_or_else(|payload| {
                let failure = ViewError::from_panic(payload);
                log_failure(&origin(request), "the error response failed", &failure);
                plain_server_error()
            });
        if let Some(ct) = &self.default_content_type {
            if response.get("Content-Type") == Some(crate::http::response::DEFAULT_CONTENT_TYPE) {
                response.headers.set("Content-Type", ct.as_str());
                response.charset = self.settings.default_charset.clone().into();
            }
        }
        if response.status_code >= 400 && !response.logged {
            let reason = response.reason_phrase().to_owned();
            log_response(
                &mut response,
                REQUEST_LOGGER,
                None,
                format_args!("{reason}: {}", unicode_escape(&request.path)),
            );
        }
        crate::db::close_old_connections();
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
        if let Some(message) = request.body_error.take() {
            return Err(ViewError::SuspiciousOperation(message));
        }
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
        let result = catch_unwind(AssertUnwindSafe(|| self.call_view(0, &view, request)))
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

    /// The view, inside a transaction on each `atomic_requests` database from `index` on
    /// (Django's `make_view_atomic`): an `Err` or a panic rolls the view's writes back.
    fn call_view(&self, index: usize, view: &ViewFn, request: &mut HttpRequest) -> ViewResult {
        match self.atomic_requests.get(index) {
            None => view.call(request),
            Some(alias) => self
                .databases
                .connection(alias)?
                .atomic(|| self.call_view(index + 1, view, request)),
        }
    }

    /// Django's `response_for_exception`, branch by branch:
    /// - `Http404`: the technical 404 page in debug, else `handler404`; not logged here but by
    ///   `get_response` (so a 404 that `common` turns into an APPEND_SLASH redirect on the way
    ///   out is not reported as "Not Found").
    /// - `PermissionDenied`: `handler403`, logged `Forbidden (Permission denied): <path>`.
    /// - `MultiPartParserError`: `handler400` (in debug too), logged `Bad request (Unable to
    ///   parse request body): <path>`.
    /// - `BadRequest`: the technical page with status 400 in debug, else `handler400`, logged
    ///   `<message>: <path>`.
    /// - `SuspiciousOperation` and its subclasses: the same pages, logged once as an error
    ///   under `django.security.<kind>` with the error's message.
    /// - anything else: `handle_uncaught_exception` (the technical 500 in debug, else
    ///   `handler500`), logged `Internal Server Error: <path>` followed by the request line
    ///   and the error with its causes (Django logs the traceback there).
    ///
    /// Each is logged once: the response is marked, and `get_response` does not log it again.
    pub fn response_for_exception(
        &self,
        request: &mut HttpRequest,
        error: &ViewError,
    ) -> HttpResponse {
        let debug = self.settings.debug;
        match error {
            ViewError::Http404(_) => {
                if debug {
                    debug::technical_404_response(request, error)
                } else {
                    self.get_exception_response(&self.handlers.page_not_found, request, error)
                }
            }
            ViewError::PermissionDenied(_) => {
                let mut response =
                    self.get_exception_response(&self.handlers.permission_denied, request, error);
                log_response(
                    &mut response,
                    REQUEST_LOGGER,
                    None,
                    format_args!(
                        "Forbidden (Permission denied): {}",
                        unicode_escape(&request.path)
                    ),
                );
                response
            }
            ViewError::MultiPartParserError(_) => {
                let mut response =
                    self.get_exception_response(&self.handlers.bad_request, request, error);
                log_response(
                    &mut response,
                    REQUEST_LOGGER,
                    None,
                    format_args!(
                        "Bad request (Unable to parse request body): {}",
                        unicode_escape(&request.path)
                    ),
                );
                response
            }
            ViewError::BadRequest(message) => {
                let mut response = if debug {
                    debug::technical_500_response(request, error, 400)
                } else {
                    self.get_exception_response(&self.handlers.bad_request, request, error)
                };
                log_response(
                    &mut response,
                    REQUEST_LOGGER,
                    None,
                    format_args!(
                        "{}: {}",
                        unicode_escape(message),
                        unicode_escape(&request.path)
                    ),
                );
                response
            }
            ViewError::SuspiciousOperation(message)
            | ViewError::DisallowedHost(message)
            | ViewError::DisallowedRedirect(message) => {
                let mut response = if debug {
                    debug::technical_500_response(request, error, 400)
                } else {
                    self.get_exception_response(&self.handlers.bad_request, request, error)
                };
                let security_logger = format!("django.security.{}", error.kind());
                log_response(
                    &mut response,
                    &security_logger,
                    Some(log::Level::Error),
                    format_args!("{message}"),
                );
                response
            }
            ViewError::Other(_) => {
                let mut response = self.handle_uncaught_exception(request, error);
                let reason = response.reason_phrase().to_owned();
                log_response(
                    &mut response,
                    REQUEST_LOGGER,
                    None,
                    format_args!("{reason}: {}\n{}", origin(request), describe(error)),
                );
                response
            }
        }
    }

    /// Django's `get_exception_response`: the app's handler for the status. A handler that
    /// fails (panics) is an unhandled error of its own, answered by
    /// `handle_uncaught_exception`; Django only signals it, so it is logged here, or nothing
    /// would say why a 403 became a 500.
    fn get_exception_response(
        &self,
        handler: &ErrorHandler,
        request: &mut HttpRequest,
        error: &ViewError,
    ) -> HttpResponse {
        match catch_unwind(AssertUnwindSafe(|| handler(request, error))) {
            Ok(response) => response,
            Err(payload) => {
                let failure = ViewError::from_panic(payload);
                let what = format!("the handler for {} failed", error.kind());
                log_failure(&origin(request), &what, &failure);
                self.handle_uncaught_exception(request, &failure)
            }
        }
    }

    /// Django's `handle_uncaught_exception`: the technical 500 page in debug, else
    /// `handler500`. A `handler500` that fails itself would reach the WSGI server in Django,
    /// which answers a bare 500: so does this.
    fn handle_uncaught_exception(
        &self,
        request: &mut HttpRequest,
        error: &ViewError,
    ) -> HttpResponse {
        if self.settings.debug {
            return debug::technical_500_response(request, error, 500);
        }
        let handler = &self.handlers.server_error;
        match catch_unwind(AssertUnwindSafe(|| handler(request, error))) {
            Ok(response) => response,
            Err(payload) => {
                let failure = ViewError::from_panic(payload);
                log_failure(&origin(request), "handler500 failed", &failure);
                plain_server_error()
            }
        }
    }
}

/// Django's `request_logger`: the target 4xx and 5xx responses are logged under.
pub(crate) const REQUEST_LOGGER: &str = "django.request";

/// The bare 500 a WSGI server gives when the application itself failed to answer.
fn plain_server_error() -> HttpResponse {
    HttpResponseServerError::new("<h1>Server Error (500)</h1>")
}

/// The request line as a log shows it, e.g. `POST /boom/?x=1 HTTP/1.1` (the path quoted as
/// `get_full_path` does; escaped, so nothing from the client can start a line of its own).
fn request_line(request: &HttpRequest) -> String {
    let line = format!(
        "{} {} {}",
        request.method,
        request.get_full_path(),
        request.connection.protocol
    );
    unicode_escape(&line).into_owned()
}

/// The request as an error log line names it: the escaped path, then the request line, e.g.
/// `/boom/ (POST /boom/?x=1 HTTP/1.1)`.
pub(crate) fn origin(request: &HttpRequest) -> String {
    format!(
        "{} ({})",
        unicode_escape(&request.path),
        request_line(request)
    )
}

/// Logs that answering the request at `origin` failed beyond what the error path can turn
/// into a response (a failing error handler, a broken error page, a stream cut half-way):
/// Django's `Internal Server Error` line, with what failed and why.
pub(crate) fn log_failure(origin: &str, what: &str, failure: &ViewError) {
    log::error!(
        target: REQUEST_LOGGER,
        "Internal Server Error: {origin}: {what}\n{}",
        describe(failure)
    );
}

/// An error and its causes, one per line, as the log shows them (Django logs the traceback).
pub(crate) fn describe(error: &ViewError) -> String {
    let mut out = error.to_string();
    for cause in error.sources() {
        out.push_str("\ncaused by: ");
        out.push_str(&cause);
    }
    out
}

/// Django's `log_response`: logs `message` for `response` once (a response already logged is
/// skipped and then marked, as `_has_been_logged`), at `level`, or by status: 5xx as errors,
/// 4xx as warnings, anything else as info. Callers escape the request's values in the message
/// with `unicode_escape`, as Django escapes the arguments.
pub(crate) fn log_response(
    response: &mut HttpResponse,
    target: &str,
    level: Option<log::Level>,
    message: fmt::Arguments<'_>,
) {
    if response.logged {
        return;
    }
    let level = level.unwrap_or(match response.status_code {
        500.. => log::Level::Error,
        400..=499 => log::Level::Warn,
        _ => log::Level::Info,
    });
    log::log!(target: target, level, "{message}");
    response.logged = true;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::App;
    use crate::urls::path;
    use crate::views::{view, ViewResult};
    use std::sync::Mutex;

    type Trace = Arc<Mutex<Vec<String>>>;

    fn push(trace: &Trace, s: String) {
        trace.lock().unwrap().push(s);
    }

    /// Which hook of a `Hook` middleware answers instead of passing on.
    #[derive(Clone, Copy, Default)]
    struct Behaviour {
        answer_request: bool,
        answer_view: bool,
        answer_exception: bool,
        fail_request: bool,
        panic_request: bool,
        panic_response: bool,
    }

    struct Hook {
        name: &'static str,
        trace: Trace,
        behaviour: Behaviour,
    }

    impl Middleware for Hook {
        fn process_request(&self, _r: &mut HttpRequest) -> Result<Option<HttpResponse>, ViewError> {
            push(&self.trace, format!("{}.process_request", self.name));
            if self.behaviour.fail_request {
                return Err(ViewError::msg("request hook failed"));
            }
            if self.behaviour.panic_request {
                panic!("{}.process_request panicked", self.name);
            }
            Ok(self
                .behaviour
                .answer_request
                .then(|| HttpResponse::new(format!("from {}.process_request", self.name))))
        }
        fn process_view(
            &self,
            _r: &mut HttpRequest,
            _v: &ViewFn,
        ) -> Result<Option<HttpResponse>, ViewError> {
            push(&self.trace, format!("{}.process_view", self.name));
            Ok(self
                .behaviour
                .answer_view
                .then(|| HttpResponse::new(format!("from {}.process_view", self.name))))
        }
        fn process_exception(&self, _r: &mut HttpRequest, e: &ViewError) -> Option<HttpResponse> {
            push(&self.trace, format!("{}.process_exception", self.name));
            self.behaviour.answer_exception.then(|| {
                HttpResponse::with_status(503, format!("{} handled {}", self.name, e.message()))
            })
        }
        fn process_response(
            &self,
            _r: &mut HttpRequest,
            resp: HttpResponse,
        ) -> Result<HttpResponse, ViewError> {
            push(
                &self.trace,
                format!("{}.process_response {}", self.name, resp.status_code),
            );
            if self.behaviour.panic_response {
                panic!("{}.process_response panicked", self.name);
            }
            Ok(resp)
        }
    }

    /// The wrapper form: Django's `__call__` around `get_response`.
    struct Wrapper {
        name: &'static str,
        trace: Trace,
    }

    impl Middleware for Wrapper {
        fn call(
            &self,
            request: &mut HttpRequest,
            get_response: Next<'_>,
        ) -> Result<HttpResponse, ViewError> {
            push(&self.trace, format!("{}.before", self.name));
            let response = get_response.run(request);
            push(
                &self.trace,
                format!("{}.after {}", self.name, response.status_code),
            );
            Ok(response.header("X-Wrapped", self.name))
        }
    }

    enum ViewKind {
        Ok,
        Fails,
        Panics,
    }

    fn handler(
        trace: &Trace,
        layers: &[(&'static str, Option<Behaviour>)],
        kind: ViewKind,
        debug: bool,
    ) -> Handler {
        let t = Arc::clone(trace);
        let v = move |_r: &mut HttpRequest| -> ViewResult {
            push(&t, "view".to_string());
            match kind {
                ViewKind::Ok => Ok(HttpResponse::new("view")),
                ViewKind::Fails => Err(ViewError::msg("view failed")),
                ViewKind::Panics => panic!("view panicked"),
            }
        };
        let mut app = App::new(vec![path("x/", view(v))]);
        let mut settings = Settings::default();
        settings.debug = debug;
        for (name, behaviour) in layers {
            let t = Arc::clone(trace);
            let name: &'static str = name;
            settings.middleware.push(name.to_string());
            app = match behaviour {
                Some(b) => {
                    let b = *b;
                    app.middleware(name, move |_s: &Settings| {
                        Ok(Hook {
                            name,
                            trace: Arc::clone(&t),
                            behaviour: b,
                        })
                    })
                }
                None => app.middleware(name, move |_s: &Settings| {
                    Ok(Wrapper {
                        name,
                        trace: Arc::clone(&t),
                    })
                }),
            };
        }
        app.into_handler(settings).unwrap()
    }

    fn run(h: &Handler, path: &str) -> HttpResponse {
        let mut r = HttpRequest::new("GET", path, "", Arc::clone(h.settings()));
        h.get_response(&mut r)
    }

    fn taken(trace: &Trace) -> Vec<String> {
        std::mem::take(&mut *trace.lock().unwrap())
    }

    const PLAIN: Option<Behaviour> = Some(Behaviour {
        answer_request: false,
        answer_view: false,
        answer_exception: false,
        fail_request: false,
        panic_request: false,
        panic_response: false,
    });

    #[test]
    fn plain_request_through_three_middleware() {
        let trace = Trace::default();
        let h = handler(
            &trace,
            &[("a", PLAIN), ("b", PLAIN), ("c", PLAIN)],
            ViewKind::Ok,
            false,
        );
        let r = run(&h, "/x/");
        assert_eq!(r.status_code, 200);
        assert_eq!(
            taken(&trace),
            [
                "a.process_request",
                "b.process_request",
                "c.process_request",
                "a.process_view",
                "b.process_view",
                "c.process_view",
                "view",
                "c.process_response 200",
                "b.process_response 200",
                "a.process_response 200",
            ]
        );
    }

    #[test]
    fn process_request_short_circuit_in_the_second() {
        let trace = Trace::default();
        let b = Some(Behaviour {
            answer_request: true,
            ..Behaviour::default()
        });
        let h = handler(
            &trace,
            &[("a", PLAIN), ("b", b), ("c", PLAIN)],
            ViewKind::Ok,
            false,
        );
        let r = run(&h, "/x/");
        assert_eq!(r.content(), b"from b.process_request");
        assert_eq!(
            taken(&trace),
            [
                "a.process_request",
                "b.process_request",
                "b.process_response 200",
                "a.process_response 200",
            ]
        );
    }

    #[test]
    fn process_view_short_circuit() {
        let trace = Trace::default();
        let b = Some(Behaviour {
            answer_view: true,
            ..Behaviour::default()
        });
        let h = handler(
            &trace,
            &[("a", PLAIN), ("b", b), ("c", PLAIN)],
            ViewKind::Ok,
            false,
        );
        let r = run(&h, "/x/");
        assert_eq!(r.content(), b"from b.process_view");
        assert_eq!(
            taken(&trace),
            [
                "a.process_request",
                "b.process_request",
                "c.process_request",
                "a.process_view",
                "b.process_view",
                "c.process_response 200",
                "b.process_response 200",
                "a.process_response 200",
            ]
        );
    }

    #[test]
    fn view_error_handled_by_the_second_process_exception() {
        let trace = Trace::default();
        let b = Some(Behaviour {
            answer_exception: true,
            ..Behaviour::default()
        });
        let h = handler(
            &trace,
            &[("a", PLAIN), ("b", b), ("c", PLAIN)],
            ViewKind::Fails,
            false,
        );
        let r = run(&h, "/x/");
        assert_eq!(
            (r.status_code, r.content()),
            (503, &b"b handled view failed"[..])
        );
        assert_eq!(
            taken(&trace),
            [
                "a.process_request",
                "b.process_request",
                "c.process_request",
                "a.process_view",
                "b.process_view",
                "c.process_view",
                "view",
                "c.process_exception",
                "b.process_exception",
                "c.process_response 503",
                "b.process_response 503",
                "a.process_response 503",
            ]
        );
    }

    const UNHANDLED: [&str; 13] = [
        "a.process_request",
        "b.process_request",
        "c.process_request",
        "a.process_view",
        "b.process_view",
        "c.process_view",
        "view",
        "c.process_exception",
        "b.process_exception",
        "a.process_exception",
        "c.process_response 500",
        "b.process_response 500",
        "a.process_response 500",
    ];

    #[test]
    fn view_error_none_handles_is_a_500_seen_by_every_process_response() {
        let trace = Trace::default();
        let h = handler(
            &trace,
            &[("a", PLAIN), ("b", PLAIN), ("c", PLAIN)],
            ViewKind::Fails,
            false,
        );
        let r = run(&h, "/x/");
        assert_eq!(r.status_code, 500);
        assert!(String::from_utf8_lossy(r.content()).contains("Server Error (500)"));
        assert_eq!(taken(&trace), UNHANDLED);
    }

    #[test]
    fn panicking_view_is_an_unhandled_error() {
        let trace = Trace::default();
        let h = handler(
            &trace,
            &[("a", PLAIN), ("b", PLAIN), ("c", PLAIN)],
            ViewKind::Panics,
            true,
        );
        let r = run(&h, "/x/");
        assert_eq!(r.status_code, 500);
        let page = String::from_utf8_lossy(r.content()).into_owned();
        assert!(page.contains("view panicked"), "{page}");
        assert!(page.contains("Panic at /x/"), "{page}");
        assert!(page.contains("Raised during:"), "{page}");
        assert_eq!(taken(&trace), UNHANDLED);
    }

    #[test]
    fn wrapper_form_mixed_with_hooks() {
        let trace = Trace::default();
        let h = handler(
            &trace,
            &[("a", PLAIN), ("w", None), ("c", PLAIN)],
            ViewKind::Ok,
            false,
        );
        let r = run(&h, "/x/");
        assert_eq!(r.get("X-Wrapped"), Some("w"));
        assert_eq!(
            taken(&trace),
            [
                "a.process_request",
                "w.before",
                "c.process_request",
                "a.process_view",
                "c.process_view",
                "view",
                "c.process_response 200",
                "w.after 200",
                "a.process_response 200",
            ]
        );
    }

    #[test]
    fn error_in_process_request_is_converted_at_its_layer() {
        let trace = Trace::default();
        let b = Some(Behaviour {
            fail_request: true,
            ..Behaviour::default()
        });
        let h = handler(
            &trace,
            &[("a", PLAIN), ("b", b), ("c", PLAIN)],
            ViewKind::Ok,
            false,
        );
        let r = run(&h, "/x/");
        assert_eq!(r.status_code, 500);
        assert_eq!(
            taken(&trace),
            [
                "a.process_request",
                "b.process_request",
                "a.process_response 500"
            ]
        );
    }

    #[test]
    fn panic_in_process_request_is_a_500_at_its_layer() {
        let trace = Trace::default();
        let b = Some(Behaviour {
            panic_request: true,
            ..Behaviour::default()
        });
        let h = handler(
            &trace,
            &[("a", PLAIN), ("b", b), ("c", PLAIN)],
            ViewKind::Ok,
            false,
        );
        let (r, logs) = crate::test_log::capture(|| run(&h, "/x/"));
        assert_eq!(r.status_code, 500);
        assert!(page(&r).contains("Server Error (500)"));
        // Only the middleware already entered see the 500 on the way out.
        assert_eq!(
            taken(&trace),
            [
                "a.process_request",
                "b.process_request",
                "a.process_response 500"
            ]
        );
        assert_eq!(logs.len(), 1, "{logs:?}");
        assert_eq!(
            logs[0].message,
            "Internal Server Error: /x/ (GET /x/ HTTP/1.1)\nPanic: b.process_request panicked"
        );
        // The handler keeps serving.
        let h = handler(&trace, &[("a", PLAIN)], ViewKind::Ok, false);
        assert_eq!(run(&h, "/x/").status_code, 200);
    }

    #[test]
    fn panic_in_process_response_is_a_500_seen_by_the_outer_middleware() {
        let trace = Trace::default();
        let b = Some(Behaviour {
            panic_response: true,
            ..Behaviour::default()
        });
        let h = handler(
            &trace,
            &[("a", PLAIN), ("b", b), ("c", PLAIN)],
            ViewKind::Ok,
            true,
        );
        let r = run(&h, "/x/");
        assert_eq!(r.status_code, 500);
        let page = page(&r);
        assert!(page.contains("b.process_response panicked"), "{page}");
        assert!(page.contains("Exception Location:"), "{page}");
        assert_eq!(
            taken(&trace),
            [
                "a.process_request",
                "b.process_request",
                "c.process_request",
                "a.process_view",
                "b.process_view",
                "c.process_view",
                "view",
                "c.process_response 200",
                "b.process_response 200",
                "a.process_response 500",
            ]
        );
    }

    #[test]
    fn unresolved_path_is_a_404_through_process_response() {
        let trace = Trace::default();
        let h = handler(&trace, &[("a", PLAIN)], ViewKind::Ok, false);
        let r = run(&h, "/nope/");
        assert_eq!(r.status_code, 404);
        assert!(String::from_utf8_lossy(r.content()).contains("<h1>Not Found</h1>"));
        assert_eq!(
            taken(&trace),
            ["a.process_request", "a.process_response 404"]
        );

        let dbg = handler(&trace, &[], ViewKind::Ok, true);
        let r = run(&dbg, "/nope/");
        let page = String::from_utf8_lossy(r.content()).into_owned();
        assert_eq!(r.status_code, 404);
        assert!(
            page.contains("x/"),
            "the technical 404 lists the patterns tried: {page}"
        );
        assert!(page.contains("didn't match"), "{page}");
    }

    #[test]
    fn unknown_middleware_is_a_config_error() {
        let mut s = Settings::parse(
            "middleware = [\n  \"common\",\n  \"nosuch\",\n]\n",
            Some(std::path::Path::new("s.toml")),
        )
        .unwrap();
        s.debug = false;
        let e = App::new(Vec::new()).into_handler(s).err().unwrap();
        assert!(
            e.message()
                .starts_with("s.toml:3: unknown middleware \"nosuch\""),
            "{e}"
        );
    }

    #[test]
    fn common_appends_slash_and_keeps_the_query() {
        let mut s = Settings::default();
        s.allowed_hosts = vec!["testserver".into()];
        s.middleware = vec!["common".into()];
        let ok = |_r: &mut HttpRequest| -> ViewResult { Ok(HttpResponse::new("ok")) };
        let h = App::new(vec![path("a/", view(ok))])
            .into_handler(s)
            .unwrap();
        let get = |method: &str, p: &str, q: &str, host: &str| {
            let mut r =
                HttpRequest::new(method, p, q, Arc::clone(h.settings())).with_header("Host", host);
            h.get_response(&mut r)
        };
        let r = get("GET", "/a", "q=1", "testserver");
        assert_eq!((r.status_code, r.get("Location")), (301, Some("/a/?q=1")));
        assert_eq!(get("GET", "/b", "", "testserver").status_code, 404);
        assert_eq!(get("GET", "/a/", "", "testserver").status_code, 200);
        assert_eq!(get("GET", "/a/", "", "evil.example").status_code, 400);
        assert_eq!(get("POST", "/a", "", "testserver").status_code, 301);
    }

    #[test]
    fn common_in_debug_refuses_to_redirect_a_post() {
        let mut s = Settings::default();
        s.debug = true;
        s.middleware = vec!["common".into()];
        let ok = |_r: &mut HttpRequest| -> ViewResult { Ok(HttpResponse::new("ok")) };
        let h = App::new(vec![path("a/", view(ok))])
            .into_handler(s)
            .unwrap();
        let mut r = HttpRequest::new("POST", "/a", "", Arc::clone(h.settings()))
            .with_header("Host", "localhost");
        let resp = h.get_response(&mut r);
        assert_eq!(resp.status_code, 500);
        assert!(String::from_utf8_lossy(resp.content()).contains("RuntimeError"));
    }

    #[test]
    fn app_error_handlers_replace_the_default_pages() {
        let fails = |_r: &mut HttpRequest| -> ViewResult { Err(ViewError::msg("nope")) };
        let denied =
            |_r: &mut HttpRequest| -> ViewResult { Err(ViewError::PermissionDenied("x".into())) };
        let bad = |_r: &mut HttpRequest| -> ViewResult { Err(ViewError::BadRequest("b".into())) };
        let h = App::new(vec![
            path("fail/", view(fails)),
            path("deny/", view(denied)),
            path("bad/", view(bad)),
        ])
        .handler404(|r: &mut HttpRequest, _e: &ViewError| {
            HttpResponse::with_status(404, format!("custom 404 for {}", r.path))
        })
        .handler500(|_r: &mut HttpRequest, e: &ViewError| {
            HttpResponse::with_status(500, format!("custom 500: {}", e.message()))
        })
        .handler403(|_r: &mut HttpRequest, _e: &ViewError| {
            HttpResponse::with_status(403, "custom 403")
        })
        .handler400(|_r: &mut HttpRequest, _e: &ViewError| {
            HttpResponse::with_status(400, "custom 400")
        })
        .into_handler(Settings::default())
        .unwrap();
        assert_eq!(run(&h, "/gone/").content(), b"custom 404 for /gone/");
        assert_eq!(run(&h, "/fail/").content(), b"custom 500: nope");
        assert_eq!(run(&h, "/deny/").content(), b"custom 403");
        assert_eq!(run(&h, "/bad/").content(), b"custom 400");
    }

    /// An error with a cause, for the "caused by" lines.
    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("could not load the report")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    /// An app whose views raise each of Django's exceptions.
    fn raising_app(debug: bool, middleware: &[&str]) -> Handler {
        let mut s = Settings::default();
        s.debug = debug;
        s.allowed_hosts = vec!["testserver".into()];
        s.middleware = middleware.iter().map(|m| m.to_string()).collect();
        let fails = |_r: &mut HttpRequest| -> ViewResult {
            Err(ViewError::from(Outer(std::io::Error::other("disk gone"))))
        };
        let bad = |_r: &mut HttpRequest| -> ViewResult {
            Err(ViewError::BadRequest("Missing the title".into()))
        };
        let suspicious = |_r: &mut HttpRequest| -> ViewResult {
            Err(ViewError::SuspiciousOperation("dubious".into()))
        };
        let denied =
            |_r: &mut HttpRequest| -> ViewResult { Err(ViewError::PermissionDenied("no".into())) };
        let form = |r: &mut HttpRequest| -> ViewResult {
            let title = r.POST()?.get("title").unwrap_or("").to_string();
            Ok(HttpResponse::new(title))
        };
        let ok = |_r: &mut HttpRequest| -> ViewResult { Ok(HttpResponse::new("ok")) };
        struct Items;
        impl crate::views::generic::View for Items {
            const HANDLERS: &'static [crate::views::generic::Method] =
                &[crate::views::generic::Method::Get];
        }
        use crate::views::generic::View as _;
        App::new(vec![
            path("boom/", view(fails)),
            path("bad/", view(bad)),
            path("suspicious/", view(suspicious)),
            path("deny/", view(denied)),
            path("form/", view(form)),
            path("a/", view(ok)),
            path("get-only/", crate::views::decorators::require_GET(view(ok))),
            path("items/", Items.as_view()),
        ])
        .into_handler(s)
        .unwrap()
    }

    fn send(h: &Handler, method: &str, path: &str, query: &str) -> HttpResponse {
        let mut r = HttpRequest::new(method, path, query, Arc::clone(h.settings()))
            .with_header("Host", "testserver");
        h.get_response(&mut r)
    }

    fn logs_of(
        f: impl FnOnce() -> HttpResponse,
    ) -> (HttpResponse, Vec<(log::Level, String, String)>) {
        let (r, logged) = crate::test_log::capture(f);
        let logged = logged
            .into_iter()
            .map(|l| (l.level, l.target, l.message))
            .collect();
        (r, logged)
    }

    fn page(r: &HttpResponse) -> String {
        String::from_utf8_lossy(r.content()).into_owned()
    }

    #[test]
    fn bad_request_in_debug_is_the_technical_page_with_status_400() {
        let h = raising_app(true, &[]);
        let (r, logs) = logs_of(|| send(&h, "GET", "/bad/", ""));
        assert_eq!(r.status_code, 400);
        assert!(
            page(&r).contains("<title>BadRequest at /bad/</title>"),
            "{}",
            page(&r)
        );
        assert!(page(&r).contains("Missing the title"));
        assert_eq!(
            logs,
            [(
                log::Level::Warn,
                "django.request".into(),
                "Missing the title: /bad/".into()
            )]
        );
        // Without debug: handler400's plain page, logged the same way.
        let h = raising_app(false, &[]);
        let (r, logs) = logs_of(|| send(&h, "GET", "/bad/", ""));
        assert_eq!(r.status_code, 400);
        assert!(page(&r).contains("Bad Request (400)") && !page(&r).contains("Missing"));
        assert_eq!(logs.len(), 1, "{logs:?}");
    }

    #[test]
    fn suspicious_operations_in_debug_are_technical_400s_logged_once_under_django_security() {
        for debug in [true, false] {
            let h = raising_app(debug, &["common"]);
            let (r, logs) = logs_of(|| send(&h, "GET", "/suspicious/", ""));
            assert_eq!(r.status_code, 400);
            assert_eq!(
                page(&r).contains("SuspiciousOperation at /suspicious/"),
                debug
            );
            assert_eq!(
                logs,
                [(
                    log::Level::Error,
                    "django.security.SuspiciousOperation".into(),
                    "dubious".into()
                )]
            );
            // DisallowedHost, raised by `common`: once, not again as "Bad Request: /a/".
            let (r, logs) = logs_of(|| {
                let mut req = HttpRequest::new("GET", "/a/", "", Arc::clone(h.settings()))
                    .with_header("Host", "evil.example");
                h.get_response(&mut req)
            });
            assert_eq!(r.status_code, 400);
            assert_eq!(
                page(&r).contains("DisallowedHost at /a/"),
                debug,
                "{}",
                page(&r)
            );
            assert_eq!(logs.len(), 1, "{logs:?}");
            assert_eq!(logs[0].0, log::Level::Error);
            assert_eq!(logs[0].1, "django.security.DisallowedHost");
            assert!(logs[0]
                .2
                .starts_with("Invalid HTTP_HOST header: 'evil.example'."));
        }
    }

    #[test]
    fn a_malformed_form_body_is_handler400_even_in_debug() {
        let h = raising_app(true, &[]);
        let (r, logs) = logs_of(|| {
            let mut req = HttpRequest::new("POST", "/form/", "", Arc::clone(h.settings()))
                .with_header("Content-Type", "multipart/form-data")
                .with_body(b"--x\r\n".to_vec());
            h.get_response(&mut req)
        });
        assert_eq!(r.status_code, 400);
        assert!(page(&r).contains("Bad Request (400)"), "{}", page(&r));
        assert_eq!(
            logs,
            [(
                log::Level::Warn,
                "django.request".into(),
                "Bad request (Unable to parse request body): /form/".into()
            )]
        );
    }

    #[test]
    fn each_4xx_is_logged_once_with_djangos_wording() {
        let h = raising_app(false, &["common"]);
        let warn = |m: &str| {
            vec![(
                log::Level::Warn,
                "django.request".to_string(),
                m.to_string(),
            )]
        };
        let (r, logs) = logs_of(|| send(&h, "GET", "/deny/", ""));
        assert_eq!(r.status_code, 403);
        assert_eq!(logs, warn("Forbidden (Permission denied): /deny/"));
        let (r, logs) = logs_of(|| send(&h, "POST", "/get-only/", ""));
        assert_eq!(r.status_code, 405);
        assert_eq!(logs, warn("Method Not Allowed (POST): /get-only/"));
        let (r, logs) = logs_of(|| send(&h, "PUT", "/items/", ""));
        assert_eq!(r.status_code, 405);
        assert_eq!(logs, warn("Method Not Allowed (PUT): /items/"));
        let (r, logs) = logs_of(|| send(&h, "GET", "/nope/", ""));
        assert_eq!(r.status_code, 404);
        assert_eq!(logs, warn("Not Found: /nope/"));
        // A 404 that `common` turns into the APPEND_SLASH redirect is not reported.
        let (r, logs) = logs_of(|| send(&h, "GET", "/a", ""));
        assert_eq!(r.status_code, 301);
        assert!(logs.is_empty(), "{logs:?}");
        // A path cannot forge a log line: the arguments are escaped as Django escapes them.
        let (_, logs) = logs_of(|| send(&h, "GET", "/x%0AWARNING%20forged/", ""));
        assert_eq!(logs, warn("Not Found: /x\\nWARNING forged/"));
    }

    #[test]
    fn an_unhandled_error_is_logged_with_the_request_line_and_its_causes() {
        let h = raising_app(false, &[]);
        let (r, logs) = logs_of(|| {
            let mut req = HttpRequest::new("post", "/boom/", "x=1", Arc::clone(h.settings()));
            req.connection.protocol = "HTTP/1.0".into();
            h.get_response(&mut req)
        });
        assert_eq!(r.status_code, 500);
        assert_eq!(
            logs,
            [(
                log::Level::Error,
                "django.request".into(),
                "Internal Server Error: /boom/ (POST /boom/?x=1 HTTP/1.0)\n\
                 Outer: could not load the report\ncaused by: disk gone"
                    .into()
            )]
        );
    }

    #[test]
    fn a_failing_error_handler_falls_back_as_django_does() {
        let denied =
            |_r: &mut HttpRequest| -> ViewResult { Err(ViewError::PermissionDenied("no".into())) };
        let fails = |_r: &mut HttpRequest| -> ViewResult { Err(ViewError::msg("view failed")) };
        let build = |debug: bool, handler500_panics: bool| {
            let mut s = Settings::default();
            s.debug = debug;
            let mut app = App::new(vec![
                path("deny/", view(denied)),
                path("boom/", view(fails)),
            ])
            .handler403(|_r: &mut HttpRequest, _e: &ViewError| -> HttpResponse {
                panic!("handler403 exploded")
            });
            if handler500_panics {
                app = app.handler500(|_r: &mut HttpRequest, _e: &ViewError| -> HttpResponse {
                    panic!("handler500 exploded")
                });
            } else {
                app = app.handler500(|_r: &mut HttpRequest, e: &ViewError| {
                    HttpResponse::with_status(500, format!("custom 500: {}", e.message()))
                });
            }
            app.into_handler(s).unwrap()
        };
        // handler403 panics: an unhandled error of its own, answered by handler500.
        let h = build(false, false);
        let (r, logs) = logs_of(|| run(&h, "/deny/"));
        assert_eq!(
            (r.status_code, page(&r)),
            (500, "custom 500: handler403 exploded".into())
        );
        assert_eq!(logs.len(), 2, "{logs:?}");
        assert!(
            logs[0]
                .2
                .contains("the handler for PermissionDenied failed"),
            "{logs:?}"
        );
        assert!(logs[0].2.contains("Panic: handler403 exploded"), "{logs:?}");
        assert_eq!(logs[1].0, log::Level::Error, "a 500 is an error");
        assert_eq!(logs[1].2, "Forbidden (Permission denied): /deny/");
        // In debug the handler's failure gets the technical page.
        let r = run(&build(true, false), "/deny/");
        assert_eq!(r.status_code, 500);
        assert!(page(&r).contains("handler403 exploded"), "{}", page(&r));
        // handler500 panics too: the bare 500 a WSGI server would give.
        let h = build(false, true);
        for p in ["/boom/", "/deny/"] {
            let (r, logs) = logs_of(|| run(&h, p));
            assert_eq!(r.status_code, 500);
            assert_eq!(page(&r), "<h1>Server Error (500)</h1>");
            assert!(
                logs.iter().any(|l| l.2.contains("handler500 failed")
                    && l.2.contains("Panic: handler500 exploded")),
                "{logs:?}"
            );
        }
    }

    #[test]
    fn default_charset_names_the_default_content_type() {
        let mut s = Settings::default();
        s.default_charset = "iso-8859-1".into();
        let ok = |_r: &mut HttpRequest| -> ViewResult { Ok(HttpResponse::new("ok")) };
        let js = |_r: &mut HttpRequest| -> ViewResult { crate::http::JsonResponse::new(&1) };
        let h = App::new(vec![path("a/", view(ok)), path("j/", view(js))])
            .into_handler(s)
            .unwrap();
        let r = run(&h, "/a/");
        assert_eq!(r.get("Content-Type"), Some("text/html; charset=iso-8859-1"));
        assert_eq!(r.charset, "iso-8859-1");
        assert_eq!(run(&h, "/j/").get("Content-Type"), Some("application/json"));
    }

    #[test]
    fn reverse_and_redirect_use_the_running_url_conf() {
        let home = |_r: &mut HttpRequest| -> ViewResult { Ok(HttpResponse::new("home")) };
        let go = |_r: &mut HttpRequest| -> ViewResult { crate::shortcuts::redirect("home") };
        let bad = |_r: &mut HttpRequest| -> ViewResult { crate::shortcuts::redirect("nosuch") };
        let unsafe_scheme = |_r: &mut HttpRequest| -> ViewResult {
            crate::shortcuts::redirect("data:text/html,x.y")
        };
        let h = App::new(vec![
            path("", view(home)).name("home"),
            path("go/", view(go)),
            path("bad/", view(bad)),
            path("unsafe/", view(unsafe_scheme)),
        ])
        .into_handler(Settings::default())
        .unwrap();
        let r = run(&h, "/go/");
        assert_eq!((r.status_code, r.get("Location")), (302, Some("/")));
        // A name that does not reverse is Django's NoReverseMatch: a 500, no Location.
        let (r, logs) = crate::test_log::capture(|| run(&h, "/bad/"));
        assert_eq!((r.status_code, r.get("Location")), (500, None));
        assert!(
            logs[0]
                .message
                .contains("NoReverseMatch: Reverse for 'nosuch'"),
            "{logs:?}"
        );
        // An unsafe scheme is DisallowedRedirect, a SuspiciousOperation: 400.
        let (r, logs) = crate::test_log::capture(|| run(&h, "/unsafe/"));
        assert_eq!((r.status_code, r.get("Location")), (400, None));
        assert_eq!(logs.len(), 1, "{logs:?}");
        assert_eq!(logs[0].target, "django.security.DisallowedRedirect");
        assert_eq!(
            logs[0].message,
            "Unsafe redirect to URL with protocol 'data'"
        );
        assert!(
            reverse("home", &[], &[]).is_err(),
            "no URL conf outside a request"
        );
    }
}
