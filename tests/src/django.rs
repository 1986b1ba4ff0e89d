//! Django 5.2 on the same database as Portico: the Django side of the interop tests.
//!
//! [`Django::ensure`] makes (or reuses) the Django peer's venv with `bench/peers/django/venv.sh`
//! (the one `bench/setup.sh` uses: `bench/.venv`, Django and psycopg pinned by
//! `bench/peers/django/requirements.txt`; `PORTICO_DJANGO_VENV` names another) and returns why
//! not when it cannot (no python3, PyPI out of reach), for the test to print when it skips.
//! Every method runs `manage.py` of `bench/peers/django` with `peer.interop_settings` (contrib's
//! contenttypes, auth and sessions; the notes app's `secret_key` and password hasher) on the
//! database named by a `DATABASE_URL`, the same URL Portico is given:
//!
//! ```no_run
//! use tests::django::{Django, TestDatabase};
//! let Some(django) = Django::or_skip() else { return }; // prints why it skips
//! let db = TestDatabase::sqlite(); // or TestDatabase::postgres_or_skip(): a throwaway server
//! django.migrate(db.url());
//! django.createsuperuser(db.url(), "root", "root@example.com", "pass-word-1");
//! let sessionid = django.login(db.url(), "root", "pass-word-1");
//! assert_eq!(django.whois(db.url(), &sessionid).username.as_deref(), Some("root"));
//! ```
//!
//! The schema Django's `migrate` leaves is captured in `handler-core/tests/django_ddl` (see its
//! README): [`Django::dump`] normalises any database the same way, so `assert_same_schema(
//! &django.dump(url), &django_vectors(vendor))` checks a database Portico migrated.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

use crate::postgres::Postgres;
use crate::{workspace_root, TempDir};

/// What Django's full `migrate` of auth, contenttypes and sessions leaves on SQLite
/// (handler-core/tests/django_ddl/capture.py).
pub const SQLITE_VECTORS: &str =
    include_str!("../../handler-core/tests/django_ddl/schema.sqlite.json");
/// The same on PostgreSQL.
pub const POSTGRESQL_VECTORS: &str =
    include_str!("../../handler-core/tests/django_ddl/schema.postgresql.json");
/// The plan Django's `migrate` follows, with each migration's files.
pub const MIGRATION_PLAN: &str =
    include_str!("../../handler-core/tests/django_ddl/migrations.json");

/// The two backends both sides support.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    Sqlite,
    Postgresql,
}

impl Vendor {
    /// Django's `connection.vendor`.
    pub fn name(self) -> &'static str {
        match self {
            Vendor::Sqlite => "sqlite",
            Vendor::Postgresql => "postgresql",
        }
    }
}

/// Django's vectors for `vendor`: `{"schema", "django_migrations", "post_migrate", ...}`, the
/// shape [`Django::dump`] returns.
pub fn django_vectors(vendor: Vendor) -> Value {
    let text = match vendor {
        Vendor::Sqlite => SQLITE_VECTORS,
        Vendor::Postgresql => POSTGRESQL_VECTORS,
    };
    serde_json::from_str(text).expect("the captured vectors are JSON")
}

/// Every (app, migration name) of contrib in the order Django's `migrate` applies them.
pub fn migration_plan() -> Vec<(String, String)> {
    let plan: Value = serde_json::from_str(MIGRATION_PLAN).expect("migrations.json is JSON");
    plan["plan"]
        .as_array()
        .expect("migrations.json has a plan")
        .iter()
        .map(|m| {
            (
                m["app"].as_str().expect("app").to_string(),
                m["name"].as_str().expect("name").to_string(),
            )
        })
        .collect()
}

/// The `DATABASE_URL` of a SQLite file, as dj-database-url reads it (four slashes for an
/// absolute path).
pub fn sqlite_url(path: &Path) -> String {
    assert!(path.is_absolute(), "{} is not absolute", path.display());
    format!("sqlite:///{}", path.display())
}

