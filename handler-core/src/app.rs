//! The app (Django's project: its URL conf, its middleware, its error handlers): built by the
//! app's `build` function from the settings, then turned into a [`Handler`] once at start-up.

use std::sync::Arc;

use crate::exception::{ErrorHandler, ViewError};
use crate::handler::{ErrorHandlers, Handler};
use crate::http::{HttpRequest, HttpResponse};
use crate::middleware::{Middleware, MiddlewareRegistry};
use crate::settings::{ConfigError, Settings};
use crate::urls::{Converters, UrlEntry, UrlResolver};
use crate::views::ViewFn;

/// An app: URL patterns, extra middleware factories, error handlers.
pub struct App {
    urlpatterns: Vec<UrlEntry<ViewFn>>,
    registry: MiddlewareRegistry,
    handlers: ErrorHandlers,
    converters: Option<Converters>,
}

impl App {
    /// An app serving `urlpatterns` (Django's `urlpatterns`), with the built-in middleware
    /// registered and Django's default error pages.
    pub fn new(urlpatterns: Vec<UrlEntry<ViewFn>>) -> Self {
        App {
            urlpatterns,
            registry: MiddlewareRegistry::with_builtins(),
            handlers: ErrorHandlers::default(),
            converters: None,
        }
    }

    /// Registers a middleware factory under `name`, for `middleware = [...]` in settings.
    pub fn middleware<M, F>(mut self, name: &str, factory: F) -> Self
    where
        M: Middleware,
        F: Fn(&Settings) -> Result<M, ConfigError> + Send + Sync + 'static,
    {
        self.registry.register(name, factory);
        self
    }

    /// Path converters beyond Django's built-ins (Django's `register_converter`).
    pub fn converters(mut self, converters: Converters) -> Self {
        self.converters = Some(converters);
        self
    }

    /// Django's `handler400`.
    pub fn handler400<F>(mut self, f: F) -> Self
    where
        F: Fn(&mut HttpRequest, &ViewError) -> HttpResponse + Send + Sync + 'static,
    {
        self.handlers.bad_request = Arc::new(f) as ErrorHandler;
        self
    }

    /// Django's `handler403`.
    pub fn handler403<F>(mut self, f: F) -> Self
    where
        F: Fn(&mut HttpRequest, &ViewError) -> HttpResponse + Send + Sync + 'static,
    {
        self.handlers.permission_denied = Arc::new(f) as ErrorHandler;
        self
    }

    /// Django's `handler404`.
    pub fn handler404<F>(mut self, f: F) -> Self
    where
        F: Fn(&mut HttpRequest, &ViewError) -> HttpResponse + Send + Sync + 'static,
    {
        self.handlers.page_not_found = Arc::new(f) as ErrorHandler;
        self
    }

    /// Django's `handler500`.
    pub fn handler500<F>(mut self, f: F) -> Self
    where
        F: Fn(&mut HttpRequest, &ViewError) -> HttpResponse + Send + Sync + 'static,
    {
        self.handlers.server_error = Arc::new(f) as ErrorHandler;
        self
    }

    /// Checks the URL conf and loads the middleware named in `settings` (Django's
    /// `check` plus `load_middleware`): the handler that serves requests.
    pub fn into_handler(self, settings: Settings) -> Result<Handler, ConfigError> {
        let resolver = match self.converters {
            Some(c) => UrlResolver::with_converters(self.urlpatterns, &c)?,
            None => UrlResolver::new(self.urlpatterns)?,
        };
        let chain = self.registry.load(&settings)?;
        Ok(Handler::new(
            Arc::new(settings),
            resolver,
            chain,
            self.handlers,
        ))
    }
}
