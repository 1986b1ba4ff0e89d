//! The model seam (Django's `django.db.models`, kept small): a [`Model`] trait (table,
//! primary key, columns, a row in and values out), the [`model!`](crate::model) macro that
//! declares one in a few lines, and a [`QuerySet`] any generic code can use for any model:
//! `get(pk)`, `filter` / `exclude` with Django's lookups, `order_by`, `count`, `exists`,
//! slicing for a paginator, `create` / `update` / `delete`, and `save` / `delete` on an
//! instance.
//!
//! The SQL is built with sea-query for the connection's dialect; the queryset runs on the
//! model's database (`default`, or [`QuerySet::using`]) through the thread's active
//! connection, so it takes part in `transaction::atomic` and `atomic_requests`.
//!
//! ```
//! use handler_core::db::models::Model;
//! # use handler_core::db::{Databases, DatabasesSettings};
//! handler_core::model! {
//!     /// An article.
//!     pub struct Article in "articles_article" {
//!         pk id: i64,
//!         title: String,
//!         content: String,
//!     }
//! }
//! # let dir = std::env::temp_dir().join(format!("portico-models-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir).unwrap();
//! # let databases = Databases::new(DatabasesSettings::sqlite(dir.join("db.sqlite3")));
//! # let _active = databases.activate();
//! # handler_core::db::connection("default")?.execute(
//! #     "CREATE TABLE articles_article (id integer PRIMARY KEY AUTOINCREMENT, title text, content text)", &[])?;
//! let first = Article::objects().create(Article { id: 0, title: "A".into(), content: "x".into() })?;
//! let page = Article::objects().order_by("id").slice(0, 10).all()?; // a Paginator's page
//! assert_eq!(page, [first.clone()]);
//! assert_eq!(Article::objects().filter("title__startswith", "A").count()?, 1);
//! assert!(Article::objects().get(first.id + 1).unwrap_err().is_does_not_exist());
//! # drop(_active); std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), handler_core::db::DatabaseError>(())
//! ```

use std::marker::PhantomData;

use sea_query::{
    Asterisk, Cond, Expr, ExprTrait, Func, LikeExpr, Order, PostgresQueryBuilder, Query,
    SqliteQueryBuilder,
};

use super::{connection, Connection, DatabaseError, Engine, ErrorKind, FromValue, Row, Value};

/// Django's `MAX_GET_RESULTS`: how many rows `get` reads to say how many matched.
const MAX_GET_RESULTS: u64 = 21;

/// A model: a Rust type stored as one table's rows. [`model!`](crate::model) implements it.
pub trait Model: Sized + Clone + 'static {
    /// The class name (`Note`), for messages.
    const NAME: &'static str;
    /// `Meta.db_table`.
    const TABLE: &'static str;
    /// The primary key's column.
    const PK: &'static str;
    /// Every column, in the order of [`Model::from_row`] and [`Model::values`].
    const COLUMNS: &'static [&'static str];
    /// The database alias its queries use by default.
    const DATABASE: &'static str = super::DEFAULT_DB_ALIAS;

    /// Builds an instance from a row holding [`Model::COLUMNS`] in order.
    fn from_row(row: &Row) -> Result<Self, DatabaseError>;

    /// The values of [`Model::COLUMNS`], in order.
    fn values(&self) -> Vec<Value>;

    /// The primary key's value.
    fn pk(&self) -> Value;

    /// Sets the primary key (after an insert numbered it).
    fn set_pk(&mut self, pk: Value) -> Result<(), DatabaseError>;

    /// Whether the primary key is set: not `NULL`, `0` or `""` (an auto key's "unsaved").
    fn pk_is_set(&self) -> bool {
        !matches!(self.pk(), Value::Null | Value::Int(0)) && self.pk() != Value::Text(String::new())
    }

    /// Django's `Model.objects`: every row, as a queryset.
    fn objects() -> QuerySet<Self> {
        QuerySet::new()
    }

    /// Django's `save()`: an `UPDATE` by primary key when it is set (an `INSERT` with it
    /// when no row had it), else an `INSERT ... RETURNING` that numbers the key.
    fn save(&mut self) -> Result<(), DatabaseError> {
        Self::objects().save(self)
    }

    /// Django's `delete()`: removes the row of this primary key; how many went.
    fn delete(&self) -> Result<u64, DatabaseError> {
        Self::objects().filter(Self::PK, self.pk()).delete()
    }
}

