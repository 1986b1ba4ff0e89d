//! Errors a view or middleware can raise, and how they become responses (Django's
//! `core/exceptions.py` plus `core/handlers/exception.py`: `convert_exception_to_response`
//! and `response_for_exception`).

use std::error::Error as StdError;
use std::fmt;

/// Everything a view (or a middleware hook) may fail with, as Django's exceptions.
///
/// Any `std::error::Error + Send + Sync` converts into [`ViewError::Other`] with `?`, which is an
/// unhandled error: a 500. That blanket conversion is why `ViewError` itself does not implement
/// `std::error::Error` (as `anyhow::Error` does not).
pub enum ViewError {
    /// Django's `Http404`: rendered with `handler404` (status 404).
    Http404(String),
    /// Django's `PermissionDenied`: `handler403` (status 403).
    PermissionDenied(String),
    /// Django's `BadRequest`: `handler400` (status 400); the technical page in debug.
    BadRequest(String),
    /// Django's `MultiPartParserError`: a form body that does not parse. `handler400` (status
    /// 400), in debug too, logged as `Bad request (Unable to parse request body): <path>`.
    MultiPartParserError(String),
    /// Django's `SuspiciousOperation` (and the subclasses without a variant of their own,
    /// e.g. `TooManyFieldsSent`, `RequestDataTooBig`): `handler400` (status 400), the
    /// technical page in debug, logged as an error under `django.security.<kind>`.
    SuspiciousOperation(String),
    /// Django's `DisallowedHost` (a `SuspiciousOperation`): status 400.
    DisallowedHost(String),
    /// Django's `DisallowedRedirect` (a `SuspiciousOperation`): a redirect to a scheme other
    /// than http, https or ftp, or to an over-long URL. Status 400.
    DisallowedRedirect(String),
    /// Any other error: unhandled, status 500, logged as `Internal Server Error: <path>
    /// (<request line>)` with the error and its causes.
    Other(Box<dyn StdError + Send + Sync>),
}

impl ViewError {
    /// Django's `raise Http404(message)`.
    pub fn not_found(message: impl Into<String>) -> Self {
        ViewError::Http404(message.into())
    }

    /// An unhandled error carrying only a message (Python's `raise Exception(message)`).
    pub fn msg(message: impl Into<String>) -> Self {
        ViewError::Other(Box::new(MessageError {
            kind: "Exception",
            message: message.into(),
            location: None,
        }))
    }

    /// The status Django's `response_for_exception` answers with.
    pub fn status_code(&self) -> u16 {
        match self {
            ViewError::Http404(_) => 404,
            ViewError::PermissionDenied(_) => 403,
            ViewError::BadRequest(_)
            | ViewError::MultiPartParserError(_)
            | ViewError::SuspiciousOperation(_)
            | ViewError::DisallowedHost(_)
            | ViewError::DisallowedRedirect(_) => 400,
            ViewError::Other(_) => 500,
        }
    }

    /// True for Django's `SuspiciousOperation` and its subclasses (`DisallowedHost`,
    /// `DisallowedRedirect`): a request that may be an attack, logged under `django.security`.
    pub fn is_suspicious(&self) -> bool {
        matches!(
            self,
            ViewError::SuspiciousOperation(_)
                | ViewError::DisallowedHost(_)
                | ViewError::DisallowedRedirect(_)
        )
    }

    /// The exception's class name as Django's debug page shows it.
    pub fn kind(&self) -> &str {
        match self {
            ViewError::Http404(_) => "Http404",
            ViewError::PermissionDenied(_) => "PermissionDenied",
            ViewError::BadRequest(_) => "BadRequest",
            ViewError::MultiPartParserError(_) => "MultiPartParserError",
            ViewError::SuspiciousOperation(_) => "SuspiciousOperation",
            ViewError::DisallowedHost(_) => "DisallowedHost",
            ViewError::DisallowedRedirect(_) => "DisallowedRedirect",
            ViewError::Other(e) => {
                if let Some(m) = e.downcast_ref::<MessageError>() {
                    m.kind
                } else if let Some(t) = e.downcast_ref::<Typed>() {
                    short_type_name(t.type_name)
                } else {
                    "Error"
                }
            }
        }
    }

