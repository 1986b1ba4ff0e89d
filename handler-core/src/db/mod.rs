//! The database layer (Django's `django.db`): `DATABASES` ([`settings`]), a connection per
//! thread per alias ([`Databases`], Django's `ConnectionHandler`, and [`connection`]), the
//! SQLite and PostgreSQL backends ([`backends`]), [`transaction`] (`atomic`, savepoints,
//! `on_commit`), [`migrations`] (`django_migrations`, the executor, Django's DDL) and
//! [`models`] (a `Model` trait and a small QuerySet).
//!
//! # Why these crates
//! - SQLite through `rusqlite` (bundled: nothing to install), PostgreSQL through the sync
//!   `postgres` crate (rust-postgres). Both are pure Rust plus a C compiler, so a fresh machine
//!   with cargo and gcc builds; diesel's PostgreSQL backend would link the C libpq.
//! - Queries are synchronous on the request's thread, as Django's are: the server hands its
//!   event loop to a spare thread when a call blocks, so a slow query stalls only its request.
//! - `sea-query` builds the QuerySet's SQL for both dialects (quoting, placeholders,
//!   `RETURNING`). Values are bound by this layer itself ([`Value`]): PostgreSQL refuses an
//!   `i64` for an `integer` column, so binding must look at the parameter's type, and SQLite
//!   datetimes must be Django's text, not the driver's.
//! - The DDL of [`migrations`] is this layer's own: it must be Django 5.2's text to the byte
//!   (constraint and index names from `names_digest`), which no builder writes.
//!
//! # The lifecycle (Django's)
//! A connection is opened on first use, on the thread that uses it, and never before the
//! server forks its workers (nothing is opened when the app is created). The handler calls
//! [`close_old_connections`] when a request starts and when it ends: a connection past
//! `conn_max_age` (0: after every request) is closed, one that failed is kept only if it still
//! answers, and with `conn_health_checks` a reused one is pinged before its first query of the
//! request. A PostgreSQL connection that died is dropped at once, so a crash costs the requests
//! in flight an error (a 500 naming the database) and the next request reconnects.
//!
//! # A model, a migration and a query
//! ```
//! use handler_core::db::migrations::{CreateModel, Field, Migration};
//! use handler_core::db::models::Model;
//! use handler_core::db::{Databases, DatabasesSettings};
//!
//! handler_core::model! {
//!     /// A note (Django: `class Note(models.Model)` in the `notes` app).
//!     pub struct Note in "notes_note" {
//!         pk id: i64,
//!         title: String,
//!         body: String,
//!     }
//! }
//!
//! fn migrations() -> Vec<Migration> {
//!     vec![Migration::new("notes", "0001_initial").initial().operation(
//!         CreateModel::new("Note")
//!             .field(Field::big_auto("id"))
//!             .field(Field::char("title", 200))
//!             .field(Field::text("body")),
//!     )]
//! }
//!
//! let dir = std::env::temp_dir().join(format!("portico-db-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir).unwrap();
//! let databases = Databases::new(DatabasesSettings::sqlite(dir.join("db.sqlite3")));
//! let _active = databases.activate(); // what the handler does for each request
//! handler_core::db::migrations::migrate(&databases, "default", &migrations(), None).unwrap();
//!
//! let mut note = Note { id: 0, title: "Hello".into(), body: "first".into() };
//! note.save().unwrap(); // INSERT ... RETURNING "id"
//! let found: Vec<Note> = Note::objects().filter("title", "Hello").order_by("-id").all().unwrap();
//! assert_eq!(found, [note.clone()]);
//! assert_eq!(Note::objects().get(note.id).unwrap().body, "first");
//! # drop(_active); std::fs::remove_dir_all(&dir).ok();
//! ```

pub mod backends;
pub mod management;
pub mod migrations;
pub mod models;
pub mod settings;
pub mod transaction;
mod value;

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Instant;

pub use settings::{DatabaseSettings, DatabasesSettings, Engine, DEFAULT_DB_ALIAS};
pub use value::{format_sqlite_datetime, parse_sqlite_datetime, FromValue, Row, Value};