/// Django's `Manager`: here the queryset of every row.
pub type Manager<M> = QuerySet<M>;

/// A lookup: `column`, `column__exact`, `__iexact`, `__lt`, `__lte`, `__gt`, `__gte`,
/// `__contains`, `__icontains`, `__startswith`, `__isnull`, or `__in` (with
/// [`QuerySet::filter_in`]).
#[derive(Debug, Clone, PartialEq)]
struct Lookup {
    column: &'static str,
    op: Op,
    values: Vec<Value>,
    negated: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Exact,
    IExact,
    Lt,
    Lte,
    Gt,
    Gte,
    Contains,
    IContains,
    StartsWith,
    IsNull,
    In,
}

/// A lazy query over one model's table (Django's `QuerySet`): built by chaining, run by
/// `all`, `first`, `get`, `count`, `exists`, `update` or `delete`. A bad field name is
/// reported when it runs, as Django's `FieldError` (a `ProgrammingError` here).
#[derive(Debug, Clone)]
pub struct QuerySet<M: Model> {
    alias: Option<String>,
    lookups: Vec<Lookup>,
    order: Vec<(&'static str, bool)>,
    limit: Option<u64>,
    offset: u64,
    error: Option<String>,
    model: PhantomData<M>,
}

impl<M: Model> Default for QuerySet<M> {
    fn default() -> Self {
        QuerySet::new()
    }
}

impl<M: Model> QuerySet<M> {
    /// Every row of `M`.
    pub fn new() -> QuerySet<M> {
        QuerySet {
            alias: None,
            lookups: Vec::new(),
            order: Vec::new(),
            limit: None,
            offset: 0,
            error: None,
            model: PhantomData,
        }
    }

    /// Django's `using(alias)`.
    pub fn using(mut self, alias: &str) -> Self {
        self.alias = Some(alias.to_string());
        self
    }

    fn column(&mut self, name: &str) -> Option<&'static str> {
        let name = if name == "pk" { M::PK } else { name };
        let found = M::COLUMNS.iter().copied().find(|c| *c == name);
        if found.is_none() && self.error.is_none() {
            self.error = Some(format!(
                "Cannot resolve keyword '{name}' into field. Choices are: {}",
                M::COLUMNS.join(", ")
            ));
        }
        found
    }

    fn lookup(mut self, lookup: &str, values: Vec<Value>, negated: bool, in_list: bool) -> Self {
        let (name, op) = match lookup.rsplit_once("__") {
            Some((name, suffix)) => match suffix {
                "exact" => (name, Op::Exact),
                "iexact" => (name, Op::IExact),
                "lt" => (name, Op::Lt),
                "lte" => (name, Op::Lte),
                "gt" => (name, Op::Gt),
                "gte" => (name, Op::Gte),
                "contains" => (name, Op::Contains),
                "icontains" => (name, Op::IContains),
                "startswith" => (name, Op::StartsWith),
                "isnull" => (name, Op::IsNull),
                "in" => (name, Op::In),
                other => {
                    if self.error.is_none() {
                        self.error = Some(format!(
                            "Unsupported lookup '{other}' for {}.{name}",
                            M::NAME
                        ));
                    }
                    return self;
                }
            },
            None => (lookup, Op::Exact),
        };
        let op = if in_list { Op::In } else { op };
        if let Some(column) = self.column(name) {
            self.lookups.push(Lookup {
                column,
                op,
                values,
                negated,
            });
        }
        self
    }

