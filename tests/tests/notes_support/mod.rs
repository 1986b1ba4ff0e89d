//! Shared helpers of the `notes_*` contract tests (shared/contracts/notes-app.md): a target
//! (the real `portico` on the notes library with a private copy of the settings and its own
//! database, or, with `NOTES_BASE_URL` set, a server already running there, such as the Django
//! twin in bench/peers/django), browsers with their own curl cookie jars, and the header checks
//! every response of the contract must pass. `bench/peers/django/run_notes_suite.sh` runs the
//! suite against the Django twin that way.
//!
//! The same suite runs on both backends: the `notes_*` test binaries on SQLite (the shipped
//! settings), and the `notes_*_postgres` ones (which include the same files) on a throwaway
//! PostgreSQL shared by the binary's tests, each [`Target`] on a database of its own through
//! `DATABASE_URL`. [`backend`] tells which from the test binary's crate name.
//!
//! The shipped users' passwords are not in the repository: the tests put the users of
//! `tests/data/notes-test-users.toml` (same names, Django-made hashes of passwords the tests
//! know) in their place.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tests::postgres::Postgres;
use tests::{app_lib, workspace_root, CurlResponse, Server, TempDir};

/// The database a suite runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, the shipped settings' `[databases.default]`.
    Sqlite,
    /// PostgreSQL, through `DATABASE_URL`.
    Postgres,
}

/// The backend of this test binary: PostgreSQL in a binary whose crate name ends in
/// `_postgres` (`notes_api_postgres` includes `notes_api.rs`), else SQLite.
pub fn backend() -> Backend {
    let krate = module_path!().split("::").next().unwrap_or("");
    if krate.ends_with("_postgres") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    }
}

/// The binary's PostgreSQL (started on first use, stopped when the binary exits), or why
/// there is none.
fn shared_postgres() -> Result<&'static Mutex<Option<Postgres>>, &'static str> {
    static SERVER: OnceLock<Result<Mutex<Option<Postgres>>, String>> = OnceLock::new();
    extern "C" fn stop_at_exit() {
        if let Some(Ok(server)) = SERVER.get() {
            if let Ok(mut server) = server.lock() {
                drop(server.take());
            }
        }
    }
    SERVER
        .get_or_init(|| {
            let server = Postgres::start()?;
            // SAFETY: registering a function with no arguments that only stops the server;
            // statics are never dropped, so this is what stops it when the binary exits.
            unsafe { libc::atexit(stop_at_exit) };
            Ok(Mutex::new(Some(server)))
        })
        .as_ref()
        .map_err(String::as_str)
}

/// A fresh database on the binary's PostgreSQL: its `DATABASE_URL`, or `None` (with the
/// reason printed) when PostgreSQL cannot run here, and the suite then runs on SQLite.
pub fn postgres_database(label: &str) -> Option<String> {
    static N: AtomicU32 = AtomicU32::new(0);
    let server = match shared_postgres() {
        Ok(server) => server,
        Err(reason) => {
            eprintln!("SKIPPED on PostgreSQL (running on SQLite instead): {reason}");
            return None;
        }
    };
    let guard = server.lock().unwrap_or_else(|e| e.into_inner());
    let pg = guard.as_ref()?;
    let name: String = format!("notes_{label}_{}", N.fetch_add(1, Ordering::Relaxed))
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    Some(pg.create_database(&name))
}

/// alice's password in the test users.
pub const ALICE_PASSWORD: &str = "alice-test-password";
/// root's password in the test users.
pub const ROOT_PASSWORD: &str = "root-test-password";
/// The message a new note leaves.
pub const NOTE_SAVED: &str = "Note saved.";
/// The CSRF failure page's words.
pub const CSRF_FAILED: &str = "CSRF verification failed. Request aborted.";

/// The settings file the README starts the app with.
pub fn shipped_settings() -> PathBuf {
    workspace_root().join("sample-apps/notes/settings.toml")
}

