//! The `Article` model and its SQLite storage: schema, connection pool and the CRUD queries.
//!
//! Django would give us `Article.objects`; here `Articles` plays that role. Every worker thread
//! takes a connection from a small pool for the length of one query, so threads never share a
//! `rusqlite::Connection` (it is `Send` but not `Sync`). The database runs in WAL mode with a busy
//! timeout, so concurrent readers never block and concurrent writers queue instead of failing
//! with `SQLITE_BUSY`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::Serialize;

/// How long a writer waits for another writer's lock before giving up. Generous, because a
/// worker blocked here is far better than a client seeing a 500 under a write burst.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How many idle connections the pool keeps; more are opened on demand and closed when returned.
/// Matches a typical `--threads` count, so a busy server rarely opens a fresh connection.
const MAX_IDLE_CONNECTIONS: usize = 16;

/// The table, created on first start (`CREATE TABLE IF NOT EXISTS` is idempotent, so several
/// worker processes starting at once are harmless).
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS articles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    content TEXT NOT NULL
)";

/// One article, as stored and as serialised in API responses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Article {
    /// The primary key, assigned by SQLite.
    pub id: i64,
    /// The title.
    pub title: String,
    /// The body text.
    pub content: String,
}

/// What an update does to one field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum FieldChange {
    /// Leaves the field as it is.
    #[default]
    Keep,
    /// Stores this text.
    Set(String),
    /// Stores NULL, what Django's `save()` does with a `None` attribute: the column is
    /// `NOT NULL`, so the update fails with SQLite's constraint error (Django's
    /// `IntegrityError`).
    Null,
}

impl FieldChange {
    fn parts(&self) -> (bool, Option<&str>) {
        match self {
            FieldChange::Keep => (false, None),
            FieldChange::Set(text) => (true, Some(text)),
            FieldChange::Null => (true, None),
        }
    }
}

/// A partial update of an article.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArticleChanges {
    /// The title.
    pub title: FieldChange,
    /// The content.
    pub content: FieldChange,
}

