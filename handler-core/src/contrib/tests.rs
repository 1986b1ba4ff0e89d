//! contrib on a real SQLite database: its migrations against Django's captured schema and
//! rows, the `post_migrate` step, the `db` session engine on `django_session` and
//! `ModelBackend` on `auth_user`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::Value as Json;

use super::auth::backends::{self, ModelBackend};
use super::auth::UserStore;
use super::sessions::{DjangoSessionTable, SessionDatabase};
use crate::db::migrations::{registry, InstalledMigrations, Target};
use crate::db::{Connection, DatabasesSettings};
use crate::http::Extensions;
use crate::settings::Settings;

/// Settings with the sessions and auth middleware on a fresh SQLite file, and what contrib
/// installs for them.
pub(crate) fn contrib_settings(tag: &str) -> (Settings, InstalledMigrations, std::path::PathBuf) {
    let dir = crate::db::tests::temp_dir(&format!("contrib-{tag}"));
    let mut settings = Settings::default();
    settings.middleware = vec!["sessions".into(), "auth".into()];
    settings.secret_key = "contrib-tests-secret".into();
    settings.databases = DatabasesSettings::sqlite(dir.join("db.sqlite3"));
    let mut extensions = Extensions::default();
    super::install(&settings, &mut extensions);
    (settings, registry::installed(&extensions), dir)
}

fn migrate(settings: &Settings, installed: &InstalledMigrations, target: &Target) -> Vec<String> {
    installed
        .migrate(settings.connections(), "default", target, &mut |_, _| {})
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn conn(settings: &Settings) -> Connection {
    settings.connections().connection("default").unwrap()
}

fn vectors(file: &str) -> Json {
    let path = format!("{}/tests/django_ddl/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `sqlite_master` as Django's normaliser dumps it: (type, name, tbl_name, sql) sorted.
fn sqlite_master(conn: &Connection) -> Vec<(String, String, String, Option<String>)> {
    let mut rows: Vec<_> = conn
        .query("SELECT type, name, tbl_name, sql FROM sqlite_master", &[])
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.get::<String>(0).unwrap(),
                r.get::<String>(1).unwrap(),
                r.get::<String>(2).unwrap(),
                r.get::<Option<String>>(3).unwrap(),
            )
        })
        .collect();
    rows.sort();
    rows
}

