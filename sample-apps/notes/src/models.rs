//! The models and their SQLite storage: `auth_user` (Django's user model), `notes_note`, and
//! `django_session` (the database session engine's table). [`Db`] is the one store; the
//! newtypes [`Users`] and [`Sessions`] are what handler-core's `UserStore` and
//! `SessionDatabase` see.
//!
//! Every query takes a connection from a small pool for its duration (a `rusqlite::Connection`
//! is `Send` but not `Sync`); the file runs in WAL mode with a busy timeout, so readers never
//! block and writers queue, and with `synchronous = NORMAL`: a session is written on every
//! request that changes it, and WAL with NORMAL syncs at checkpoints rather than at every
//! commit (an application crash loses nothing; a power cut may lose the last commits). The
//! Django twin in bench/peers/django runs its SQLite file the same way.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use handler_core::auth::{StoreError, StoredUser, UserStore};
use handler_core::contrib::sessions::{SessionDatabase, SessionError};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::Serialize;

use crate::config::UserSeed;

/// How long a writer waits for another writer's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How many idle connections the pool keeps.
const MAX_IDLE_CONNECTIONS: usize = 16;

/// The tables (`CREATE ... IF NOT EXISTS`: several workers starting at once are harmless).
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS auth_user (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    password TEXT NOT NULL,
    is_active INTEGER NOT NULL DEFAULT 1,
    is_staff INTEGER NOT NULL DEFAULT 0,
    is_superuser INTEGER NOT NULL DEFAULT 0,
    last_login INTEGER
);
CREATE TABLE IF NOT EXISTS notes_note (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id INTEGER NOT NULL REFERENCES auth_user (id),
    title TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notes_note_owner ON notes_note (owner_id);
CREATE TABLE IF NOT EXISTS django_session (
    session_key TEXT PRIMARY KEY,
    session_data TEXT NOT NULL,
    expire_date INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS django_session_expire_date ON django_session (expire_date);
";

/// A note, as stored and as the JSON API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    /// The primary key.
    pub id: i64,
    /// The title.
    pub title: String,
    /// The text.
    pub body: String,
}

/// A database failure.
#[derive(Debug)]
pub enum ModelError {
    /// The database could not be opened or prepared at start-up.
    Open {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A query failed.
    Sqlite(rusqlite::Error),
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::Open { path, source } => {
                write!(f, "cannot open database {}: {source}", path.display())
            }
            ModelError::Sqlite(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ModelError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ModelError::Open { source, .. } => Some(source),
            ModelError::Sqlite(e) => Some(e),
        }
    }
}

impl From<rusqlite::Error> for ModelError {
    fn from(e: rusqlite::Error) -> Self {
        ModelError::Sqlite(e)
    }
}

/// The app's database.
#[derive(Debug)]
pub struct Db {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

fn connect(path: &Path) -> Result<Connection, rusqlite::Error> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

fn unix(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

fn row_to_user(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredUser> {
    Ok(StoredUser {
        id: row.get::<_, i64>(0)?.to_string(),
        username: row.get(1)?,
        password: row.get(2)?,
        is_active: row.get(3)?,
        is_staff: row.get(4)?,
        is_superuser: row.get(5)?,
    })
}

impl Db {
    /// The store for the file at `path`; nothing is touched until [`Db::migrate`].
    pub fn at(path: impl AsRef<Path>) -> Db {
        Db {
            path: path.as_ref().to_path_buf(),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Django's `migrate`: creates the file when missing, WAL mode, the schema. A file this
    /// call created is removed again when the rest fails.
    pub fn migrate(&self) -> Result<(), ModelError> {
        let existed = self.path.exists();
        let prepared = connect(&self.path).and_then(|conn| {
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.execute_batch(SCHEMA)?;
            Ok(conn)
        });
        match prepared {
            Ok(conn) => {
                if let Ok(mut idle) = self.idle.lock() {
                    idle.push(conn);
                }
                Ok(())
            }
            Err(source) => {
                if !existed {
                    for suffix in ["", "-wal", "-shm", "-journal"] {
                        let mut file = self.path.clone().into_os_string();
                        file.push(suffix);
                        let _ = std::fs::remove_file(file);
                    }
                }
                Err(ModelError::Open {
                    path: self.path.clone(),
                    source,
                })
            }
        }
    }

    /// Creates the users the settings name that do not exist yet (an existing user keeps the
    /// password it has).
    pub fn ensure_users<'a>(
        &self,
        seeds: impl IntoIterator<Item = (&'a String, &'a UserSeed)>,
    ) -> Result<(), ModelError> {
        self.with_conn(|conn| {
            for (username, seed) in seeds {
                conn.prepare_cached(
                    "INSERT OR IGNORE INTO auth_user (username, password, is_staff)
                     VALUES (?1, ?2, ?3)",
                )?
                .execute(params![username, seed.password, seed.staff])?;
            }
            Ok(())
        })
    }

    /// Sets a user's password hash (what `user.set_password(); user.save()` stores).
    pub fn set_password(&self, username: &str, hash: &str) -> Result<bool, ModelError> {
        self.with_conn(|conn| {
            let n = conn
                .prepare_cached("UPDATE auth_user SET password = ?1 WHERE username = ?2")?
                .execute(params![hash, username])?;
            Ok(n == 1)
        })
    }

    /// The user with `id`.
    pub fn user(&self, id: i64) -> Result<Option<StoredUser>, ModelError> {
        self.with_conn(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT id, username, password, is_active, is_staff, is_superuser
                     FROM auth_user WHERE id = ?1",
                )?
                .query_row(params![id], row_to_user)
                .optional()?)
        })
    }

    /// The user called `username`.
    pub fn user_by_name(&self, username: &str) -> Result<Option<StoredUser>, ModelError> {
        self.with_conn(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT id, username, password, is_active, is_staff, is_superuser
                     FROM auth_user WHERE username = ?1",
                )?
                .query_row(params![username], row_to_user)
                .optional()?)
        })
    }

    /// `owner`'s notes, by id.
    pub fn notes_of(&self, owner: i64) -> Result<Vec<Note>, ModelError> {
        self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, title, body FROM notes_note WHERE owner_id = ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map(params![owner], |r| {
                Ok(Note {
                    id: r.get(0)?,
                    title: r.get(1)?,
                    body: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// `owner`'s note `id`, if it is theirs.
    pub fn note(&self, owner: i64, id: i64) -> Result<Option<Note>, ModelError> {
        self.with_conn(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT id, title, body FROM notes_note WHERE id = ?1 AND owner_id = ?2",
                )?
                .query_row(params![id, owner], |r| {
                    Ok(Note {
                        id: r.get(0)?,
                        title: r.get(1)?,
                        body: r.get(2)?,
                    })
                })
                .optional()?)
        })
    }

    /// A new note for `owner`; its id.
    pub fn create_note(&self, owner: i64, title: &str, body: &str) -> Result<i64, ModelError> {
        self.with_conn(|conn| {
            conn.prepare_cached(
                "INSERT INTO notes_note (owner_id, title, body) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![owner, title, body])?;
            Ok(conn.last_insert_rowid())
        })
    }

    /// Deletes `owner`'s note `id`; false when there is no such note of theirs.
    pub fn delete_note(&self, owner: i64, id: i64) -> Result<bool, ModelError> {
        self.with_conn(|conn| {
            let n = conn
                .prepare_cached("DELETE FROM notes_note WHERE id = ?1 AND owner_id = ?2")?
                .execute(params![id, owner])?;
            Ok(n == 1)
        })
    }

    /// Runs `f` on a pooled connection.
    fn with_conn<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, ModelError>,
    ) -> Result<T, ModelError> {
        let pooled = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let conn = match pooled {
            Some(conn) => conn,
            None => connect(&self.path)?,
        };
        let result = f(&conn);
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < MAX_IDLE_CONNECTIONS {
                idle.push(conn);
            }
        }
        result
    }
}

