//! handler-core's database layer on both backends for real: the same migrations, models and
//! transactions on an SQLite file and on a throwaway PostgreSQL server (initdb + pg_ctl on a
//! free port), and PostgreSQL going away under a connection (`pg_ctl stop -m immediate`) and
//! coming back. A machine where PostgreSQL cannot be installed skips those parts, saying so.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use handler_core::db::migrations::{
    self, AddField, AddIndex, CreateModel, Field, FieldKind, Migration, MigrationRecorder, RunSql,
    Target,
};
use handler_core::db::models::Model;
use handler_core::db::{
    close_old_connections, connection, transaction, DatabaseError, DatabaseSettings, Databases,
    DatabasesSettings, ErrorKind, Value,
};
use tests::postgres::{Postgres as PgServer, StopMode};
use tests::TempDir;

handler_core::model! {
    /// Contrib's user, reduced (its key is an AutoField: `integer` on PostgreSQL).
    pub struct User in "auth_user" {
        pk id: i64,
        username: String,
        is_staff: bool,
    }
}

handler_core::model! {
    /// An app's note (a BigAutoField key and a foreign key to auth_user).
    pub struct Note in "notes_note" {
        pk id: i64,
        title: String,
        body: String,
        owner_id: i64,
        edited: Option<chrono::DateTime<chrono::Utc>>,
    }
}

fn migrations() -> Vec<Migration> {
    vec![
        Migration::new("auth", "0001_initial").initial().operation(
            CreateModel::new("User")
                .field(Field::auto("id"))
                .field(Field::char("username", 150).unique())
                .field(Field::boolean("is_staff")),
        ),
        Migration::new("notes", "0001_initial")
            .initial()
            .dependency("auth", "0001_initial")
            .operation(
                CreateModel::new("Note")
                    .field(Field::big_auto("id"))
                    .field(Field::char("title", 200))
                    .field(Field::text("body"))
                    .field(Field::foreign_key(
                        "owner",
                        "auth_user",
                        FieldKind::AutoField,
                    )),
            ),
        Migration::new("notes", "0002_note_edited")
            .operation(AddField::new("Note", Field::datetime("edited").null()))
            .operation(AddIndex::new("Note", "notes_note_title_idx", &["title"])),
    ]
}

