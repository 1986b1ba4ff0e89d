//! The session engines (Django's `django.contrib.sessions.backends`).

pub mod cache;
pub mod cached_db;
pub mod db;
pub mod signed_cookies;

use std::sync::Arc;

use super::middleware::{CACHED_DB_ENGINES, CACHE_ENGINES, DB_ENGINES, SIGNED_COOKIE_ENGINES};
use super::SessionStore;
use crate::settings::{ConfigError, Settings};
use db::{DbSessionStore, SessionDatabase};
use signed_cookies::SignedCookieSessionStore;

/// The session engine the settings name, built once: the database engine on the app's table,
/// the signed-cookie or the cache engine (only when `sessions` is in use: they need
/// `secret_key` or a cache), or `cached_db`: the database engine behind the cache.
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
    let is_db = DB_ENGINES.contains(&engine);
    let is_cached_db = CACHED_DB_ENGINES.contains(&engine);
    if (is_db || is_cached_db) && !in_use && db.is_none() {
        return Ok(None);
    }
    // Without the app's own table, Django's `django_session` on the default database.
    let table = || -> Arc<dyn SessionDatabase> {
        db.clone().unwrap_or_else(|| {
            Arc::new(db::DjangoSessionTable::new(
                Arc::clone(settings.connections()),
                crate::db::DEFAULT_DB_ALIAS,
            ))
        })
    };
    if is_db {
        let db = table();
        let keys = crate::signing::SecretKeys::from_settings(settings)?;
        Ok(Some(Arc::new(DbSessionStore::new(db, keys))))
    } else if SIGNED_COOKIE_ENGINES.contains(&engine) {
        if !in_use {
            return Ok(None);
        }
        Ok(Some(Arc::new(SignedCookieSessionStore::new(settings)?)))
    } else if CACHE_ENGINES.contains(&engine) {
        if !in_use {
            return Ok(None);
        }
        Ok(Some(Arc::new(cache::CacheSessionStore::from_settings(
            settings,
        )?)))
    } else if is_cached_db {
        let db = table();
        let keys = crate::signing::SecretKeys::from_settings(settings)?;
        let db = Arc::new(DbSessionStore::new(db, keys));
        let store = cached_db::CachedDbSessionStore::from_settings(settings, db)?;
        Ok(Some(Arc::new(store)))
    } else {
        Err(named(&format!("{engine:?} is not an engine")))
    }
}
