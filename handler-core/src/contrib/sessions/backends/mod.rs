//! The session engines (Django's `django.contrib.sessions.backends`).

pub mod db;
pub mod signed_cookies;

use std::sync::Arc;

use super::middleware::{DB_ENGINES, SIGNED_COOKIE_ENGINES};
use super::SessionStore;
use crate::settings::{ConfigError, Settings};
use db::{DbSessionStore, SessionDatabase};
use signed_cookies::SignedCookieSessionStore;

/// The session engine the settings name, built once: the database engine on the app's table,
/// or the signed-cookie engine (only when `sessions` is in use, as it needs `secret_key`).
pub(crate) fn engine(
    settings: &Settings,
    db: Option<Arc<dyn SessionDatabase>>,
    in_use: bool,
) -> Result<Option<Arc<dyn SessionStore>>, ConfigError> {
    let engine = settings.session_engine.as_str();
    let named = |what: &str| {
        let file = settings
            .path()
            .map_or_else(|| "<settings>".to_string(), |p| p.display().to_string());
        ConfigError::new(format!("{file}: session_engine: {what}"))
    };
    if DB_ENGINES.contains(&engine) {
        if !in_use && db.is_none() {
            return Ok(None);
        }
        // Without the app's own table, Django's `django_session` on the default database.
        let db = db.unwrap_or_else(|| {
            Arc::new(db::DjangoSessionTable::new(
                Arc::clone(settings.connections()),
                crate::db::DEFAULT_DB_ALIAS,
            ))
        });
        let keys = crate::signing::SecretKeys::from_settings(settings)?;
        Ok(Some(Arc::new(DbSessionStore::new(db, keys))))
    } else if SIGNED_COOKIE_ENGINES.contains(&engine) {
        if !in_use {
            return Ok(None);
        }
        Ok(Some(Arc::new(SignedCookieSessionStore::new(settings)?)))
    } else {
        Err(named(&format!("{engine:?} is not an engine")))
    }
}