/// The same checks on whichever backend `databases` is.
fn exercise(databases: &std::sync::Arc<Databases>) {
    let vendor = databases.connection("default").unwrap().vendor();
    let all = migrations();
    let steps = migrations::migrate(databases, "default", &all, None).unwrap();
    assert_eq!(steps.len(), 3, "{vendor}");
    assert!(
        migrations::migrate(databases, "default", &all, None)
            .unwrap()
            .is_empty(),
        "{vendor}: migrate twice is a no-op"
    );
    assert_eq!(
        migrations::showmigrations(databases, "default", &all, &[]).unwrap(),
        "auth\n [X] 0001_initial\nnotes\n [X] 0001_initial\n [X] 0002_note_edited\n",
        "{vendor}"
    );

    let _active = databases.activate();
    let alice = User::objects()
        .create(User {
            id: 0,
            username: "alice".into(),
            is_staff: false,
        })
        .unwrap();
    let when =
        Utc.with_ymd_and_hms(2026, 12, 7, 16, 30, 0).unwrap() + chrono::Duration::microseconds(42);
    let mut note = Note {
        id: 0,
        title: "Hello".into(),
        body: "first".into(),
        owner_id: alice.id,
        edited: Some(when),
    };
    note.save().unwrap();
    assert!(note.id > 0, "{vendor}: the key comes back");
    let found = Note::objects()
        .filter("owner_id", alice.id)
        .order_by("-id")
        .all()
        .unwrap();
    assert_eq!(
        found,
        [note.clone()],
        "{vendor}: datetimes round-trip to the microsecond"
    );
    assert_eq!(
        Note::objects()
            .filter("title__icontains", "hell")
            .count()
            .unwrap(),
        1,
        "{vendor}"
    );
    assert_eq!(
        Note::objects().filter("edited__lt", when).count().unwrap(),
        0,
        "{vendor}"
    );
    assert!(
        User::objects().filter("is_staff", false).exists().unwrap(),
        "{vendor}"
    );

    // A foreign key to nobody: refused at commit (the constraint is deferred).
    let orphan: Result<(), DatabaseError> = transaction::atomic("default", || {
        Note::objects().create(Note {
            id: 0,
            title: "x".into(),
            body: "".into(),
            owner_id: 999,
            edited: None,
        })?;
        Ok(())
    });
    let e = orphan.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::IntegrityError, "{vendor}: {e}");
    // A unique violation is an IntegrityError naming the database.
    let e = User::objects()
        .create(User {
            id: 0,
            username: "alice".into(),
            is_staff: true,
        })
        .unwrap_err();
    assert!(e.is_integrity_error(), "{vendor}: {e}");
    assert!(e.to_string().contains("on database 'default'"), "{e}");

    // atomic: an error rolls back, a savepoint keeps the outer work.
    let failed: Result<(), DatabaseError> = transaction::atomic("default", || {
        User::objects().create(User {
            id: 0,
            username: "bob".into(),
            is_staff: false,
        })?;
        let inner: Result<(), DatabaseError> = transaction::atomic("default", || {
            User::objects().create(User {
                id: 0,
                username: "carol".into(),
                is_staff: false,
            })?;
            connection("default")?.execute("SELECT * FROM nowhere", &[])?;
            Ok(())
        });
        assert!(inner.is_err());
        assert_eq!(User::objects().count()?, 2, "only the savepoint was undone");
        Err(connection("default")?.error_for_test())
    });
    assert!(failed.is_err());
    assert_eq!(
        User::objects().count().unwrap(),
        1,
        "{vendor}: the outer block was undone"
    );

    // A failing migration leaves the schema and the history unchanged.
    let mut broken = all.clone();
    broken.push(
        Migration::new("notes", "0003_broken")
            .operation(RunSql::new("CREATE TABLE notes_tag (id integer)"))
            .operation(RunSql::new("INSERT INTO no_such_table VALUES (1)")),
    );
    let e = migrations::migrate(databases, "default", &broken, None).unwrap_err();
    assert_eq!(e.migration(), Some("notes.0003_broken"), "{vendor}");
    assert!(e.to_string().contains("no_such_table"), "{vendor}: {e}");
    let db = connection("default").unwrap();
    assert!(
        db.query("SELECT * FROM notes_tag", &[]).is_err(),
        "{vendor}: notes_tag was rolled back"
    );
    let applied = MigrationRecorder::new(&db).applied_migrations().unwrap();
    assert_eq!(applied.len(), 3, "{vendor}");
    drop(db);

    // Back to notes 0001, then forwards again.
    Note::objects().delete().unwrap();
    let back = migrations::migrate(
        databases,
        "default",
        &all,
        Some(Target::parse(Some("notes"), Some("0001"))),
    )
    .unwrap();
    assert_eq!(back.len(), 1, "{vendor}");
    assert_eq!(
        migrations::migrate(databases, "default", &all, None)
            .unwrap()
            .len(),
        1
    );
}

/// A DatabaseError to fail a block with.
trait ErrorForTest {
    fn error_for_test(&self) -> DatabaseError;
}

impl ErrorForTest for handler_core::db::Connection {
    fn error_for_test(&self) -> DatabaseError {
        DatabaseError::new(
            ErrorKind::DatabaseError,
            self.alias(),
            "testing",
            "the block fails",
        )
    }
}

