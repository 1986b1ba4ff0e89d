//! Views (Django's `django.views`): the view handle the URL conf holds, class-based views
//! (`generic`), decorators, and the error pages (`defaults`, `debug`).

use std::sync::Arc;

use crate::exception::ViewError;
use crate::http::{HttpRequest, HttpResponse};

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
        }
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
