//! The session of one request (Django's `sessions/backends/base.py`, `SessionBase`): a map of
//! JSON values loaded from its engine on first use, with `accessed` and `modified`, expiry,
//! `flush` and `cycle_key`. The engine behind it is a [`SessionStore`].

use std::sync::Arc;

use rand::Rng;
use serde_json::Value;

use crate::exception::ViewError;
use crate::http::HttpRequest;

/// What a session holds (Django's session dict, serialised as JSON).
pub type SessionData = serde_json::Map<String, Value>;

/// Django's `VALID_KEY_CHARS`: what a database session key is made of.
pub const VALID_KEY_CHARS: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// The key in the data where a per-session expiry is kept (Django's `_session_expiry`).
pub const EXPIRY_KEY: &str = "_session_expiry";

/// A session engine failed.
#[derive(Debug)]
pub enum SessionError {
    /// The engine's storage failed (the database, say).
    Backend(Box<dyn std::error::Error + Send + Sync>),
    /// A session with the new key already exists (Django's `CreateError`).
    Create,
    /// The session to update is gone (Django's `UpdateError`): a concurrent logout.
    Update,
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionError::Backend(e) => write!(f, "session storage failed: {e}"),
            SessionError::Create => f.write_str("a session with this key already exists"),
            SessionError::Update => f.write_str("the session to update no longer exists"),
        }
    }
}

impl std::error::Error for SessionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SessionError::Backend(e) => Some(e.as_ref()),
            _ => None,
        }
    }
}

/// The state an engine works on (Django's `SessionBase` attributes).
#[derive(Debug, Clone, Default)]
pub struct SessionState {
    /// `_session_key`: the key from the cookie, if it was a valid one.
    session_key: Option<String>,
    /// `_session_cache`: the data, once loaded.
    pub cache: Option<SessionData>,
    /// `accessed`: the data was read or written (the response then varies on `Cookie`).
    pub accessed: bool,
    /// `modified`: the data changed and must be saved.
    pub modified: bool,
    /// `SESSION_COOKIE_AGE`.
    pub cookie_age: i64,
    /// `SESSION_EXPIRE_AT_BROWSER_CLOSE`.
    pub expire_at_browser_close: bool,
}

impl SessionState {
    /// A state for the key a cookie carried (Django's `SessionStore(session_key)`).
    pub fn new(session_key: Option<&str>, cookie_age: i64, expire_at_browser_close: bool) -> Self {
        let mut s = SessionState {
            cookie_age,
            expire_at_browser_close,
            ..SessionState::default()
        };
        s.set_session_key(session_key.map(str::to_string));
        s
    }

    /// The session key (Django's `session_key`).
    pub fn session_key(&self) -> Option<&str> {
        self.session_key.as_deref()
    }

    /// Django's `_set_session_key`: a key of fewer than 8 characters is no key
    /// (`_validate_session_key`).
    pub fn set_session_key(&mut self, key: Option<String>) {
        self.session_key = key.filter(|k| k.chars().count() >= 8);
    }

    /// Django's `get_expiry_age()` without arguments: `_session_expiry` (seconds) from the
    /// data as loaded, else (also for 0, "at browser close") `SESSION_COOKIE_AGE`.
    pub fn expiry_age(&self) -> i64 {
        match self.cache.as_ref().and_then(|d| d.get(EXPIRY_KEY)) {
            Some(Value::Number(n)) => n.as_i64().filter(|n| *n != 0).unwrap_or(self.cookie_age),
            _ => self.cookie_age,
        }
    }

    /// Django's `get_expire_at_browser_close()`.
    pub fn expire_at_browser_close(&self) -> bool {
        match self.cache.as_ref().and_then(|d| d.get(EXPIRY_KEY)) {
            Some(Value::Number(n)) => n.as_i64() == Some(0),
            _ => self.expire_at_browser_close,
        }
    }
}