use backends::{Backend, Failure};
use value::RowHeader;

/// What went wrong, by Django's exception classes (`django.db.utils`), plus the model layer's
/// `DoesNotExist` and `MultipleObjectsReturned`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// `OperationalError`: the server cannot be reached, went away, or is locked.
    OperationalError,
    /// `IntegrityError`: a unique, foreign key, not-null or check constraint refused a row.
    IntegrityError,
    /// `ProgrammingError`: the SQL is wrong (syntax, a missing table or column).
    ProgrammingError,
    /// `DataError`: a value does not fit its column, or a column does not fit its Rust type.
    DataError,
    /// `InterfaceError`: the connection is unusable (closed inside a transaction) or no
    /// database is configured under that alias.
    InterfaceError,
    /// `TransactionManagementError`: a transaction API used where it cannot be.
    TransactionManagementError,
    /// `NotSupportedError`: the backend cannot do it.
    NotSupportedError,
    /// `DatabaseError`: anything else the server reported.
    DatabaseError,
    /// `Model.DoesNotExist`: `get` found no row.
    DoesNotExist,
    /// `Model.MultipleObjectsReturned`: `get` found more than one row.
    MultipleObjectsReturned,
}

impl ErrorKind {
    /// Django's class name.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::OperationalError => "OperationalError",
            ErrorKind::IntegrityError => "IntegrityError",
            ErrorKind::ProgrammingError => "ProgrammingError",
            ErrorKind::DataError => "DataError",
            ErrorKind::InterfaceError => "InterfaceError",
            ErrorKind::TransactionManagementError => "TransactionManagementError",
            ErrorKind::NotSupportedError => "NotSupportedError",
            ErrorKind::DatabaseError => "DatabaseError",
            ErrorKind::DoesNotExist => "DoesNotExist",
            ErrorKind::MultipleObjectsReturned => "MultipleObjectsReturned",
        }
    }
}

/// A database failure, naming the database (alias, backend and where it is), what was being
/// done and what the server said.
#[derive(Debug, Clone)]
pub struct DatabaseError {
    kind: ErrorKind,
    alias: String,
    target: String,
    operation: String,
    message: String,
}

impl DatabaseError {
    /// An error of `kind` on database `alias` while doing `operation`.
    pub fn new(
        kind: ErrorKind,
        alias: &str,
        operation: impl Into<String>,
        message: impl Into<String>,
    ) -> DatabaseError {
        DatabaseError {
            kind,
            alias: alias.to_string(),
            target: String::new(),
            operation: operation.into(),
            message: message.into(),
        }
    }

    /// The same error, saying where the database is (`sqlite /path/db.sqlite3`,
    /// `postgresql host:port/name`).
    pub fn with_target(mut self, target: impl Into<String>) -> DatabaseError {
        self.target = target.into();
        self
    }

    /// Which of Django's errors this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The database's alias (`default`).
    pub fn alias(&self) -> &str {
        &self.alias
    }

    /// What was being done (`connecting`, `executing SELECT ...`).
    pub fn operation(&self) -> &str {
        &self.operation
    }

    /// What the database (or this layer) said.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// `Model.DoesNotExist`.
    pub fn is_does_not_exist(&self) -> bool {
        self.kind == ErrorKind::DoesNotExist
    }

    /// `IntegrityError`.
    pub fn is_integrity_error(&self) -> bool {
        self.kind == ErrorKind::IntegrityError
    }
}

impl fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on database '{}'", self.kind.name(), self.alias)?;
        if !self.target.is_empty() {
            write!(f, " ({})", self.target)?;
        }
        if !self.operation.is_empty() {
            write!(f, " while {}", self.operation)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for DatabaseError {}

/// Django's `ConnectionHandler` (`django.db.connections`): the configured databases and, per
/// thread, one connection to each, opened at first use. Built once from the settings (the
/// handler does it); cheap to share.
pub struct Databases {
    id: u64,
    settings: DatabasesSettings,
    /// Connections of other threads hold a `Weak` of this: once the handler is gone, the next
    /// `close_old_connections` on those threads closes them.
    token: Arc<()>,
}

impl fmt::Debug for Databases {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Databases")
            .field("aliases", &self.settings.aliases().collect::<Vec<_>>())
            .finish()
    }
}