/// Why a model operation failed.
#[derive(Debug)]
pub enum ModelError {
    /// No article has that id (Django's `Article.DoesNotExist`).
    NotFound(i64),
    /// The database could not be opened or prepared at start-up.
    Open {
        /// The database file.
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
            ModelError::NotFound(id) => write!(f, "article {id} does not exist"),
            ModelError::Open { path, source } => {
                write!(f, "cannot open database {}: {source}", path.display())
            }
            // SQLite's own words, as Django passes them on (`NOT NULL constraint failed: ...`).
            ModelError::Sqlite(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ModelError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ModelError::NotFound(_) => None,
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

/// The article store: Django's `Article.objects` over one SQLite file.
#[derive(Debug)]
pub struct Articles {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Articles {
    /// The store for the database at `path`, without touching the file: nothing is created
    /// until [`Articles::migrate`], so start-up can check everything else first.
    pub fn at(path: impl AsRef<Path>) -> Articles {
        Articles {
            path: path.as_ref().to_path_buf(),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Opens (creating if missing) the database at `path`, switches it to WAL mode and creates
    /// the schema: [`Articles::at`] then [`Articles::migrate`], for the tests (the app migrates
    /// in its ready hook).
    #[cfg(test)]
    pub fn open(path: impl AsRef<Path>) -> Result<Articles, ModelError> {
        let store = Articles::at(path);
        store.migrate()?;
        Ok(store)
    }

    /// Django's `migrate`: creates the file when missing, switches it to WAL mode and creates
    /// the schema. Called once when the app starts, so a bad path stops start-up; a file this
    /// call created is removed again if the rest fails, so a failed start leaves nothing.
    pub fn migrate(&self) -> Result<(), ModelError> {
        let path = &self.path;
        let existed = path.exists();
        let prepared = connect(path).and_then(|conn| {
            // WAL is a property of the file, so setting it once here covers every later
            // connection.
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
                        let mut file = path.clone().into_os_string();
                        file.push(suffix);
                        let _ = std::fs::remove_file(file);
                    }
                }
                Err(ModelError::Open {
                    path: path.clone(),
                    source,
                })
            }
        }
    }

    /// Every article, ordered by id.
    pub fn list(&self) -> Result<Vec<Article>, ModelError> {
        self.with_conn(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT id, title, content FROM articles ORDER BY id")?;
            let rows = stmt.query_map([], row_to_article)?;
            rows.collect::<Result<Vec<_>, _>>()
                .map_err(ModelError::from)
        })
    }

    /// The article with `id`, or `NotFound`.
    pub fn get(&self, id: i64) -> Result<Article, ModelError> {
        self.with_conn(|conn| {
            conn.prepare_cached("SELECT id, title, content FROM articles WHERE id = ?1")?
                .query_row(params![id], row_to_article)
                .optional()?
                .ok_or(ModelError::NotFound(id))
        })
    }

    /// Inserts a new article and returns its id.
    pub fn create(&self, title: &str, content: &str) -> Result<i64, ModelError> {
        self.with_conn(|conn| {
            conn.prepare_cached("INSERT INTO articles (title, content) VALUES (?1, ?2)")?
                .execute(params![title, content])?;
            Ok(conn.last_insert_rowid())
        })
    }

    /// Applies `changes` to the article with `id` and returns the updated article, or `NotFound`.
    pub fn update(&self, id: i64, changes: &ArticleChanges) -> Result<Article, ModelError> {
        let (set_title, title) = changes.title.parts();
        let (set_content, content) = changes.content.parts();
        self.with_conn(|conn| {
            // One statement, so a concurrent update can never interleave between read and write.
            conn.prepare_cached(
                "UPDATE articles SET
                     title = CASE WHEN ?1 THEN ?2 ELSE title END,
                     content = CASE WHEN ?3 THEN ?4 ELSE content END
                 WHERE id = ?5 RETURNING id, title, content",
            )?
            .query_row(
                params![set_title, title, set_content, content, id],
                row_to_article,
            )
            .optional()?
            .ok_or(ModelError::NotFound(id))
        })
    }

    /// Deletes the article with `id`, or returns `NotFound`.
    pub fn delete(&self, id: i64) -> Result<(), ModelError> {
        self.with_conn(|conn| {
            let n = conn
                .prepare_cached("DELETE FROM articles WHERE id = ?1")?
                .execute(params![id])?;
            if n == 0 {
                Err(ModelError::NotFound(id))
            } else {
                Ok(())
            }
        })
    }

    /// Runs `f` on a pooled connection (opening one when none is idle) and returns the
    /// connection to the pool afterwards.
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

/// Opens one connection with the settings every connection needs.
fn connect(path: &Path) -> Result<Connection, rusqlite::Error> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // NORMAL is durable across application crashes in WAL mode; only a power loss can lose the
    // last transactions, the usual trade-off for a web app's database.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

fn row_to_article(row: &rusqlite::Row<'_>) -> rusqlite::Result<Article> {
    Ok(Article {
        id: row.get(0)?,
        title: row.get(1)?,
        content: row.get(2)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    /// A database file in its own temp directory, removed when dropped.
    struct TempDb {
        dir: PathBuf,
    }

    impl TempDb {
        fn new() -> TempDb {
            static N: AtomicU64 = AtomicU64::new(0);
            let dir = std::env::temp_dir().join(format!(
                "articles-models-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&dir).unwrap();
            TempDb { dir }
        }

        fn file(&self) -> PathBuf {
            self.dir.join("db.sqlite3")
        }
    }

    impl Drop for TempDb {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// Creates an article and returns it as it is now stored.
    fn create(store: &Articles, title: &str, content: &str) -> Article {
        let id = store.create(title, content).unwrap();
        Article {
            id,
            title: title.to_string(),
            content: content.to_string(),
        }
    }

    #[test]
    fn creates_the_file_and_schema_and_uses_wal() {
        let tmp = TempDb::new();
        assert!(!tmp.file().exists());
        let store = Articles::open(tmp.file()).unwrap();
        assert!(tmp.file().exists());
        assert_eq!(store.list().unwrap(), vec![]);
        let mode: String = store
            .with_conn(|c| Ok(c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn crud_round_trip() {
        let tmp = TempDb::new();
        let store = Articles::open(tmp.file()).unwrap();
        let a = create(&store, "First", "one");
        let b = create(&store, "Second", "two");
        assert!(b.id > a.id);
        assert_eq!(store.get(a.id).unwrap(), a);
        assert_eq!(store.list().unwrap(), vec![a.clone(), b.clone()]);

        let changed = store
            .update(
                a.id,
                &ArticleChanges {
                    title: FieldChange::Set("Renamed".into()),
                    content: FieldChange::Keep,
                },
            )
            .unwrap();
        assert_eq!(changed.title, "Renamed");
        assert_eq!(
            changed.content, "one",
            "a partial update keeps the other field"
        );
        assert_eq!(store.get(a.id).unwrap(), changed);

        store.delete(a.id).unwrap();
        assert!(matches!(store.get(a.id), Err(ModelError::NotFound(id)) if id == a.id));
        assert_eq!(store.list().unwrap(), vec![b]);
    }

    #[test]
    fn unknown_ids_are_not_found() {
        let tmp = TempDb::new();
        let store = Articles::open(tmp.file()).unwrap();
        assert!(matches!(store.get(42), Err(ModelError::NotFound(42))));
        assert!(matches!(store.delete(42), Err(ModelError::NotFound(42))));
        let changes = ArticleChanges {
            title: FieldChange::Set("x".into()),
            content: FieldChange::Keep,
        };
        assert!(matches!(
            store.update(42, &changes),
            Err(ModelError::NotFound(42))
        ));
    }

    #[test]
    fn ids_are_not_reused_after_delete() {
        let tmp = TempDb::new();
        let store = Articles::open(tmp.file()).unwrap();
        let a = create(&store, "a", "a");
        store.delete(a.id).unwrap();
        let b = create(&store, "b", "b");
        assert!(b.id > a.id);
    }

    #[test]
    fn data_survives_reopening() {
        let tmp = TempDb::new();
        let id = {
            let store = Articles::open(tmp.file()).unwrap();
            create(&store, "Kept", "across restarts").id
        };
        let store = Articles::open(tmp.file()).unwrap();
        assert_eq!(store.get(id).unwrap().title, "Kept");
    }

    #[test]
    fn concurrent_writers_do_not_fail() {
        let tmp = TempDb::new();
        let store = Arc::new(Articles::open(tmp.file()).unwrap());
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let store = Arc::clone(&store);
                std::thread::spawn(move || {
                    for i in 0..25 {
                        let a = create(&store, &format!("t{t}-{i}"), "body");
                        store
                            .update(
                                a.id,
                                &ArticleChanges {
                                    title: FieldChange::Keep,
                                    content: FieldChange::Set(format!("edited {i}")),
                                },
                            )
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let all = store.list().unwrap();
        assert_eq!(all.len(), 200);
        assert!(all.windows(2).all(|w| w[0].id < w[1].id), "ordered by id");
        assert!(all.iter().all(|a| a.content.starts_with("edited ")));
    }

    #[test]
    fn nothing_is_written_before_migrate() {
        let tmp = TempDb::new();
        let store = Articles::at(tmp.file());
        assert!(!tmp.file().exists());
        store.migrate().unwrap();
        assert!(tmp.file().exists());
        assert_eq!(store.list().unwrap(), vec![]);
    }

    #[test]
    fn a_failed_migrate_keeps_a_file_it_did_not_create() {
        let tmp = TempDb::new();
        // Not a database: SQLite opens the file lazily, so the error comes from the first
        // statement, after `connect`; the file was there before, so it stays.
        std::fs::write(
            tmp.file(),
            b"this is not an SQLite database, just some text",
        )
        .unwrap();
        assert!(Articles::at(tmp.file()).migrate().is_err());
        assert!(
            tmp.file().exists(),
            "a file that was there is never removed"
        );
    }

    #[test]
    fn null_is_refused_by_the_not_null_column() {
        let tmp = TempDb::new();
        let store = Articles::open(tmp.file()).unwrap();
        let a = create(&store, "t", "c");
        let err = store
            .update(
                a.id,
                &ArticleChanges {
                    title: FieldChange::Null,
                    content: FieldChange::Keep,
                },
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "NOT NULL constraint failed: articles.title"
        );
        assert_eq!(store.get(a.id).unwrap(), a, "nothing changed");
    }

    #[test]
    fn a_directory_that_does_not_exist_is_an_open_error() {
        let tmp = TempDb::new();
        let err = Articles::open(tmp.dir.join("missing/dir/db.sqlite3")).unwrap_err();
        assert!(matches!(err, ModelError::Open { .. }));
        assert!(err.to_string().contains("missing/dir"));
    }
}
