//! Django's `django.contrib` apps that the default middleware stack needs: [`sessions`],
//! [`messages`], and [`auth`] (which lives at `crate::auth`, re-exported here under Django's
//! path).

pub mod messages;
pub mod sessions;

use crate::middleware::MiddlewareRegistry;

/// Registers the contrib middleware under their short names: `sessions` (the signed-cookie
/// engine works on its own; the database engine needs [`crate::App::session_database`]),
/// `auth` (needs [`crate::App::user_store`]) and `messages`.
pub(crate) fn register_middleware(registry: &mut MiddlewareRegistry) {
    registry.register(
        "sessions",
        sessions::middleware::SessionMiddleware::from_settings,
    );
    registry.register("messages", messages::middleware::MessageMiddleware::new);
    registry.register("auth", |_: &crate::Settings| {
        Err::<crate::auth::middleware::AuthenticationMiddleware, _>(crate::ConfigError::new(
            "AuthenticationMiddleware needs the app's users: the app must call \
             App::user_store(...)",
        ))
    });
}

pub use crate::auth;
