//! The PostgreSQL backend (Django's `django/db/backends/postgresql/base.py`) on the sync
//! `postgres` crate (rust-postgres: pure Rust, no libpq).
//!
//! - A connection attempt gives up after `options.connect_timeout` (5 s by default; libpq
//!   would wait forever), and TCP keepalives are on, so a server that vanished is noticed.
//! - Statements are prepared once per connection and kept (one round trip per query after the
//!   first), like psycopg's server-side prepared statements.
//! - Parameters are bound by their declared type: an integer [`Value`] is narrowed to
//!   `smallint` / `integer` where the column is one (Django's `AutoField` is `integer`), text
//!   goes to `json` / `jsonb` as is.
//! - Errors map to Django's classes by SQLSTATE class as psycopg does (23: `IntegrityError`,
//!   22: `DataError`, 42: `ProgrammingError`, 08 / 57 / 53: `OperationalError`); an error
//!   without a server answer (the socket closed) is an `OperationalError`, and
//!   [`DatabaseWrapper::is_closed`] tells the connection to drop it.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use postgres::config::SslMode;
use postgres::types::{FromSql, IsNull, Kind, ToSql, Type};
use postgres::{Client, NoTls, Statement};

use super::{Failure, Rows};
use crate::db::{DatabaseSettings, ErrorKind, Value};

/// How many prepared statements a connection keeps before it starts over.
const STATEMENT_CACHE: usize = 256;

/// How long `is_usable` waits for the server's answer.
const PING_TIMEOUT: Duration = Duration::from_secs(1);

type BoxError = Box<dyn StdError + Sync + Send>;

/// One PostgreSQL connection.
pub struct DatabaseWrapper {
    client: Client,
    statements: HashMap<String, Statement>,
}

impl DatabaseWrapper {
    /// Connects as `settings` say (`HOST` empty: `localhost`; a path: a unix socket).
    pub fn connect(settings: &DatabaseSettings) -> Result<DatabaseWrapper, Failure> {
        let mut config = postgres::Config::new();
        let host = if settings.host.is_empty() {
            "localhost"
        } else {
            settings.host.as_str()
        };
        config
            .host(host)
            .port(settings.port.unwrap_or(5432))
            .dbname(&settings.name)
            .connect_timeout(settings.options.connect_timeout)
            .keepalives(true)
            .ssl_mode(match settings.options.sslmode.as_str() {
                "disable" => SslMode::Disable,
                _ => SslMode::Prefer,
            });
        // libpq's default user is the OS user.
        let user = if settings.user.is_empty() {
            std::env::var("USER").unwrap_or_else(|_| "postgres".to_string())
        } else {
            settings.user.clone()
        };
        config.user(&user);
        if !settings.password.is_empty() {
            config.password(&settings.password);
        }
        if let Some(options) = &settings.options.options {
            config.options(options);
        }
        if let Some(name) = &settings.options.application_name {
            config.application_name(name);
        }
        let client = config.connect(NoTls).map_err(map)?;
        Ok(DatabaseWrapper {
            client,
            statements: HashMap::new(),
        })
    }

    /// The rust-postgres client, for what this layer does not wrap.
    pub fn raw(&mut self) -> &mut Client {
        &mut self.client
    }

    fn prepare(&mut self, sql: &str) -> Result<Statement, Failure> {
        if let Some(stmt) = self.statements.get(sql) {
            return Ok(stmt.clone());
        }
        let stmt = self.client.prepare(sql).map_err(map)?;
        if self.statements.len() >= STATEMENT_CACHE {
            self.statements.clear();
        }
        self.statements.insert(sql.to_string(), stmt.clone());
        Ok(stmt)
    }

    /// Runs one statement; the number of rows it changed.
    pub fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, Failure> {
        let stmt = self.prepare(sql)?;
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|v| v as _).collect();
        self.client.execute(&stmt, &params).map_err(map)
    }

    /// Runs one statement and returns its rows.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<Rows, Failure> {
        let stmt = self.prepare(sql)?;
        let bound: Vec<&(dyn ToSql + Sync)> = params.iter().map(|v| v as _).collect();
        let rows = self.client.query(&stmt, &bound).map_err(map)?;
        let columns: Vec<String> = stmt
            .columns()
            .iter()
            .map(|c| c.name().to_string())
            .collect();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut values = Vec::with_capacity(columns.len());
            for (i, name) in columns.iter().enumerate() {
                values.push(row.try_get::<_, Value>(i).map_err(|e| {
                    Failure::new(ErrorKind::DataError, format!("column \"{name}\": {e}"))
                })?);
            }
            out.push(values);
        }
        Ok((columns, out))
    }

    /// Runs `;`-separated statements (the simple query protocol).
    pub fn execute_batch(&mut self, sql: &str) -> Result<(), Failure> {
        self.client.batch_execute(sql).map_err(map)
    }

    /// Django's `is_usable`: the server answers an empty query within a second.
    pub fn is_usable(&mut self) -> bool {
        !self.client.is_closed() && self.client.is_valid(PING_TIMEOUT).is_ok()
    }

    /// True once the connection to the server is gone.
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// PostgreSQL has no last insert id: this layer writes `INSERT ... RETURNING`.
    pub fn last_insert_id(&mut self) -> Result<i64, Failure> {
        Err(Failure::new(
            ErrorKind::NotSupportedError,
            "PostgreSQL has no last insert id; use INSERT ... RETURNING",
        ))
    }

    /// `BEGIN`.
    pub fn begin_sql(&self) -> &str {
        "BEGIN"
    }
}