static NEXT_DATABASES_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// Every connection handle made on this thread (Django's thread-local `connections`).
    static OPEN: RefCell<Registry> = const { RefCell::new(Registry(Vec::new())) };
    /// The databases of the request (or command) running on this thread.
    static CURRENT: RefCell<Option<Arc<Databases>>> = const { RefCell::new(None) };
}

/// This thread's connections; closed when the thread ends.
struct Registry(Vec<Connection>);

impl std::ops::Deref for Registry {
    type Target = Vec<Connection>;
    fn deref(&self) -> &Vec<Connection> {
        &self.0
    }
}

impl std::ops::DerefMut for Registry {
    fn deref_mut(&mut self) -> &mut Vec<Connection> {
        &mut self.0
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        // At thread exit a rust-postgres client closes through its tokio runtime, whose
        // thread-local context may already be gone: dropping it then would panic inside a
        // thread-local destructor, which aborts the process. Such a client is let go without
        // the goodbye (the server sees the socket close when the process ends).
        let runtime_gone = tokio::runtime::Handle::try_current()
            .err()
            .is_some_and(|e| e.is_thread_local_destroyed());
        for connection in self.0.drain(..) {
            let backend = connection.0.state.borrow_mut().backend.take();
            match backend {
                Some(b @ Backend::PostgreSql(_)) if runtime_gone => std::mem::forget(b),
                other => drop(other),
            }
        }
    }
}

impl Databases {
    /// The databases `settings` describe; nothing is opened.
    pub fn new(settings: DatabasesSettings) -> Arc<Databases> {
        Arc::new(Databases {
            id: NEXT_DATABASES_ID.fetch_add(1, Ordering::Relaxed),
            settings,
            token: Arc::new(()),
        })
    }

    /// The databases of the app's settings (`settings.databases`).
    pub fn from_settings(settings: &crate::Settings) -> Arc<Databases> {
        Databases::new(settings.databases.clone())
    }

    /// The configuration.
    pub fn settings(&self) -> &DatabasesSettings {
        &self.settings
    }

    /// This thread's connection to `alias` (Django's `connections[alias]`), made on first
    /// call and opened at its first query. An unknown alias is Django's
    /// `ConnectionDoesNotExist` (an `InterfaceError` here).
    pub fn connection(&self, alias: &str) -> Result<Connection, DatabaseError> {
        // Touch tokio's thread-local context before this thread's registry exists, so it is
        // destroyed after the registry and PostgreSQL connections close cleanly at thread exit.
        let _ = tokio::runtime::Handle::try_current();
        let found = OPEN.with(|open| {
            open.borrow()
                .iter()
                .find(|c| c.0.owner == self.id && &*c.0.alias == alias)
                .cloned()
        });
        if let Some(connection) = found {
            return Ok(connection);
        }
        let settings = self.settings.get(alias).ok_or_else(|| {
            DatabaseError::new(
                ErrorKind::InterfaceError,
                alias,
                "looking up the connection",
                format!("The connection '{alias}' doesn't exist."),
            )
        })?;
        let connection = Connection(Rc::new(Inner {
            owner: self.id,
            alive: Arc::downgrade(&self.token),
            alias: alias.into(),
            settings: Arc::new(settings.clone()),
            state: RefCell::new(State::default()),
        }));
        OPEN.with(|open| open.borrow_mut().push(connection.clone()));
        Ok(connection)
    }

    /// Makes these the databases [`connection`] and [`transaction`] use on this thread until
    /// the guard drops (the handler does it around each request; a command does it once).
    pub fn activate(self: &Arc<Self>) -> ActiveDatabases {
        let previous = CURRENT.with(|c| c.replace(Some(Arc::clone(self))));
        ActiveDatabases { previous }
    }