/// A session engine (what Django's `SESSION_ENGINE` names: a `SessionStore` class). Each
/// method is the one Django's backends override, working on the request's
/// [`SessionState`].
pub trait SessionStore: Send + Sync + 'static {
    /// Django's `load()`: the data for `state`'s key. An unknown or expired key is an empty
    /// session (the engine may drop the key, as the database engine does).
    fn load(&self, state: &mut SessionState) -> Result<SessionData, SessionError>;

    /// Django's `exists(session_key)`.
    fn exists(&self, session_key: &str) -> Result<bool, SessionError>;

    /// Django's `create()`: a new, empty session under a new key, saved at once.
    fn create(&self, state: &mut SessionState) -> Result<(), SessionError>;

    /// Django's `save(must_create)`.
    fn save(&self, state: &mut SessionState, must_create: bool) -> Result<(), SessionError>;

    /// Django's `delete(session_key)`: `None` deletes `state`'s own session.
    fn delete(
        &self,
        state: &mut SessionState,
        session_key: Option<&str>,
    ) -> Result<(), SessionError>;

    /// Django's `cycle_key()`: the same data under a new key, the old session deleted.
    fn cycle_key(&self, state: &mut SessionState) -> Result<(), SessionError> {
        let data = load_data(self, state, false)?;
        let old = state.session_key().map(str::to_string);
        self.create(state)?;
        state.cache = Some(data);
        if let Some(old) = old {
            self.delete(state, Some(&old))?;
        }
        Ok(())
    }

    /// Django's `clear_expired()` (`manage.py clearsessions`).
    fn clear_expired(&self) -> Result<(), SessionError> {
        Ok(())
    }
}

/// Django's `_get_session(no_load)`: marks the session accessed and loads it once.
fn load_data<S: SessionStore + ?Sized>(
    store: &S,
    state: &mut SessionState,
    no_load: bool,
) -> Result<SessionData, SessionError> {
    state.accessed = true;
    if let Some(data) = &state.cache {
        return Ok(data.clone());
    }
    let data = if state.session_key().is_none() || no_load {
        SessionData::new()
    } else {
        store.load(state)?
    };
    state.cache = Some(data.clone());
    Ok(data)
}

/// Django's `_get_new_session_key`: 32 characters of [`VALID_KEY_CHARS`] that no session has.
pub fn get_new_session_key<S: SessionStore + ?Sized>(store: &S) -> Result<String, SessionError> {
    loop {
        let mut rng = rand::thread_rng();
        let key: String = (0..32)
            .map(|_| char::from(VALID_KEY_CHARS[rng.gen_range(0..VALID_KEY_CHARS.len())]))
            .collect();
        if !store.exists(&key)? {
            return Ok(key);
        }
    }
}

/// The data of the session `state` describes, loading it if needed (for engines'
/// `save`: Django's `self._get_session(no_load=must_create)`).
pub fn session_data<S: SessionStore + ?Sized>(
    store: &S,
    state: &mut SessionState,
    no_load: bool,
) -> Result<SessionData, SessionError> {
    load_data(store, state, no_load)
}

/// The session of a request (Django's `request.session`): read and write it like a dict of
/// JSON values; the middleware saves it and sets the cookie on the way out.
pub struct Session {
    store: Arc<dyn SessionStore>,
    state: SessionState,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("accessed", &self.state.accessed)
            .field("modified", &self.state.modified)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The session for `state` on `store`.
    pub fn new(store: Arc<dyn SessionStore>, state: SessionState) -> Self {
        Session { store, state }
    }