/// A database for one test: a SQLite file in a temporary directory, or a database on a
/// throwaway PostgreSQL server. Both are removed on drop.
pub enum TestDatabase {
    Sqlite { dir: TempDir, url: String },
    Postgres { server: Postgres, url: String },
}

impl TestDatabase {
    /// A SQLite file (not created yet: the first connection makes it).
    pub fn sqlite() -> TestDatabase {
        let dir = TempDir::new("django-sqlite");
        let url = sqlite_url(&dir.path().join("db.sqlite3"));
        TestDatabase::Sqlite { dir, url }
    }

    /// A fresh database `interop` on a throwaway PostgreSQL; `Err` says why PostgreSQL cannot
    /// run here.
    pub fn postgres() -> Result<TestDatabase, String> {
        let server = Postgres::start()?;
        let url = server.create_database("interop");
        Ok(TestDatabase::Postgres { server, url })
    }

    /// [`TestDatabase::postgres`] for a test: `None` after printing `skipped: WHY` when
    /// PostgreSQL cannot run here.
    pub fn postgres_or_skip() -> Option<TestDatabase> {
        TestDatabase::postgres()
            .map_err(|why| eprintln!("skipped: {why}"))
            .ok()
    }

    /// Its `DATABASE_URL`, for Django and Portico alike.
    pub fn url(&self) -> &str {
        match self {
            TestDatabase::Sqlite { url, .. } | TestDatabase::Postgres { url, .. } => url,
        }
    }

    pub fn vendor(&self) -> Vendor {
        match self {
            TestDatabase::Sqlite { .. } => Vendor::Sqlite,
            TestDatabase::Postgres { .. } => Vendor::Postgresql,
        }
    }

    /// The SQLite file's path (`None` on PostgreSQL).
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        match self {
            TestDatabase::Sqlite { dir, .. } => Some(dir.path().join("db.sqlite3")),
            TestDatabase::Postgres { .. } => None,
        }
    }

    /// The PostgreSQL server (`None` on SQLite), to stop it or read its log.
    pub fn postgres_server(&mut self) -> Option<&mut Postgres> {
        match self {
            TestDatabase::Postgres { server, .. } => Some(server),
            TestDatabase::Sqlite { .. } => None,
        }
    }
}

/// One line of `showmigrations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownMigration {
    pub app: String,
    pub name: String,
    pub applied: bool,
}

/// What Django makes of a `sessionid` cookie on a request (`manage.py interop_whois`).
#[derive(Debug, Clone, PartialEq)]
pub struct WhoIs {
    pub authenticated: bool,
    pub username: Option<String>,
    pub user_id: Option<i64>,
    /// The session key Django ends the request with (`None`: no session, e.g. an unknown key).
    pub session_key: Option<String>,
    /// The session's data as Django decoded it.
    pub session: Value,
}

/// The output of one `manage.py` run.
#[derive(Debug)]
pub struct Manage {
    pub output: Output,
    pub command: String,
}

impl Manage {
    pub fn success(&self) -> bool {
        self.output.status.success()
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Its stdout, panicking with both streams when the command failed.
    pub fn expect_ok(&self) -> String {
        assert!(
            self.success(),
            "`{}` failed ({}):\nstdout: {}\nstderr: {}",
            self.command,
            self.output.status,
            self.stdout(),
            self.stderr()
        );
        self.stdout()
    }

    /// Its stdout parsed as JSON (the interop_* commands print one object).
    pub fn json(&self) -> Value {
        let out = self.expect_ok();
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("`{}` printed no JSON ({e}): {out}", self.command))
    }
}

/// Django 5.2 in a venv, driven through `bench/peers/django/manage.py`.
#[derive(Debug)]
pub struct Django {
    python: PathBuf,
    project: PathBuf,
}

