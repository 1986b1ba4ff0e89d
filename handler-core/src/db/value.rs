//! The values that cross the database boundary: [`Value`] (a parameter or a column), [`Row`]
//! (one result row), and [`FromValue`] (typed reads from a row).
//!
//! Datetimes are kept as Django keeps them with `USE_TZ = True`: UTC. The SQLite backend writes
//! them as Django's SQLite adapter does, text `YYYY-MM-DD HH:MM:SS[.ffffff]` without an offset;
//! PostgreSQL stores `timestamp with time zone`.

use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};

use super::{DatabaseError, ErrorKind};

/// A parameter of a query, or a column of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL `NULL` (Python's `None`).
    Null,
    /// A boolean (SQLite stores 0 / 1).
    Bool(bool),
    /// Any integer column or parameter; narrowed to the column's type on PostgreSQL.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// Text (`varchar`, `text`, `char`; `json`/`jsonb` on PostgreSQL).
    Text(String),
    /// Binary data (`BLOB`, `bytea`).
    Bytes(Vec<u8>),
    /// An aware datetime, in UTC.
    DateTime(DateTime<Utc>),
}

impl Value {
    /// True for `NULL`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// What the value is, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Bool(_) => "bool",
            Value::Int(_) => "integer",
            Value::Float(_) => "float",
            Value::Text(_) => "text",
            Value::Bytes(_) => "bytes",
            Value::DateTime(_) => "datetime",
        }
    }
}

macro_rules! value_from {
    ($($t:ty => $variant:ident $(as $cast:ty)?),* $(,)?) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::$variant(v $(as $cast)?)
            }
        }
    )*};
}

value_from!(bool => Bool, i64 => Int, i32 => Int as i64, i16 => Int as i64, u32 => Int as i64,
    u16 => Int as i64, u8 => Int as i64, f64 => Float, f32 => Float as f64, String => Text,
    Vec<u8> => Bytes, DateTime<Utc> => DateTime);

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}

impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value::Bytes(v.to_vec())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// Django's SQLite datetime text: `YYYY-MM-DD HH:MM:SS`, with `.ffffff` only when there are
/// microseconds (Python's `datetime.isoformat(" ")` of the naive UTC value).
pub fn format_sqlite_datetime(dt: &DateTime<Utc>) -> String {
    let micros = dt.timestamp_subsec_micros();
    if micros == 0 {
        dt.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        format!("{}.{micros:06}", dt.format("%Y-%m-%d %H:%M:%S"))
    }
}

/// Parses what Django (or SQLite's `CURRENT_TIMESTAMP`) wrote into a datetime column: a naive
/// UTC text with a space or a `T`, an optional fraction, and an optional `Z` / `+00:00`
/// offset (Django's `parse_datetime`, as its SQLite converter does).
pub fn parse_sqlite_datetime(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(aware) = DateTime::parse_from_rfc3339(&text.replacen(' ', "T", 1)) {
        return Some(aware.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Some(naive.and_utc());
        }
    }
    None
}

/// The columns of a result and the database it came from, shared by its rows.
#[derive(Debug)]
pub(crate) struct RowHeader {
    pub(crate) alias: Arc<str>,
    pub(crate) columns: Vec<String>,
}

/// One row of a result: its values in the query's column order.
#[derive(Debug, Clone)]
pub struct Row {
    header: Arc<RowHeader>,
    values: Vec<Value>,
}

impl Row {
    pub(crate) fn new(header: Arc<RowHeader>, values: Vec<Value>) -> Row {
        Row { header, values }
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True for a row without columns.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The column names, in order.
    pub fn columns(&self) -> &[String] {
        &self.header.columns
    }

    /// The raw values, in order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// Column `index` as `T`; a missing column or a value of another type is a `DataError`.
    pub fn get<T: FromValue>(&self, index: usize) -> Result<T, DatabaseError> {
        let value = self.values.get(index).ok_or_else(|| {
            self.error(format!(
                "column {index} out of range ({} columns)",
                self.values.len()
            ))
        })?;
        T::from_value(value).map_err(|expected| {
            let name = self.header.columns.get(index).map_or("?", String::as_str);
            self.error(format!(
                "column \"{name}\" holds {}, not {expected}",
                value.type_name()
            ))
        })
    }

    /// The column called `name` as `T`.
    pub fn get_named<T: FromValue>(&self, name: &str) -> Result<T, DatabaseError> {
        let index = self
            .header
            .columns
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| self.error(format!("no column \"{name}\" in the result")))?;
        self.get(index)
    }

    fn error(&self, message: String) -> DatabaseError {
        DatabaseError::new(
            ErrorKind::DataError,
            &self.header.alias,
            "reading a row",
            message,
        )
    }
}

