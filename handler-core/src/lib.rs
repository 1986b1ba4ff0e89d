//! Django's request/response cycle in Rust, exported through the gateway ABI.
//!
//! An app is a `cdylib` that builds an [`App`] from its [`Settings`] and exports it with
//! [`export_app!`]. The server loads the library, `create` reads the settings file
//! (`--settings`), builds the URL conf and the middleware chain once, and every request runs
//! Django's cycle: middleware in, URL resolution, `process_view`, the view, `process_exception`,
//! middleware out.
//!
//! Module map (Django's names): [`settings`] (settings.py), [`middleware`] (MIDDLEWARE and the
//! built-ins `security`, `gzip`, `common`, `conditional_get`, `csrf`, `clickjacking`), [`urls`]
//! (path, re_path, include, reverse), [`views`] (function views, class-based [`View`],
//! [`decorators`](views::decorators), error pages), [`http`] (HttpRequest, HttpResponse family,
//! QueryDict, cookies, multipart), [`exception`] ([`ViewError`]), [`handler`] (BaseHandler),
//! [`contrib`] ([`contrib::auth`]: User, login, [`hashers`](contrib::auth::hashers), its
//! middleware and decorators; [`contrib::sessions`]; [`contrib::messages`]; `handler_core::auth`
//! is a re-export of `contrib::auth`), [`cache`] (django.core.cache: `[caches.*]`, locmem and Redis,
//! `cache_page`), [`signing`] (django.core.signing: Signer,
//! TimestampSigner, dumps / loads) and [`crypto`] (django.utils.crypto), keyed by `secret_key`,
//! [`template`] (the Jinja2 backend, `render`), [`test`] (Client, RequestFactory), [`utils`],
//! [`paginator`] (django.core.paginator: Paginator, Page, over a Vec or a QuerySet),
//! [`shortcuts`] (redirect, reverse, get_object_or_404), [`adapter`] (WSGIHandler: the ABI
//! export).
//!
//! [`forms`] is django.forms: fields, validation with Django's messages, rendering, and the
//! [`form!`] macro that declares a form.
//!
//! As in Django, the core (`http`, `urls`, `handler`, `settings`, `exception`) never imports
//! `contrib`: contrib keeps `request.session()` and `request.user()` in the request's
//! [`extensions`](http::HttpRequest::extensions) behind extension traits
//! ([`RequestSessionExt`](contrib::sessions::RequestSessionExt),
//! [`RequestUserExt`](contrib::auth::RequestUserExt)), its stores in the app's typed registry
//! ([`App::extension`]), and its middleware in the registry by name; the prelude brings the
//! traits in.
//!
//! # A complete app
//!
//! ```
//! use handler_core::prelude::*;
//! use serde_json::json;
//!
//! // settings.toml (read by the server's --settings):
//! //   debug = false
//! //   allowed_hosts = ["localhost"]
//! //   middleware = ["timer", "powered_by", "common"]
//! //   [app]
//! //   greeting = "Hello"
//!
//! /// A hook-form middleware: stamps every response.
//! struct Timer;
//! impl Middleware for Timer {
//!     fn process_request(&self, request: &mut HttpRequest) -> Result<Option<HttpResponse>, ViewError> {
//!         request.extensions.insert(std::time::Instant::now());
//!         Ok(None)
//!     }
//!     fn process_response(&self, request: &mut HttpRequest, response: HttpResponse)
//!         -> Result<HttpResponse, ViewError> {
//!         let ms = request.extensions.get::<std::time::Instant>()
//!             .map_or(0, |t| t.elapsed().as_millis());
//!         Ok(response.header("X-Duration-ms", ms.to_string()))
//!     }
//! }
//!
//! /// A wrapper-form middleware: Django's `__call__(request)` around `get_response`.
//! struct PoweredBy(String);
//! impl Middleware for PoweredBy {
//!     fn call(&self, request: &mut HttpRequest, get_response: Next<'_>)
//!         -> Result<HttpResponse, ViewError> {
//!         let response = get_response.run(request);
//!         Ok(response.header("X-Powered-By", self.0.as_str()))
//!     }
//! }
//!
//! /// A function view.
//! fn home(_request: &mut HttpRequest) -> ViewResult {
//!     Ok(HttpResponse::new("Success!"))
//! }
//!
//! /// A class-based view: GET and POST; everything else is 405 with
//! /// `Allow: GET, POST, HEAD, OPTIONS`.
//! struct Articles;
//! impl View for Articles {
//!     const HANDLERS: &'static [Method] = &[Method::Get, Method::Post];
//!     fn get(&self, request: &mut HttpRequest) -> ViewResult {
//!         let page = request.GET()?.get("page").unwrap_or("1").to_string();
//!         JsonResponse::new(&json!({"articles": [], "page": page}))
//!     }
//!     fn post(&self, request: &mut HttpRequest) -> ViewResult {
//!         let title = match request.json::<serde_json::Value>() {
//!             Ok(v) => v["title"].as_str().unwrap_or("").to_string(),
//!             Err(_) => return JsonResponse::with_status(400, &json!({"error": "Invalid JSON"})),
//!         };
//!         JsonResponse::with_status(201, &json!({"title": title}))
//!     }
//! }
//!
//! fn article(request: &mut HttpRequest) -> ViewResult {
//!     let id = request.kwarg_int("id").ok_or_else(|| ViewError::not_found("no id"))?;
//!     JsonResponse::new(&json!({"id": id}))
//! }
//!
//! fn build(settings: &Settings) -> Result<App, ConfigError> {
//!     let _greeting = settings.app.get("greeting").and_then(|v| v.as_str()).unwrap_or("Hi");
//!     let urlpatterns = vec![
//!         path("", view(home)).name("home"),
//!         path("old/", view(|_req: &mut HttpRequest| redirect("home"))),
//!         path("dashboard/", login_required(view(home))),
//!         path("get-only/", require_http_methods(&["GET"], view(home))),
//!         include("api/", vec![
//!             path("articles/", Articles.as_view()).name("article-list"),
//!             path("articles/<int:id>/", view(article)).name("article-detail"),
//!         ]),
//!     ];
//!     Ok(App::new(urlpatterns)
//!         .middleware("timer", |_settings: &Settings| Ok(Timer))
//!         .middleware("powered_by", |settings: &Settings| {
//!             let name = settings.app.get("powered_by").and_then(|v| v.as_str());
//!             Ok(PoweredBy(name.unwrap_or("handler-core").to_string()))
//!         })
//!         .handler404(|_req: &mut HttpRequest, _err: &ViewError| {
//!             HttpResponseNotFound::new("<h1>nothing here</h1>")
//!         }))
//! }
//!
//! handler_core::export_app!(build);
//! # fn main() {}
//! ```
//!
//! The wrapper form of a middleware overrides [`Middleware::call`] and calls
//! [`Next::run`](middleware::Next::run) (Django's `self.get_response(request)`).
//!
//! # Django's default stack
//!
//! `middleware = [...]` takes the middleware `django-admin startproject` writes, by short name
//! or by Django's dotted name: `security`, `sessions` ([`contrib::sessions`]: the database
//! engine on the app's [`SessionDatabase`](contrib::sessions::SessionDatabase), given with
//! [`App::session_database`](contrib::sessions::AppSessionExt::session_database), or
//! `signed_cookies`), `common`, `csrf` ([`middleware::csrf`]), `auth` ([`contrib::auth`]: the
//! app's [`UserStore`](contrib::auth::UserStore), given with
//! [`App::user_store`](contrib::auth::AppAuthExt::user_store)), `messages`
//! ([`contrib::messages`]), `clickjacking`, plus `gzip` and `conditional_get`. Values are
//! signed as Django signs them ([`signing`]), passwords hashed as Django hashes them
//! ([`contrib::auth::hashers`]), and [`template::render`] renders
//! Jinja2-syntax templates with `csrf_input` and `messages`.
//!
//! # Testing with the `Client`
//!
//! [`test::Client`] (Django's test client) drives the built app in process: every request
//! goes through the whole middleware chain, cookies are kept between calls, and CSRF checks
//! are off unless asked for, as in Django.
//!
//! ```
//! use handler_core::contrib::auth::{StoreError, StoredUser, UserStore};
//! use handler_core::prelude::*;
//! use handler_core::test::Client;
//! use serde_json::json;
//!
//! /// The app's users (Django's user model).
//! struct Users(Vec<StoredUser>);
//! impl UserStore for Users {
//!     fn get_user(&self, id: &str) -> Result<Option<StoredUser>, StoreError> {
//!         Ok(self.0.iter().find(|u| u.id == id).cloned())
//!     }
//!     fn get_by_natural_key(&self, name: &str) -> Result<Option<StoredUser>, StoreError> {
//!         Ok(self.0.iter().find(|u| u.username == name).cloned())
//!     }
//! }
//!
//! fn counter(request: &mut HttpRequest) -> ViewResult {
//!     let session = request.session()?;
//!     let count = session.get("count")?.and_then(|v| v.as_i64()).unwrap_or(0) + 1;
//!     session.set("count", count)?;
//!     JsonResponse::new(&json!({"count": count}))
//! }
//!
//! fn whoami(request: &mut HttpRequest) -> ViewResult {
//!     JsonResponse::new(&json!({"username": request.user().username}))
//! }
//!
//! let mut settings = Settings::default();
//! settings.secret_key = "doc-test-key".into();
//! settings.session_engine = "signed_cookies".into();
//! settings.middleware = ["sessions", "csrf", "auth"].map(String::from).to_vec();
//! let alice = StoredUser {
//!     id: "1".into(),
//!     username: "alice".into(),
//!     password: "pbkdf2_sha256$10000$notessaltalice$ZbfiDUP9TIZjov7FbXiBmTf6PK5wqRiO4BJrJFN0yZw=".into(),
//!     is_active: true,
//!     is_staff: false,
//!     is_superuser: false,
//! };
//! let app = App::new(vec![
//!     path("counter/", view(counter)),
//!     path("whoami/", login_required(view(whoami))),
//! ])
//! .user_store(Users(vec![alice.clone()]));
//! let mut client = Client::from_app(app, settings).unwrap().enforce_csrf_checks(true);
//!
//! // The session cookie is kept between requests.
//! assert_eq!(client.get("/counter/").json().unwrap(), json!({"count": 1}));
//! let response = client.get("/counter/");
//! assert_eq!(response.json().unwrap(), json!({"count": 2}));
//! assert_eq!(response.get("Vary"), Some("Cookie"));
//!
//! // login_required redirects; force_login signs in without a password.
//! let response = client.get("/whoami/");
//! assert_eq!(response.status_code, 302);
//! assert_eq!(response.get("Location"), Some("/accounts/login/?next=/whoami/"));
//! client.force_login(&alice).unwrap();
//! let response = client.request("GET", "/whoami/").follow().send();
//! assert_eq!(response.json().unwrap(), json!({"username": "alice"}));
//!
//! // With enforce_csrf_checks, a POST without the token is refused as a browser's would be.
//! assert_eq!(client.post("/counter/", &[]).status_code, 403);
//! ```

