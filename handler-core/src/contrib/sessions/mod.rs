//! Sessions (Django's `django.contrib.sessions`): the per-request [`Session`]
//! (`request.session()` through [`RequestSessionExt`], Django's `SessionBase`), the
//! [`SessionStore`] trait its engines implement, the engines in [`backends`] (`db`, on a
//! [`backends::db::SessionDatabase`] the app gives with [`AppSessionExt::session_database`],
//! and `signed_cookies`), and [`middleware::SessionMiddleware`].

pub mod backends;
pub mod base;
pub mod middleware;
pub mod migrations;

pub use backends::db::{DbSessionStore, DjangoSessionTable, SessionDatabase};
pub use backends::signed_cookies::SignedCookieSessionStore;
pub use base::{RequestSessionExt, Session, SessionData, SessionError, SessionState, SessionStore};

use std::sync::Arc;

use crate::app::App;
use crate::http::Extensions;
use crate::settings::{ConfigError, Settings};

/// The app's session table, for the database engine: `App::session_database(db)`. In the
/// prelude.
pub trait AppSessionExt {
    /// The app's session table (Django's `django_session`), for the database session engine
    /// (`session_engine = "db"`, Django's default); kept in the app's typed registry.
    fn session_database<D: SessionDatabase>(self, db: D) -> Self;
}

impl AppSessionExt for App {
    fn session_database<D: SessionDatabase>(self, db: D) -> Self {
        self.extension(Arc::new(db) as Arc<dyn SessionDatabase>)
    }
}

/// Builds the session engine the settings name, once at start-up, into the app's registry
/// (as an `Arc<dyn SessionStore>`), where the `sessions` middleware and the test client's
/// `force_login` find the same engine.
pub(crate) fn configure(
    settings: &Settings,
    extensions: &mut Extensions,
) -> Result<(), ConfigError> {
    let uses_sessions = settings
        .middleware
        .iter()
        .any(|m| crate::middleware::short_name(m) == "sessions");
    let db = extensions.get::<Arc<dyn SessionDatabase>>().cloned();
    if let Some(engine) = backends::engine(settings, db, uses_sessions)? {
        extensions.insert(engine);
    }
    Ok(())
}