/// A Rust type a column converts to. `Err` carries what was expected, for the message.
pub trait FromValue: Sized {
    /// Converts `value`, or says what type was expected.
    fn from_value(value: &Value) -> Result<Self, &'static str>;
}

impl FromValue for Value {
    fn from_value(value: &Value) -> Result<Self, &'static str> {
        Ok(value.clone())
    }
}

impl FromValue for i64 {
    fn from_value(value: &Value) -> Result<Self, &'static str> {
        match value {
            Value::Int(i) => Ok(*i),
            Value::Bool(b) => Ok(i64::from(*b)),
            _ => Err("an integer"),
        }
    }
}

macro_rules! narrow_int {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(value: &Value) -> Result<Self, &'static str> {
                let wide = i64::from_value(value)?;
                <$t>::try_from(wide).map_err(|_| concat!("an integer that fits ", stringify!($t)))
            }
        }
    )*};
}

narrow_int!(i32, i16, u32, u16, u8, u64, usize);

impl FromValue for bool {
    fn from_value(value: &Value) -> Result<Self, &'static str> {
        match value {
            Value::Bool(b) => Ok(*b),
            Value::Int(i) => Ok(*i != 0),
            _ => Err("a boolean"),
        }
    }
}

impl FromValue for f64 {
    fn from_value(value: &Value) -> Result<Self, &'static str> {
        match value {
            Value::Float(f) => Ok(*f),
            Value::Int(i) => Ok(*i as f64),
            _ => Err("a float"),
        }
    }
}

impl FromValue for String {
    fn from_value(value: &Value) -> Result<Self, &'static str> {
        match value {
            Value::Text(s) => Ok(s.clone()),
            _ => Err("text"),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(value: &Value) -> Result<Self, &'static str> {
        match value {
            Value::Bytes(b) => Ok(b.clone()),
            Value::Text(s) => Ok(s.as_bytes().to_vec()),
            _ => Err("bytes"),
        }
    }
}

impl FromValue for DateTime<Utc> {
    fn from_value(value: &Value) -> Result<Self, &'static str> {
        match value {
            Value::DateTime(dt) => Ok(*dt),
            Value::Text(s) => parse_sqlite_datetime(s).ok_or("a datetime"),
            _ => Err("a datetime"),
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &Value) -> Result<Self, &'static str> {
        match value {
            Value::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn datetimes_are_written_and_read_as_djangos_sqlite_adapter_does() {
        let whole = Utc.with_ymd_and_hms(2026, 12, 7, 15, 4, 5).unwrap();
        assert_eq!(format_sqlite_datetime(&whole), "2026-12-07 15:04:05");
        let fine = whole + chrono::Duration::microseconds(120);
        assert_eq!(format_sqlite_datetime(&fine), "2026-12-07 15:04:05.000120");
        for text in [
            "2026-12-07 15:04:05.000120",
            "2026-12-07T15:04:05.000120",
            "2026-12-07 15:04:05.000120+00:00",
            "2026-12-07T15:04:05.000120Z",
        ] {
            assert_eq!(parse_sqlite_datetime(text), Some(fine), "{text}");
        }
        assert_eq!(parse_sqlite_datetime("2026-12-07 15:04:05"), Some(whole));
        assert_eq!(
            parse_sqlite_datetime("2026-12-07 16:04:05+01:00"),
            Some(whole)
        );
        assert_eq!(parse_sqlite_datetime("yesterday"), None);
    }

    #[test]
    fn rows_convert_and_name_the_column_when_they_cannot() {
        let header = Arc::new(RowHeader {
            alias: "default".into(),
            columns: vec!["id".into(), "title".into(), "done".into(), "at".into()],
        });
        let row = Row::new(
            header,
            vec![
                Value::Int(7),
                Value::Text("x".into()),
                Value::Int(1),
                Value::Null,
            ],
        );
        assert_eq!(row.get::<i64>(0).unwrap(), 7);
        assert_eq!(row.get::<i32>(0).unwrap(), 7);
        assert_eq!(row.get_named::<String>("title").unwrap(), "x");
        assert!(row.get::<bool>(2).unwrap());
        assert_eq!(row.get::<Option<DateTime<Utc>>>(3).unwrap(), None);
        let e = row.get::<i64>(1).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DataError);
        assert!(e.to_string().contains("column \"title\" holds text"), "{e}");
        assert!(row.get::<i64>(9).is_err());
        assert!(row.get_named::<i64>("nope").is_err());
        assert_eq!(Value::from(Some(3)), Value::Int(3));
        assert_eq!(Value::from(None::<&str>), Value::Null);
    }
}