    /// The engine.
    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.store
    }

    /// The state (key, flags).
    pub fn state(&self) -> &SessionState {
        &self.state
    }

    /// The state, for an engine or the middleware.
    pub fn state_mut(&mut self) -> &mut SessionState {
        &mut self.state
    }

    fn data(&mut self) -> Result<&mut SessionData, SessionError> {
        if self.state.cache.is_none() {
            let data = load_data(self.store.as_ref(), &mut self.state, false)?;
            self.state.cache = Some(data);
        }
        self.state.accessed = true;
        Ok(self.state.cache.get_or_insert_with(SessionData::new))
    }

    /// Django's `session.get(key)`: the value, if any; marks the session accessed.
    pub fn get(&mut self, key: &str) -> Result<Option<&Value>, SessionError> {
        Ok(self.data()?.get(key))
    }

    /// Django's `key in session`.
    pub fn contains_key(&mut self, key: &str) -> Result<bool, SessionError> {
        Ok(self.data()?.contains_key(key))
    }

    /// Django's `session[key] = value`: marks it modified.
    pub fn set(&mut self, key: &str, value: impl Into<Value>) -> Result<(), SessionError> {
        self.data()?.insert(key.to_string(), value.into());
        self.state.modified = true;
        Ok(())
    }

    /// Django's `session.pop(key, None)`: the value removed; modified when there was one.
    pub fn remove(&mut self, key: &str) -> Result<Option<Value>, SessionError> {
        let old = self.data()?.remove(key);
        self.state.modified = self.state.modified || old.is_some();
        Ok(old)
    }

    /// Django's `session.keys()`.
    pub fn keys(&mut self) -> Result<Vec<String>, SessionError> {
        Ok(self.data()?.keys().cloned().collect())
    }

    /// Django's `session.clear()`: empty, accessed and modified.
    pub fn clear(&mut self) {
        self.state.cache = Some(SessionData::new());
        self.state.accessed = true;
        self.state.modified = true;
    }

    /// Django's `is_empty()`: no key and no data loaded (or loaded empty).
    pub fn is_empty(&self) -> bool {
        self.state.session_key().is_none() && self.state.cache.as_ref().is_none_or(|d| d.is_empty())
    }

    /// Django's `session.accessed`.
    pub fn accessed(&self) -> bool {
        self.state.accessed
    }

    /// Django's `session.modified`.
    pub fn modified(&self) -> bool {
        self.state.modified
    }

    /// Marks the session modified (Django's `request.session.modified = True`).
    pub fn set_modified(&mut self) {
        self.state.modified = true;
    }

    /// Django's `session_key`.
    pub fn session_key(&self) -> Option<&str> {
        self.state.session_key()
    }

    /// Django's `flush()`: the data cleared, the stored session deleted, no key.
    pub fn flush(&mut self) -> Result<(), SessionError> {
        self.clear();
        self.store.delete(&mut self.state, None)?;
        self.state.set_session_key(None);
        Ok(())
    }

    /// Django's `cycle_key()`: the same data under a new key (done at login, against session
    /// fixation).
    pub fn cycle_key(&mut self) -> Result<(), SessionError> {
        self.store.cycle_key(&mut self.state)
    }

    /// Django's `save()`.
    pub fn save(&mut self) -> Result<(), SessionError> {
        self.store.save(&mut self.state, false)
    }

    /// Django's `set_expiry(value)`: `Some(0)` expires at browser close, `Some(n)` after `n`
    /// seconds of inactivity, `None` goes back to the settings.
    pub fn set_expiry(&mut self, seconds: Option<i64>) -> Result<(), SessionError> {
        match seconds {
            Some(n) => self.set(EXPIRY_KEY, n),
            None => self.remove(EXPIRY_KEY).map(|_| ()),
        }
    }

    /// Django's `get_expiry_age()`: seconds until the session expires.
    pub fn get_expiry_age(&mut self) -> Result<i64, SessionError> {
        self.data()?;
        Ok(self.state.expiry_age())
    }

    /// Django's `get_expire_at_browser_close()`.
    pub fn get_expire_at_browser_close(&mut self) -> Result<bool, SessionError> {
        self.data()?;
        Ok(self.state.expire_at_browser_close())
    }
}

/// `request.session()`: the session `SessionMiddleware` attached, kept in the request's
/// extensions (the core knows nothing of sessions). In the prelude, so `request.session()`
/// works with `use handler_core::prelude::*`.
pub trait RequestSessionExt {
    /// Django's `request.session`; an error when `SessionMiddleware` is not installed.
    fn session(&mut self) -> Result<&mut Session, ViewError>;

    /// True when `SessionMiddleware` attached a session.
    fn has_session(&self) -> bool;
}

impl RequestSessionExt for HttpRequest {
    fn session(&mut self) -> Result<&mut Session, ViewError> {
        self.extensions.get_mut::<Session>().ok_or_else(|| {
            ViewError::msg(
                "request.session is not set: add \"sessions\" \
                 (django.contrib.sessions.middleware.SessionMiddleware) to middleware",
            )
        })
    }

