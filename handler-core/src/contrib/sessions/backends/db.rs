//! The database engine (Django's `sessions/backends/db.py`): each session is a row of key,
//! signed data and expiry date in `django_session`. The table is [`DjangoSessionTable`] on the
//! default database unless the app gives its own [`SessionDatabase`]; this engine does the rest,
//! with the data encoded as Django encodes it (`signing.dumps(data, compress=True)` with the
//! salt `django.contrib.sessions.SessionStore`).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::super::base::{
    get_new_session_key, session_data, SessionData, SessionError, SessionState, SessionStore,
};
use crate::db::{Connection, DatabaseError, Databases, Value};
use crate::signing::{self, SecretKeys};
use chrono::{DateTime, Utc};

/// Django's `key_salt` for the database engine (`"django.contrib.sessions." +
/// SessionStore.__qualname__`).
pub const KEY_SALT: &str = "django.contrib.sessions.SessionStore";

/// The session table the app provides (Django's `django_session` model): the rows are keyed
/// by `session_key` and hold the encoded data and the expiry date.
pub trait SessionDatabase: Send + Sync + 'static {
    /// The data of the session `session_key` if it expires after `now`.
    fn get(&self, session_key: &str, now: SystemTime) -> Result<Option<String>, SessionError>;

    /// Whether a row has this key (expired or not).
    fn exists(&self, session_key: &str) -> Result<bool, SessionError>;

    /// Inserts a row; `Ok(false)` when the key is taken (Django's `force_insert` failing).
    fn insert(
        &self,
        session_key: &str,
        session_data: &str,
        expire_date: SystemTime,
    ) -> Result<bool, SessionError>;

    /// Updates a row; `Ok(false)` when there is no such row (Django's `force_update`
    /// affecting nothing).
    fn update(
        &self,
        session_key: &str,
        session_data: &str,
        expire_date: SystemTime,
    ) -> Result<bool, SessionError>;

    /// Deletes a row (nothing when there is none).
    fn delete(&self, session_key: &str) -> Result<(), SessionError>;

    /// Deletes the rows that expired before `now` (`manage.py clearsessions`).
    fn clear_expired(&self, now: SystemTime) -> Result<(), SessionError>;
}

/// Django's database `SessionStore` on the app's [`SessionDatabase`].
pub struct DbSessionStore {
    db: Arc<dyn SessionDatabase>,
    keys: SecretKeys,
}

impl DbSessionStore {
    /// The engine on `db`, signing with `keys` (the settings' `secret_key`).
    pub fn new(db: Arc<dyn SessionDatabase>, keys: SecretKeys) -> Self {
        DbSessionStore { db, keys }
    }

    /// Django's `encode(session_dict)`.
    pub fn encode(&self, data: &SessionData) -> Result<String, SessionError> {
        signing::dumps(data, &self.keys, KEY_SALT, true)
            .map_err(|e| SessionError::Backend(Box::new(e)))
    }

    /// Django's `decode(session_data)`: a bad signature is logged as corrupted session data
    /// (`django.security.SuspiciousSession`) and, like anything else that does not load, is an
    /// empty session.
    pub fn decode(&self, session_data: &str) -> SessionData {
        match signing::loads::<SessionData>(session_data, &self.keys, KEY_SALT, None) {
            Ok(data) => data,
            Err(e) => {
                if e.is_bad_signature() {
                    log::warn!(target: "django.security.SuspiciousSession", "Session data corrupted");
                }
                SessionData::new()
            }
        }
    }
}

/// Django's `get_expiry_date()`: now plus the session's expiry age.
fn expiry_date(state: &SessionState) -> SystemTime {
    SystemTime::now() + Duration::from_secs(state.expiry_age().max(0).unsigned_abs())
}

impl SessionStore for DbSessionStore {
    fn load(&self, state: &mut SessionState) -> Result<SessionData, SessionError> {
        let key = state.session_key().unwrap_or_default().to_string();
        match self.db.get(&key, SystemTime::now())? {
            Some(data) => Ok(self.decode(&data)),
            None => {
                state.set_session_key(None);
                Ok(SessionData::new())
            }
        }
    }

    fn exists(&self, session_key: &str) -> Result<bool, SessionError> {
        self.db.exists(session_key)
    }

