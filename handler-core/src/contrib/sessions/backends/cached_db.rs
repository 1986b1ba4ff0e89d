//! The cached-database engine (Django's `sessions/backends/cached_db.py`): the database engine
//! with a write-through cache in front, under `django.contrib.sessions.cached_db<session_key>`.
//! Reads come from the cache and fall back to the database (filling the cache); saves go to
//! the database, then the cache; deletes go to both.
//!
//! It wraps any [`SessionStore`] with the database engine's semantics (today
//! [`DbSessionStore`](super::db::DbSessionStore) on the app's table), so it follows that
//! engine wherever it moves. As in Django 5.2, the database is the truth: a cache failure
//! while reading falls back to the database, and one while saving is logged and the request
//! goes on (Django raises when refilling the cache after that database read fails; this
//! engine logs that too, as it does for a save). A failure while deleting is an error: a
//! session left in the cache after a logout would come back.

use std::sync::Arc;

use super::super::base::{SessionData, SessionError, SessionState, SessionStore};
use super::cache::{backend_error, cached_data, session_cache};
use crate::cache::{Cache, Timeout, LOGGER};
use crate::settings::{ConfigError, Settings};

/// Django's `KEY_PREFIX` for this engine.
pub const KEY_PREFIX: &str = "django.contrib.sessions.cached_db";

/// Django's cached_db `SessionStore`.
pub struct CachedDbSessionStore {
    db: Arc<dyn SessionStore>,
    cache: Cache,
}

impl CachedDbSessionStore {
    /// The engine: `db` (the database engine) behind `cache`.
    pub fn new(db: Arc<dyn SessionStore>, cache: Cache) -> Self {
        CachedDbSessionStore { db, cache }
    }

    /// The engine on `db` and the cache `session_cache_alias` names.
    pub fn from_settings(
        settings: &Settings,
        db: Arc<dyn SessionStore>,
    ) -> Result<Self, ConfigError> {
        Ok(CachedDbSessionStore::new(db, session_cache(settings)?))
    }

    /// Django's `cache_key` for `session_key`.
    pub fn cache_key(&self, session_key: &str) -> String {
        format!("{KEY_PREFIX}{session_key}")
    }

    fn cache_set(&self, state: &SessionState, data: &SessionData) {
        let Some(key) = state.session_key().map(|k| self.cache_key(k)) else {
            return;
        };
        if let Err(e) = self
            .cache
            .set(&key, data, Timeout::Seconds(state.expiry_age()))
        {
            // Django 5.2: logger.exception("Error saving to cache (%s)", self._cache).
            log::error!(target: LOGGER, "Error saving to cache ({}): {e}", self.cache.alias());
        }
    }
}

impl SessionStore for CachedDbSessionStore {
    fn load(&self, state: &mut SessionState) -> Result<SessionData, SessionError> {
        let key = self.cache_key(state.session_key().unwrap_or_default());
        match cached_data(&self.cache, &key) {
            Ok(Some(data)) => return Ok(data),
            Ok(None) => {}
            // Logged where it failed; the database answers instead.
            Err(_) => {}
        }
        let data = self.db.load(state)?;
        // The database engine drops the key of a session it does not have.
        if state.session_key().is_some() {
            // The expiry age of the data just read, as Django's get_expiry_age(expiry=...).
            let mut loaded = state.clone();
            loaded.cache = Some(data.clone());
            self.cache_set(&loaded, &data);
        }
        Ok(data)
    }

    fn exists(&self, session_key: &str) -> Result<bool, SessionError> {
        if !session_key.is_empty()
            && self
                .cache
                .has_key(&self.cache_key(session_key))
                .unwrap_or(false)
        {
            return Ok(true);
        }
        self.db.exists(session_key)
    }

    fn create(&self, state: &mut SessionState) -> Result<(), SessionError> {
        // The database engine's create calls its own save: the cache is filled by ours.
        self.db.create(state)?;
        let data = state.cache.clone().unwrap_or_default();
        self.cache_set(state, &data);
        Ok(())
    }

    fn save(&self, state: &mut SessionState, must_create: bool) -> Result<(), SessionError> {
        self.db.save(state, must_create)?;
        let data = state.cache.clone().unwrap_or_default();
        self.cache_set(state, &data);
        Ok(())
    }

    fn delete(
        &self,
        state: &mut SessionState,
        session_key: Option<&str>,
    ) -> Result<(), SessionError> {
        self.db.delete(state, session_key)?;
        let Some(key) = session_key.or(state.session_key()) else {
            return Ok(());
        };
        self.cache
            .delete(&self.cache_key(key))
            .map(|_| ())
            .map_err(backend_error)
    }

    fn clear_expired(&self) -> Result<(), SessionError> {
        self.db.clear_expired()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::CacheConfig;
    use crate::contrib::sessions::base::tests::MemoryStore;
    use crate::contrib::sessions::base::Session;

    #[test]
    fn reads_come_from_the_cache_and_fall_back_to_the_database() {
        let cache = Cache::from_config(
            "default",
            &CacheConfig {
                location: vec!["sessions-test-cached-db".into()],
                ..CacheConfig::default()
            },
        )
        .unwrap();
        let db = Arc::new(MemoryStore::default());
        let store: Arc<dyn SessionStore> =
            Arc::new(CachedDbSessionStore::new(db.clone(), cache.clone()));
        let mut s = Session::new(Arc::clone(&store), SessionState::new(None, 1209600, false));
        s.set("count", 1).unwrap();
        s.save().unwrap();
        let key = s.session_key().unwrap().to_string();
        let entry = format!("django.contrib.sessions.cached_db{key}");
        assert_eq!(
            cache.get::<SessionData>(&entry).unwrap().unwrap()["count"],
            1
        );
        assert_eq!(db.rows.lock().unwrap()[&key]["count"], 1);

        // A cache hit does not touch the database.
        db.rows
            .lock()
            .unwrap()
            .get_mut(&key)
            .unwrap()
            .insert("count".into(), 99.into());
        let mut hit = Session::new(
            Arc::clone(&store),
            SessionState::new(Some(&key), 1209600, false),
        );
        assert_eq!(hit.get("count").unwrap(), Some(&serde_json::Value::from(1)));
        // A miss reads the database and fills the cache.
        cache.delete(&entry).unwrap();
        let mut miss = Session::new(
            Arc::clone(&store),
            SessionState::new(Some(&key), 1209600, false),
        );
        assert_eq!(
            miss.get("count").unwrap(),
            Some(&serde_json::Value::from(99))
        );
        assert_eq!(
            cache.get::<SessionData>(&entry).unwrap().unwrap()["count"],
            99
        );
        assert!(store.exists(&key).unwrap());

        // A flush ends it in both.
        miss.flush().unwrap();
        assert!(!cache.has_key(&entry).unwrap());
        assert!(!db.rows.lock().unwrap().contains_key(&key));
        assert!(!store.exists(&key).unwrap());
    }
}