    /// The error's message, without its kind.
    pub fn message(&self) -> String {
        match self {
            ViewError::Http404(m)
            | ViewError::PermissionDenied(m)
            | ViewError::BadRequest(m)
            | ViewError::MultiPartParserError(m)
            | ViewError::SuspiciousOperation(m)
            | ViewError::DisallowedHost(m)
            | ViewError::DisallowedRedirect(m) => m.clone(),
            ViewError::Other(e) => e.to_string(),
        }
    }

    /// The chain of causes below an `Other` error (Python's `__cause__` chain), outermost first.
    pub fn sources(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let ViewError::Other(e) = self {
            let mut cur = e.source();
            while let Some(s) = cur {
                out.push(s.to_string());
                cur = s.source();
            }
        }
        out
    }

    /// The underlying error of an `Other`, if it is a `T` (looking through the `?`
    /// conversion).
    pub fn downcast_ref<T: StdError + 'static>(&self) -> Option<&T> {
        let ViewError::Other(e) = self else {
            return None;
        };
        match e.downcast_ref::<Typed>() {
            Some(t) => t.inner.downcast_ref::<T>(),
            None => e.downcast_ref::<T>(),
        }
    }

    /// Where a panic happened (`file:line:column`), when the panic-location hook saw it
    /// (Django's "Exception Location").
    pub fn location(&self) -> Option<&str> {
        match self {
            ViewError::Other(e) => e.downcast_ref::<MessageError>()?.location.as_deref(),
            _ => None,
        }
    }

    /// True for a panic caught in the cycle.
    pub fn is_panic(&self) -> bool {
        matches!(self, ViewError::Other(e) if e.downcast_ref::<MessageError>().is_some_and(|m| m.kind == PANIC_KIND))
    }

    pub(crate) fn from_panic(payload: Box<dyn std::any::Any + Send>) -> Self {
        let message = if let Some(s) = payload.downcast_ref::<&'static str>() {
            (*s).to_string()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "panic with a non-string payload".to_string()
        };
        ViewError::Other(Box::new(MessageError {
            kind: PANIC_KIND,
            message,
            location: LAST_PANIC_LOCATION.with(|l| l.borrow_mut().take()),
        }))
    }

    pub(crate) fn runtime(message: impl Into<String>) -> Self {
        ViewError::Other(Box::new(MessageError {
            kind: "RuntimeError",
            message: message.into(),
            location: None,
        }))
    }
}

const PANIC_KIND: &str = "Panic";

thread_local! {
    /// Where the last panic on this thread happened, recorded by the hook below and taken by
    /// `from_panic` right after `catch_unwind` returns on the same thread.
    static LAST_PANIC_LOCATION: std::cell::RefCell<Option<String>> =
        const { std::cell::RefCell::new(None) };
}

/// Chains a panic hook that records each panic's location for the debug page, then runs the
/// previous hook (which prints the message, as before). Installed once; the hook state belongs
/// to this library's copy of std, so the host's hook is untouched.
pub(crate) fn install_panic_location_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Some(loc) = info.location() {
                let text = format!("{}:{}:{}", loc.file(), loc.line(), loc.column());
                let _ = LAST_PANIC_LOCATION.try_with(|l| *l.borrow_mut() = Some(text));
            }
            previous(info);
        }));
    });
}

/// `core::num::error::ParseIntError` -> `ParseIntError` (generic arguments kept whole).
fn short_type_name(full: &'static str) -> &'static str {
    let head = full.split('<').next().unwrap_or(full);
    match head.rfind("::") {
        Some(i) => &full[i + 2..],
        None => full,
    }
}

impl<E: StdError + Send + Sync + 'static> From<E> for ViewError {
    fn from(e: E) -> Self {
        ViewError::Other(Box::new(Typed {
            type_name: std::any::type_name::<E>(),
            inner: Box::new(e),
        }))
    }
}