#[test]
fn the_layer_on_sqlite() {
    let dir = TempDir::new("db-sqlite");
    let databases = Databases::new(DatabasesSettings::sqlite(dir.path().join("db.sqlite3")));
    exercise(&databases);
    let db = databases.connection("default").unwrap();
    let mode: String = db.query("PRAGMA journal_mode", &[]).unwrap()[0]
        .get(0)
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = db.query("PRAGMA foreign_keys", &[]).unwrap()[0]
        .get(0)
        .unwrap();
    assert_eq!(fk, 1);
    databases.close_all();
}

fn postgres() -> Option<PgServer> {
    match PgServer::start() {
        Ok(server) => Some(server),
        Err(reason) => {
            eprintln!("SKIPPED: PostgreSQL is unavailable: {reason}");
            None
        }
    }
}

#[test]
fn the_layer_on_postgresql() {
    let Some(server) = postgres() else { return };
    server.create_database("portico");
    let settings =
        DatabaseSettings::postgresql("default", "127.0.0.1", server.port(), "postgres", "portico");
    let databases = Databases::new(DatabasesSettings::single(settings));
    exercise(&databases);
    // Django's DDL, for real: identity keys, the deferred foreign key and the _like index.
    let db = databases.connection("default").unwrap();
    let indexes: Vec<String> = db
        .query("SELECT indexname FROM pg_indexes WHERE tablename IN ('auth_user', 'notes_note') ORDER BY 1", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0).unwrap())
        .collect();
    assert!(
        indexes.contains(&"auth_user_username_6821ab7c_like".to_string()),
        "{indexes:?}"
    );
    assert!(
        indexes.contains(&"notes_note_owner_id_8dafc06d".to_string()),
        "{indexes:?}"
    );
    assert!(
        indexes.contains(&"notes_note_title_idx".to_string()),
        "{indexes:?}"
    );
    let fk: Vec<String> = db
        .query("SELECT conname FROM pg_constraint WHERE contype = 'f' AND conrelid = 'notes_note'::regclass", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0).unwrap())
        .collect();
    assert_eq!(fk, ["notes_note_owner_id_8dafc06d_fk_auth_user_id"]);
    let types: Vec<(String, String)> = db
        .query(
            "SELECT column_name::text, data_type::text FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
            &[Value::from("django_migrations")],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
        .collect();
    // Django 5.2's recorder table has an integer id on PostgreSQL
    // (handler-core/tests/django_ddl/django_migrations.postgresql.sql).
    assert_eq!(
        types,
        [
            ("id".to_string(), "integer".to_string()),
            ("app".to_string(), "character varying".to_string()),
            ("name".to_string(), "character varying".to_string()),
            (
                "applied".to_string(),
                "timestamp with time zone".to_string()
            ),
        ]
    );
    databases.close_all();
}

#[test]
fn a_postgresql_crash_fails_fast_and_the_next_request_reconnects() {
    let Some(mut server) = postgres() else { return };
    server.create_database("crash");
    let mut settings =
        DatabaseSettings::postgresql("default", "127.0.0.1", server.port(), "postgres", "crash");
    settings.conn_max_age = None; // persistent, as a deployment on PostgreSQL runs
    settings.conn_health_checks = true;
    let databases = Databases::new(DatabasesSettings::single(settings));
    let _active = databases.activate();
    let db = connection("default").unwrap();
    db.query("SELECT 1", &[]).unwrap();
    close_old_connections(); // the end of a request: the connection stays
    assert!(db.is_open());

    server.stop(StopMode::Immediate);
    close_old_connections(); // the next request starts: the health check is due
    let started = Instant::now();
    let e = db.query("SELECT 1", &[]).unwrap_err();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(1), "the error took {took:?}");
    assert_eq!(e.kind(), ErrorKind::OperationalError, "{e}");
    let text = e.to_string();
    assert!(
        text.contains(&format!(
            "on database 'default' (postgresql 127.0.0.1:{}/crash)",
            server.port()
        )),
        "{text}"
    );
    assert!(!db.is_open(), "a dead connection is dropped, not reused");
    // While it is down every query fails at once.
    let started = Instant::now();
    assert!(db.query("SELECT 1", &[]).is_err());
    assert!(started.elapsed() < Duration::from_secs(1));

    server.start_again().unwrap();
    close_old_connections();
    let rows = db.query("SELECT 1 + 1", &[]).unwrap();
    assert_eq!(
        rows[0].get::<i64>(0).unwrap(),
        2,
        "the next request after it is back succeeds"
    );

    // With the server killed between requests, the health check replaces the stale
    // connection before the first query: that request succeeds too.
    server.stop(StopMode::Immediate);
    server.start_again().unwrap();
    close_old_connections();
    assert_eq!(
        db.query("SELECT 3", &[]).unwrap()[0].get::<i64>(0).unwrap(),
        3
    );
    drop(_active);
    databases.close_all();
}