    /// Closes this thread's connections to these databases (Django's `connections.close_all()`
    /// for one thread).
    pub fn close_all(&self) {
        OPEN.with(|open| {
            open.borrow_mut().retain(|c| {
                if c.0.owner == self.id {
                    c.close();
                    false
                } else {
                    true
                }
            });
        });
    }

    /// The aliases whose `atomic_requests` is set, in order.
    pub fn atomic_request_aliases(&self) -> Vec<Arc<str>> {
        self.settings
            .iter()
            .filter(|s| s.atomic_requests)
            .map(|s| Arc::from(s.alias.as_str()))
            .collect()
    }
}

/// Restores the thread's previous databases when dropped (see [`Databases::activate`]).
#[must_use = "the databases are active only while the guard lives"]
pub struct ActiveDatabases {
    previous: Option<Arc<Databases>>,
}

impl Drop for ActiveDatabases {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let active = CURRENT.with(|c| c.replace(previous));
        drop(active);
    }
}

/// The databases active on this thread, if any.
pub fn current() -> Option<Arc<Databases>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// This thread's connection to `alias` in the active databases (Django's
/// `connections[alias]`; `connection("default")` is `django.db.connection`).
pub fn connection(alias: &str) -> Result<Connection, DatabaseError> {
    CURRENT.with(|c| match c.borrow().as_ref() {
        Some(databases) => databases.connection(alias),
        None => Err(DatabaseError::new(
            ErrorKind::InterfaceError,
            alias,
            "looking up the connection",
            "no databases are active on this thread: use the database inside a request, \
             or activate them first (Databases::activate)",
        )),
    })
}

/// Django's `close_old_connections()`, run when a request starts and when it ends: each of
/// this thread's open connections is closed when it is past `conn_max_age`, left in a
/// transaction, or failed and no longer answers. Costs one thread-local check when nothing
/// was ever opened on the thread.
pub fn close_old_connections() {
    OPEN.with(|open| {
        let Ok(mut open) = open.try_borrow_mut() else {
            return;
        };
        if open.is_empty() {
            return;
        }
        open.retain(|c| {
            if c.0.alive.strong_count() == 0 {
                c.close();
                return false;
            }
            c.close_if_unusable_or_obsolete();
            true
        });
    });
}

/// One thread's connection to one database (Django's `DatabaseWrapper`), a cheap handle: the
/// connection itself is opened at the first query and lives on this thread only.
#[derive(Clone)]
pub struct Connection(Rc<Inner>);

struct Inner {
    owner: u64,
    alive: Weak<()>,
    alias: Arc<str>,
    settings: Arc<DatabaseSettings>,
    state: RefCell<State>,
}

/// A callback registered with `on_commit`, and the savepoints open when it was.
pub(crate) type CommitHook = (Vec<String>, Box<dyn FnOnce()>);

#[derive(Default)]
pub(crate) struct State {
    backend: Option<Backend>,
    close_at: Option<Instant>,
    errors_occurred: bool,
    health_check_done: bool,
    pub(crate) in_atomic_block: bool,
    pub(crate) savepoint_ids: Vec<String>,
    pub(crate) needs_rollback: bool,
    pub(crate) closed_in_transaction: bool,
    pub(crate) run_on_commit: Vec<CommitHook>,
    pub(crate) savepoint_counter: u64,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("alias", &&*self.0.alias)
            .field("vendor", &self.vendor())
            .field("open", &self.is_open())
            .finish()
    }
}

impl Connection {
    /// The alias (`default`).
    pub fn alias(&self) -> &str {
        &self.0.alias
    }

    /// The settings of this database.
    pub fn settings(&self) -> &DatabaseSettings {
        &self.0.settings
    }