/// rust-postgres' error as Django's class, with the server's message and SQLSTATE.
fn map(e: postgres::Error) -> Failure {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        let kind = match &code[..2] {
            "23" => ErrorKind::IntegrityError,
            "22" => ErrorKind::DataError,
            "42" | "2F" | "34" | "3D" | "3F" => ErrorKind::ProgrammingError,
            "0A" => ErrorKind::NotSupportedError,
            "08" | "40" | "53" | "55" | "57" | "58" | "F0" | "HV" => ErrorKind::OperationalError,
            _ => ErrorKind::DatabaseError,
        };
        let mut message = format!("{} (SQLSTATE {code})", db.message());
        if let Some(detail) = db.detail() {
            message.push_str(": ");
            message.push_str(detail);
        }
        return Failure::new(kind, message);
    }
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = s.source();
    }
    Failure::new(ErrorKind::OperationalError, message)
}

fn mismatch(value: &Value, ty: &Type) -> BoxError {
    format!(
        "cannot bind a {} to a parameter of type {ty}",
        value.type_name()
    )
    .into()
}

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Bool(b) => match *ty {
                Type::BOOL => b.to_sql(ty, out),
                Type::INT2 | Type::INT4 | Type::INT8 => Value::Int(i64::from(*b)).to_sql(ty, out),
                _ => Err(mismatch(self, ty)),
            },
            Value::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::OID => u32::try_from(*i)?.to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                Type::FLOAT4 => (*i as f32).to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => i.to_string().to_sql(ty, out),
                _ => Err(mismatch(self, ty)),
            },
            Value::Float(f) => match *ty {
                Type::FLOAT8 => f.to_sql(ty, out),
                Type::FLOAT4 => (*f as f32).to_sql(ty, out),
                _ => Err(mismatch(self, ty)),
            },
            Value::Text(s) => match *ty {
                Type::JSONB => {
                    out.put_u8(1);
                    out.put_slice(s.as_bytes());
                    Ok(IsNull::No)
                }
                Type::JSON => {
                    out.put_slice(s.as_bytes());
                    Ok(IsNull::No)
                }
                _ if matches!(ty.kind(), Kind::Enum(_)) => {
                    out.put_slice(s.as_bytes());
                    Ok(IsNull::No)
                }
                _ if <&str as ToSql>::accepts(ty) => s.as_str().to_sql(ty, out),
                _ => Err(mismatch(self, ty)),
            },
            Value::Bytes(b) => match *ty {
                Type::BYTEA => b.as_slice().to_sql(ty, out),
                _ => Err(mismatch(self, ty)),
            },
            Value::DateTime(dt) => match *ty {
                Type::TIMESTAMPTZ => dt.to_sql(ty, out),
                Type::TIMESTAMP => dt.naive_utc().to_sql(ty, out),
                Type::DATE => dt.date_naive().to_sql(ty, out),
                _ => Err(mismatch(self, ty)),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

impl<'a> FromSql<'a> for Value {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Value, BoxError> {
        Ok(match *ty {
            Type::BOOL => Value::Bool(bool::from_sql(ty, raw)?),
            Type::INT2 => Value::Int(i64::from(i16::from_sql(ty, raw)?)),
            Type::INT4 => Value::Int(i64::from(i32::from_sql(ty, raw)?)),
            Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
            Type::OID => Value::Int(i64::from(u32::from_sql(ty, raw)?)),
            Type::FLOAT4 => Value::Float(f64::from(f32::from_sql(ty, raw)?)),
            Type::FLOAT8 => Value::Float(f64::from_sql(ty, raw)?),
            Type::BYTEA => Value::Bytes(raw.to_vec()),
            Type::TIMESTAMPTZ => Value::DateTime(DateTime::<Utc>::from_sql(ty, raw)?),
            Type::TIMESTAMP => Value::DateTime(NaiveDateTime::from_sql(ty, raw)?.and_utc()),
            Type::DATE => Value::Text(NaiveDate::from_sql(ty, raw)?.to_string()),
            Type::JSON => Value::Text(std::str::from_utf8(raw)?.to_string()),
            Type::JSONB => match raw.split_first() {
                Some((1, text)) => Value::Text(std::str::from_utf8(text)?.to_string()),
                _ => return Err("unsupported jsonb version".into()),
            },
            _ if matches!(ty.kind(), Kind::Enum(_)) => {
                Value::Text(std::str::from_utf8(raw)?.to_string())
            }
            _ if <String as FromSql>::accepts(ty) => Value::Text(String::from_sql(ty, raw)?),
            _ => {
                return Err(format!(
                    "columns of type {ty} are not supported; cast it in the query (::text)"
                )
                .into())
            }
        })
    }

    fn from_sql_null(_: &Type) -> Result<Value, BoxError> {
        Ok(Value::Null)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}
