//! The cache engine (Django's `sessions/backends/cache.py`): each session is one cache entry,
//! `django.contrib.sessions.cache<session_key>` in the cache `session_cache_alias` names,
//! holding the session's data (JSON) and expiring with the session. On Redis, every instance
//! sees the same sessions.
//!
//! Django's `load()` treats any cache exception as "no session" (a guard against memcached
//! refusing odd keys, Django ticket #17810). Our keys are always valid, so the only failure
//! left is the cache being down, and reading that as "no session" would make the middleware
//! delete every visitor's cookie during a Redis outage. A failure is therefore an error (the
//! request answers 500, as Django's does when the save raises), never a silent logout.

use super::super::base::{
    get_new_session_key, session_data, SessionData, SessionError, SessionState, SessionStore,
};
use crate::cache::{caches, Cache, CacheError, Timeout};
use crate::settings::{ConfigError, Settings};

/// Django's `KEY_PREFIX` for this engine.
pub const KEY_PREFIX: &str = "django.contrib.sessions.cache";

/// How often `create` draws a new key before giving up (Django's 10,000).
const CREATE_ATTEMPTS: usize = 10_000;

pub(crate) fn backend_error(e: CacheError) -> SessionError {
    SessionError::Backend(Box::new(e))
}

/// Django's cache `SessionStore`.
pub struct CacheSessionStore {
    cache: Cache,
    prefix: &'static str,
}

impl CacheSessionStore {
    /// The engine on `cache`.
    pub fn new(cache: Cache) -> Self {
        CacheSessionStore {
            cache,
            prefix: KEY_PREFIX,
        }
    }

    /// The engine on the cache `session_cache_alias` names.
    pub fn from_settings(settings: &Settings) -> Result<Self, ConfigError> {
        Ok(CacheSessionStore::new(session_cache(settings)?))
    }

    /// Django's `cache_key` for `session_key`.
    pub fn cache_key(&self, session_key: &str) -> String {
        format!("{}{session_key}", self.prefix)
    }
}

/// The cache `session_cache_alias` names, or an error naming the setting.
pub(crate) fn session_cache(settings: &Settings) -> Result<Cache, ConfigError> {
    caches(&settings.session_cache_alias).map_err(|e| {
        ConfigError::new(format!(
            "session_cache_alias = {:?}: {e}",
            settings.session_cache_alias
        ))
    })
}

/// The session's data as the cache holds it; anything but a JSON object (a value Django
/// pickled, say) is no session.
pub(crate) fn cached_data(cache: &Cache, key: &str) -> Result<Option<SessionData>, SessionError> {
    match cache.get::<SessionData>(key) {
        Ok(found) => Ok(found),
        Err(CacheError::Value(_)) => Ok(None),
        Err(e) => Err(backend_error(e)),
    }
}

impl SessionStore for CacheSessionStore {
    fn load(&self, state: &mut SessionState) -> Result<SessionData, SessionError> {
        let key = self.cache_key(state.session_key().unwrap_or_default());
        match cached_data(&self.cache, &key)? {
            Some(data) => Ok(data),
            None => {
                state.set_session_key(None);
                Ok(SessionData::new())
            }
        }
    }

    fn exists(&self, session_key: &str) -> Result<bool, SessionError> {
        if session_key.is_empty() {
            return Ok(false);
        }
        self.cache
            .has_key(&self.cache_key(session_key))
            .map_err(backend_error)
    }

    fn create(&self, state: &mut SessionState) -> Result<(), SessionError> {
        for _ in 0..CREATE_ATTEMPTS {
            state.set_session_key(Some(get_new_session_key(self)?));
            match self.save(state, true) {
                Err(SessionError::Create) => continue,
                Err(e) => return Err(e),
                Ok(()) => {
                    state.modified = true;
                    return Ok(());
                }
            }
        }
        Err(SessionError::Backend(
            "Unable to create a new session key. It is likely that the cache is unavailable."
                .into(),
        ))
    }