    /// Django's `connection.vendor`: `sqlite` or `postgresql`.
    pub fn vendor(&self) -> &'static str {
        self.0.settings.engine.vendor()
    }

    /// Django's `connection.ops.quote_name`: `"name"` (both backends quote with double
    /// quotes); a name already quoted is kept.
    pub fn quote_name(&self, name: &str) -> String {
        quote_name(name)
    }

    /// True while the connection to the server is open.
    pub fn is_open(&self) -> bool {
        self.0.state.borrow().backend.is_some()
    }

    /// True inside `transaction::atomic`.
    pub fn in_atomic_block(&self) -> bool {
        self.0.state.borrow().in_atomic_block
    }

    /// Opens the connection if it is not (Django's `ensure_connection`); with
    /// `conn_health_checks`, a connection reused from an earlier request is pinged first and
    /// replaced when it does not answer.
    pub fn ensure_connection(&self) -> Result<(), DatabaseError> {
        let mut state = self.0.state.borrow_mut();
        self.ensure_open(&mut state)
    }

    fn ensure_open(&self, state: &mut State) -> Result<(), DatabaseError> {
        if let Some(backend) = state.backend.as_mut() {
            if !state.health_check_done {
                state.health_check_done = true;
                if self.0.settings.conn_health_checks && !backend.is_usable() {
                    log::info!(
                        target: "django.db.backends",
                        "database '{}': the connection failed its health check; reconnecting",
                        self.0.alias
                    );
                    state.backend = None;
                } else {
                    return Ok(());
                }
            } else {
                return Ok(());
            }
        }
        if state.closed_in_transaction {
            return Err(self.error(
                ErrorKind::InterfaceError,
                "running a query",
                "connection already closed (it was lost inside a transaction)",
            ));
        }
        let backend = Backend::connect(&self.0.settings)
            .map_err(|f| self.failure(f, "connecting".to_string()))?;
        state.backend = Some(backend);
        state.errors_occurred = false;
        state.health_check_done = true;
        state.close_at = self.0.settings.conn_max_age.map(|age| Instant::now() + age);
        Ok(())
    }

    /// Runs `f` on the open backend; a failure marks the connection (Django's
    /// `wrap_database_errors`: any error but `DataError` / `IntegrityError` makes the next
    /// `close_old_connections` check it) and drops it at once when the server is gone.
    pub(crate) fn with_backend<T>(
        &self,
        operation: impl FnOnce() -> String,
        f: impl FnOnce(&mut Backend) -> Result<T, Failure>,
    ) -> Result<T, DatabaseError> {
        let mut state = self.0.state.borrow_mut();
        self.ensure_open(&mut state)?;
        let Some(backend) = state.backend.as_mut() else {
            return Err(self.error(ErrorKind::InterfaceError, "running a query", "not open"));
        };
        let result = f(backend);
        let closed = result.is_err() && backend.is_closed();
        match result {
            Ok(v) => Ok(v),
            Err(failure) => {
                if !matches!(
                    failure.kind,
                    ErrorKind::DataError | ErrorKind::IntegrityError
                ) {
                    state.errors_occurred = true;
                }
                if closed {
                    state.backend = None;
                    if state.in_atomic_block {
                        state.closed_in_transaction = true;
                        state.needs_rollback = true;
                    }
                }
                Err(self.failure(failure, operation()))
            }
        }
    }

    /// Django's `cursor.execute(sql, params)`: `%s` marks each parameter (`%%` is a literal
    /// `%`) on both backends. Returns the number of rows changed.
    pub fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DatabaseError> {
        let native = self.native_placeholders(sql);
        self.execute_native(&native, params)
    }

    /// Runs `sql` and returns every row (`cursor.execute` then `fetchall`), `%s` placeholders.
    pub fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DatabaseError> {
        let native = self.native_placeholders(sql);
        self.query_native(&native, params)
    }

    /// The first row of `sql`, if any (`fetchone`).
    pub fn query_row(&self, sql: &str, params: &[Value]) -> Result<Option<Row>, DatabaseError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// Runs several `;`-separated statements without parameters (migrations' SQL).
    pub fn execute_script(&self, sql: &str) -> Result<(), DatabaseError> {
        self.with_backend(|| describe("executing", sql), |b| b.execute_batch(sql))
    }

    /// Runs `sql` written with the backend's own placeholders (`?` for SQLite, `$1` for
    /// PostgreSQL), as sea-query writes them.
    pub fn execute_native(&self, sql: &str, params: &[Value]) -> Result<u64, DatabaseError> {
        self.with_backend(|| describe("executing", sql), |b| b.execute(sql, params))
    }

    /// [`Connection::query`] with the backend's own placeholders.
    pub fn query_native(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DatabaseError> {
        let alias = Arc::clone(&self.0.alias);
        self.with_backend(
            || describe("executing", sql),
            |b| {
                let (columns, rows) = b.query(sql, params)?;
                let header = Arc::new(RowHeader { alias, columns });
                Ok(rows
                    .into_iter()
                    .map(|values| Row::new(Arc::clone(&header), values))
                    .collect())
            },
        )
    }

    /// SQLite's `last_insert_rowid()`; PostgreSQL has none (use `RETURNING`).
    pub fn last_insert_id(&self) -> Result<i64, DatabaseError> {
        self.with_backend(
            || "reading the last insert id".to_string(),
            Backend::last_insert_id,
        )
    }

    /// `sql` with Django's `%s` placeholders rewritten for this backend.
    pub fn native_placeholders(&self, sql: &str) -> String {
        convert_placeholders(sql, self.0.settings.engine)
    }

    /// Django's `is_usable()`: the connection answers a trivial query.
    pub fn is_usable(&self) -> bool {
        self.0
            .state
            .borrow_mut()
            .backend
            .as_mut()
            .is_some_and(Backend::is_usable)
    }

    /// Closes the connection to the server (the handle stays valid and reconnects at its next
    /// query). Inside a transaction, the transaction is lost and later queries of the same
    /// `atomic` block fail.
    pub fn close(&self) {
        let mut state = self.0.state.borrow_mut();
        if state.backend.take().is_some() && state.in_atomic_block {
            state.closed_in_transaction = true;
            state.needs_rollback = true;
        }
    }

    /// Django's `close_if_unusable_or_obsolete`.
    fn close_if_unusable_or_obsolete(&self) {
        let Ok(mut state) = self.0.state.try_borrow_mut() else {
            return;
        };
        if state.backend.is_none() {
            return;
        }
        state.health_check_done = false;
        // A transaction left open across requests: don't take chances, drop the connection.
        if state.in_atomic_block {
            return;
        }
        if state.errors_occurred {
            let usable = state.backend.as_mut().is_some_and(Backend::is_usable);
            if usable {
                state.errors_occurred = false;
                state.health_check_done = true;
            } else {
                state.backend = None;
                return;
            }
        }
        if state.close_at.is_some_and(|at| Instant::now() >= at) {
            state.backend = None;
        }
    }

    pub(crate) fn state(&self) -> std::cell::RefMut<'_, State> {
        self.0.state.borrow_mut()
    }

    /// Runs a transaction-control statement (`BEGIN`, `SAVEPOINT "s1"`...).
    pub(crate) fn control(&self, sql: &str) -> Result<(), DatabaseError> {
        self.with_backend(|| describe("executing", sql), |b| b.execute_batch(sql))
    }

    pub(crate) fn error(
        &self,
        kind: ErrorKind,
        operation: &str,
        message: impl Into<String>,
    ) -> DatabaseError {
        DatabaseError::new(kind, &self.0.alias, operation, message)
            .with_target(self.0.settings.target())
    }

    fn failure(&self, failure: Failure, operation: String) -> DatabaseError {
        DatabaseError::new(failure.kind, &self.0.alias, operation, failure.message)
            .with_target(self.0.settings.target())
    }
}