    fn create(&self, state: &mut SessionState) -> Result<(), SessionError> {
        loop {
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
    }

    fn save(&self, state: &mut SessionState, must_create: bool) -> Result<(), SessionError> {
        let Some(key) = state.session_key().map(str::to_string) else {
            return self.create(state);
        };
        let data = session_data(self, state, must_create)?;
        let encoded = self.encode(&data)?;
        let expire = expiry_date(state);
        if must_create {
            if !self.db.insert(&key, &encoded, expire)? {
                return Err(SessionError::Create);
            }
        } else if !self.db.update(&key, &encoded, expire)? {
            return Err(SessionError::Update);
        }
        Ok(())
    }

    fn delete(
        &self,
        state: &mut SessionState,
        session_key: Option<&str>,
    ) -> Result<(), SessionError> {
        match session_key.or(state.session_key()) {
            Some(key) => self.db.delete(key),
            None => Ok(()),
        }
    }

    fn clear_expired(&self) -> Result<(), SessionError> {
        self.db.clear_expired(SystemTime::now())
    }
}

/// Django's `django_session` table through `DATABASES` (the `db` engine with no app code):
/// `session_key`, `session_data` and `expire_date`, written as Django writes them on each
/// backend (SQLite text `YYYY-MM-DD HH:MM:SS.ffffff` in UTC, which Django compares as text;
/// PostgreSQL `timestamp with time zone`), so either side reads the other's sessions.
pub struct DjangoSessionTable {
    databases: Arc<Databases>,
    alias: String,
}

impl DjangoSessionTable {
    /// The table on database `alias` of `databases`.
    pub fn new(databases: Arc<Databases>, alias: &str) -> DjangoSessionTable {
        DjangoSessionTable {
            databases,
            alias: alias.to_string(),
        }
    }

    fn conn(&self) -> Result<Connection, SessionError> {
        self.databases.connection(&self.alias).map_err(backend)
    }
}

fn backend(e: DatabaseError) -> SessionError {
    SessionError::Backend(Box::new(e))
}

fn when(t: SystemTime) -> Value {
    Value::DateTime(DateTime::<Utc>::from(t))
}

impl SessionDatabase for DjangoSessionTable {
    fn get(&self, session_key: &str, now: SystemTime) -> Result<Option<String>, SessionError> {
        let row = self
            .conn()?
            .query_row(
                "SELECT \"session_data\" FROM \"django_session\" \
                 WHERE \"session_key\" = %s AND \"expire_date\" > %s",
                &[session_key.into(), when(now)],
            )
            .map_err(backend)?;
        match row {
            Some(row) => Ok(Some(row.get(0).map_err(backend)?)),
            None => Ok(None),
        }
    }

    fn exists(&self, session_key: &str) -> Result<bool, SessionError> {
        let row = self
            .conn()?
            .query_row(
                "SELECT 1 FROM \"django_session\" WHERE \"session_key\" = %s",
                &[session_key.into()],
            )
            .map_err(backend)?;
        Ok(row.is_some())
    }

    fn insert(
        &self,
        session_key: &str,
        session_data: &str,
        expire_date: SystemTime,
    ) -> Result<bool, SessionError> {
        let conn = self.conn()?;
        // In a savepoint, as Django's `save(must_create=True)` runs in `atomic`: a taken key
        // must not abort an enclosing PostgreSQL transaction (atomic_requests).
        let inserted = conn.atomic(|| {
            conn.execute(
                "INSERT INTO \"django_session\" (\"session_key\", \"session_data\", \"expire_date\") \
                 VALUES (%s, %s, %s)",
                &[session_key.into(), session_data.into(), when(expire_date)],
            )
        });
        match inserted {
            Ok(_) => Ok(true),
            Err(e) if e.is_integrity_error() => Ok(false),
            Err(e) => Err(backend(e)),
        }
    }

    fn update(
        &self,
        session_key: &str,
        session_data: &str,
        expire_date: SystemTime,
    ) -> Result<bool, SessionError> {
        let changed = self
            .conn()?
            .execute(
                "UPDATE \"django_session\" SET \"session_data\" = %s, \"expire_date\" = %s \
                 WHERE \"session_key\" = %s",
                &[session_data.into(), when(expire_date), session_key.into()],
            )
            .map_err(backend)?;
        Ok(changed > 0)
    }