    fn save(&self, state: &mut SessionState, must_create: bool) -> Result<(), SessionError> {
        let Some(key) = state.session_key().map(|k| self.cache_key(k)) else {
            return self.create(state);
        };
        let data = session_data(self, state, must_create)?;
        let timeout = Timeout::Seconds(state.expiry_age());
        if must_create {
            if !self
                .cache
                .add(&key, &data, timeout)
                .map_err(backend_error)?
            {
                return Err(SessionError::Create);
            }
            return Ok(());
        }
        // Django: only a session still in the cache is updated (else UpdateError).
        if !self.cache.has_key(&key).map_err(backend_error)? {
            return Err(SessionError::Update);
        }
        self.cache.set(&key, &data, timeout).map_err(backend_error)
    }

    fn delete(
        &self,
        state: &mut SessionState,
        session_key: Option<&str>,
    ) -> Result<(), SessionError> {
        let Some(key) = session_key.or(state.session_key()) else {
            return Ok(());
        };
        self.cache
            .delete(&self.cache_key(key))
            .map(|_| ())
            .map_err(backend_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::CacheConfig;
    use crate::contrib::sessions::base::Session;
    use std::sync::Arc;

    pub(crate) fn locmem(name: &str) -> Cache {
        let config = CacheConfig {
            location: vec![format!("sessions-test-{name}")],
            ..CacheConfig::default()
        };
        Cache::from_config("default", &config).unwrap()
    }

    #[test]
    fn a_session_is_one_entry_under_djangos_prefix() {
        let cache = locmem("cache-engine");
        let store: Arc<dyn SessionStore> = Arc::new(CacheSessionStore::new(cache.clone()));
        let mut s = Session::new(Arc::clone(&store), SessionState::new(None, 1209600, false));
        s.set("count", 1).unwrap();
        s.save().unwrap();
        let key = s.session_key().unwrap().to_string();
        assert_eq!(key.len(), 32);
        let stored: SessionData = cache
            .get(&format!("django.contrib.sessions.cache{key}"))
            .unwrap()
            .unwrap();
        assert_eq!(stored["count"], 1);
        assert_eq!(
            cache.make_key(&format!("{KEY_PREFIX}{key}")),
            format!(":1:django.contrib.sessions.cache{key}")
        );

        // Another request with the cookie sees it; cycle_key moves it; flush ends it.
        let mut again = Session::new(
            Arc::clone(&store),
            SessionState::new(Some(&key), 1209600, false),
        );
        assert_eq!(
            again.get("count").unwrap(),
            Some(&serde_json::Value::from(1))
        );
        again.cycle_key().unwrap();
        let new_key = again.session_key().unwrap().to_string();
        assert_ne!(new_key, key);
        assert!(!store.exists(&key).unwrap() && store.exists(&new_key).unwrap());
        again.flush().unwrap();
        assert!(!store.exists(&new_key).unwrap());

        // An unknown key is an empty session with no key; saving a vanished one is UpdateError.
        let mut unknown = Session::new(
            Arc::clone(&store),
            SessionState::new(Some("nosuchsessionkey"), 1209600, false),
        );
        assert_eq!(unknown.get("count").unwrap(), None);
        assert_eq!(unknown.session_key(), None);
        let mut gone = Session::new(
            Arc::clone(&store),
            SessionState::new(Some(&key), 1209600, false),
        );
        gone.state_mut().cache = Some(SessionData::new());
        gone.set("x", 1).unwrap();
        assert!(matches!(gone.save(), Err(SessionError::Update)));
    }

    #[test]
    fn the_entry_expires_with_the_session() {
        let cache = locmem("cache-expiry");
        let store: Arc<dyn SessionStore> = Arc::new(CacheSessionStore::new(cache));
        let mut s = Session::new(Arc::clone(&store), SessionState::new(None, 1, false));
        s.set("k", "v").unwrap();
        s.save().unwrap();
        let key = s.session_key().unwrap().to_string();
        assert!(store.exists(&key).unwrap());
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert!(!store.exists(&key).unwrap());
    }
}
