//! The signed-cookie engine (Django's `sessions/backends/signed_cookies.py`): the whole
//! session travels in the cookie, `signing.dumps(data, compress=True)` with the salt
//! `django.contrib.sessions.backends.signed_cookies`, and is refused (an empty session) when
//! tampered with or older than `session_cookie_age`.

use std::time::Duration;

use super::super::base::{session_data, SessionData, SessionError, SessionState, SessionStore};
use crate::settings::{ConfigError, Settings};
use crate::signing::{self, SecretKeys};

/// The salt Django signs these cookies with.
pub const SALT: &str = "django.contrib.sessions.backends.signed_cookies";

/// Django's signed-cookie `SessionStore`.
pub struct SignedCookieSessionStore {
    keys: SecretKeys,
    cookie_age: i64,
}

impl SignedCookieSessionStore {
    /// The engine keyed by the settings' `secret_key` (required).
    pub fn new(settings: &Settings) -> Result<Self, ConfigError> {
        Ok(SignedCookieSessionStore {
            keys: SecretKeys::from_settings(settings)?,
            cookie_age: settings.session_cookie_age,
        })
    }

    /// Django's `load()` on a cookie value: the data, or `None` when the value does not load
    /// (bad signature, too old, not a JSON object).
    pub fn decode(&self, cookie_value: &str) -> Option<SessionData> {
        let max_age = Duration::from_secs(self.cookie_age.max(0).unsigned_abs());
        signing::loads::<SessionData>(cookie_value, &self.keys, SALT, Some(max_age)).ok()
    }

    /// Django's `_get_session_key()`: the cookie value for `data`.
    pub fn encode(&self, data: &SessionData) -> Result<String, SessionError> {
        signing::dumps(data, &self.keys, SALT, true).map_err(|e| SessionError::Backend(Box::new(e)))
    }
}

impl SessionStore for SignedCookieSessionStore {
    fn load(&self, state: &mut SessionState) -> Result<SessionData, SessionError> {
        match self.decode(state.session_key().unwrap_or_default()) {
            Some(data) => Ok(data),
            None => {
                // Django: any failure resets the session (`create()` marks it modified).
                self.create(state)?;
                Ok(SessionData::new())
            }
        }
    }

    fn exists(&self, _session_key: &str) -> Result<bool, SessionError> {
        Ok(false)
    }

    fn create(&self, state: &mut SessionState) -> Result<(), SessionError> {
        state.modified = true;
        Ok(())
    }

    fn save(&self, state: &mut SessionState, _must_create: bool) -> Result<(), SessionError> {
        let data = session_data(self, state, false)?;
        state.set_session_key(Some(self.encode(&data)?));
        state.modified = true;
        Ok(())
    }

    fn delete(
        &self,
        state: &mut SessionState,
        _session_key: Option<&str>,
    ) -> Result<(), SessionError> {
        state.set_session_key(None);
        state.cache = Some(SessionData::new());
        state.modified = true;
        Ok(())
    }

    fn cycle_key(&self, state: &mut SessionState) -> Result<(), SessionError> {
        self.save(state, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contrib::sessions::base::Session;
    use std::sync::Arc;

    fn store() -> SignedCookieSessionStore {
        let mut s = Settings::default();
        s.secret_key = "notes-insecure-test-key".into();
        SignedCookieSessionStore::new(&s).unwrap()
    }

    #[test]
    fn the_cookie_is_the_session_and_a_bad_one_is_empty() {
        let store: Arc<dyn SessionStore> = Arc::new(store());
        let mut s = Session::new(Arc::clone(&store), SessionState::new(None, 1209600, false));
        s.set("count", 1).unwrap();
        s.save().unwrap();
        let cookie = s.session_key().unwrap().to_string();
        assert!(cookie.contains(':'), "{cookie}");
        let mut again = Session::new(
            Arc::clone(&store),
            SessionState::new(Some(&cookie), 1209600, false),
        );
        assert_eq!(
            again.get("count").unwrap(),
            Some(&serde_json::Value::from(1))
        );
        let mut bad = Session::new(
            Arc::clone(&store),
            SessionState::new(Some(&format!("{cookie}x")), 1209600, false),
        );
        assert_eq!(bad.get("count").unwrap(), None);
        assert!(bad.modified());
        let mut unkeyed = Settings::default();
        unkeyed.secret_key = String::new();
        assert!(SignedCookieSessionStore::new(&unkeyed).is_err());
    }
}