impl Django {
    /// The venv, made once per test process. `Err` is the reason to print when skipping.
    pub fn ensure() -> Result<&'static Django, String> {
        static DJANGO: OnceLock<Result<Django, String>> = OnceLock::new();
        DJANGO.get_or_init(make_venv).as_ref().map_err(Clone::clone)
    }

    /// [`Django::ensure`] for a test: `None` after printing `skipped: WHY` when Django cannot
    /// be installed here.
    pub fn or_skip() -> Option<&'static Django> {
        Django::ensure()
            .map_err(|why| eprintln!("skipped: {why}"))
            .ok()
    }

    /// The venv's python.
    pub fn python(&self) -> &Path {
        &self.python
    }

    /// `bench/peers/django`, the project `manage.py` lives in.
    pub fn project(&self) -> &Path {
        &self.project
    }

    /// Runs `manage.py ARGS` on `database_url` with `env` added, whatever its exit status.
    pub fn manage_env(&self, database_url: &str, args: &[&str], env: &[(&str, &str)]) -> Manage {
        let mut cmd = Command::new(&self.python);
        cmd.arg("manage.py")
            .args(args)
            .current_dir(&self.project)
            .env("DJANGO_SETTINGS_MODULE", "peer.interop_settings")
            .env("DATABASE_URL", database_url)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let command = format!("DATABASE_URL={database_url} manage.py {}", args.join(" "));
        let output = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.python.display()));
        Manage { output, command }
    }

    /// Runs `manage.py ARGS` on `database_url`, whatever its exit status.
    pub fn manage(&self, database_url: &str, args: &[&str]) -> Manage {
        self.manage_env(database_url, args, &[])
    }

    /// `manage.py migrate --noinput` (every app: contenttypes, auth, sessions), with
    /// post_migrate's content types and permissions. Panics when it fails.
    pub fn migrate(&self, database_url: &str) -> String {
        self.manage(database_url, &["migrate", "--noinput"])
            .expect_ok()
    }

    /// `manage.py showmigrations auth contenttypes sessions`, parsed. Panics when it fails.
    pub fn showmigrations(&self, database_url: &str) -> Vec<ShownMigration> {
        let out = self
            .manage(
                database_url,
                &["showmigrations", "auth", "contenttypes", "sessions"],
            )
            .expect_ok();
        parse_showmigrations(&out).unwrap_or_else(|e| panic!("{e} in showmigrations:\n{out}"))
    }

    /// `manage.py createsuperuser --noinput --username U --email E` with
    /// `DJANGO_SUPERUSER_PASSWORD`. Panics when it fails.
    pub fn createsuperuser(&self, database_url: &str, username: &str, email: &str, password: &str) {
        self.manage_env(
            database_url,
            &[
                "createsuperuser",
                "--noinput",
                "--username",
                username,
                "--email",
                email,
            ],
            &[("DJANGO_SUPERUSER_PASSWORD", password)],
        )
        .expect_ok();
    }

    /// Creates (or updates) `username` with `password_hash` stored as written (Django's format,
    /// as the notes contract's users are: tests/data/notes-test-users.toml) and the staff flag;
    /// returns the user's id. Panics when it fails.
    pub fn create_user(
        &self,
        database_url: &str,
        username: &str,
        password_hash: &str,
        staff: bool,
    ) -> i64 {
        let hash = format!("--password-hash={password_hash}");
        let mut args = vec!["interop_user", username, &hash];
        if staff {
            args.push("--staff");
        }
        self.manage(database_url, &args).json()["id"]
            .as_i64()
            .expect("interop_user prints the id")
    }

    /// Logs `username` in through Django's `authenticate()` and `login()` (a fresh session,
    /// saved in `django_session`) and returns the `sessionid` cookie's value. Panics when Django
    /// refuses the credentials; [`Django::try_login`] returns `None` instead.
    pub fn login(&self, database_url: &str, username: &str, password: &str) -> String {
        self.try_login(database_url, username, password)
            .unwrap_or_else(|| panic!("Django refused {username}'s password"))
    }

    /// As [`Django::login`], `None` when Django refuses the credentials.
    pub fn try_login(&self, database_url: &str, username: &str, password: &str) -> Option<String> {
        let run = self.manage(database_url, &["interop_login", username, password]);
        if !run.success() && run.stderr().contains("refused") {
            return None;
        }
        Some(
            run.json()["sessionid"]
                .as_str()
                .expect("interop_login prints a sessionid")
                .to_string(),
        )
    }

    /// What Django's SessionMiddleware and AuthenticationMiddleware make of the cookie
    /// `sessionid=VALUE` on a request (as on any Django request, a session whose auth hash does
    /// not match its user's password is flushed).
    pub fn whois(&self, database_url: &str, sessionid: &str) -> WhoIs {
        let v = self
            .manage(database_url, &["interop_whois", sessionid])
            .json();
        WhoIs {
            authenticated: v["authenticated"].as_bool().expect("authenticated"),
            username: v["username"].as_str().map(str::to_string),
            user_id: v["user_id"].as_i64(),
            session_key: v["session_key"].as_str().map(str::to_string),
            session: v["session"].clone(),
        }
    }

    /// The database normalised as the vectors are (`manage.py interop_schema`):
    /// `{"schema", "django_migrations", "post_migrate"}`.
    pub fn dump(&self, database_url: &str) -> Value {
        self.manage(database_url, &["interop_schema"]).json()
    }

    /// The rows of one SQL query, through Django's connection (either backend).
    pub fn sql(&self, database_url: &str, query: &str) -> Vec<Vec<Value>> {
        let rows = self.manage(database_url, &["interop_sql", query]).json();
        rows.as_array()
            .expect("interop_sql prints a list")
            .iter()
            .map(|r| r.as_array().expect("a row is a list").clone())
            .collect()
    }
}

