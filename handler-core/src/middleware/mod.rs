//! Middleware (Django's `MIDDLEWARE`): the [`Middleware`] trait with Django's hooks and the
//! wrapper form, [`Next`] (Django's `get_response` as a value), the registry of factories by
//! name, and the built-ins: `security`, `gzip`, `common`, `conditional_get`, `csrf`,
//! `clickjacking`, `cache_update` / `cache_fetch` / `cache` ([`cache`]), and (from `contrib`)
//! `sessions`, `auth`, `messages`. Each is also known by
//! Django's dotted name ([`DJANGO_NAMES`]), so a Django `MIDDLEWARE` list can be pasted.

use std::collections::HashMap;
use std::sync::Arc;

use crate::exception::ViewError;
use crate::handler::Handler;
use crate::http::{Extensions, HttpRequest, HttpResponse};
use crate::settings::{ConfigError, Settings};
use crate::views::ViewFn;

pub mod cache;
pub mod clickjacking;
pub mod common;
pub mod conditional_get;
pub mod csrf;
pub mod gzip;
pub mod security;

/// Django's dotted path of every built-in middleware and the short name it is registered under.
pub const DJANGO_NAMES: [(&str, &str); 12] = [
    ("django.middleware.security.SecurityMiddleware", "security"),
    ("django.middleware.gzip.GZipMiddleware", "gzip"),
    ("django.middleware.common.CommonMiddleware", "common"),
    (
        "django.middleware.http.ConditionalGetMiddleware",
        "conditional_get",
    ),
    ("django.middleware.csrf.CsrfViewMiddleware", "csrf"),
    (
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
        "clickjacking",
    ),
    (
        "django.contrib.sessions.middleware.SessionMiddleware",
        "sessions",
    ),
    (
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "auth",
    ),
    (
        "django.contrib.messages.middleware.MessageMiddleware",
        "messages",
    ),
    (
        "django.middleware.cache.UpdateCacheMiddleware",
        "cache_update",
    ),
    (
        "django.middleware.cache.FetchFromCacheMiddleware",
        "cache_fetch",
    ),
    ("django.middleware.cache.CacheMiddleware", "cache"),
];

/// The short name Django's dotted `name` stands for, or `name` itself.
pub fn short_name(name: &str) -> &str {
    DJANGO_NAMES
        .iter()
        .find(|(dotted, _)| *dotted == name)
        .map_or(name, |(_, short)| short)
}

/// A middleware (Django's new-style middleware class).
///
/// Implement any of the hooks; the default [`Middleware::call`] runs them as Django's
/// `MiddlewareMixin.__call__` does. Or override `call` itself (the wrapper form, Django's
/// `def __call__(self, request): ... self.get_response(request) ...`), using [`Next::run`].
/// Every layer is wrapped in `convert_exception_to_response`: an error returned (or a panic)
/// in a layer becomes the error response at that layer.
pub trait Middleware: Send + Sync + 'static {
    /// Django's `process_request`: a response short-circuits; only the middleware already
    /// entered see it on the way out.
    fn process_request(
        &self,
        _request: &mut HttpRequest,
    ) -> Result<Option<HttpResponse>, ViewError> {
        Ok(None)
    }

    /// Django's `process_view`, called in order after URL resolution with the view about to
    /// run; a response skips the remaining ones and the view.
    fn process_view(
        &self,
        _request: &mut HttpRequest,
        _view: &ViewFn,
    ) -> Result<Option<HttpResponse>, ViewError> {
        Ok(None)
    }

    /// Django's `process_exception`, called in reverse order when the view fails; the first
    /// response wins.
    fn process_exception(
        &self,
        _request: &mut HttpRequest,
        _error: &ViewError,
    ) -> Option<HttpResponse> {
        None
    }

    /// Django's `process_response`, on the way out (reverse order).
    fn process_response(
        &self,
        _request: &mut HttpRequest,
        response: HttpResponse,
    ) -> Result<HttpResponse, ViewError> {
        Ok(response)
    }

    /// Django's `__call__`: by default `process_request`, then (unless it answered) the rest of
    /// the chain, then `process_response`.
    fn call(
        &self,
        request: &mut HttpRequest,
        get_response: Next<'_>,
    ) -> Result<HttpResponse, ViewError> {
        let response = match self.process_request(request)? {
            Some(r) => r,
            None => get_response.run(request),
        };
        self.process_response(request, response)
    }
}

/// The rest of the chain below a middleware (Django's `get_response`). Borrowed: running it
/// allocates nothing.
#[derive(Clone, Copy)]
pub struct Next<'a> {
    pub(crate) handler: &'a Handler,
    pub(crate) index: usize,
}

impl Next<'_> {
    /// Runs the inner layers and the view; always a response (errors below were already
    /// converted, as Django's `convert_exception_to_response` does).
    pub fn run(self, request: &mut HttpRequest) -> HttpResponse {
        self.handler.run_layer(self.index, request)
    }
}

/// Builds a middleware from the settings and the app's typed registry
/// ([`App::extension`](crate::App::extension): the stores contrib's middleware run on), once at
/// start-up.
pub type MiddlewareFactory =
    Arc<dyn Fn(&Settings, &Extensions) -> Result<Arc<dyn Middleware>, ConfigError> + Send + Sync>;

