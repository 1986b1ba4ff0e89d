//! Django's `django.contrib` apps that the default middleware stack needs: [`auth`],
//! [`sessions`] and [`messages`]. They plug into the core through its seams, as Django's do:
//! per-request state in [`HttpRequest::extensions`](crate::http::HttpRequest::extensions)
//! behind extension traits ([`auth::RequestUserExt`], [`sessions::RequestSessionExt`]), stores
//! in the app's typed registry ([`App::extension`](crate::App::extension)), and middleware by
//! name in the [`MiddlewareRegistry`]. The core (`http`, `urls`, `handler`, `settings`,
//! `exception`) never names them.

pub mod auth;
pub mod messages;
pub mod sessions;

use crate::http::Extensions;
use crate::middleware::MiddlewareRegistry;
use crate::settings::{ConfigError, Settings};

/// Registers the contrib middleware under their short names: `sessions` (on the engine
/// [`configure`] built; the signed-cookie engine also works on its own, the database engine
/// needs [`App::session_database`](sessions::AppSessionExt::session_database)), `auth` (needs
/// [`App::user_store`](auth::AppAuthExt::user_store)) and `messages`.
pub(crate) fn register_middleware(registry: &mut MiddlewareRegistry) {
    registry.register_with_extensions(
        "sessions",
        sessions::middleware::SessionMiddleware::from_extensions,
    );
    registry.register("messages", messages::middleware::MessageMiddleware::new);
    registry.register_with_extensions(
        "auth",
        auth::middleware::AuthenticationMiddleware::from_extensions,
    );
}

/// contrib's start-up work on the app's typed registry, before the middleware is loaded:
/// the session engine the settings name, built once for the middleware and the test client.
pub(crate) fn configure(
    settings: &Settings,
    extensions: &mut Extensions,
) -> Result<(), ConfigError> {
    sessions::configure(settings, extensions)
}
