//! Views (Django's `django.views`): the view handle the URL conf holds, class-based views
//! (`generic`), decorators, and the error pages (`defaults`, `debug`).

use std::sync::Arc;

use crate::exception::ViewError;
use crate::http::{HttpRequest, HttpResponse};

pub mod csrf;
pub mod debug;
pub mod decorators;
pub mod defaults;
pub mod generic;

/// What a view returns (Django: a response, or an exception).
pub type ViewResult = Result<HttpResponse, ViewError>;

type ViewCallable = dyn Fn(&mut HttpRequest) -> ViewResult + Send + Sync;

/// A view as the URL conf and middleware see it: a shared callable plus a name for logs and
/// the debug page (Django's view function object). Cloning is a reference-count increment.
#[derive(Clone)]
pub struct ViewFn {
    name: &'static str,
    func: Arc<ViewCallable>,
    attrs: ViewAttrs,
}

/// The attributes Django's decorators set on a view function and middleware read
/// (`view.csrf_exempt`), carried over by every decorator as `functools.wraps` carries `__dict__`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ViewAttrs {
    /// Set by `csrf_exempt`: `CsrfViewMiddleware` does not check this view.
    pub csrf_exempt: bool,
}

impl ViewFn {
    /// Wraps `func` under `name`.
    pub fn new<F>(name: &'static str, func: F) -> Self
    where
        F: Fn(&mut HttpRequest) -> ViewResult + Send + Sync + 'static,
    {
        ViewFn {
            name,
            func: Arc::new(func),
            attrs: ViewAttrs::default(),
        }
    }

    /// A decorator's view around `inner` (Django's `@wraps(inner)`): `inner`'s name and
    /// attributes, `func`'s behaviour.
    pub fn wraps<F>(inner: &ViewFn, func: F) -> Self
    where
        F: Fn(&mut HttpRequest) -> ViewResult + Send + Sync + 'static,
    {
        ViewFn {
            name: inner.name,
            func: Arc::new(func),
            attrs: inner.attrs,
        }
    }

    /// The view's attributes.
    pub fn attrs(&self) -> ViewAttrs {
        self.attrs
    }

    /// The same view with `attrs` (what a decorator such as `csrf_exempt` does).
    pub fn with_attrs(mut self, attrs: ViewAttrs) -> Self {
        self.attrs = attrs;
        self
    }

    /// Django's `getattr(view, "csrf_exempt", False)`.
    pub fn csrf_exempt(&self) -> bool {
        self.attrs.csrf_exempt
    }

    /// The view's name (its Rust path, like Django's `module.function`).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Calls the view.
    pub fn call(&self, request: &mut HttpRequest) -> ViewResult {
        (self.func)(request)
    }
}

impl std::fmt::Debug for ViewFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<view {}>", self.name)
    }
}

/// A function view: `path("", view(home))` with `fn home(request: &mut HttpRequest) ->
/// ViewResult`. The name shown on the debug page is the function's path.
pub fn view<F>(func: F) -> ViewFn
where
    F: Fn(&mut HttpRequest) -> ViewResult + Send + Sync + 'static,
{
    ViewFn::new(std::any::type_name::<F>(), func)
}