/// An error converted with `?`, remembering its type's name for the debug page (Django shows
/// the exception's class, e.g. `ValueError`).
#[derive(Debug)]
struct Typed {
    type_name: &'static str,
    inner: Box<dyn StdError + Send + Sync>,
}

impl fmt::Display for Typed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

impl StdError for Typed {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner.source()
    }
}

impl fmt::Display for ViewError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind(), self.message())
    }
}

impl fmt::Debug for ViewError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// An error that is only a kind and a message (a panic, a `RuntimeError`, `ViewError::msg`).
#[derive(Debug)]
pub struct MessageError {
    kind: &'static str,
    message: String,
    location: Option<String>,
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for MessageError {}

/// The error handlers an app may override (Django's `handler400`, `handler403`, `handler404`,
/// `handler500`): each gets the request and the error and returns the response.
pub type ErrorHandler = std::sync::Arc<
    dyn Fn(&mut crate::http::HttpRequest, &ViewError) -> crate::http::HttpResponse + Send + Sync,
>;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("outer failed")
        }
    }
    impl StdError for Outer {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.0)
        }
    }

    fn fails() -> Result<(), ViewError> {
        let n: i64 = "x".parse()?;
        let _ = n;
        Ok(())
    }

    #[test]
    fn question_mark_converts_to_an_unhandled_error() {
        let e = fails().unwrap_err();
        assert_eq!(e.status_code(), 500);
        assert!(e.message().contains("invalid digit"));
        assert_eq!(e.kind(), "ParseIntError");
        assert!(e.downcast_ref::<std::num::ParseIntError>().is_some());
        assert!(e.downcast_ref::<std::io::Error>().is_none());
        assert_eq!(ViewError::msg("x").kind(), "Exception");
    }

    #[test]
    fn statuses_follow_response_for_exception() {
        assert_eq!(ViewError::not_found("x").status_code(), 404);
        assert_eq!(
            ViewError::PermissionDenied(String::new()).status_code(),
            403
        );
        assert_eq!(ViewError::BadRequest(String::new()).status_code(), 400);
        assert_eq!(
            ViewError::SuspiciousOperation(String::new()).status_code(),
            400
        );
        assert_eq!(ViewError::DisallowedHost(String::new()).status_code(), 400);
        assert_eq!(
            ViewError::DisallowedRedirect(String::new()).status_code(),
            400
        );
        assert_eq!(
            ViewError::MultiPartParserError(String::new()).status_code(),
            400
        );
        let suspicious: Vec<bool> = [
            ViewError::SuspiciousOperation(String::new()),
            ViewError::DisallowedHost(String::new()),
            ViewError::DisallowedRedirect(String::new()),
            ViewError::BadRequest(String::new()),
            ViewError::MultiPartParserError(String::new()),
            ViewError::msg(""),
        ]
        .iter()
        .map(ViewError::is_suspicious)
        .collect();
        assert_eq!(suspicious, [true, true, true, false, false, false]);
    }

    #[test]
    fn sources_walk_the_cause_chain_and_panics_keep_their_payload() {
        let e = ViewError::from(Outer(std::io::Error::other("disk gone")));
        assert_eq!(e.sources(), ["disk gone"]);
        install_panic_location_hook();
        let payload = std::panic::catch_unwind(|| panic!("boom")).unwrap_err();
        let p = ViewError::from_panic(payload);
        assert!(
            p.location().is_some_and(|l| l.contains("exception.rs")),
            "{:?}",
            p.location()
        );
        assert!(p.is_panic());
        assert_eq!(p.message(), "boom");
        assert_eq!(p.to_string(), "Panic: boom");
    }
}
