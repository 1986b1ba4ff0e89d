//! handler-core's settings errors end to end: `portico --check-config` exits non-zero and
//! prints the file, the line and the problem; a good file passes.

use std::time::Duration;

use tests::{app_lib, Finished, Server, TempDir};

fn check(dir: &TempDir, settings: &str) -> (Finished, String) {
    let path = dir.write("settings.toml", settings);
    let done = Server::builder(app_lib("testapp"))
        .settings(&path)
        .arg("--check-config")
        .run_to_exit(Duration::from_secs(30));
    (done, path.display().to_string())
}

fn output(done: &Finished) -> String {
    format!("{}{}", done.stderr, done.stdout)
}

#[test]
fn unknown_middleware_names_file_line_and_name() {
    let dir = TempDir::new("hc-cfg-mw");
    let (done, file) = check(
        &dir,
        "debug = false\nmiddleware = [\n  \"common\",\n  \"no_such_thing\",\n]\n",
    );
    assert!(!done.status.success(), "{done:?}");
    let text = output(&done);
    assert!(text.contains(&format!("{file}:4")), "file and line: {text}");
    assert!(text.contains("no_such_thing"), "{text}");

    // A comment naming the middleware first does not move the line off the element.
    let (done, file) = check(
        &dir,
        "# old: \"nosuch\"\ndebug = false\nmiddleware = [\"common\",\n \"nosuch\"]\n",
    );
    assert!(!done.status.success(), "{done:?}");
    let text = output(&done);
    assert!(
        text.contains(&format!("{file}:4: unknown middleware \"nosuch\"")),
        "{text}"
    );
}

#[test]
fn wrong_type_and_syntax_errors_name_the_line() {
    let dir = TempDir::new("hc-cfg-type");
    let (done, file) = check(&dir, "allowed_hosts = []\ndebug = \"yes\"\n");
    assert!(!done.status.success());
    let text = output(&done);
    assert!(text.contains(&format!("{file}:2")), "{text}");
    assert!(text.contains("debug"), "{text}");

    // The parser stops at the end of the file; the error names the unclosed array's line.
    let (done, file) = check(&dir, "debug = false\n\nmiddleware = [\"common\"\n");
    assert!(!done.status.success());
    let text = output(&done);
    assert!(
        text.contains(&format!(
            "{file}:3: invalid array: expected `]` (at `middleware = [\"common\"`)"
        )),
        "{text}"
    );
}

#[test]
fn missing_file_fails_and_good_file_passes() {
    let dir = TempDir::new("hc-cfg-ok");
    let missing = dir.path().join("absent.toml");
    let done = Server::builder(app_lib("testapp"))
        .settings(&missing)
        .arg("--check-config")
        .run_to_exit(Duration::from_secs(30));
    assert!(!done.status.success());
    assert!(
        output(&done).contains(&missing.display().to_string()),
        "{}",
        output(&done)
    );

    let (done, _) = check(
        &dir,
        "debug = false\nallowed_hosts = [\"localhost\"]\nmiddleware = [\"security\", \"common\", \"conditional_get\", \"wrap\"]\n",
    );
    assert!(done.status.success(), "{}", output(&done));
}