    /// Django's `filter(lookup=value)`; `filter("pk", 3)`, `filter("title__icontains", "x")`.
    pub fn filter(self, lookup: &str, value: impl Into<Value>) -> Self {
        self.lookup(lookup, vec![value.into()], false, false)
    }

    /// Django's `exclude(lookup=value)`.
    pub fn exclude(self, lookup: &str, value: impl Into<Value>) -> Self {
        self.lookup(lookup, vec![value.into()], true, false)
    }

    /// Django's `filter(column__in=values)`.
    pub fn filter_in<V: Into<Value>>(
        self,
        column: &str,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        let values = values.into_iter().map(Into::into).collect();
        self.lookup(column, values, false, true)
    }

    /// Django's `order_by("col", "-other")`: one column per call, added after the others.
    pub fn order_by(mut self, column: &str) -> Self {
        let (name, descending) = match column.strip_prefix('-') {
            Some(name) => (name, true),
            None => (column, false),
        };
        if let Some(column) = self.column(name) {
            self.order.push((column, descending));
        }
        self
    }

    /// Django's `qs[start:end]`: `LIMIT end - start OFFSET start`.
    pub fn slice(mut self, start: u64, end: u64) -> Self {
        self.offset += start;
        self.limit = Some(end.saturating_sub(start));
        self
    }

    fn conn(&self) -> Result<Connection, DatabaseError> {
        let alias = self.alias.as_deref().unwrap_or(M::DATABASE);
        let conn = connection(alias)?;
        if let Some(problem) = &self.error {
            return Err(conn.error(
                ErrorKind::ProgrammingError,
                "building a query",
                problem.clone(),
            ));
        }
        Ok(conn)
    }

    fn condition(&self, engine: Engine) -> Cond {
        let mut all = Cond::all();
        for l in &self.lookups {
            let col = Expr::col(l.column);
            let value = l.values.first().cloned().unwrap_or(Value::Null);
            let like = |pattern: String| LikeExpr::new(pattern).escape('\\');
            let expr = match l.op {
                Op::Exact if value.is_null() => col.is_null(),
                Op::Exact => col.eq(to_sea(&value)),
                Op::IExact => match engine {
                    Engine::Sqlite => col.like(like(escape_like(&text(&value)))),
                    Engine::PostgreSql => {
                        Expr::expr(Func::upper(col)).eq(Func::upper(Expr::val(to_sea(&value))))
                    }
                },
                Op::Lt => col.lt(to_sea(&value)),
                Op::Lte => col.lte(to_sea(&value)),
                Op::Gt => col.gt(to_sea(&value)),
                Op::Gte => col.gte(to_sea(&value)),
                Op::Contains => col.like(like(format!("%{}%", escape_like(&text(&value))))),
                Op::IContains => match engine {
                    Engine::Sqlite => col.like(like(format!("%{}%", escape_like(&text(&value))))),
                    Engine::PostgreSql => Expr::expr(Func::upper(col)).like(like(format!(
                        "%{}%",
                        escape_like(&text(&value)).to_uppercase()
                    ))),
                },
                Op::StartsWith => col.like(like(format!("{}%", escape_like(&text(&value))))),
                Op::IsNull => {
                    if matches!(value, Value::Bool(false) | Value::Int(0)) {
                        col.is_not_null()
                    } else {
                        col.is_null()
                    }
                }
                Op::In => col.is_in(l.values.iter().map(|v| Expr::val(to_sea(v)))),
            };
            all = all.add(if l.negated { expr.not() } else { expr });
        }
        all
    }

