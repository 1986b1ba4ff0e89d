//! handler-core's request cycle end to end: middleware order (hook and wrapper forms, a
//! short-circuit), APPEND_SLASH, class-based views (405 with Allow, OPTIONS, HEAD),
//! decorators, host validation, request parsing and streaming.

use std::time::Duration;

use tests::{app_lib, Server, TempDir};

fn start(settings: &str) -> (TempDir, Server) {
    let dir = TempDir::new("hc-cycle");
    let path = dir.write("settings.toml", settings);
    let server = Server::builder(app_lib("testapp")).settings(path).start();
    (dir, server)
}

const TRACED: &str = "allowed_hosts = [\"127.0.0.1\", \"localhost\"]\n\
middleware = [\"trace_outer\", \"wrap\", \"common\", \"trace_inner\"]\n";

#[test]
fn middleware_run_in_django_order() {
    let (_dir, server) = start(TRACED);
    let r = server.curl("/ok/", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("X-Wrapped"), Some("yes"));
    // The outermost middleware writes last, so its X-Trace holds the whole story.
    assert_eq!(
        r.header("X-Trace"),
        Some(
            "outer.request,wrap.before,inner.request,outer.view,inner.view,\
             inner.response,wrap.after,outer.response"
        )
    );
    let r = server.curl("/boom/", &[]);
    assert_eq!(r.status, 500);
    assert_eq!(
        r.header("X-Trace"),
        Some(
            "outer.request,wrap.before,inner.request,outer.view,inner.view,\
             inner.exception,outer.exception,inner.response,wrap.after,outer.response"
        )
    );
    // A process_request answer short-circuits: only middleware already entered see it.
    let r = server.curl("/ok/?stop=outer", &[]);
    assert_eq!(r.text(), "stopped by outer");
    assert_eq!(r.header("X-Trace"), Some("outer.request,outer.response"));
    assert_eq!(r.header("X-Wrapped"), None);
}

#[test]
fn append_slash_redirects_only_when_the_slashed_path_resolves() {
    let (_dir, server) = start(TRACED);
    let r = server.curl("/items?page=2", &[]);
    assert_eq!(r.status, 301);
    assert_eq!(r.header("Location"), Some("/items/?page=2"));
    let r = server.curl("/nothing", &[]);
    assert_eq!(r.status, 404);
    assert!(r.text().contains("Not Found"));
    assert_eq!(server.curl("/items/", &[]).status, 200);
}

#[test]
fn class_based_view_405_options_and_head() {
    let (_dir, server) = start(TRACED);
    let r = server.curl("/items/", &["-X", "DELETE"]);
    assert_eq!(r.status, 405);
    assert_eq!(r.header("Allow"), Some("GET, POST, HEAD, OPTIONS"));
    assert!(r.body.is_empty());
    let r = server.curl("/items/", &["-X", "OPTIONS"]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Allow"), Some("GET, POST, HEAD, OPTIONS"));
    assert_eq!(r.header("Content-Length"), Some("0"));
    // HEAD falls back to GET: the GET's status and length, no body on the wire.
    let request = format!(
        "HEAD /items/ HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
        server.port
    );
    let raw = tests::exchange(server.addr, request.as_bytes(), Duration::from_secs(10));
    let text = String::from_utf8_lossy(&raw).into_owned();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("Content-Length: 20\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\n"), "no body after the head: {text}");
    let r = server.curl("/items/", &["-X", "POST", "-d", ""]);
    assert_eq!(r.status, 201);
    assert_eq!(r.text(), r#"{"created": true}"#);
}

#[test]
fn the_method_is_upper_cased_as_django_does() {
    let (_dir, server) = start(TRACED);
    // `get` on the wire is a GET for the class-based view, not a 405.
    let r = server.curl("/items/", &["-X", "get"]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), r#"{"items": [1, 2, 3]}"#);
    // A lower-case `post` with a form fills POST.
    let r = server.curl("/api/meta/7/", &["-X", "post", "-d", "title=Lower+case"]);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["method"], "POST");
    assert_eq!(v["form"], "Lower case");
    let r = server.curl("/get-only/", &["-X", "get"]);
    assert_eq!(r.status, 200);
}

#[test]
fn decorators_and_redirects() {
    let (_dir, server) = start(TRACED);
    let r = server.curl("/get-only/", &["-X", "POST"]);
    assert_eq!((r.status, r.header("Allow")), (405, Some("GET")));
    assert_eq!(server.curl("/get-only/", &["-I"]).status, 405);
    assert_eq!(server.curl("/get-only/", &[]).status, 200);
    let r = server.curl("/private/", &[]);
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("Location"),
        Some("/accounts/login/?next=/private/")
    );
    let r = server.curl("/go-home/", &[]);
    assert_eq!((r.status, r.header("Location")), (302, Some("/")));
}

#[test]
fn bad_host_gets_400() {
    let (_dir, server) = start(TRACED);
    let r = server.curl("/ok/", &["-H", "Host: evil.example.com"]);
    assert_eq!(r.status, 400);
    assert!(r.text().contains("Bad Request (400)"), "{}", r.text());
    assert_eq!(
        server.curl("/ok/", &["-H", "Host: localhost:8000"]).status,
        200
    );
}

#[test]
fn request_parsing_and_streaming() {
    let (_dir, server) = start(TRACED);
    let r = server.curl(
        "/api/meta/42/?q=a%20b",
        &[
            "-X",
            "POST",
            "-d",
            "title=Hello+there",
            "-b",
            "flavour=mint",
            "-A",
            "hc-test",
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["method"], "POST");
    assert_eq!(v["path"], "/api/meta/42/");
    assert_eq!(v["query"], "a b");
    assert_eq!(v["id"], 42);
    assert_eq!(v["form"], "Hello there");
    assert_eq!(v["cookie"], "mint");
    assert_eq!(v["user_agent"], "hc-test");
    assert_eq!(v["remote_addr"], "127.0.0.1");

    let r = server.curl("/stream/?n=5", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "line 0\nline 1\nline 2\nline 3\nline 4\n");
    assert_eq!(r.header("Transfer-Encoding"), Some("chunked"));
}

#[test]
fn conditional_get_answers_preconditions_on_get_and_head() {
    let (_dir, server) =
        start("allowed_hosts = [\"127.0.0.1\"]\nmiddleware = [\"conditional_get\"]\n");
    let r = server.curl("/ok/", &[]);
    assert_eq!(r.status, 200);
    let tag = r
        .header("ETag")
        .expect("an ETag for the content")
        .to_string();
    // An ETag but no Last-Modified: If-Unmodified-Since cannot pass (Django's
    // `_if_unmodified_since_passes`).
    let r = server.curl(
        "/ok/",
        &["-H", "If-Unmodified-Since: Wed, 21 Oct 2015 07:28:00 GMT"],
    );
    assert_eq!(r.status, 412);
    assert!(r.body.is_empty());
    // 304 on GET and on HEAD.
    let if_none_match = format!("If-None-Match: {tag}");
    assert_eq!(server.curl("/ok/", &["-H", &if_none_match]).status, 304);
    let r = server.curl("/ok/", &["-I", "-H", &if_none_match]);
    assert_eq!((r.status, r.header("ETag")), (304, Some(tag.as_str())));
}