/// Parses `showmigrations APP…` output: an app's label on a line of its own, then its
/// migrations as ` [X] name` (applied) or ` [ ] name`.
pub fn parse_showmigrations(out: &str) -> Result<Vec<ShownMigration>, String> {
    let mut app: Option<&str> = None;
    let mut shown = Vec::new();
    for line in out.lines().filter(|l| !l.trim().is_empty()) {
        if !line.starts_with(' ') {
            app = Some(line.trim());
            continue;
        }
        let line = line.trim();
        let (applied, name) = if let Some(name) = line.strip_prefix("[X] ") {
            (true, name)
        } else if let Some(name) = line.strip_prefix("[ ] ") {
            (false, name)
        } else if line == "(no migrations)" {
            continue;
        } else {
            return Err(format!("unexpected line {line:?}"));
        };
        let app = app.ok_or_else(|| format!("migration {name:?} before any app"))?;
        shown.push(ShownMigration {
            app: app.to_string(),
            name: name.to_string(),
            applied,
        });
    }
    Ok(shown)
}

/// Panics unless `actual` (a [`Django::dump`]) equals `expected` (Django's vectors) in
/// `schema`, `django_migrations` and `post_migrate`, naming the first entries that differ.
pub fn assert_same_schema(actual: &Value, expected: &Value) {
    assert_same_parts(
        actual,
        expected,
        &["schema", "django_migrations", "post_migrate"],
    );
}

/// As [`assert_same_schema`] for only some of the parts: `"schema"` (tables, columns, types,
/// constraints, indexes), `"django_migrations"` (the (app, name) rows in the order applied:
/// Django's is [`migration_plan`]), `"post_migrate"` (content types and permissions).
pub fn assert_same_parts(actual: &Value, expected: &Value, parts: &[&str]) {
    for &part in parts {
        assert!(
            expected.get(part).is_some(),
            "no part {part:?} in the expected dump"
        );
        let (a, e) = (&actual[part], &expected[part]);
        if a == e {
            continue;
        }
        let mut diffs = Vec::new();
        diff(part, a, e, &mut diffs);
        panic!(
            "{part} differs from Django's ({} difference(s)); the first:\n{}",
            diffs.len(),
            diffs.iter().take(8).cloned().collect::<Vec<_>>().join("\n")
        );
    }
}

