//! Django's `MigrationRecorder`: the `django_migrations` table (`id`, `app`, `name`,
//! `applied`), made as Django makes it on each backend, so either side reads the other's
//! history.

use std::collections::BTreeSet;

use chrono::Utc;

use super::operations::{CreateModel, Field, Operation};
use crate::db::{Connection, DatabaseError, Engine, Value};

/// The table's name.
pub const TABLE: &str = "django_migrations";

/// Reads and writes `django_migrations` on one connection.
pub struct MigrationRecorder<'a> {
    conn: &'a Connection,
}

impl<'a> MigrationRecorder<'a> {
    /// The recorder of `conn`'s database.
    pub fn new(conn: &'a Connection) -> MigrationRecorder<'a> {
        MigrationRecorder { conn }
    }

    /// Django's recorder model: `id` (an `AutoField`, `integer` on PostgreSQL, as Django
    /// 5.2 makes it: handler-core/tests/django_ddl/django_migrations.postgresql.sql), `app`
    /// and `name` (`varchar(255)`), `applied` (a datetime).
    pub fn model() -> CreateModel {
        CreateModel::new("Migration")
            .db_table(TABLE)
            .field(Field::auto("id"))
            .field(Field::char("app", 255))
            .field(Field::char("name", 255))
            .field(Field::datetime("applied"))
    }

    /// Whether the table exists.
    pub fn has_table(&self) -> Result<bool, DatabaseError> {
        has_table(self.conn, TABLE)
    }

    /// Creates the table when it is missing.
    pub fn ensure_schema(&self) -> Result<(), DatabaseError> {
        if self.has_table()? {
            return Ok(());
        }
        let statements = Operation::from(Self::model())
            .forwards("migrations", self.conn.settings().engine)
            .map_err(|e| {
                self.conn.error(
                    crate::db::ErrorKind::NotSupportedError,
                    "creating django_migrations",
                    e.0,
                )
            })?;
        for sql in statements.now.iter().chain(&statements.deferred) {
            self.conn.execute_script(sql)?;
        }
        Ok(())
    }

    /// The `(app, name)` of every applied migration (none when there is no table).
    pub fn applied_migrations(&self) -> Result<BTreeSet<(String, String)>, DatabaseError> {
        if !self.has_table()? {
            return Ok(BTreeSet::new());
        }
        let rows = self
            .conn
            .query("SELECT \"app\", \"name\" FROM \"django_migrations\"", &[])?;
        rows.iter()
            .map(|r| Ok((r.get::<String>(0)?, r.get::<String>(1)?)))
            .collect()
    }

    /// Records `app.name` as applied now.
    pub fn record_applied(&self, app: &str, name: &str) -> Result<(), DatabaseError> {
        self.ensure_schema()?;
        self.conn.execute(
            "INSERT INTO \"django_migrations\" (\"app\", \"name\", \"applied\") VALUES (%s, %s, %s)",
            &[app.into(), name.into(), Value::DateTime(Utc::now())],
        )?;
        Ok(())
    }

    /// Forgets `app.name`.
    pub fn record_unapplied(&self, app: &str, name: &str) -> Result<(), DatabaseError> {
        self.ensure_schema()?;
        self.conn.execute(
            "DELETE FROM \"django_migrations\" WHERE \"app\" = %s AND \"name\" = %s",
            &[app.into(), name.into()],
        )?;
        Ok(())
    }

    /// Deletes every record (Django's `flush`, for tests).
    pub fn flush(&self) -> Result<(), DatabaseError> {
        if self.has_table()? {
            self.conn
                .execute("DELETE FROM \"django_migrations\"", &[])?;
        }
        Ok(())
    }
}

/// Whether `table` exists in the connection's database (its current schema on PostgreSQL).
pub fn has_table(conn: &Connection, table: &str) -> Result<bool, DatabaseError> {
    let sql = match conn.settings().engine {
        Engine::Sqlite => "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s",
        Engine::PostgreSql => {
            "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = \
             c.relnamespace WHERE c.relname = %s AND c.relkind IN ('r', 'p') AND \
             pg_catalog.pg_table_is_visible(c.oid)"
        }
    };
    Ok(conn.query_row(sql, &[table.into()])?.is_some())
}
