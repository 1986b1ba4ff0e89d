//! The app (Django's project: its URL conf, its middleware, its error handlers): built by the
//! app's `build` function from the settings, then turned into a [`Handler`] once at start-up.

use std::any::Any;
use std::sync::Arc;

use crate::exception::{ErrorHandler, ViewError};
use crate::handler::{ErrorHandlers, Handler};
use crate::http::{Extensions, HttpRequest, HttpResponse};
use crate::middleware::{Middleware, MiddlewareRegistry};
use crate::settings::{ConfigError, Settings};
use crate::urls::{Converters, UrlEntry, UrlResolver};
use crate::views::ViewFn;

/// Work run once the app has been checked: see [`App::ready`].
type ReadyHook = Box<dyn FnOnce(&Settings, &Extensions) -> Result<(), ConfigError> + Send>;

/// An app: URL patterns, extra middleware factories, error handlers, ready hooks, and a
/// typed registry of values (stores) for the middleware and contrib.
pub struct App {
    urlpatterns: Vec<UrlEntry<ViewFn>>,
    registry: MiddlewareRegistry,
    /// The app's management commands and system checks (`App::command`, `App::check`).
    pub(crate) management: crate::management::Management,
    handlers: ErrorHandlers,
    converters: Option<Converters>,
    ready: Vec<ReadyHook>,
    /// Start-up work for serving only (see [`App::on_serve`]).
    serve: Vec<ReadyHook>,
    pub(crate) extensions: Extensions,
}

impl App {
    /// An app serving `urlpatterns` (Django's `urlpatterns`), with the built-in middleware
    /// registered and Django's default error pages.
    pub fn new(urlpatterns: Vec<UrlEntry<ViewFn>>) -> Self {
        App {
            urlpatterns,
            registry: MiddlewareRegistry::with_builtins(),
            management: crate::management::Management::with_builtins(),
            handlers: ErrorHandlers::default(),
            converters: None,
            ready: Vec::new(),
            serve: Vec::new(),
            extensions: Extensions::default(),
        }
    }

    /// Registers `value` in the app's typed registry, one value per type (a later one replaces
    /// it): middleware factories registered with
    /// [`register_with_extensions`](MiddlewareRegistry::register_with_extensions) read it at
    /// start-up, and [`Handler::extensions`] keeps it. contrib's builders go through it:
    /// [`App::session_database`](crate::contrib::sessions::AppSessionExt::session_database)
    /// and [`App::user_store`](crate::contrib::auth::AppAuthExt::user_store).
    pub fn extension<T: Any + Send + Sync>(mut self, value: T) -> Self {
        self.extensions.insert(value);
        self
    }

    /// Django's `AppConfig.ready`: `hook` runs once, after the URL conf is checked and every
    /// middleware named in settings is loaded, before any request. Work with side effects
    /// (creating a database, say) belongs here, so that settings the checks reject leave
    /// nothing behind; an error stops start-up like any settings error.
    pub fn ready<F>(mut self, hook: F) -> Self
    where
        F: FnOnce(&Settings) -> Result<(), ConfigError> + Send + 'static,
    {
        self.ready.push(Box::new(move |settings, _| hook(settings)));
        self
    }

    /// As [`App::ready`], with the app's typed registry as contrib configured it (the
    /// installed migrations, the stores): for an app that migrates or seeds at start-up.
    pub fn ready_with_extensions<F>(mut self, hook: F) -> Self
    where
        F: FnOnce(&Settings, &Extensions) -> Result<(), ConfigError> + Send + 'static,
    {
        self.ready.push(Box::new(hook));
        self
    }

    /// Start-up work for an app built to serve requests (a server's worker, the test
    /// `Client`), run after every [`App::ready`] hook and never for `portico manage`: what a
    /// development setup does for its user before the first request, such as migrating the
    /// database, which `manage migrate` then does itself and reports step by step, as
    /// Django's does. An error stops start-up like any settings error.
    pub fn on_serve<F>(mut self, hook: F) -> Self
    where
        F: FnOnce(&Settings, &Extensions) -> Result<(), ConfigError> + Send + 'static,
    {
        self.serve.push(Box::new(hook));
        self
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
        self.build(settings, true)
    }

    /// As [`App::into_handler`], without the [`App::on_serve`] hooks: the app a management
    /// command runs in.
    pub(crate) fn into_handler_for_commands(
        self,
        settings: Settings,
    ) -> Result<Handler, ConfigError> {
        self.build(settings, false)
    }