pub mod adapter;
pub mod app;
pub mod cache;
pub mod contrib;
pub mod crypto;
pub mod db;
pub mod exception;
pub mod forms;
pub mod handler;
pub mod http;
pub mod middleware;
pub mod paginator;
pub mod python;
pub mod settings;
pub mod shortcuts;
pub mod signing;
pub mod template;
pub mod test;
pub mod urls;
pub mod utils;
pub mod views;

// django-admin's part (Django's `django.core.management` and `django.core.checks`): the
// commands `portico manage` runs and the system checks.
pub mod checks;
pub mod management;

#[cfg(test)]
mod test_log;

pub use clap;
pub use gateway_api;
#[doc(hidden)]
pub use serde as __serde;

pub use app::App;
/// `django.contrib.auth` at its old path: [`contrib::auth`] is the documented one.
pub use contrib::auth;
pub use contrib::auth::User;
pub use exception::ViewError;
pub use middleware::{Middleware, Next};
pub use settings::{ConfigError, Settings};
pub use views::generic::{Method, View};
pub use views::{view, ViewFn, ViewResult};

/// Everything an app usually needs, in one `use handler_core::prelude::*;`.
pub mod prelude {
    pub use crate::app::App;
    pub use crate::contrib::auth::{AppAuthExt, RequestUserExt, User};
    pub use crate::contrib::sessions::{AppSessionExt, RequestSessionExt};
    pub use crate::exception::ViewError;
    pub use crate::forms::{
        BooleanField, CharField, ChoiceField, DateField, DateTimeField, DecimalField, EmailField,
        Form, FormData, FormValue, IntegerField, URLField, Widget,
    };
    pub use crate::http::{
        FileResponse, Headers, HttpRequest, HttpResponse, HttpResponseBadRequest,
        HttpResponseForbidden, HttpResponseGone, HttpResponseNotAllowed, HttpResponseNotFound,
        HttpResponseNotModified, HttpResponsePermanentRedirect, HttpResponseRedirect,
        HttpResponseServerError, JsonResponse, QueryDict, StreamingHttpResponse,
    };
    pub use crate::middleware::{Middleware, Next};
    pub use crate::paginator::{Page, Paginator, PaginatorError};
    pub use crate::settings::{ConfigError, Settings};
    pub use crate::shortcuts::{get_object_or_404, redirect, redirect_permanent, render, reverse};
    pub use crate::urls::{include, path, re_path, PathValue};
    pub use crate::views::decorators::{
        login_required, login_required_at, require_GET, require_POST, require_http_methods,
        require_safe,
    };
    pub use crate::views::generic::{Method, View};
    pub use crate::views::{view, ViewFn, ViewResult};
}
