//! The articles app's contract (shared/contracts/articles-app.md), part 3: errors. Unhandled
//! view errors and panics (JSON 500 from `error_handler`, the debug page with `debug = true`),
//! a panic storm the server survives, and settings errors that stop start-up with the file, the
//! line and the problem.

mod articles_support;

use std::thread;
use std::time::Duration;

use articles_support::*;
use serde_json::Value;
use tests::{app_lib, free_port, Server};

/// The `error_handler` body: `{"status_code": 500, "message": "Internal Server Error",
/// "data": {"message": "..."}}` with a non-empty message.
fn assert_json_500(body: &Value) {
    assert_eq!(body["status_code"], 500, "{body}");
    assert_eq!(body["message"], "Internal Server Error", "{body}");
    let obj = body.as_object().expect("an object");
    assert_eq!(obj.len(), 3, "exactly status_code, message, data: {body}");
    let data = body["data"].as_object().expect("data is an object");
    assert_eq!(data.len(), 1, "{body}");
    let message = data["message"].as_str().expect("data.message is a string");
    assert!(!message.is_empty(), "{body}");
}

#[test]
fn boom_and_panic_are_json_500_for_any_method() {
    let app = App::start("boom");
    for path in ["/api/boom/", "/api/panic/"] {
        for method in ["GET", "POST", "PUT", "DELETE"] {
            let r = app.curl(path, &["-X", method]);
            assert_status(&r, 500);
            let ct = r.header("Content-Type").unwrap_or_default();
            assert!(
                ct.starts_with("application/json"),
                "{path} {method}: {ct:?}"
            );
            assert_json_500(&r.json());
        }
    }
    // The server keeps serving.
    let r = app.curl("/", &[]);
    assert_html(&r, 200);
}

#[test]
fn debug_true_shows_the_debug_page_naming_the_error_and_the_view() {
    let app = App::start_with("debug-page", &[("debug = false", "debug = true")]);
    // The view is named by its path (Django shows `articles.views.boom`), not just the URL.
    for (path, view) in [
        ("/api/boom/", "articles::views::boom"),
        ("/api/panic/", "articles::views::panic_view"),
    ] {
        let r = app.curl(path, &[]);
        assert_status(&r, 500);
        let ct = r.header("Content-Type").unwrap_or_default();
        assert!(ct.starts_with("text/html"), "{path}: {ct:?}");
        let page = r.text();
        assert!(
            page.contains(view),
            "{path}: the page names the view {view:?}:\n{page}"
        );
        let json_500 = app.curl(path, &[]);
        assert!(
            serde_json::from_slice::<Value>(&json_500.body).is_err(),
            "debug = true gives the html page, not the JSON 500"
        );
    }
    let boom = app.curl("/api/boom/", &[]).text();
    assert!(
        boom.contains("Something went boom"),
        "names the error:\n{boom}"
    );
    let panic = app.curl("/api/panic/", &[]).text();
    assert!(
        panic.contains("deliberate panic"),
        "names the panic:\n{panic}"
    );
}

