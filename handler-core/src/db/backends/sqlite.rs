//! The SQLite backend (Django's `django/db/backends/sqlite3/base.py`) on rusqlite.
//!
//! Each connection is opened with the settings' busy timeout (`options.timeout`, 5 s as
//! Python's sqlite3), in WAL mode with `synchronous = NORMAL` (readers never block a writer,
//! and a commit does not wait for an fsync: an application crash loses nothing, a power cut
//! may lose the last commits, as in the notes app before this layer), and with
//! `foreign_keys = ON` as Django turns it on. Statements are prepared once per connection
//! (rusqlite's statement cache). Errors map to Django's classes as Python's sqlite3 maps
//! SQLite's codes: a constraint is an `IntegrityError`, nearly everything else an
//! `OperationalError` (including "no such table").

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{ErrorCode, OpenFlags, ToSql};

use super::{Failure, Rows};
use crate::db::{format_sqlite_datetime, DatabaseSettings, ErrorKind, Value};

/// How many prepared statements a connection keeps (rusqlite's default is 16; an app with a
/// few models and the session and auth queries uses more).
const STATEMENT_CACHE: usize = 64;

/// One SQLite connection.
pub struct DatabaseWrapper {
    conn: rusqlite::Connection,
    begin: String,
}

impl DatabaseWrapper {
    /// Opens (creating when missing) the file `settings.name`.
    pub fn connect(settings: &DatabaseSettings) -> Result<DatabaseWrapper, Failure> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = rusqlite::Connection::open_with_flags(&settings.name, flags).map_err(map)?;
        conn.busy_timeout(settings.options.timeout).map_err(map)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // journal_mode answers with a row; a :memory: database stays "memory".
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .map_err(map)?;
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
            .map_err(map)?;
        if let Some(init) = &settings.options.init_command {
            conn.execute_batch(init).map_err(map)?;
        }
        let begin = match &settings.options.transaction_mode {
            Some(mode) => format!("BEGIN {mode}"),
            None => "BEGIN".to_string(),
        };
        Ok(DatabaseWrapper { conn, begin })
    }

    /// The rusqlite connection, for what this layer does not wrap.
    pub fn raw(&self) -> &rusqlite::Connection {
        &self.conn
    }

    /// Runs one statement; the number of rows it changed (0 for a query).
    pub fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, Failure> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(map)?;
        if stmt.readonly() || stmt.column_count() > 0 {
            // A SELECT, a PRAGMA or an INSERT ... RETURNING: step through its rows.
            let readonly = stmt.readonly();
            let mut rows = stmt
                .query(rusqlite::params_from_iter(params))
                .map_err(map)?;
            while rows.next().map_err(map)?.is_some() {}
            drop(rows);
            return Ok(if readonly { 0 } else { self.conn.changes() });
        }
        let changed = stmt
            .execute(rusqlite::params_from_iter(params))
            .map_err(map)?;
        Ok(changed as u64)
    }

    /// Runs one statement and returns its rows.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<Rows, Failure> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(map)?;
        let columns: Vec<String> = stmt.column_names().into_iter().map(String::from).collect();
        let width = columns.len();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params))
            .map_err(map)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(map)? {
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                values.push(from_ref(row.get_ref(i).map_err(map)?)?);
            }
            out.push(values);
        }
        Ok((columns, out))
    }

    /// Runs `;`-separated statements.
    pub fn execute_batch(&mut self, sql: &str) -> Result<(), Failure> {
        self.conn.execute_batch(sql).map_err(map)
    }

    /// Always true, as Django's SQLite `is_usable`: a local file does not go away.
    pub fn is_usable(&mut self) -> bool {
        true
    }

    /// Never: the file is local.
    pub fn is_closed(&self) -> bool {
        false
    }

    /// `last_insert_rowid()`.
    pub fn last_insert_id(&mut self) -> Result<i64, Failure> {
        Ok(self.conn.last_insert_rowid())
    }

    /// `BEGIN`, or `BEGIN IMMEDIATE` / `EXCLUSIVE` with `options.transaction_mode`.
    pub fn begin_sql(&self) -> &str {
        &self.begin
    }
}

fn from_ref(value: ValueRef<'_>) -> Result<Value, Failure> {
    Ok(match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Float(f),
        ValueRef::Text(t) => Value::Text(
            String::from_utf8(t.to_vec())
                .map_err(|_| Failure::new(ErrorKind::DataError, "a text column is not UTF-8"))?,
        ),
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
    })
}

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        use rusqlite::types::Value as Sql;
        Ok(match self {
            Value::Null => ToSqlOutput::Owned(Sql::Null),
            Value::Bool(b) => ToSqlOutput::Owned(Sql::Integer(i64::from(*b))),
            Value::Int(i) => ToSqlOutput::Owned(Sql::Integer(*i)),
            Value::Float(f) => ToSqlOutput::Owned(Sql::Real(*f)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            Value::DateTime(dt) => ToSqlOutput::Owned(Sql::Text(format_sqlite_datetime(dt))),
        })
    }
}

/// rusqlite's error as Django's class (Python's sqlite3 mapping of SQLite's codes).
fn map(e: rusqlite::Error) -> Failure {
    let kind = match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            ErrorCode::ConstraintViolation => ErrorKind::IntegrityError,
            ErrorCode::TypeMismatch => ErrorKind::IntegrityError,
            ErrorCode::TooBig => ErrorKind::DataError,
            ErrorCode::ApiMisuse | ErrorCode::ParameterOutOfRange => ErrorKind::ProgrammingError,
            ErrorCode::InternalMalfunction | ErrorCode::NotFound => ErrorKind::DatabaseError,
            _ => ErrorKind::OperationalError,
        },
        rusqlite::Error::InvalidParameterCount(..)
        | rusqlite::Error::InvalidParameterName(_)
        | rusqlite::Error::MultipleStatement
        | rusqlite::Error::InvalidColumnIndex(_)
        | rusqlite::Error::InvalidColumnName(_) => ErrorKind::ProgrammingError,
        rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::Utf8Error(_)
        | rusqlite::Error::ToSqlConversionFailure(_) => ErrorKind::DataError,
        _ => ErrorKind::DatabaseError,
    };
    Failure::new(kind, e.to_string())
}