/// A file of `tests/data`.
pub fn data(name: &str) -> String {
    let path = workspace_root().join("tests/data").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The shipped settings with the test users, the templates found where the app keeps them,
/// and each `(from, to)` replacement applied (each `from` must occur).
pub fn test_settings(edits: &[(&str, &str)]) -> String {
    let mut text = std::fs::read_to_string(shipped_settings()).expect("read shipped settings");
    let users_at = text
        .find("[app.users]")
        .expect("[app.users] in the settings");
    let header_end = users_at + text[users_at..].find('\n').expect("a line end");
    let users: String = data("notes-test-users.toml")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    text = format!("{}\n{users}", &text[..header_end]);
    let templates = workspace_root().join("sample-apps/notes/templates");
    text = text.replacen(
        "dirs = [\"templates\"]",
        &format!("dirs = [\"{}\"]", templates.display()),
        1,
    );
    for (from, to) in edits {
        assert!(text.contains(from), "settings.toml has no {from:?}");
        text = text.replacen(from, to, 1);
    }
    text
}

/// Where the tests send their requests.
pub struct Target {
    /// The server this test started (none against `NOTES_BASE_URL`). Declared first, so it
    /// stops before its directory goes.
    pub server: Option<Server>,
    /// The settings and the database.
    pub dir: TempDir,
    /// `DATABASE_URL` of the server's PostgreSQL database, on that backend.
    pub database_url: Option<String>,
    base: String,
}

impl Target {
    /// A fresh portico on the notes app (own database), or the server at `NOTES_BASE_URL`.
    pub fn start(label: &str) -> Target {
        Target::start_with(label, &[])
    }

    /// As [`Target::start`], with settings edits (portico only: a test that needs them is
    /// skipped against a running server, see [`Target::is_external`]).
    pub fn start_with(label: &str, edits: &[(&str, &str)]) -> Target {
        let dir = TempDir::new(label);
        if let Some(base) = external_base() {
            return Target {
                server: None,
                dir,
                database_url: None,
                base,
            };
        }
        dir.write("settings.toml", test_settings(edits));
        let database_url = match backend() {
            Backend::Sqlite => None,
            Backend::Postgres => postgres_database(label),
        };
        let server = start_portico(&dir, database_url.as_deref());
        let base = format!("http://127.0.0.1:{}", server.port);
        Target {
            server: Some(server),
            dir,
            database_url,
            base,
        }
    }

    /// A fresh portico on the notes app with `edits` to the settings, on `database_url` (a
    /// PostgreSQL database another instance may share) or the settings' SQLite file.
    pub fn start_on(label: &str, edits: &[(&str, &str)], database_url: Option<&str>) -> Target {
        let dir = TempDir::new(label);
        dir.write("settings.toml", test_settings(edits));
        let server = start_portico(&dir, database_url);
        let base = format!("http://127.0.0.1:{}", server.port);
        Target {
            server: Some(server),
            dir,
            database_url: database_url.map(str::to_string),
            base,
        }
    }

    /// The server this test started.
    pub fn server(&self) -> &Server {
        self.server.as_ref().expect("a portico the test started")
    }

    /// True when the tests run against `NOTES_BASE_URL` (the Django twin, by hand).
    pub fn is_external() -> bool {
        external_base().is_some()
    }

    /// Stops portico and starts it again on the same settings and database.
    pub fn restart(&mut self) {
        let server = self
            .server
            .take()
            .expect("restart needs a portico the test started");
        drop(server);
        let server = start_portico(&self.dir, self.database_url.as_deref());
        self.base = format!("http://127.0.0.1:{}", server.port);
        self.server = Some(server);
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `host:port` as requests name it.
    pub fn host(&self) -> String {
        self.base
            .split_once("://")
            .map_or(self.base.as_str(), |(_, h)| h)
            .trim_end_matches('/')
            .to_string()
    }

    /// `http://host:port`, the origin a same-site page sends.
    pub fn origin(&self) -> String {
        format!("http://{}", self.host())
    }

    /// A browser with an empty cookie jar.
    pub fn browser(&self) -> Browser<'_> {
        Browser {
            target: self,
            jar: TempDir::new("jar"),
        }
    }

    /// The SQLite database file (on SQLite).
    pub fn database(&self) -> PathBuf {
        self.dir.path().join("notes.sqlite3")
    }
}

fn external_base() -> Option<String> {
    std::env::var("NOTES_BASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .map(|u| u.trim_end_matches('/').to_string())
}

/// portico on the notes library with the settings in `dir`, on `database_url` when given
/// (else the settings' SQLite file; a `DATABASE_URL` of the environment is not inherited).
pub fn start_portico(dir: &TempDir, database_url: Option<&str>) -> Server {
    let builder = Server::builder(app_lib("notes")).settings(dir.path().join("settings.toml"));
    match database_url {
        Some(url) => builder.env("DATABASE_URL", url),
        None => builder.env_remove("DATABASE_URL"),
    }
    .start()
}

/// A client with a cookie jar (curl `-b` / `-c` on a file of its own).
pub struct Browser<'t> {
    /// The target.
    pub target: &'t Target,
    jar: TempDir,
}

impl Browser<'_> {
    fn jar_file(&self) -> String {
        self.jar.path().join("cookies").display().to_string()
    }

    /// curl on `path` with the jar and `extra` arguments.
    pub fn curl(&self, path: &str, extra: &[&str]) -> CurlResponse {
        let jar = self.jar_file();
        let url = self.target.url(path);
        let mut args: Vec<&str> = vec!["-b", &jar, "-c", &jar];
        args.extend_from_slice(extra);
        args.push(&url);
        let response = tests::curl(&args);
        // curl 7.88 logs "Replaced cookie" for a deleted (Max-Age=0) cookie yet may leave the
        // jar file as it was: drop deleted cookies from the jar here, as a browser would.
        for line in response.headers_named("Set-Cookie") {
            let lower = line.to_ascii_lowercase();
            if lower.contains("max-age=0") || lower.contains("01 jan 1970") {
                if let Some((name, _)) = line.split_once('=') {
                    self.remove_cookie(name.trim());
                }
            }
        }
        response
    }

    /// Removes a cookie from the jar.
    pub fn remove_cookie(&self, name: &str) {
        let Ok(text) = std::fs::read_to_string(self.jar_file()) else {
            return;
        };
        let kept: String = text
            .lines()
            .filter(|l| l.split('\t').nth(5).is_none_or(|n| n != name))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(self.jar_file(), kept).expect("write the cookie jar");
    }

    /// GET.
    pub fn get(&self, path: &str) -> CurlResponse {
        self.curl(path, &[])
    }

    /// POST a urlencoded form (`--data-urlencode` per field; no field sends an empty form).
    pub fn post_form(&self, path: &str, fields: &[(&str, &str)], extra: &[&str]) -> CurlResponse {
        let encoded: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut args: Vec<&str> = Vec::new();
        if encoded.is_empty() {
            args.extend([
                "-X",
                "POST",
                "-H",
                "Content-Type: application/x-www-form-urlencoded",
            ]);
        }
        for e in &encoded {
            args.push("--data-urlencode");
            args.push(e);
        }
        args.extend_from_slice(extra);
        self.curl(path, &args)
    }

    /// The cookies in the jar: `(name, value, httponly)`.
    pub fn cookies(&self) -> Vec<(String, String, bool)> {
        let text = std::fs::read_to_string(self.jar_file()).unwrap_or_default();
        text.lines()
            .filter_map(|line| {
                let (httponly, line) = match line.strip_prefix("#HttpOnly_") {
                    Some(rest) => (true, rest),
                    None if line.starts_with('#') => return None,
                    None => (false, line),
                };
                let f: Vec<&str> = line.split('\t').collect();
                (f.len() >= 7).then(|| (f[5].to_string(), f[6].to_string(), httponly))
            })
            .collect()
    }

    /// A cookie's value in the jar.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies()
            .into_iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, v, _)| v)
    }

    /// Puts a cookie in the jar by sending it once (curl's jar takes `-b name=value` only for
    /// that call, so this writes the jar line itself).
    pub fn set_cookie(&self, name: &str, value: &str) {
        let host = self.target.host();
        let domain = host
            .rsplit_once(':')
            .map_or(host.as_str(), |(h, _)| h)
            .to_string();
        let mut text = std::fs::read_to_string(self.jar_file()).unwrap_or_default();
        text = text
            .lines()
            .filter(|l| l.split('\t').nth(5).is_none_or(|n| n != name))
            .map(|l| format!("{l}\n"))
            .collect();
        text.push_str(&format!("{domain}\tFALSE\t/\tFALSE\t0\t{name}\t{value}\n"));
        std::fs::write(self.jar_file(), text).expect("write the cookie jar");
    }

    /// The login page's CSRF token (and the `csrftoken` cookie in the jar).
    pub fn csrf_token(&self) -> String {
        let r = self.get("/accounts/login/");
        assert_eq!(r.status, 200, "{}", r.text());
        form_token(&r.text())
    }

    /// Signs in through the login form; the response is the form's answer.
    pub fn login(&self, username: &str, password: &str, next: &str) -> CurlResponse {
        let token = self.csrf_token();
        self.post_form(
            "/accounts/login/",
            &[
                ("username", username),
                ("password", password),
                ("next", next),
                ("csrfmiddlewaretoken", &token),
            ],
            &[],
        )
    }

    /// Signs in as alice and checks it worked.
    pub fn login_alice(&self) {
        let r = self.login("alice", ALICE_PASSWORD, "");
        assert_eq!(r.status, 302, "login: {} {}", r.status_line, r.text());
    }

    /// Creates a note through the form; the answer.
    pub fn create_note(&self, title: &str, body: &str) -> CurlResponse {
        let token = self.csrf_token();
        self.post_form(
            "/notes/",
            &[
                ("title", title),
                ("body", body),
                ("csrfmiddlewaretoken", &token),
            ],
            &[],
        )
    }

    /// The signed-in user's notes.
    pub fn notes(&self) -> Vec<serde_json::Value> {
        let r = self.get("/notes/");
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["notes"].as_array().cloned().unwrap_or_default()
    }
}