#[test]
fn the_json_500_carries_the_error_message() {
    let app = App::start("boom-message");
    let body = app.curl("/api/boom/", &[]).json();
    assert_json_500(&body);
    assert!(
        body["data"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Something went boom")),
        "{body}"
    );
}

#[test]
fn fifty_concurrent_panics_all_get_the_json_500_and_the_server_survives() {
    let app = App::start("panic-storm");
    let url = app.url("/api/panic/");
    let workers: Vec<_> = (0..50)
        .map(|_| {
            let url = url.clone();
            thread::spawn(move || tests::curl(&[url.as_str()]))
        })
        .collect();
    for w in workers {
        let r = w.join().expect("curl thread");
        assert_status(&r, 500);
        assert_json_500(&r.json());
    }
    let r = app.curl("/", &[]);
    assert_html(&r, 200);
    assert_eq!(r.text(), "Success!");
}

#[test]
fn the_shipped_settings_pass_check_config() {
    let dir = AppDir::new("check-ok", &[]);
    let out = dir.check_config();
    assert!(
        out.status.success(),
        "--check-config on good settings: {out:?}"
    );
}

/// Asserts `--check-config` fails and its output names the file, the line (when given) and the
/// problem (one of `problem_words`, case-insensitively).
fn assert_config_error(settings: &std::path::Path, line: Option<usize>, problem_words: &[&str]) {
    let out = check_config(settings);
    assert!(!out.status.success(), "--check-config must fail: {out:?}");
    let text = format!("{}\n{}", out.stdout, out.stderr);
    let file = settings.display().to_string();
    let name = settings
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    assert!(
        text.contains(&file) || text.contains(&name),
        "names the file {file}:\n{text}"
    );
    if let Some(line) = line {
        let forms = [
            format!("line {line}"),
            format!(":{line}:"),
            format!(":{line}"),
        ];
        assert!(
            forms.iter().any(|f| text.contains(f.as_str())),
            "names line {line}:\n{text}"
        );
    }
    let lower = text.to_lowercase();
    assert!(
        problem_words
            .iter()
            .any(|w| lower.contains(&w.to_lowercase())),
        "names the problem ({problem_words:?}):\n{text}"
    );
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .expect("needle in settings")
}

#[test]
fn a_missing_settings_file_is_reported() {
    let dir = tests::TempDir::new("missing-settings");
    let missing = dir.path().join("nope.toml");
    assert_config_error(
        &missing,
        None,
        &["no such file", "not found", "does not exist", "cannot read"],
    );
}

#[test]
fn a_toml_syntax_error_is_reported_with_its_line() {
    let text = std::fs::read_to_string(shipped_settings())
        .expect("settings")
        .replace("append_slash = true", "append_slash = = true");
    let dir = AppDir::with_text("syntax", &text);
    let line = line_of(&text, "append_slash = = true");
    assert_config_error(
        &dir.settings,
        Some(line),
        &["expected", "invalid", "syntax", "parse"],
    );
}

#[test]
fn an_unknown_middleware_is_reported_with_its_line() {
    let dir = AppDir::new(
        "unknown-mw",
        &[(r#""powered_by","#, r#""powered_by_typo","#)],
    );
    let text = std::fs::read_to_string(&dir.settings).expect("settings");
    let line = line_of(&text, "powered_by_typo");
    assert_config_error(&dir.settings, Some(line), &["powered_by_typo"]);
    let out = dir.check_config();
    let all = format!("{}{}", out.stdout, out.stderr).to_lowercase();
    assert!(
        all.contains("middleware"),
        "says it is a middleware:\n{all}"
    );
}

#[test]
fn a_wrong_type_for_debug_is_reported_with_its_line() {
    let dir = AppDir::new("debug-type", &[("debug = false", r#"debug = "yes""#)]);
    let text = std::fs::read_to_string(&dir.settings).expect("settings");
    let line = line_of(&text, r#"debug = "yes""#);
    assert_config_error(&dir.settings, Some(line), &["debug"]);
    let out = dir.check_config();
    let all = format!("{}{}", out.stdout, out.stderr).to_lowercase();
    assert!(
        all.contains("bool") || all.contains("invalid type"),
        "says what type was expected:\n{all}"
    );
}

#[test]
fn bad_settings_stop_a_real_start_up_too() {
    let dir = AppDir::new("bad-start", &[(r#""common","#, r#""no_such_middleware","#)]);
    let out = Server::builder(app_lib("articles"))
        .bind(format!("127.0.0.1:{}", free_port()))
        .settings(&dir.settings)
        .run_to_exit(Duration::from_secs(30));
    assert!(
        !out.status.success(),
        "nothing is served half-configured: {out:?}"
    );
    assert!(
        out.stderr.contains("no_such_middleware"),
        "names the problem:\n{}",
        out.stderr
    );
}

/// The files in the settings' directory, the settings file left out.
fn files_beside_settings(dir: &AppDir) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.dir.path())
        .expect("read the settings dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "settings.toml")
        .collect();
    names.sort();
    names
}

#[test]
fn a_rejected_settings_file_leaves_no_database_behind() {
    let cases: [(&str, &[(&str, &str)]); 3] = [
        (
            "no-db-unknown-mw",
            &[(r#""powered_by","#, r#""powered_by_typo","#)],
        ),
        (
            "no-db-app-type",
            &[(r#"api_key = "EXPECTED_SECRET_KEY""#, "api_key = 5")],
        ),
        ("no-db-debug-type", &[("debug = false", r#"debug = "yes""#)]),
    ];
    for (label, edits) in cases {
        let dir = AppDir::new(label, edits);
        let out = dir.check_config();
        assert!(!out.status.success(), "{label}: --check-config must fail");
        assert_eq!(
            files_beside_settings(&dir),
            Vec::<String>::new(),
            "{label}: --check-config wrote nothing"
        );
        let out = Server::builder(app_lib("articles"))
            .bind(format!("127.0.0.1:{}", free_port()))
            .settings(&dir.settings)
            .run_to_exit(Duration::from_secs(30));
        assert!(!out.status.success(), "{label}: start-up must fail");
        assert_eq!(
            files_beside_settings(&dir),
            Vec::<String>::new(),
            "{label}: a failed start-up wrote nothing"
        );
    }
    // The same directory with good settings gets its database.
    let dir = AppDir::new("db-created", &[]);
    let server = dir.start();
    assert_eq!(server.curl("/", &[]).status, 200);
    assert!(
        dir.database().exists(),
        "the database is created on a good start"
    );
}