fn diff(path: &str, a: &Value, e: &Value, out: &mut Vec<String>) {
    match (a, e) {
        (Value::Object(a), Value::Object(e)) => {
            for key in a.keys().chain(e.keys().filter(|k| !a.contains_key(*k))) {
                let (av, ev) = (
                    a.get(key).unwrap_or(&Value::Null),
                    e.get(key).unwrap_or(&Value::Null),
                );
                if av != ev {
                    diff(&format!("{path}.{key}"), av, ev, out);
                }
            }
        }
        (Value::Array(a), Value::Array(e)) => {
            // Entries missing on one side, by value (the lists are sorted by their keys).
            let before = out.len();
            for x in a.iter().filter(|x| !e.contains(x)) {
                out.push(format!("{path}: only here:   {x}"));
            }
            for x in e.iter().filter(|x| !a.contains(x)) {
                out.push(format!("{path}: only Django's: {x}"));
            }
            if out.len() == before {
                out.push(format!("{path}: the same entries in another order"));
            }
        }
        _ => out.push(format!("{path}: here {a}, Django's {e}")),
    }
}

/// Runs `bench/peers/django/venv.sh VENV` and checks Django and psycopg import.
fn make_venv() -> Result<Django, String> {
    let root = workspace_root();
    let project = root.join("bench/peers/django");
    let venv = std::env::var_os("PORTICO_DJANGO_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("bench/.venv"));
    let out = Command::new("bash")
        .arg(project.join("venv.sh"))
        .arg(&venv)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run bench/peers/django/venv.sh: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(6).collect();
        return Err(format!(
            "cannot make the Django venv {} (no PyPI?): {}",
            venv.display(),
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        ));
    }
    let python = venv.join("bin/python");
    let check = Command::new(&python)
        .args(["-c", "import django, psycopg; print(django.get_version())"])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    let version = String::from_utf8_lossy(&check.stdout).trim().to_string();
    if !check.status.success() || !version.starts_with("5.2") {
        return Err(format!(
            "the venv's Django is not 5.2 ({version:?}): {}",
            String::from_utf8_lossy(&check.stderr).trim()
        ));
    }
    Ok(Django { python, project })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn showmigrations_is_parsed_by_app() {
        let out = "auth\n [X] 0001_initial\n [ ] 0002_alter_permission_name_max_length\n\
                   contenttypes\n [X] 0001_initial\nsessions\n (no migrations)\n";
        let shown = parse_showmigrations(out).unwrap();
        assert_eq!(shown.len(), 3);
        assert_eq!(
            shown[1],
            ShownMigration {
                app: "auth".into(),
                name: "0002_alter_permission_name_max_length".into(),
                applied: false
            }
        );
        assert_eq!(shown[2].app, "contenttypes");
        assert!(parse_showmigrations(" [X] 0001_initial\n").is_err());
        assert!(parse_showmigrations("auth\n ? 0001\n").is_err());
    }

    #[test]
    fn the_plan_is_contrib_in_migrate_order() {
        let plan = migration_plan();
        assert_eq!(plan.len(), 15);
        assert_eq!(plan[0], ("contenttypes".into(), "0001_initial".into()));
        assert_eq!(
            plan.last().unwrap(),
            &("sessions".into(), "0001_initial".into())
        );
        for v in [Vendor::Sqlite, Vendor::Postgresql] {
            let vectors = django_vectors(v);
            assert_eq!(vectors["schema"]["vendor"], v.name());
            assert_eq!(vectors["django_migrations"].as_array().unwrap().len(), 15);
        }
    }

    #[test]
    fn sqlite_urls_have_four_slashes() {
        assert_eq!(sqlite_url(Path::new("/tmp/x.db")), "sqlite:////tmp/x.db");
    }
}