fn expected_sqlite_master() -> Vec<(String, String, String, Option<String>)> {
    let schema = vectors("schema.sqlite.json");
    let mut rows: Vec<_> = schema["schema"]["sqlite_master"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["type"].as_str().unwrap().to_string(),
                r["name"].as_str().unwrap().to_string(),
                r["tbl_name"].as_str().unwrap().to_string(),
                r["sql"].as_str().map(str::to_string),
            )
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn migrate_leaves_djangos_schema_history_and_rows_and_twice_is_a_no_op() {
    let (settings, installed, dir) = contrib_settings("migrate");
    let applied = migrate(&settings, &installed, &Target::All);
    assert_eq!(applied.len(), 15, "{applied:?}");
    let c = conn(&settings);
    assert_eq!(sqlite_master(&c), expected_sqlite_master());

    let history: Vec<(String, String)> = c
        .query("SELECT app, name FROM django_migrations ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
        .collect();
    let expected: Vec<(String, String)> = vectors("schema.sqlite.json")["django_migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let s = |k: &str| m[k].as_str().unwrap().to_string();
            (s("app"), s("name"))
        })
        .collect();
    assert_eq!(history, expected);

    // post_migrate: the content types and permissions Django writes, with its ids.
    let post = vectors("post_migrate.json");
    let cts: Vec<(i64, String, String)> = c
        .query(
            "SELECT id, app_label, model FROM django_content_type ORDER BY id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap(), r.get(2).unwrap()))
        .collect();
    let expected_cts: Vec<(i64, String, String)> = post["creation_order"]["django_content_type"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_i64().unwrap(),
                r["app_label"].as_str().unwrap().to_string(),
                r["model"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(cts, expected_cts);
    let perms: Vec<(i64, String, String, String)> = c
        .query(
            "SELECT p.id, ct.app_label, p.codename, p.name FROM auth_permission p \
             JOIN django_content_type ct ON ct.id = p.content_type_id ORDER BY p.id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.get(0).unwrap(),
                r.get(1).unwrap(),
                r.get(2).unwrap(),
                r.get(3).unwrap(),
            )
        })
        .collect();
    let names: std::collections::HashMap<(String, String), String> = post["auth_permission"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap().to_string();
            ((s("app_label"), s("codename")), s("name"))
        })
        .collect();
    let expected_perms: Vec<(i64, String, String, String)> = post["creation_order"]
        ["auth_permission"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap().to_string();
            let name = names[&(s("app_label"), s("codename"))].clone();
            (
                p["id"].as_i64().unwrap(),
                s("app_label"),
                s("codename"),
                name,
            )
        })
        .collect();
    assert_eq!(perms, expected_perms);
    assert_eq!(perms[8].3, "Can add user");

    // Again: nothing to apply, no row added.
    assert!(migrate(&settings, &installed, &Target::All).is_empty());
    let count = |t: &str| -> i64 {
        c.query_row(&format!("SELECT COUNT(*) FROM {t}"), &[])
            .unwrap()
            .unwrap()
            .get(0)
            .unwrap()
    };
    assert_eq!(
        (count("django_content_type"), count("auth_permission")),
        (5, 20)
    );
    settings.connections().close_all();
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn contrib_migrations_unapply_to_zero_and_apply_again() {
    let (settings, installed, dir) = contrib_settings("zero");
    migrate(&settings, &installed, &Target::All);
    let c = conn(&settings);
    // Rows in the tables: the reverse of contenttypes 0002 must fill `name` before NOT NULL.
    backends::create_user(&c, "ada", "ada@Example.COM", Some("pw")).unwrap();
    let back = migrate(
        &settings,
        &installed,
        &Target::parse(Some("contenttypes"), Some("0001_initial")),
    );
    // auth 0006 and later depend on contenttypes 0002, so they are unapplied first.
    assert_eq!(back.len(), 8, "{back:?}");
    assert_eq!(
        back[0],
        "Unapplying auth.0012_alter_user_first_name_max_length"
    );
    let names: Vec<String> = c
        .query("SELECT name FROM django_content_type ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0).unwrap())
        .collect();
    assert_eq!(
        names,
        ["Permission", "Group", "User", "ContentType", "Session"]
    );
    migrate(
        &settings,
        &installed,
        &Target::parse(Some("contenttypes"), Some("zero")),
    );
    migrate(
        &settings,
        &installed,
        &Target::parse(Some("sessions"), Some("zero")),
    );
    let tables: Vec<String> = sqlite_master(&c)
        .into_iter()
        .filter(|r| r.0 == "table")
        .map(|r| r.1)
        .collect();
    assert_eq!(tables, ["django_migrations", "sqlite_sequence"]);
    migrate(&settings, &installed, &Target::All);
    assert_eq!(sqlite_master(&c), expected_sqlite_master());
    settings.connections().close_all();
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_failing_migration_leaves_the_schema_and_history_unchanged() {
    let (settings, installed, dir) = contrib_settings("fail");
    let c = conn(&settings);
    // A table in the way of auth 0001: contenttypes applies, auth 0001 fails and rolls back.
    c.execute_script("CREATE TABLE auth_permission (x integer)")
        .unwrap();
    let err = installed
        .migrate(
            settings.connections(),
            "default",
            &Target::All,
            &mut |_, _| {},
        )
        .unwrap_err();
    assert_eq!(err.migration(), Some("auth.0001_initial"), "{err}");
    assert!(err.to_string().contains("already exists"), "{err}");
    let tables: Vec<String> = sqlite_master(&c)
        .into_iter()
        .filter(|r| r.0 == "table")
        .map(|r| r.1)
        .collect();
    assert_eq!(
        tables,
        [
            "auth_permission",
            "django_content_type",
            "django_migrations",
            "sqlite_sequence"
        ]
    );
    let applied: i64 = c
        .query_row("SELECT COUNT(*) FROM django_migrations", &[])
        .unwrap()
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(applied, 2);
    settings.connections().close_all();
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn model_backend_reads_auth_user_and_permissions_as_djangos() {
    let (settings, installed, dir) = contrib_settings("backend");
    migrate(&settings, &installed, &Target::All);
    let c = conn(&settings);
    let store = ModelBackend::new(Arc::clone(settings.connections()), "default");
    let ada = backends::create_user(&c, "ada", "ada@Example.COM", Some("s3cret")).unwrap();
    assert!(ada.password.starts_with("pbkdf2_sha256$"));
    let email: String = c
        .query_row("SELECT email FROM auth_user WHERE username = 'ada'", &[])
        .unwrap()
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(email, "ada@example.com");
    assert_eq!(store.get_user(&ada.id).unwrap(), Some(ada.clone()));
    assert_eq!(store.get_user("nope").unwrap(), None);
    assert_eq!(store.get_by_natural_key("ada").unwrap(), Some(ada.clone()));
    assert!(store.get_all_permissions(&ada).unwrap().is_empty());

    // One permission of her own, two through a group.
    c.execute_script(
        "INSERT INTO auth_group (name) VALUES ('editors');
         INSERT INTO auth_user_groups (user_id, group_id) VALUES (1, 1);
         INSERT INTO auth_group_permissions (group_id, permission_id)
           SELECT 1, id FROM auth_permission WHERE codename IN ('change_user', 'view_user');
         INSERT INTO auth_user_user_permissions (user_id, permission_id)
           SELECT 1, id FROM auth_permission WHERE codename = 'view_session';",
    )
    .unwrap();
    assert_eq!(
        store.get_all_permissions(&ada).unwrap(),
        [
            "auth.change_user",
            "auth.view_user",
            "sessions.view_session"
        ]
    );
    let root = backends::create_superuser(&c, "root", "", Some("pw")).unwrap();
    assert!(root.is_superuser && root.is_staff);
    assert_eq!(store.get_all_permissions(&root).unwrap().len(), 20);
    c.execute_script("UPDATE auth_user SET is_active = 0 WHERE username = 'root'")
        .unwrap();
    let root = store.get_by_natural_key("root").unwrap().unwrap();
    assert!(store.get_all_permissions(&root).unwrap().is_empty());

    store.user_logged_in(&ada).unwrap();
    let last_login: String = c
        .query_row("SELECT last_login FROM auth_user WHERE id = 1", &[])
        .unwrap()
        .unwrap()
        .get(0)
        .unwrap();
    assert!(
        crate::db::parse_sqlite_datetime(&last_login).is_some(),
        "{last_login}"
    );
    assert!(backends::set_password(&c, "ada", "new").unwrap());
    assert!(!backends::set_password(&c, "nobody", "new").unwrap());
    let ada = store.get_user("1").unwrap().unwrap();
    assert!(super::auth::hashers::check_password("new", &ada.password).unwrap());
    settings.connections().close_all();
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn the_session_table_is_djangos_django_session() {
    let (settings, installed, dir) = contrib_settings("sessions");
    migrate(&settings, &installed, &Target::All);
    let table = DjangoSessionTable::new(Arc::clone(settings.connections()), "default");
    let now = SystemTime::now();
    let later = now + Duration::from_secs(3600);
    assert!(table.insert("k1", "data1", later).unwrap());
    assert!(!table.insert("k1", "other", later).unwrap(), "a taken key");
    assert_eq!(table.get("k1", now).unwrap().as_deref(), Some("data1"));
    assert!(table.update("k1", "data2", later).unwrap());
    assert!(!table.update("gone", "x", later).unwrap());
    assert_eq!(table.get("k1", now).unwrap().as_deref(), Some("data2"));
    // Expired: not read, still there until clearsessions.
    assert!(table
        .insert("old", "x", now - Duration::from_secs(10))
        .unwrap());
    assert_eq!(table.get("old", now).unwrap(), None);
    assert!(table.exists("old").unwrap());
    table.clear_expired(now).unwrap();
    assert!(!table.exists("old").unwrap());
    assert!(table.exists("k1").unwrap());
    // Django's text format, compared as text.
    let c = conn(&settings);
    let expire: String = c
        .query_row(
            "SELECT expire_date FROM django_session WHERE session_key = 'k1'",
            &[],
        )
        .unwrap()
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(expire.len(), "2026-12-21 15:41:44.850793".len(), "{expire}");
    assert_eq!(&expire[10..11], " ");
    table.delete("k1").unwrap();
    assert!(!table.exists("k1").unwrap());
    settings.connections().close_all();
    std::fs::remove_dir_all(dir).ok();
}

fn built(tag: &str) -> (crate::management::BuiltApp, Settings, std::path::PathBuf) {
    let (settings, _, dir) = contrib_settings(tag);
    let app = crate::app::App::new(Vec::new());
    let built = crate::management::BuiltApp::new(app, settings.clone(), "testapp").unwrap();
    (built, settings, dir)
}

#[test]
fn migrate_and_showmigrations_print_djangos_lines() {
    let (app, settings, dir) = built("cmd-migrate");
    let out = app.call_command("showmigrations", &["sessions"], "");
    assert_eq!(out.stdout, "sessions\n [ ] 0001_initial\n", "{out:?}");
    let out = app.call_command("migrate", &["--plan"], "");
    assert!(
        out.stdout
            .starts_with("Planned operations:\ncontenttypes.0001_initial\n    Raw SQL"),
        "{}",
        out.stdout
    );
    let out = app.call_command("migrate", &[], "");
    assert_eq!(out.result, Ok(()), "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[0..3],
        [
            "Operations to perform:",
            "  Apply all migrations: auth, contenttypes, sessions",
            "Running migrations:",
        ]
    );
    assert_eq!(lines[3], "  Applying contenttypes.0001_initial... OK");
    assert_eq!(lines.len(), 3 + 15);
    let out = app.call_command("migrate", &[], "");
    assert!(
        out.stdout
            .ends_with("Running migrations:\n  No migrations to apply.\n"),
        "{out:?}"
    );
    let out = app.call_command("showmigrations", &["auth", "contenttypes"], "");
    assert!(out
        .stdout
        .starts_with("auth\n [X] 0001_initial\n [X] 0002_alter_permission_name_max_length\n"));
    assert!(out
        .stdout
        .ends_with("contenttypes\n [X] 0001_initial\n [X] 0002_remove_content_type_name\n"));
    let out = app.call_command("migrate", &["sessions", "zero"], "");
    assert_eq!(
        out.stdout,
        "Operations to perform:\n  Unapply all migrations: sessions\nRunning migrations:\n  \
         Unapplying sessions.0001_initial... OK\n"
    );
    let out = app.call_command("migrate", &["nope"], "");
    assert_eq!(
        out.result.unwrap_err().message(),
        "App 'nope' does not have migrations."
    );
    assert_eq!(app.call_command("check", &[], "").result, Ok(()));
    settings.connections().close_all();
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn createsuperuser_changepassword_and_clearsessions() {
    let (app, settings, dir) = built("cmd-users");
    assert_eq!(app.call_command("migrate", &["-v", "0"], "").result, Ok(()));
    let e = app
        .call_command("createsuperuser", &["--noinput"], "")
        .result;
    assert_eq!(
        e.unwrap_err().message(),
        "You must use --username with --noinput."
    );
    let out = app.call_command(
        "createsuperuser",
        &[
            "--noinput",
            "--username",
            "admin",
            "--email",
            "admin@Example.com",
        ],
        "",
    );
    assert_eq!(
        (out.result, out.stdout.as_str()),
        (Ok(()), "Superuser created successfully.\n")
    );
    let c = conn(&settings);
    let admin = backends::get_by_natural_key(&c, "admin").unwrap().unwrap();
    assert!(admin.is_superuser && admin.is_staff && admin.is_active);
    // No DJANGO_SUPERUSER_PASSWORD: an unusable password.
    assert!(admin.password.starts_with('!'), "{}", admin.password);
    let e = app
        .call_command("createsuperuser", &["--noinput", "--username", "admin"], "")
        .result;
    assert_eq!(
        e.unwrap_err().message(),
        "Error: That username is already taken."
    );
    let e = app
        .call_command("createsuperuser", &["--noinput", "--username", "a b"], "")
        .result;
    assert!(e
        .unwrap_err()
        .message()
        .starts_with("Enter a valid username."));

    // The prompts, with Django's errors and retries.
    let out = app.call_command(
        "createsuperuser",
        &[],
        "admin\nada\nada@example.com\npw1\npw2\n\n\ns3cret\ns3cret\n",
    );
    assert_eq!(out.result, Ok(()), "{out:?}");
    assert_eq!(
        out.stderr,
        "Error: That username is already taken.\nError: Your passwords didn't match.\n\
         Error: Blank passwords aren't allowed.\n"
    );
    assert!(
        out.stdout
            .contains("Email address: Password: Password (again): "),
        "{}",
        out.stdout
    );
    assert!(out.stdout.ends_with("Superuser created successfully.\n"));
    let ada = backends::get_by_natural_key(&c, "ada").unwrap().unwrap();
    assert!(super::auth::hashers::check_password("s3cret", &ada.password).unwrap());
    // No input at all: Django's not-a-TTY skip.
    let out = app.call_command("createsuperuser", &[], "");
    assert_eq!(
        (out.result, out.stdout.ends_with("create one manually.\n")),
        (Ok(()), true)
    );

    let out = app.call_command("changepassword", &["ada"], "a\nb\nnew\nnew\n");
    assert_eq!(out.result, Ok(()), "{out:?}");
    assert_eq!(
        out.stdout,
        "Changing password for user 'ada'\nPassword: Password (again): Passwords do not match. \
         Please try again.\nPassword: Password (again): Password changed successfully for user \
         'ada'\n"
    );
    let ada = backends::get_by_natural_key(&c, "ada").unwrap().unwrap();
    assert!(super::auth::hashers::check_password("new", &ada.password).unwrap());
    let e = app
        .call_command("changepassword", &["ada"], "a\nb\nc\nd\ne\nf\n")
        .result;
    assert_eq!(
        e.unwrap_err().message(),
        "Aborting password change for user 'ada' after 3 attempts"
    );
    let e = app.call_command("changepassword", &["ghost"], "").result;
    assert_eq!(e.unwrap_err().message(), "user 'ghost' does not exist");

    let table = DjangoSessionTable::new(Arc::clone(settings.connections()), "default");
    let now = SystemTime::now();
    table
        .insert("old", "x", now - Duration::from_secs(5))
        .unwrap();
    table
        .insert("new", "x", now + Duration::from_secs(500))
        .unwrap();
    assert_eq!(app.call_command("clearsessions", &[], "").result, Ok(()));
    assert!(!table.exists("old").unwrap() && table.exists("new").unwrap());
    settings.connections().close_all();
    std::fs::remove_dir_all(dir).ok();
}