/// `executing SELECT ...`, with long statements cut (an error names the query, not a page).
fn describe(verb: &str, sql: &str) -> String {
    const MAX: usize = 200;
    let sql = sql.trim();
    if sql.len() <= MAX {
        return format!("{verb} `{sql}`");
    }
    let mut end = MAX;
    while !sql.is_char_boundary(end) {
        end -= 1;
    }
    format!("{verb} `{}...`", &sql[..end])
}

/// Django's `quote_name`: `"name"`, kept as is when already quoted.
pub fn quote_name(name: &str) -> String {
    if name.len() >= 2 && name.starts_with('"') && name.ends_with('"') {
        name.to_string()
    } else {
        format!("\"{name}\"")
    }
}

/// Rewrites Django's `%s` placeholders: `?` for SQLite, `$1`, `$2`... for PostgreSQL; `%%`
/// becomes `%` (as Django's SQLite backend and psycopg do, without parsing the SQL).
pub fn convert_placeholders(sql: &str, engine: Engine) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some('s') => {
                chars.next();
                n += 1;
                match engine {
                    Engine::Sqlite => out.push('?'),
                    Engine::PostgreSql => {
                        out.push('$');
                        out.push_str(&n.to_string());
                    }
                }
            }
            Some('%') => {
                chars.next();
                out.push('%');
            }
            _ => out.push('%'),
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A fresh directory under the system's temporary one, named after `tag`, for a test's
    /// database files.
    pub(crate) fn temp_dir(tag: &str) -> std::path::PathBuf {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "portico-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A fresh SQLite database in a [`temp_dir`].
    pub(crate) fn temp_databases(tag: &str) -> (Arc<Databases>, std::path::PathBuf) {
        let dir = temp_dir(&format!("db-{tag}"));
        let databases = Databases::new(DatabasesSettings::sqlite(dir.join("db.sqlite3")));
        (databases, dir)
    }

    #[test]
    fn placeholders_follow_djangos_format_style() {
        let sql = "SELECT * FROM t WHERE a = %s AND b LIKE '10%%' AND c = %s";
        assert_eq!(
            convert_placeholders(sql, Engine::Sqlite),
            "SELECT * FROM t WHERE a = ? AND b LIKE '10%' AND c = ?"
        );
        assert_eq!(
            convert_placeholders(sql, Engine::PostgreSql),
            "SELECT * FROM t WHERE a = $1 AND b LIKE '10%' AND c = $2"
        );
        assert_eq!(convert_placeholders("100%", Engine::Sqlite), "100%");
        assert_eq!(quote_name("auth_user"), "\"auth_user\"");
        assert_eq!(quote_name("\"x\""), "\"x\"");
    }

    #[test]
    fn a_connection_opens_at_first_use_and_is_one_per_thread() {
        let (databases, dir) = temp_databases("lazy");
        let c = databases.connection("default").unwrap();
        assert!(!c.is_open(), "nothing is opened before the first query");
        assert!(!dir.join("db.sqlite3").exists());
        c.execute("CREATE TABLE t (x integer)", &[]).unwrap();
        assert!(c.is_open());
        assert_eq!(c.vendor(), "sqlite");
        let again = databases.connection("default").unwrap();
        assert!(
            Rc::ptr_eq(&c.0, &again.0),
            "the same handle on the same thread"
        );
        let d = Arc::clone(&databases);
        let other_open = std::thread::spawn(move || d.connection("default").unwrap().is_open())
            .join()
            .unwrap();
        assert!(!other_open, "another thread has its own connection");
        c.execute("INSERT INTO t (x) VALUES (%s), (%s)", &[1.into(), 2.into()])
            .unwrap();
        let rows = c.query("SELECT x FROM t ORDER BY x", &[]).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].get::<i64>(0).unwrap(), 2);
        assert_eq!(rows[0].columns(), ["x"]);
        let e = databases.connection("other").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InterfaceError);
        assert!(
            e.to_string()
                .contains("The connection 'other' doesn't exist."),
            "{e}"
        );
        databases.close_all();
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn errors_name_the_database_and_the_statement() {
        let (databases, dir) = temp_databases("errors");
        let c = databases.connection("default").unwrap();
        let e = c.query("SELECT * FROM missing_table", &[]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::OperationalError, "{e}");
        let text = e.to_string();
        assert!(
            text.starts_with("OperationalError on database 'default' (sqlite "),
            "{text}"
        );
        assert!(
            text.contains("while executing `SELECT * FROM missing_table`"),
            "{text}"
        );
        assert!(text.contains("no such table"), "{text}");
        c.execute("CREATE TABLE u (k text PRIMARY KEY)", &[])
            .unwrap();
        c.execute("INSERT INTO u VALUES (%s)", &["a".into()])
            .unwrap();
        let e = c
            .execute("INSERT INTO u VALUES (%s)", &["a".into()])
            .unwrap_err();
        assert!(e.is_integrity_error(), "{e}");
        let none = connection("default").unwrap_err();
        assert!(
            none.to_string().contains("no databases are active"),
            "{none}"
        );
        databases.close_all();
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn close_old_connections_follows_conn_max_age_and_errors() {
        let dir = std::env::temp_dir().join(format!("portico-db-age-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut settings = DatabasesSettings::sqlite(dir.join("db.sqlite3"));
        settings.default_mut().conn_max_age = Some(std::time::Duration::ZERO);
        let databases = Databases::new(settings.clone());
        let _active = databases.activate();
        let c = connection("default").unwrap();
        c.query("SELECT 1", &[]).unwrap();
        assert!(c.is_open());
        close_old_connections();
        assert!(
            !c.is_open(),
            "conn_max_age = 0 closes at the end of each request"
        );

        settings.default_mut().conn_max_age = None;
        let persistent = Databases::new(settings);
        let p = persistent.connection("default").unwrap();
        p.query("SELECT 1", &[]).unwrap();
        close_old_connections();
        assert!(p.is_open(), "persistent connections stay open");
        // An error that leaves SQLite usable keeps the connection.
        assert!(p.query("SELECT nope", &[]).is_err());
        close_old_connections();
        assert!(p.is_open());
        // Once the handler is gone, its connections are closed at the next boundary.
        drop(persistent);
        close_old_connections();
        assert!(!p.is_open());
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn atomic_requests_roll_back_a_failing_view_and_requests_close_their_connections() {
        use crate::http::{HttpRequest, HttpResponse};
        use crate::prelude::{path, view, App, ViewError, ViewResult};
        use crate::test::Client;

        fn write_then(request: &mut HttpRequest) -> ViewResult {
            let db = connection("default")?;
            db.execute("INSERT INTO t (x) VALUES (1)", &[])?;
            match request.path.as_str() {
                "/fail/" => Err(ViewError::msg("the view failed after writing")),
                "/panic/" => panic!("the view panicked after writing"),
                _ => Ok(HttpResponse::new("ok")),
            }
        }

        let dir =
            std::env::temp_dir().join(format!("portico-db-atomic-req-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut settings = crate::Settings::default();
        settings.databases = DatabasesSettings::sqlite(dir.join("db.sqlite3"));
        settings.databases.default_mut().atomic_requests = true;
        let setup = Databases::new(settings.databases.clone());
        let db = setup.connection("default").unwrap();
        db.execute("CREATE TABLE t (x integer)", &[]).unwrap();
        let count = || -> i64 {
            db.query("SELECT count(*) FROM t", &[]).unwrap()[0]
                .get(0)
                .unwrap()
        };

        let app = App::new(vec![
            path("ok/", view(write_then)),
            path("fail/", view(write_then)),
            path("panic/", view(write_then)),
        ]);
        let mut client = Client::from_app(app, settings).unwrap();
        let handler_db = client.handler().databases().connection("default").unwrap();
        assert_eq!(client.get("/ok/").status_code, 200);
        assert_eq!(count(), 1);
        assert!(
            !handler_db.is_open(),
            "conn_max_age = 0: closed when the request ends"
        );
        assert_eq!(client.get("/fail/").status_code, 500);
        assert_eq!(client.get("/panic/").status_code, 500);
        assert_eq!(count(), 1, "the failing views' writes were rolled back");
        assert!(!handler_db.in_atomic_block());
        setup.close_all();
        std::fs::remove_dir_all(dir).ok();
    }
}
