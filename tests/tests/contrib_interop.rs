//! contrib on Django 5.2's own tables, with no app code (an app with the sessions and auth
//! middleware and a database), on SQLite and a throwaway PostgreSQL, against Django on the
//! same database (tests/src/django.rs):
//! - Portico migrates first: Django's `showmigrations auth contenttypes sessions` shows every
//!   migration applied, its schema check holds (tables, columns, indexes, `django_migrations`
//!   and the post_migrate rows), and its `migrate` is a no-op; a session Portico's login
//!   writes is read by Django as that user.
//! - Django migrates first: Portico's `migrate` is a no-op; a superuser made by Django's
//!   `createsuperuser` authenticates through Portico's ModelBackend, and a session made by
//!   Django's login is read by Portico's `db` engine as that user.
//! - A failing migration leaves the schema and the history unchanged (PostgreSQL; SQLite in
//!   handler-core's unit tests).
//!
//! Skips, saying why, when Django cannot be installed or PostgreSQL cannot run.

use std::path::Path;

use handler_core::auth::{authenticate, backends, login};
use handler_core::db::settings::parse_database_url;
use handler_core::db::DatabasesSettings;
use handler_core::management::BuiltApp;
use handler_core::prelude::*;
use handler_core::test::Client;
use tests::django::{assert_same_schema, django_vectors, migration_plan, Django, TestDatabase};

/// peer.interop_settings' SECRET_KEY (the notes app's).
const SECRET_KEY: &str = "notes-insecure-test-key-7f3c9a1e5b2d4c6e8a0b1d3f5e7c9a2b4d6f8e0a";

fn whoami(request: &mut HttpRequest) -> ViewResult {
    let user = request.user().clone();
    Ok(HttpResponse::new(if user.is_authenticated() {
        user.username
    } else {
        "anonymous".to_string()
    }))
}

fn login_view(request: &mut HttpRequest) -> ViewResult {
    let form = request.POST()?;
    let username = form.get("username").unwrap_or("").to_string();
    let password = form.get("password").unwrap_or("").to_string();
    match authenticate(request, &username, &password)? {
        Some(user) => {
            login(request, &user)?;
            Ok(HttpResponse::new("ok"))
        }
        None => Ok(HttpResponse::with_status(401, "refused")),
    }
}

/// The settings an app with Django's contrib stack and `DATABASE_URL` gets.
fn settings(url: &str) -> Settings {
    let mut s = Settings::default();
    s.middleware = vec!["sessions".into(), "auth".into()];
    s.secret_key = SECRET_KEY.into();
    s.databases = DatabasesSettings::single(parse_database_url(url, Path::new("/")).unwrap());
    s
}

fn app() -> App {
    App::new(vec![
        path("whoami/", view(whoami)),
        path("login/", view(login_view)),
    ])
}

fn portico(url: &str) -> BuiltApp {
    BuiltApp::new(app(), settings(url), "interop").unwrap()
}

fn client(url: &str) -> Client {
    Client::from_app(app(), settings(url)).unwrap()
}

fn portico_migrate(url: &str) -> String {
    let out = portico(url).call_command("migrate", &[], "");
    assert_eq!(out.result, Ok(()), "{out:?}");
    out.stdout
}

fn portico_first(django: &Django, db: &TestDatabase) {
    let url = db.url();
    let out = portico_migrate(url);
    assert_eq!(out.matches("... OK").count(), 15, "{out}");
    let shown = django.showmigrations(url);
    let shown: Vec<(String, String, bool)> = shown
        .into_iter()
        .map(|m| (m.app, m.name, m.applied))
        .collect();
    let mut expected: Vec<(String, String, bool)> = migration_plan()
        .into_iter()
        .map(|(a, n)| (a, n, true))
        .collect();
    expected.sort();
    let mut sorted = shown.clone();
    sorted.sort();
    assert_eq!(sorted, expected, "Django's showmigrations: {shown:?}");
    assert_same_schema(&django.dump(url), &django_vectors(db.vendor()));
    let again = django.migrate(url);
    assert!(again.contains("No migrations to apply."), "{again}");
    assert!(portico_migrate(url).contains("No migrations to apply."));

    // Portico's user and login; Django reads the session as that user.
    let conn = portico(url)
        .handler()
        .databases()
        .connection("default")
        .unwrap();
    backends::create_user(&conn, "ada", "ada@example.com", Some("ada-pass-word-1")).unwrap();
    let mut c = client(url);
    let r = c.post(
        "/login/",
        &[("username", "ada"), ("password", "ada-pass-word-1")],
    );
    assert_eq!((r.status_code, r.text()), (200, "ok".to_string()));
    let sessionid = c.cookie("sessionid").expect("a session cookie").to_string();
    assert_eq!(c.get("/whoami/").text(), "ada");
    let who = django.whois(url, &sessionid);
    assert!(who.authenticated, "{who:?}");
    assert_eq!(who.username.as_deref(), Some("ada"));
    // The user_logged_in receiver set last_login.
    let rows = django.sql(
        url,
        "SELECT last_login FROM auth_user WHERE username = 'ada'",
    );
    assert!(!rows[0][0].is_null(), "{rows:?}");
    // The schema is still Django's (no row or table Django would not have).
    assert_same_schema(&django.dump(url), &django_vectors(db.vendor()));
}