/// The users as handler-core's auth sees them (Django's user model and `ModelBackend`).
pub struct Users(pub Arc<Db>);

impl UserStore for Users {
    fn get_user(&self, user_id: &str) -> Result<Option<StoredUser>, StoreError> {
        // Django's `pk.to_python`: an id that is not a number is no user.
        let Ok(id) = user_id.parse::<i64>() else {
            return Ok(None);
        };
        Ok(self.0.user(id)?)
    }

    fn get_by_natural_key(&self, username: &str) -> Result<Option<StoredUser>, StoreError> {
        Ok(self.0.user_by_name(username)?)
    }

    fn user_logged_in(&self, user: &StoredUser) -> Result<(), StoreError> {
        // Django's update_last_login receiver.
        let now = unix(SystemTime::now());
        self.0.with_conn(|conn| {
            conn.prepare_cached("UPDATE auth_user SET last_login = ?1 WHERE id = ?2")?
                .execute(params![now, user.id])?;
            Ok(())
        })?;
        Ok(())
    }
}

/// The `django_session` table as handler-core's database session engine sees it.
pub struct Sessions(pub Arc<Db>);

fn session_error(e: ModelError) -> SessionError {
    SessionError::Backend(Box::new(e))
}

impl SessionDatabase for Sessions {
    fn get(&self, session_key: &str, now: SystemTime) -> Result<Option<String>, SessionError> {
        self.0
            .with_conn(|conn| {
                Ok(conn
                    .prepare_cached(
                        "SELECT session_data FROM django_session
                         WHERE session_key = ?1 AND expire_date > ?2",
                    )?
                    .query_row(params![session_key, unix(now)], |r| r.get(0))
                    .optional()?)
            })
            .map_err(session_error)
    }