    fn has_session(&self) -> bool {
        self.extensions.get::<Session>().is_some()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Mutex;

    /// An in-memory engine with the database engine's semantics, for tests.
    #[derive(Default)]
    pub(crate) struct MemoryStore {
        pub rows: Mutex<HashMap<String, SessionData>>,
    }

    impl SessionStore for MemoryStore {
        fn load(&self, state: &mut SessionState) -> Result<SessionData, SessionError> {
            let key = state.session_key().unwrap_or_default().to_string();
            match self.rows.lock().unwrap().get(&key) {
                Some(d) => Ok(d.clone()),
                None => {
                    state.set_session_key(None);
                    Ok(SessionData::new())
                }
            }
        }
        fn exists(&self, key: &str) -> Result<bool, SessionError> {
            Ok(self.rows.lock().unwrap().contains_key(key))
        }
        fn create(&self, state: &mut SessionState) -> Result<(), SessionError> {
            let key = get_new_session_key(self)?;
            state.set_session_key(Some(key));
            self.save(state, true)?;
            state.modified = true;
            Ok(())
        }
        fn save(&self, state: &mut SessionState, must_create: bool) -> Result<(), SessionError> {
            let Some(key) = state.session_key().map(str::to_string) else {
                return self.create(state);
            };
            let data = session_data(self, state, must_create)?;
            let mut rows = self.rows.lock().unwrap();
            if must_create && rows.contains_key(&key) {
                return Err(SessionError::Create);
            }
            if !must_create && !rows.contains_key(&key) {
                return Err(SessionError::Update);
            }
            rows.insert(key, data);
            Ok(())
        }
        fn delete(&self, state: &mut SessionState, key: Option<&str>) -> Result<(), SessionError> {
            if let Some(k) = key.or(state.session_key()) {
                self.rows.lock().unwrap().remove(k);
            }
            Ok(())
        }
    }

    #[test]
    fn reads_mark_accessed_writes_mark_modified_and_loading_is_lazy() {
        let store = Arc::new(MemoryStore::default());
        let mut s = Session::new(store.clone(), SessionState::new(None, 100, false));
        assert!(s.is_empty() && !s.accessed());
        assert_eq!(s.get("count").unwrap(), None);
        assert!(s.accessed() && !s.modified());
        s.set("count", 1).unwrap();
        assert!(s.modified() && !s.is_empty());
        s.save().unwrap();
        let key = s.session_key().unwrap().to_string();
        assert_eq!(key.len(), 32);
        assert!(key.bytes().all(|b| VALID_KEY_CHARS.contains(&b)));

        let mut again = Session::new(store.clone(), SessionState::new(Some(&key), 100, false));
        assert!(!again.accessed());
        assert_eq!(again.get("count").unwrap(), Some(&Value::from(1)));
        // cycle_key keeps the data under a new key and deletes the old row.
        again.cycle_key().unwrap();
        let new_key = again.session_key().unwrap().to_string();
        assert_ne!(new_key, key);
        assert!(!store.exists(&key).unwrap() && store.exists(&new_key).unwrap());
        assert_eq!(again.get("count").unwrap(), Some(&Value::from(1)));
        // flush empties and deletes.
        again.flush().unwrap();
        assert!(again.session_key().is_none() && again.is_empty());
        assert!(!store.exists(&new_key).unwrap());

        // An unknown or short key is an empty session.
        let mut unknown = Session::new(
            store.clone(),
            SessionState::new(Some("nosuchkey123"), 100, false),
        );
        assert_eq!(unknown.get("count").unwrap(), None);
        assert!(unknown.is_empty());
        assert!(SessionState::new(Some("short"), 1, false)
            .session_key()
            .is_none());
    }

    #[test]
    fn expiry_follows_the_data_then_the_settings() {
        let store = Arc::new(MemoryStore::default());
        let mut s = Session::new(store, SessionState::new(None, 1209600, false));
        assert_eq!(s.get_expiry_age().unwrap(), 1209600);
        assert!(!s.get_expire_at_browser_close().unwrap());
        s.set_expiry(Some(0)).unwrap();
        assert!(s.get_expire_at_browser_close().unwrap());
        s.set_expiry(Some(60)).unwrap();
        assert_eq!(s.get_expiry_age().unwrap(), 60);
        s.set_expiry(None).unwrap();
        assert_eq!(s.get_expiry_age().unwrap(), 1209600);
    }
}