    fn run_select(&self, limit: Option<u64>) -> Result<Vec<Row>, DatabaseError> {
        let conn = self.conn()?;
        let engine = conn.settings().engine;
        let mut q = Query::select();
        q.columns(M::COLUMNS.iter().copied())
            .from(M::TABLE)
            .cond_where(self.condition(engine));
        for (column, descending) in &self.order {
            q.order_by(*column, if *descending { Order::Desc } else { Order::Asc });
        }
        let limit = match (self.limit, limit) {
            (Some(a), Some(b)) => Some(Ord::min(a, b)),
            (a, b) => a.or(b),
        };
        if let Some(limit) = limit {
            q.limit(limit);
        } else if self.offset > 0 {
            q.limit(i64::MAX as u64);
        }
        if self.offset > 0 {
            q.offset(self.offset);
        }
        let (sql, values) = build(engine, |b| match b {
            Builder::Sqlite => q.build(SqliteQueryBuilder),
            Builder::Postgres => q.build(PostgresQueryBuilder),
        });
        conn.query_native(&sql, &from_sea(values)?)
    }

    /// Every matching row (evaluating the queryset).
    pub fn all(&self) -> Result<Vec<M>, DatabaseError> {
        self.run_select(None)?.iter().map(M::from_row).collect()
    }

    /// Django's `first()`: the first row (by the ordering, else by primary key), if any.
    pub fn first(&self) -> Result<Option<M>, DatabaseError> {
        let mut qs = self.clone();
        if qs.order.is_empty() {
            qs.order.push((M::PK, false));
        }
        qs.run_select(Some(1))?.first().map(M::from_row).transpose()
    }

    /// Django's `get(pk=pk)` on this queryset: exactly one row, else `DoesNotExist` or
    /// `MultipleObjectsReturned`.
    pub fn get(&self, pk: impl Into<Value>) -> Result<M, DatabaseError> {
        self.clone().filter(M::PK, pk).get_one()
    }

    /// Django's `get()` with the filters given: exactly one row.
    pub fn get_one(&self) -> Result<M, DatabaseError> {
        let rows = self.run_select(Some(MAX_GET_RESULTS))?;
        let alias = self.alias.as_deref().unwrap_or(M::DATABASE);
        match rows.as_slice() {
            [row] => M::from_row(row),
            [] => Err(DatabaseError::new(
                ErrorKind::DoesNotExist,
                alias,
                format!("getting a {}", M::NAME),
                format!("{} matching query does not exist.", M::NAME),
            )),
            many => Err(DatabaseError::new(
                ErrorKind::MultipleObjectsReturned,
                alias,
                format!("getting a {}", M::NAME),
                format!(
                    "get() returned more than one {} -- it returned {}{}!",
                    M::NAME,
                    if many.len() as u64 >= MAX_GET_RESULTS {
                        "more than "
                    } else {
                        ""
                    },
                    many.len().min(MAX_GET_RESULTS as usize - 1)
                ),
            )),
        }
    }

    /// Django's `count()`: `SELECT COUNT(*)` of the matching rows (the slice applied).
    pub fn count(&self) -> Result<u64, DatabaseError> {
        let conn = self.conn()?;
        let engine = conn.settings().engine;
        let mut inner = Query::select();
        inner
            .expr(Func::count(Expr::col(Asterisk)))
            .from(M::TABLE)
            .cond_where(self.condition(engine));
        let sliced = self.limit.is_some() || self.offset > 0;
        let (sql, values) = if sliced {
            // COUNT over the slice: count the sliced keys, as Django's subquery does.
            let mut keys = Query::select();
            keys.column(M::PK)
                .from(M::TABLE)
                .cond_where(self.condition(engine));
            keys.limit(self.limit.unwrap_or(i64::MAX as u64));
            if self.offset > 0 {
                keys.offset(self.offset);
            }
            let mut outer = Query::select();
            outer
                .expr(Func::count(Expr::col(Asterisk)))
                .from_subquery(keys, "subquery");
            build(engine, |b| match b {
                Builder::Sqlite => outer.build(SqliteQueryBuilder),
                Builder::Postgres => outer.build(PostgresQueryBuilder),
            })
        } else {
            build(engine, |b| match b {
                Builder::Sqlite => inner.build(SqliteQueryBuilder),
                Builder::Postgres => inner.build(PostgresQueryBuilder),
            })
        };
        let rows = conn.query_native(&sql, &from_sea(values)?)?;
        match rows.first() {
            Some(row) => row.get::<u64>(0),
            None => Ok(0),
        }
    }