fn django_first(django: &Django, db: &TestDatabase) {
    let url = db.url();
    django.migrate(url);
    let out = portico_migrate(url);
    assert!(out.ends_with("  No migrations to apply.\n"), "{out}");
    assert_same_schema(&django.dump(url), &django_vectors(db.vendor()));

    django.createsuperuser(url, "root", "root@example.com", "root-pass-word-9");
    let mut c = client(url);
    let r = c.post("/login/", &[("username", "root"), ("password", "wrong")]);
    assert_eq!(r.status_code, 401);
    let r = c.post(
        "/login/",
        &[("username", "root"), ("password", "root-pass-word-9")],
    );
    assert_eq!((r.status_code, r.text()), (200, "ok".to_string()));
    assert_eq!(c.get("/whoami/").text(), "root");

    // Django's login, read by Portico's db engine.
    let sessionid = django.login(url, "root", "root-pass-word-9");
    let mut c = client(url);
    c.set_cookie("sessionid", &sessionid);
    assert_eq!(c.get("/whoami/").text(), "root");
    c.set_cookie("sessionid", "nosuchsessionkeyatall00000000000");
    assert_eq!(c.get("/whoami/").text(), "anonymous");

    // ModelBackend: Django's superuser has every permission Django created.
    let conn = portico(url)
        .handler()
        .databases()
        .connection("default")
        .unwrap();
    let root = backends::get_by_natural_key(&conn, "root")
        .unwrap()
        .unwrap();
    let perms = backends::get_all_permissions(&conn, &root).unwrap();
    assert_eq!(perms.len(), 20, "{perms:?}");
    assert!(perms.contains(&"sessions.view_session".to_string()));
}

#[test]
fn portico_migrates_first_on_sqlite() {
    let Some(django) = Django::or_skip() else {
        return;
    };
    portico_first(django, &TestDatabase::sqlite());
}

#[test]
fn portico_migrates_first_on_postgresql() {
    let Some(django) = Django::or_skip() else {
        return;
    };
    let Some(db) = TestDatabase::postgres_or_skip() else {
        return;
    };
    portico_first(django, &db);
}

#[test]
fn django_migrates_first_on_sqlite() {
    let Some(django) = Django::or_skip() else {
        return;
    };
    django_first(django, &TestDatabase::sqlite());
}

#[test]
fn django_migrates_first_on_postgresql() {
    let Some(django) = Django::or_skip() else {
        return;
    };
    let Some(db) = TestDatabase::postgres_or_skip() else {
        return;
    };
    django_first(django, &db);
}

#[test]
fn a_failing_migration_on_postgresql_leaves_the_schema_unchanged() {
    let Some(db) = TestDatabase::postgres_or_skip() else {
        return;
    };
    let url = db.url();
    let app = portico(url);
    let conn = app.handler().databases().connection("default").unwrap();
    conn.execute_script("CREATE TABLE auth_permission (x integer)")
        .unwrap();
    let out = app.call_command("migrate", &[], "");
    let e = out.result.unwrap_err();
    assert!(
        e.message().contains("auth.0001_initial") && e.message().contains("already exists"),
        "{}",
        e.message()
    );
    assert!(
        out.stdout
            .contains("  Applying auth.0001_initial... FAILED"),
        "{}",
        out.stdout
    );
    let tables: Vec<String> = conn
        .query(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0).unwrap())
        .collect();
    assert_eq!(
        tables,
        [
            "auth_permission",
            "django_content_type",
            "django_migrations"
        ]
    );
    let applied: i64 = conn
        .query_row("SELECT COUNT(*) FROM django_migrations", &[])
        .unwrap()
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(applied, 2);
    // Out of the way, migrate finishes; twice is a no-op.
    conn.execute_script("DROP TABLE auth_permission").unwrap();
    let out = portico_migrate(url);
    assert_eq!(out.matches("... OK").count(), 13, "{out}");
    assert!(portico_migrate(url).contains("No migrations to apply."));
    app.handler().databases().close_all();
}