/// Through the handler (Django's test client): `atomic_requests` on PostgreSQL rolls a
/// failing view's write back, and a crash turns into a 500 whose log names the database; the
/// next request once the server is back succeeds.
#[test]
fn requests_on_postgresql_atomic_requests_and_a_crash() {
    use handler_core::prelude::*;
    use handler_core::test::Client;

    fn write(request: &mut HttpRequest) -> ViewResult {
        let db = connection("default")?;
        db.execute(
            "INSERT INTO hits (path) VALUES (%s)",
            &[request.path.as_str().into()],
        )?;
        if request.path == "/fail/" {
            return Err(ViewError::msg("the view failed after writing"));
        }
        let n: i64 = db.query("SELECT count(*) FROM hits", &[])?[0].get(0)?;
        Ok(HttpResponse::new(n.to_string()))
    }

    LOGGER.install();
    let Some(mut server) = postgres() else { return };
    server.create_database("requests");
    let mut settings = Settings::default();
    let mut db = DatabaseSettings::postgresql(
        "default",
        "127.0.0.1",
        server.port(),
        "postgres",
        "requests",
    );
    db.atomic_requests = true;
    db.conn_max_age = None;
    db.conn_health_checks = true;
    settings.databases = DatabasesSettings::single(db);
    let app = App::new(vec![path("ok/", view(write)), path("fail/", view(write))]);
    let mut client = Client::from_app(app, settings).unwrap();
    {
        let databases = std::sync::Arc::clone(client.handler().databases());
        let _active = databases.activate();
        connection("default")
            .unwrap()
            .execute("CREATE TABLE hits (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, path text)", &[])
            .unwrap();
    }
    let ok = client.get("/ok/");
    assert_eq!((ok.status_code, ok.text().as_str()), (200, "1"));
    assert_eq!(client.get("/fail/").status_code, 500);
    let ok = client.get("/ok/");
    assert_eq!(ok.text(), "2", "the failing view's row was rolled back");

    server.stop(StopMode::Immediate);
    let started = Instant::now();
    let down = client.get("/ok/");
    assert_eq!(down.status_code, 500);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    let logged = LOGGER.errors();
    let named = format!(
        "on database 'default' (postgresql 127.0.0.1:{}/requests)",
        server.port()
    );
    assert!(
        logged
            .iter()
            .any(|l| l.contains("Internal Server Error: /ok/") && l.contains(&named)),
        "{logged:#?}"
    );
    server.start_again().unwrap();
    let back = client.get("/ok/");
    assert_eq!((back.status_code, back.text().as_str()), (200, "3"));
}

/// Keeps the ERROR records of this test binary, to read what a failure logged.
struct Errors(std::sync::Mutex<Vec<String>>);

static LOGGER: Errors = Errors(std::sync::Mutex::new(Vec::new()));

impl Errors {
    fn install(&'static self) {
        if log::set_logger(self).is_ok() {
            log::set_max_level(log::LevelFilter::Error);
        }
    }

    fn errors(&self) -> Vec<String> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl log::Log for Errors {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Error
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            if let Ok(mut v) = self.0.lock() {
                v.push(record.args().to_string());
            }
        }
    }

    fn flush(&self) {}
}