    /// Django's `exists()`.
    pub fn exists(&self) -> Result<bool, DatabaseError> {
        Ok(!self.run_select(Some(1))?.is_empty())
    }

    /// Django's `update(column=value, ...)` on the matching rows; how many changed.
    pub fn update(&self, changes: &[(&str, Value)]) -> Result<u64, DatabaseError> {
        let mut qs = self.clone();
        let columns: Vec<Option<&'static str>> =
            changes.iter().map(|(c, _)| qs.column(c)).collect();
        let conn = qs.conn()?;
        let engine = conn.settings().engine;
        let mut q = Query::update();
        q.table(M::TABLE);
        for (column, (_, value)) in columns.into_iter().flatten().zip(changes) {
            q.value(column, Expr::val(to_sea(value)));
        }
        q.cond_where(qs.condition(engine));
        let (sql, values) = build(engine, |b| match b {
            Builder::Sqlite => q.build(SqliteQueryBuilder),
            Builder::Postgres => q.build(PostgresQueryBuilder),
        });
        conn.execute_native(&sql, &from_sea(values)?)
    }

    /// Django's `delete()` of the matching rows; how many went.
    pub fn delete(&self) -> Result<u64, DatabaseError> {
        let conn = self.conn()?;
        let engine = conn.settings().engine;
        let mut q = Query::delete();
        q.from_table(M::TABLE).cond_where(self.condition(engine));
        let (sql, values) = build(engine, |b| match b {
            Builder::Sqlite => q.build(SqliteQueryBuilder),
            Builder::Postgres => q.build(PostgresQueryBuilder),
        });
        conn.execute_native(&sql, &from_sea(values)?)
    }

    /// Django's `create(**fields)`: inserts `object` and returns it with its key.
    pub fn create(&self, mut object: M) -> Result<M, DatabaseError> {
        self.insert(&mut object)?;
        Ok(object)
    }

    /// [`Model::save`] on this queryset's database.
    pub fn save(&self, object: &mut M) -> Result<(), DatabaseError> {
        if object.pk_is_set() {
            let values = object.values();
            let changes: Vec<(&str, Value)> = M::COLUMNS
                .iter()
                .copied()
                .zip(values)
                .filter(|(c, _)| *c != M::PK)
                .collect();
            let updated = if changes.is_empty() {
                u64::from(self.clone().filter(M::PK, object.pk()).exists()?)
            } else {
                self.clone().filter(M::PK, object.pk()).update(&changes)?
            };
            if updated > 0 {
                return Ok(());
            }
        }
        self.insert(object)
    }