    fn delete(&self, session_key: &str) -> Result<(), SessionError> {
        self.conn()?
            .execute(
                "DELETE FROM \"django_session\" WHERE \"session_key\" = %s",
                &[session_key.into()],
            )
            .map_err(backend)?;
        Ok(())
    }

    fn clear_expired(&self, now: SystemTime) -> Result<(), SessionError> {
        self.conn()?
            .execute(
                "DELETE FROM \"django_session\" WHERE \"expire_date\" < %s",
                &[when(now)],
            )
            .map_err(backend)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contrib::sessions::base::Session;
    use std::collections::HashMap;
    use std::sync::Mutex;

    /// An in-memory table.
    #[derive(Default)]
    struct Table(Mutex<HashMap<String, (String, SystemTime)>>);

    impl SessionDatabase for Table {
        fn get(&self, k: &str, now: SystemTime) -> Result<Option<String>, SessionError> {
            let rows = self.0.lock().unwrap();
            Ok(rows
                .get(k)
                .filter(|(_, e)| *e > now)
                .map(|(d, _)| d.clone()))
        }
        fn exists(&self, k: &str) -> Result<bool, SessionError> {
            Ok(self.0.lock().unwrap().contains_key(k))
        }
        fn insert(&self, k: &str, d: &str, e: SystemTime) -> Result<bool, SessionError> {
            let mut rows = self.0.lock().unwrap();
            if rows.contains_key(k) {
                return Ok(false);
            }
            rows.insert(k.into(), (d.into(), e));
            Ok(true)
        }
        fn update(&self, k: &str, d: &str, e: SystemTime) -> Result<bool, SessionError> {
            let mut rows = self.0.lock().unwrap();
            match rows.get_mut(k) {
                Some(row) => {
                    *row = (d.into(), e);
                    Ok(true)
                }
                None => Ok(false),
            }
        }
        fn delete(&self, k: &str) -> Result<(), SessionError> {
            self.0.lock().unwrap().remove(k);
            Ok(())
        }
        fn clear_expired(&self, now: SystemTime) -> Result<(), SessionError> {
            self.0.lock().unwrap().retain(|_, (_, e)| *e > now);
            Ok(())
        }
    }

    fn keys() -> SecretKeys {
        SecretKeys::new("notes-insecure-test-key", Vec::<String>::new()).unwrap()
    }

    #[test]
    fn rows_hold_djangos_encoding_and_a_tampered_row_is_an_empty_session() {
        let table = Arc::new(Table::default());
        let store: Arc<dyn SessionStore> = Arc::new(DbSessionStore::new(table.clone(), keys()));
        let mut s = Session::new(Arc::clone(&store), SessionState::new(None, 1209600, false));
        s.set("count", 3).unwrap();
        s.save().unwrap();
        let key = s.session_key().unwrap().to_string();
        let (data, expire) = table.0.lock().unwrap().get(&key).cloned().unwrap();
        let loaded: SessionData = signing::loads(&data, &keys(), KEY_SALT, None).unwrap();
        assert_eq!(loaded["count"], 3);
        let age = expire.duration_since(SystemTime::now()).unwrap().as_secs();
        assert!((1209590..=1209600).contains(&age), "{age}");

        let mut again = Session::new(
            Arc::clone(&store),
            SessionState::new(Some(&key), 1209600, false),
        );
        assert_eq!(
            again.get("count").unwrap(),
            Some(&serde_json::Value::from(3))
        );

        table.0.lock().unwrap().get_mut(&key).unwrap().0.push('x');
        let (mut tampered, logs) = crate::test_log::capture(|| {
            let mut t = Session::new(
                Arc::clone(&store),
                SessionState::new(Some(&key), 1209600, false),
            );
            let v = t.get("count").unwrap().cloned();
            (t, v)
        });
        assert_eq!(tampered.1, None);
        assert_eq!(logs[0].message, "Session data corrupted");
        assert_eq!(
            tampered.0.session_key(),
            Some(key.as_str()),
            "Django keeps the key"
        );
        // Saving a session whose row is gone is Django's UpdateError.
        table.0.lock().unwrap().clear();
        tampered.0.set("x", 1).unwrap();
        assert!(matches!(tampered.0.save(), Err(SessionError::Update)));
    }
}
