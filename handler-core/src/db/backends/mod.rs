//! The database backends (Django's `django/db/backends/`): [`sqlite`] and [`postgresql`], each
//! a `DatabaseWrapper` that connects, runs SQL with [`Value`] parameters and returns rows;
//! [`Backend`] is the one the settings' engine picks.

pub mod postgresql;
pub mod sqlite;

use super::{DatabaseSettings, Engine, ErrorKind, Value};

/// A failed call, before the connection adds which database it was and what it was doing.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Which of Django's errors it is.
    pub kind: ErrorKind,
    /// What the driver or the server said.
    pub message: String,
}

impl Failure {
    /// A failure of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
        }
    }
}

/// The column names and the rows of a result.
pub type Rows = (Vec<String>, Vec<Vec<Value>>);

/// An open connection of either engine.
pub enum Backend {
    /// SQLite.
    Sqlite(sqlite::DatabaseWrapper),
    /// PostgreSQL.
    PostgreSql(Box<postgresql::DatabaseWrapper>),
}

macro_rules! dispatch {
    ($self:ident, $b:ident => $e:expr) => {
        match $self {
            Backend::Sqlite($b) => $e,
            Backend::PostgreSql($b) => $e,
        }
    };
}

impl Backend {
    /// Opens a connection as `settings` say.
    pub fn connect(settings: &DatabaseSettings) -> Result<Backend, Failure> {
        Ok(match settings.engine {
            Engine::Sqlite => Backend::Sqlite(sqlite::DatabaseWrapper::connect(settings)?),
            Engine::PostgreSql => {
                Backend::PostgreSql(Box::new(postgresql::DatabaseWrapper::connect(settings)?))
            }
        })
    }

    /// Runs one statement with the backend's placeholders; the number of rows changed.
    pub fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, Failure> {
        dispatch!(self, b => b.execute(sql, params))
    }

    /// Runs one statement and returns its rows.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<Rows, Failure> {
        dispatch!(self, b => b.query(sql, params))
    }

    /// Runs `;`-separated statements without parameters.
    pub fn execute_batch(&mut self, sql: &str) -> Result<(), Failure> {
        dispatch!(self, b => b.execute_batch(sql))
    }

    /// Django's `is_usable()`.
    pub fn is_usable(&mut self) -> bool {
        dispatch!(self, b => b.is_usable())
    }

    /// True when the server side is gone for good (PostgreSQL's socket closed).
    pub fn is_closed(&self) -> bool {
        dispatch!(self, b => b.is_closed())
    }

    /// The row id of the last insert (SQLite only).
    pub fn last_insert_id(&mut self) -> Result<i64, Failure> {
        dispatch!(self, b => b.last_insert_id())
    }

    /// The statement that opens a transaction.
    pub fn begin_sql(&self) -> &str {
        dispatch!(self, b => b.begin_sql())
    }
}