    fn insert(&self, object: &mut M) -> Result<(), DatabaseError> {
        let conn = self.conn()?;
        let engine = conn.settings().engine;
        let with_pk = object.pk_is_set();
        let (columns, values): (Vec<&'static str>, Vec<Value>) = M::COLUMNS
            .iter()
            .copied()
            .zip(object.values())
            .filter(|(c, _)| with_pk || *c != M::PK)
            .unzip();
        let mut q = Query::insert();
        q.into_table(M::TABLE).columns(columns.iter().copied());
        q.values(values.iter().map(|v| Expr::val(to_sea(v))))
            .map_err(|e| {
                conn.error(
                    ErrorKind::ProgrammingError,
                    "building an insert",
                    e.to_string(),
                )
            })?;
        if columns.is_empty() {
            q.or_default_values();
        }
        q.returning_col(M::PK);
        let (sql, params) = build(engine, |b| match b {
            Builder::Sqlite => q.build(SqliteQueryBuilder),
            Builder::Postgres => q.build(PostgresQueryBuilder),
        });
        let rows = conn.query_native(&sql, &from_sea(params)?)?;
        if let Some(row) = rows.first() {
            object.set_pk(row.get::<Value>(0)?)?;
        }
        Ok(())
    }
}

enum Builder {
    Sqlite,
    Postgres,
}

fn build<T>(engine: Engine, f: impl FnOnce(Builder) -> T) -> T {
    f(match engine {
        Engine::Sqlite => Builder::Sqlite,
        Engine::PostgreSql => Builder::Postgres,
    })
}

/// Text for a `LIKE` lookup.
fn text(value: &Value) -> String {
    match value {
        Value::Text(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}

/// Django's `prep_for_like_query`: `\`, `%` and `_` stand for themselves.
fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn to_sea(value: &Value) -> sea_query::Value {
    use sea_query::Value as V;
    match value {
        Value::Null => V::String(None),
        Value::Bool(b) => V::Bool(Some(*b)),
        Value::Int(i) => V::BigInt(Some(*i)),
        Value::Float(f) => V::Double(Some(*f)),
        Value::Text(s) => V::String(Some(s.clone())),
        Value::Bytes(b) => V::Bytes(Some(b.clone())),
        Value::DateTime(dt) => V::ChronoDateTimeUtc(Some(*dt)),
    }
}

fn from_sea(values: sea_query::Values) -> Result<Vec<Value>, DatabaseError> {
    use sea_query::Value as V;
    values
        .0
        .into_iter()
        .map(|v| {
            Ok(match v {
                V::Bool(b) => b.map_or(Value::Null, Value::Bool),
                V::TinyInt(i) => i.map_or(Value::Null, |i| Value::Int(i64::from(i))),
                V::SmallInt(i) => i.map_or(Value::Null, |i| Value::Int(i64::from(i))),
                V::Int(i) => i.map_or(Value::Null, |i| Value::Int(i64::from(i))),
                V::BigInt(i) => i.map_or(Value::Null, Value::Int),
                V::TinyUnsigned(i) => i.map_or(Value::Null, |i| Value::Int(i64::from(i))),
                V::SmallUnsigned(i) => i.map_or(Value::Null, |i| Value::Int(i64::from(i))),
                V::Unsigned(i) => i.map_or(Value::Null, |i| Value::Int(i64::from(i))),
                V::BigUnsigned(i) => i.map_or(Value::Null, |i| {
                    Value::Int(i64::try_from(i).unwrap_or(i64::MAX))
                }),
                V::Float(f) => f.map_or(Value::Null, |f| Value::Float(f64::from(f))),
                V::Double(f) => f.map_or(Value::Null, Value::Float),
                V::String(s) => s.map_or(Value::Null, Value::Text),
                V::Char(c) => c.map_or(Value::Null, |c| Value::Text(c.to_string())),
                V::Bytes(b) => b.map_or(Value::Null, Value::Bytes),
                V::ChronoDateTimeUtc(dt) => dt.map_or(Value::Null, Value::DateTime),
                other => {
                    return Err(DatabaseError::new(
                        ErrorKind::NotSupportedError,
                        "",
                        "binding a query value",
                        format!("unsupported value {other:?}"),
                    ))
                }
            })
        })
        .collect()
}

/// Converts a column for [`model!`](crate::model)'s generated code, naming the model and
/// column when it does not fit.
#[doc(hidden)]
pub fn convert<T: FromValue>(value: &Value, model: &str, column: &str) -> Result<T, DatabaseError> {
    T::from_value(value).map_err(|expected| {
        DatabaseError::new(
            ErrorKind::DataError,
            "",
            format!("setting {model}.{column}"),
            format!("{} is not {expected}", value.type_name()),
        )
    })
}

/// Declares a model: a struct with public fields (the first, marked `pk`, is the primary
/// key; the others are columns of the same names, in order) and its [`Model`] impl.
///
/// ```
/// handler_core::model! {
///     /// A note of a user.
///     #[derive(Default)]
///     pub struct Note in "notes_note" {
///         pk id: i64,
///         owner_id: i64,
///         title: String,
///         body: String,
///         edited: Option<chrono::DateTime<chrono::Utc>>,
///     }
/// }
/// use handler_core::db::models::Model;
/// assert_eq!(Note::COLUMNS, ["id", "owner_id", "title", "body", "edited"]);
/// ```
#[macro_export]
macro_rules! model {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident in $table:literal {
            pk $pk:ident : $pk_ty:ty
            $(, $(#[$field_meta:meta])* $field:ident : $field_ty:ty)* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        $vis struct $name {
            #[doc = "The primary key."]
            pub $pk: $pk_ty,
            $($(#[$field_meta])* #[doc = concat!("The `", stringify!($field), "` column.")] pub $field: $field_ty,)*
        }

        impl $crate::db::models::Model for $name {
            const NAME: &'static str = stringify!($name);
            const TABLE: &'static str = $table;
            const PK: &'static str = stringify!($pk);
            const COLUMNS: &'static [&'static str] = &[stringify!($pk) $(, stringify!($field))*];

            #[allow(unused_assignments)]
            fn from_row(row: &$crate::db::Row) -> ::std::result::Result<Self, $crate::db::DatabaseError> {
                let mut index = 0usize;
                Ok($name {
                    $pk: { let v = row.get(index)?; index += 1; v },
                    $($field: { let v = row.get(index)?; index += 1; v },)*
                })
            }

            fn values(&self) -> ::std::vec::Vec<$crate::db::Value> {
                ::std::vec![
                    $crate::db::Value::from(::std::clone::Clone::clone(&self.$pk))
                    $(, $crate::db::Value::from(::std::clone::Clone::clone(&self.$field)))*
                ]
            }

            fn pk(&self) -> $crate::db::Value {
                $crate::db::Value::from(::std::clone::Clone::clone(&self.$pk))
            }

            fn set_pk(&mut self, pk: $crate::db::Value) -> ::std::result::Result<(), $crate::db::DatabaseError> {
                self.$pk = $crate::db::models::convert(&pk, stringify!($name), stringify!($pk))?;
                Ok(())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::tests::temp_databases;

    crate::model! {
        /// A note.
        pub struct Note in "notes_note" {
            pk id: i64,
            owner_id: i64,
            title: String,
            body: Option<String>,
        }
    }

    crate::model! {
        /// A session, keyed by text.
        pub struct Session in "django_session" {
            pk session_key: String,
            session_data: String,
            expire_date: chrono::DateTime<chrono::Utc>,
        }
    }

    fn note(owner: i64, title: &str) -> Note {
        Note {
            id: 0,
            owner_id: owner,
            title: title.into(),
            body: None,
        }
    }

    #[test]
    fn querysets_filter_order_slice_count_update_and_delete() {
        let (databases, dir) = temp_databases("models");
        let _active = databases.activate();
        let db = connection("default").unwrap();
        db.execute_script(
            "CREATE TABLE notes_note (id integer NOT NULL PRIMARY KEY AUTOINCREMENT, owner_id \
             integer NOT NULL, title varchar(200) NOT NULL, body text NULL)",
        )
        .unwrap();
        let a = Note::objects().create(note(1, "alpha")).unwrap();
        assert_eq!(a.id, 1, "the key comes back from INSERT ... RETURNING");
        let mut b = note(1, "beta 50%");
        b.save().unwrap();
        assert_eq!(b.id, 2);
        Note::objects().create(note(2, "gamma_x")).unwrap();

        let mine = Note::objects()
            .filter("owner_id", 1)
            .order_by("-id")
            .all()
            .unwrap();
        assert_eq!(mine.iter().map(|n| n.id).collect::<Vec<_>>(), [2, 1]);
        assert_eq!(Note::objects().exclude("owner_id", 1).count().unwrap(), 1);
        assert_eq!(
            Note::objects()
                .filter("title__icontains", "ALPHA")
                .count()
                .unwrap(),
            1
        );
        assert_eq!(
            Note::objects()
                .filter("title__contains", "50%")
                .count()
                .unwrap(),
            1
        );
        assert_eq!(
            Note::objects()
                .filter("title__contains", "%")
                .count()
                .unwrap(),
            1,
            "% is literal"
        );
        assert_eq!(
            Note::objects()
                .filter("title__contains", "_")
                .count()
                .unwrap(),
            1,
            "_ is literal"
        );
        assert_eq!(Note::objects().filter("id__gte", 2).count().unwrap(), 2);
        assert_eq!(
            Note::objects()
                .filter("body__isnull", true)
                .count()
                .unwrap(),
            3
        );
        assert_eq!(Note::objects().filter_in("id", [1, 3]).count().unwrap(), 2);
        assert!(Note::objects().filter("pk", 3).exists().unwrap());
        let page = Note::objects().order_by("id").slice(1, 3).all().unwrap();
        assert_eq!(page.iter().map(|n| n.id).collect::<Vec<_>>(), [2, 3]);
        assert_eq!(
            Note::objects().order_by("id").slice(2, 10).count().unwrap(),
            1
        );
        assert_eq!(Note::objects().first().unwrap().map(|n| n.id), Some(1));

        // save() of a stored note updates it; get() finds it by key.
        b.body = Some("text".into());
        b.save().unwrap();
        assert_eq!(
            Note::objects().get(2).unwrap().body.as_deref(),
            Some("text")
        );
        assert_eq!(Note::objects().count().unwrap(), 3);
        let e = Note::objects().get(99).unwrap_err();
        assert!(e.is_does_not_exist());
        assert_eq!(e.message(), "Note matching query does not exist.");
        let e = Note::objects().filter("owner_id", 1).get_one().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::MultipleObjectsReturned);
        assert_eq!(
            e.message(),
            "get() returned more than one Note -- it returned 2!"
        );
        let e = Note::objects().filter("nope", 1).all().unwrap_err();
        assert_eq!(
            e.message(),
            "Cannot resolve keyword 'nope' into field. Choices are: id, owner_id, title, body"
        );
        assert_eq!(
            Note::objects()
                .filter("owner_id", 1)
                .update(&[("title", "t".into())])
                .unwrap(),
            2
        );
        assert_eq!(b.delete().unwrap(), 1);
        assert_eq!(Note::objects().filter("title", "t").count().unwrap(), 1);
        assert_eq!(Note::objects().delete().unwrap(), 2);
        drop(_active);
        databases.close_all();
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn a_text_key_is_inserted_as_given_and_datetimes_round_trip() {
        let (databases, dir) = temp_databases("models-text");
        let _active = databases.activate();
        let db = connection("default").unwrap();
        db.execute_script(
            "CREATE TABLE django_session (session_key varchar(40) NOT NULL PRIMARY KEY, \
             session_data text NOT NULL, expire_date datetime NOT NULL)",
        )
        .unwrap();
        let when = chrono::DateTime::parse_from_rfc3339("2026-12-21T15:00:00.250Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let mut s = Session {
            session_key: "k1".into(),
            session_data: "d".into(),
            expire_date: when,
        };
        s.save().unwrap();
        let stored: String = db
            .query("SELECT expire_date FROM django_session", &[])
            .unwrap()[0]
            .get(0)
            .unwrap();
        assert_eq!(stored, "2026-12-21 15:00:00.250000", "Django's SQLite text");
        assert_eq!(Session::objects().get("k1").unwrap(), s);
        assert_eq!(
            Session::objects()
                .filter("expire_date__lt", when + chrono::Duration::seconds(1))
                .count()
                .unwrap(),
            1
        );
        s.session_data = "e".into();
        s.save().unwrap();
        assert_eq!(Session::objects().count().unwrap(), 1);
        assert_eq!(Session::objects().get("k1").unwrap().session_data, "e");
        drop(_active);
        databases.close_all();
        std::fs::remove_dir_all(dir).ok();
    }
}