/// Middleware factories by name (the names `middleware = [...]` in settings refers to).
#[derive(Clone)]
pub struct MiddlewareRegistry {
    factories: HashMap<String, MiddlewareFactory>,
}

impl Default for MiddlewareRegistry {
    fn default() -> Self {
        MiddlewareRegistry::with_builtins()
    }
}

impl MiddlewareRegistry {
    /// An empty registry.
    pub fn empty() -> Self {
        MiddlewareRegistry {
            factories: HashMap::new(),
        }
    }

    /// The built-ins: `security`, `gzip`, `common`, `conditional_get`, `csrf`,
    /// `clickjacking`, `sessions`, `auth`, `messages`.
    pub fn with_builtins() -> Self {
        let mut r = MiddlewareRegistry::empty();
        r.register("gzip", |_: &Settings| Ok(gzip::GZipMiddleware));
        r.register("clickjacking", clickjacking::XFrameOptionsMiddleware::new);
        r.register("csrf", csrf::CsrfViewMiddleware::new);
        crate::contrib::register_middleware(&mut r);
        r.register("common", |s: &Settings| {
            Ok(common::CommonMiddleware::new(s))
        });
        r.register("conditional_get", |_: &Settings| {
            Ok(conditional_get::ConditionalGetMiddleware)
        });
        r.register("security", |_: &Settings| Ok(security::SecurityMiddleware));
        r.register("cache_update", cache::UpdateCacheMiddleware::from_settings);
        r.register(
            "cache_fetch",
            cache::FetchFromCacheMiddleware::from_settings,
        );
        r.register("cache", cache::CacheMiddleware::from_settings);
        r
    }

    /// Registers (or replaces) a factory under `name`.
    pub fn register<M, F>(&mut self, name: &str, factory: F)
    where
        M: Middleware,
        F: Fn(&Settings) -> Result<M, ConfigError> + Send + Sync + 'static,
    {
        self.register_with_extensions(name, move |s: &Settings, _: &Extensions| factory(s));
    }

    /// Registers (or replaces) a factory under `name` that also reads the app's typed
    /// registry (a store the app registered with [`App::extension`](crate::App::extension)).
    pub fn register_with_extensions<M, F>(&mut self, name: &str, factory: F)
    where
        M: Middleware,
        F: Fn(&Settings, &Extensions) -> Result<M, ConfigError> + Send + Sync + 'static,
    {
        let f: MiddlewareFactory = Arc::new(move |s: &Settings, e: &Extensions| {
            factory(s, e).map(|m| Arc::new(m) as Arc<dyn Middleware>)
        });
        self.factories.insert(name.to_string(), f);
    }

    /// The registered names, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.factories.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    /// Django's `load_middleware`, the part that finds and builds: one instance per name in
    /// settings order; an unknown name is an error naming the file and the line.
    pub fn load(&self, settings: &Settings) -> Result<Vec<Arc<dyn Middleware>>, ConfigError> {
        self.load_with_extensions(settings, &Extensions::default())
    }

    /// [`MiddlewareRegistry::load`] with the app's typed registry handed to every factory.
    pub fn load_with_extensions(
        &self,
        settings: &Settings,
        extensions: &Extensions,
    ) -> Result<Vec<Arc<dyn Middleware>>, ConfigError> {
        let mut chain = Vec::with_capacity(settings.middleware.len());
        for (index, name) in settings.middleware.iter().enumerate() {
            let factory = self.factories.get(name);
            // A name registered as such wins (an app may register its own under a dotted
            // name); otherwise Django's dotted name of a built-in.
            let factory = factory.or_else(|| self.factories.get(short_name(name)));
            let factory = factory.ok_or_else(|| {
                settings.error_at_middleware(
                    index,
                    &format!(
                        "unknown middleware \"{name}\" (known: {})",
                        self.names().join(", ")
                    ),
                )
            })?;
            let mw = factory(settings, extensions)
                .map_err(|e| ConfigError::new(format!("middleware \"{name}\": {e}")))?;
            chain.push(mw);
        }
        Ok(chain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn djangos_dotted_names_load_the_built_ins() {
        let registry = MiddlewareRegistry::with_builtins();
        let mut dotted = Settings::default();
        dotted.middleware = DJANGO_NAMES
            .iter()
            .filter(|(_, short)| !matches!(*short, "sessions" | "auth" | "messages"))
            .map(|(d, _)| d.to_string())
            .collect();
        assert_eq!(registry.load(&dotted).unwrap().len(), 9);
        for (_, short) in DJANGO_NAMES.iter() {
            assert!(registry.names().contains(short), "{short} is registered");
        }
        assert_eq!(
            short_name("django.middleware.csrf.CsrfViewMiddleware"),
            "csrf"
        );
        assert_eq!(short_name("csrf"), "csrf");
        let mut typo = Settings::default();
        typo.middleware = vec!["django.middleware.csrf.CsrfMiddleware".into()];
        let e = registry.load(&typo).err().unwrap();
        assert!(e.message().contains("unknown middleware"), "{e}");
    }
}