/// The hidden `csrfmiddlewaretoken` of a page.
pub fn form_token(page: &str) -> String {
    page.split("name=\"csrfmiddlewaretoken\" value=\"")
        .nth(1)
        .and_then(|t| t.split('"').next())
        .unwrap_or_else(|| panic!("no csrfmiddlewaretoken in {page}"))
        .to_string()
}

/// Every response of the stack carries SecurityMiddleware's and XFrameOptionsMiddleware's
/// defaults.
pub fn assert_stack_headers(r: &CurlResponse) {
    for (name, value) in [
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
    ] {
        assert_eq!(
            r.header(name),
            Some(value),
            "{name} on {}: {:?}",
            r.status_line,
            r.headers
        );
    }
}

/// Asserts the status (with the response in the message) and the stack's headers.
pub fn assert_status(r: &CurlResponse, status: u16) {
    assert_eq!(
        r.status,
        status,
        "status line {:?}, headers {:?}, body {:?}, curl stderr {:?}",
        r.status_line,
        r.headers,
        r.text(),
        r.stderr
    );
    assert_stack_headers(r);
}

/// The `Set-Cookie` line for `name`, if the response set it.
pub fn set_cookie<'r>(r: &'r CurlResponse, name: &str) -> Option<&'r str> {
    r.headers_named("Set-Cookie")
        .into_iter()
        .find(|c| c.starts_with(&format!("{name}=")))
}

/// A unique title, so tests against a shared server do not see each other's notes.
pub fn unique(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{label} {nanos}")
}

/// How long a test waits for a restarted server.
pub const RESTART_WAIT: Duration = Duration::from_secs(30);