    fn exists(&self, session_key: &str) -> Result<bool, SessionError> {
        self.0
            .with_conn(|conn| {
                Ok(conn
                    .prepare_cached("SELECT 1 FROM django_session WHERE session_key = ?1")?
                    .query_row(params![session_key], |_| Ok(()))
                    .optional()?
                    .is_some())
            })
            .map_err(session_error)
    }

    fn insert(
        &self,
        session_key: &str,
        session_data: &str,
        expire_date: SystemTime,
    ) -> Result<bool, SessionError> {
        self.0
            .with_conn(|conn| {
                let n = conn
                    .prepare_cached(
                        "INSERT OR IGNORE INTO django_session (session_key, session_data, expire_date)
                         VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![session_key, session_data, unix(expire_date)])?;
                Ok(n == 1)
            })
            .map_err(session_error)
    }

    fn update(
        &self,
        session_key: &str,
        session_data: &str,
        expire_date: SystemTime,
    ) -> Result<bool, SessionError> {
        self.0
            .with_conn(|conn| {
                let n = conn
                    .prepare_cached(
                        "UPDATE django_session SET session_data = ?2, expire_date = ?3
                         WHERE session_key = ?1",
                    )?
                    .execute(params![session_key, session_data, unix(expire_date)])?;
                Ok(n == 1)
            })
            .map_err(session_error)
    }

    fn delete(&self, session_key: &str) -> Result<(), SessionError> {
        self.0
            .with_conn(|conn| {
                conn.prepare_cached("DELETE FROM django_session WHERE session_key = ?1")?
                    .execute(params![session_key])?;
                Ok(())
            })
            .map_err(session_error)
    }

    fn clear_expired(&self, now: SystemTime) -> Result<(), SessionError> {
        self.0
            .with_conn(|conn| {
                conn.prepare_cached("DELETE FROM django_session WHERE expire_date < ?1")?
                    .execute(params![unix(now)])?;
                Ok(())
            })
            .map_err(session_error)
    }
}
