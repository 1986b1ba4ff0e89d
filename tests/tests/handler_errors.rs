//! handler-core's error paths end to end: a failing or panicking view gives the 500 (html, or
//! JSON from a `process_exception` middleware) and the server keeps serving; `debug = true`
//! shows the technical pages; errors are logged as django.request does.

use std::time::Duration;

use tests::{app_lib, Server, TempDir};

fn start(dir: &TempDir, settings: &str) -> Server {
    let path = dir.write("settings.toml", settings);
    Server::builder(app_lib("testapp")).settings(path).start()
}

const HOSTS: &str = "allowed_hosts = [\"127.0.0.1\", \"localhost\"]\n";

#[test]
fn view_error_gives_html_500_and_the_server_keeps_serving() {
    let dir = TempDir::new("hc-err-html");
    let server = start(
        &dir,
        &format!("debug = false\n{HOSTS}middleware = [\"common\"]\n"),
    );
    for path in ["/boom/", "/panic/", "/boom/", "/panic/"] {
        let r = server.curl(path, &[]);
        assert_eq!(r.status, 500, "{path}: {}", r.text());
        assert!(
            r.text().contains("<h1>Server Error (500)</h1>"),
            "{}",
            r.text()
        );
        assert!(!r.text().contains("panicked"), "no detail without debug");
        let ok = server.curl("/ok/", &[]);
        assert_eq!((ok.status, ok.text().as_str()), (200, "ok"));
    }
    assert!(
        server.wait_for_log("Internal Server Error: /boom/", Duration::from_secs(5)),
        "{}",
        server.logs()
    );
    assert!(
        server.wait_for_log("Internal Server Error: /panic/", Duration::from_secs(5)),
        "{}",
        server.logs()
    );
}

#[test]
fn process_exception_middleware_answers_json_500() {
    let dir = TempDir::new("hc-err-json");
    let server = start(
        &dir,
        &format!("debug = false\n{HOSTS}middleware = [\"common\", \"json_errors\"]\n"),
    );
    for path in ["/boom/", "/panic/"] {
        let r = server.curl(path, &[]);
        assert_eq!(r.status, 500);
        assert_eq!(r.header("Content-Type"), Some("application/json"));
        let v = r.json();
        assert_eq!(v["status_code"], 500);
        assert_eq!(v["message"], "Internal Server Error");
        assert!(v["data"]["message"].is_string(), "{v}");
    }
    let r = server.curl("/panic/", &[]);
    assert_eq!(r.json()["data"]["message"], "the view panicked on purpose");
    // Http404 and PermissionDenied are not unhandled errors: Django's pages, not JSON.
    assert_eq!(server.curl("/missing/", &[]).status, 404);
    let r = server.curl("/forbidden/", &[]);
    assert_eq!(r.status, 403);
    assert!(r.text().contains("403 Forbidden"));
    assert_eq!(server.curl("/ok/", &[]).status, 200);
}

#[test]
fn debug_shows_the_technical_500_and_404_pages() {
    let dir = TempDir::new("hc-err-debug");
    let server = start(&dir, "debug = true\nmiddleware = [\"common\"]\n");
    let r = server.curl("/boom/?x=1", &[]);
    assert_eq!(r.status, 500);
    let page = r.text();
    assert!(page.contains("invalid digit found in string"), "{page}");
    assert!(page.contains("testapp::boom"), "names the view: {page}");
    assert!(page.contains("Request Method:"), "{page}");
    assert!(page.contains("/boom/?x=1"), "{page}");
    assert!(page.contains("HTTP_USER_AGENT"), "lists META: {page}");

    let r = server.curl("/panic/", &[]);
    assert_eq!(r.status, 500);
    let page = r.text();
    assert!(page.contains("the view panicked on purpose"), "{page}");
    assert!(page.contains("Exception Location:"), "{page}");
    assert!(page.contains("tests/testapp/src/lib.rs:"), "{page}");

    let r = server.curl("/no/such/page/", &[]);
    assert_eq!(r.status, 404);
    let page = r.text();
    assert!(page.contains("Page not found"), "{page}");
    assert!(
        page.contains("<li>items/ [name=&#x27;items&#x27;]</li>"),
        "{page}"
    );
    assert!(page.contains("<li>api/</li>"), "lists the include: {page}");
    assert!(
        page.contains("<code>no/such/page/</code>, didn't match"),
        "{page}"
    );
}
