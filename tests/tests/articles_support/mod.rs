//! Shared helpers of the `articles_*` contract tests: a private copy of the app's settings (so
//! every test has its own SQLite database), a started server on it, and header checks every
//! response of the contract must pass.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use tests::{app_lib, workspace_root, CurlResponse, Finished, Server, TempDir};

/// The settings file the README starts the app with.
pub fn shipped_settings() -> PathBuf {
    workspace_root().join("sample-apps/articles/settings.toml")
}

/// A temp dir holding `settings.toml`: the shipped settings with each `(from, to)` text
/// replacement applied (each `from` must occur, so a test never silently runs on the defaults).
pub struct AppDir {
    /// The directory (the database is created here, next to the settings).
    pub dir: TempDir,
    /// The settings file inside it.
    pub settings: PathBuf,
}

impl AppDir {
    pub fn new(label: &str, edits: &[(&str, &str)]) -> AppDir {
        let mut text = std::fs::read_to_string(shipped_settings()).expect("read shipped settings");
        for (from, to) in edits {
            assert!(text.contains(from), "settings.toml has no {from:?}");
            text = text.replacen(from, to, 1);
        }
        AppDir::with_text(label, &text)
    }

    /// A settings file with exactly `text`.
    pub fn with_text(label: &str, text: &str) -> AppDir {
        let dir = TempDir::new(label);
        let settings = dir.write("settings.toml", text);
        AppDir { dir, settings }
    }

    /// The database file the settings name (relative to the settings file).
    pub fn database(&self) -> PathBuf {
        self.dir.path().join("articles.sqlite3")
    }

    /// Starts portico on the articles app with these settings.
    pub fn start(&self) -> Server {
        self.start_with_args(&[])
    }

    /// Starts portico on the articles app with these settings and extra server flags.
    pub fn start_with_args(&self, args: &[&str]) -> Server {
        Server::builder(app_lib("articles"))
            .args(args)
            .settings(&self.settings)
            .start()
    }

    /// `portico --check-config --settings F libarticles.so`, run to its end.
    pub fn check_config(&self) -> Finished {
        check_config(&self.settings)
    }
}

/// `portico --check-config --settings F libarticles.so`, run to its end.
pub fn check_config(settings: &Path) -> Finished {
    Server::builder(app_lib("articles"))
        .arg("--check-config")
        .settings(settings)
        .run_to_exit(Duration::from_secs(30))
}

/// A server on a fresh copy of the shipped settings, with the directory it lives in. The
/// server is declared first so it stops before the directory is removed.
pub struct App {
    pub server: Server,
    pub dir: AppDir,
}

impl App {
    /// The shipped settings, own database.
    pub fn start(label: &str) -> App {
        App::start_with(label, &[])
    }

    /// The shipped settings with `edits` (see `AppDir::new`).
    pub fn start_with(label: &str, edits: &[(&str, &str)]) -> App {
        let dir = AppDir::new(label, edits);
        let server = dir.start();
        App { server, dir }
    }

    /// The shipped settings, own database, extra server flags.
    pub fn start_with_args(label: &str, args: &[&str]) -> App {
        let dir = AppDir::new(label, &[]);
        let server = dir.start_with_args(args);
        App { server, dir }
    }
}

impl std::ops::Deref for App {
    type Target = Server;
    fn deref(&self) -> &Server {
        &self.server
    }
}

impl std::ops::DerefMut for App {
    fn deref_mut(&mut self) -> &mut Server {
        &mut self.server
    }
}

/// The headers the contract puts on every response: `X-Duration-ms` (a non-negative number of
/// milliseconds) and `X-Powered-By: handler-core`. Returns the duration.
pub fn assert_common_headers(r: &CurlResponse) -> f64 {
    let powered = r.header("X-Powered-By");
    assert_eq!(
        powered,
        Some("handler-core"),
        "X-Powered-By on {}: {:?}",
        r.status_line,
        r.headers
    );
    let duration = r
        .header("X-Duration-ms")
        .unwrap_or_else(|| panic!("no X-Duration-ms on {}: {:?}", r.status_line, r.headers));
    let ms: f64 = duration
        .parse()
        .unwrap_or_else(|e| panic!("X-Duration-ms {duration:?} is not a number: {e}"));
    assert!(ms >= 0.0 && ms.is_finite(), "X-Duration-ms {ms}");
    ms
}

/// Asserts the status, then the common headers, with the response in the message.
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
    assert_common_headers(r);
}

/// Asserts a JSON response: status, `Content-Type: application/json`, the parsed body.
pub fn assert_json(r: &CurlResponse, status: u16, body: serde_json::Value) {
    assert_status(r, status);
    let ct = r.header("Content-Type").unwrap_or_default();
    assert!(
        ct.starts_with("application/json"),
        "Content-Type {ct:?} for {:?}",
        r.text()
    );
    assert_eq!(r.json(), body, "body {:?}", r.text());
}

/// Asserts an html response with `status`.
pub fn assert_html(r: &CurlResponse, status: u16) {
    assert_status(r, status);
    assert_eq!(
        r.header("Content-Type"),
        Some("text/html; charset=utf-8"),
        "headers {:?}",
        r.headers
    );
}

/// The `-H` arguments for a JSON body.
pub const JSON: [&str; 2] = ["-H", "Content-Type: application/json"];

/// Sends `HEAD path` on a raw connection (curl's `-I` mixes the headers into its output, so it
/// cannot show whether a body followed) with `Connection: close`, and returns the response as
/// a `CurlResponse` whose `body` is every byte that came after the head: empty when the server
/// sent no body.
pub fn head(server: &Server, path: &str, extra_headers: &[&str]) -> CurlResponse {
    let mut request = format!(
        "HEAD {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n",
        server.port
    );
    for h in extra_headers {
        request.push_str(h);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    let bytes = tests::exchange(server.addr, request.as_bytes(), Duration::from_secs(10));
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head: {:?}", String::from_utf8_lossy(&bytes)));
    let head_text = String::from_utf8_lossy(&bytes[..end]).into_owned();
    let mut lines = head_text.split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_string();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    CurlResponse {
        status,
        status_line,
        headers,
        body: bytes[end + 4..].to_vec(),
        exit_code: 0,
        stderr: String::new(),
        raw_headers: head_text,
    }
}