    fn build(self, settings: Settings, serving: bool) -> Result<Handler, ConfigError> {
        let resolver = match self.converters {
            Some(c) => UrlResolver::with_converters(self.urlpatterns, &c)?,
            None => UrlResolver::new(self.urlpatterns)?,
        };
        crate::cache::configure(&settings)?;
        let mut extensions = self.extensions;
        // contrib's start-up work (Django's `apps.populate`): the session engine, built once
        // for the middleware and the test client.
        crate::contrib::configure(&settings, &mut extensions)?;
        let chain = self.registry.load_with_extensions(&settings, &extensions)?;
        if !settings.templates.dirs.is_empty() {
            settings.template_engine()?;
        }
        for hook in self.ready {
            hook(&settings, &extensions)?;
        }
        if serving {
            for hook in self.serve {
                hook(&settings, &extensions)?;
            }
        }
        let mut handler = Handler::new(Arc::new(settings), resolver, chain, self.handlers);
        handler.set_extensions(extensions);
        Ok(handler)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn the_stack_needs_no_app_store_and_names_bad_settings() {
        let mut s = Settings::default();
        s.secret_key = "k".into();
        s.middleware = vec!["django.contrib.sessions.middleware.SessionMiddleware".into()];
        // The db engine and ModelBackend default to Django's tables on DATABASES.
        assert!(App::new(Vec::new()).into_handler(s.clone()).is_ok());
        s.session_engine = "signed_cookies".into();
        assert!(App::new(Vec::new()).into_handler(s.clone()).is_ok());
        s.middleware.push("auth".into());
        assert!(App::new(Vec::new()).into_handler(s.clone()).is_ok());
        s.session_engine = "redis".into();
        let e = App::new(Vec::new()).into_handler(s.clone()).err().unwrap();
        assert!(e.message().contains("\"redis\" is not an engine"), "{e}");
        // Without a key nothing signed can work: the error names the setting.
        s.session_engine = "signed_cookies".into();
        s.secret_key = String::new();
        s.middleware = vec!["sessions".into()];
        let e = App::new(Vec::new()).into_handler(s).err().unwrap();
        assert!(e.message().contains("SECRET_KEY"), "{e}");
    }

    #[test]
    fn serve_hooks_run_for_serving_not_for_commands() {
        static READY: AtomicUsize = AtomicUsize::new(0);
        static SERVE: AtomicUsize = AtomicUsize::new(0);
        let app = || {
            App::new(Vec::new())
                .ready(|_: &Settings| {
                    READY.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                })
                .on_serve(|_: &Settings, _: &Extensions| {
                    // Every ready hook has run before it.
                    assert!(READY.load(Ordering::SeqCst) > SERVE.load(Ordering::SeqCst));
                    SERVE.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                })
        };
        assert!(crate::management::BuiltApp::new(app(), Settings::default(), "t").is_ok());
        assert_eq!(
            (READY.load(Ordering::SeqCst), SERVE.load(Ordering::SeqCst)),
            (1, 0)
        );
        assert!(app().into_handler(Settings::default()).is_ok());
        assert_eq!(
            (READY.load(Ordering::SeqCst), SERVE.load(Ordering::SeqCst)),
            (2, 1)
        );
        let failing = App::new(Vec::new())
            .on_serve(|_: &Settings, _: &Extensions| Err(ConfigError::new("s.toml: no")));
        assert!(failing.into_handler(Settings::default()).is_err());
    }

    #[test]
    fn ready_runs_once_after_the_checks_and_its_error_stops_start_up() {
        static RAN: AtomicUsize = AtomicUsize::new(0);
        let count = |_: &Settings| {
            RAN.fetch_add(1, Ordering::SeqCst);
            Ok(())
        };
        assert!(App::new(Vec::new())
            .ready(count)
            .into_handler(Settings::default())
            .is_ok());
        assert_eq!(RAN.load(Ordering::SeqCst), 1);

        // A middleware the checks refuse: the hook never runs.
        let mut bad = Settings::default();
        bad.middleware = vec!["nosuch".into()];
        assert!(App::new(Vec::new()).ready(count).into_handler(bad).is_err());
        assert_eq!(
            RAN.load(Ordering::SeqCst),
            1,
            "ready ran for refused settings"
        );

        // The hook's own error is the start-up error.
        let e = App::new(Vec::new())
            .ready(|_: &Settings| Err(ConfigError::new("s.toml: [app] database: read-only")))
            .into_handler(Settings::default())
            .err()
            .map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("s.toml: [app] database: read-only"));
    }
}
