//! handler-core's error paths end to end: a failing or panicking view gives the 500 (html, or
//! JSON from a `process_exception` middleware) and the server keeps serving; `debug = true`
//! shows the technical pages (400 ones too); redirects refuse what Django refuses; errors are
//! logged once, in Django's words, the unhandled ones with the request line.

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

    // The cause chain, outermost first.
    let r = server.curl("/chained/", &[]);
    assert_eq!(r.status, 500);
    let page = r.text();
    assert!(page.contains("ReportFailed at /chained/"), "{page}");
    assert!(
        page.contains(
            "<h2>Caused by</h2>\n<ol>\n<li><pre>the disk holding reports is gone</pre></li>\n</ol>"
        ),
        "{page}"
    );

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

/// How many times `needle` occurs in the server's log.
fn count(server: &Server, needle: &str) -> usize {
    server.logs().matches(needle).count()
}

#[test]
fn errors_are_logged_once_in_djangos_words() {
    let dir = TempDir::new("hc-err-log");
    let server = start(
        &dir,
        &format!("debug = false\n{HOSTS}middleware = [\"common\"]\n"),
    );
    let wait = |needle: &str| {
        assert!(
            server.wait_for_log(needle, Duration::from_secs(5)),
            "{needle:?} not in the log:\n{}",
            server.logs()
        );
    };
    // An unhandled error: Django's line, then the request line, then the error and its causes.
    assert_eq!(
        server
            .curl("/boom/?x=1", &["-X", "POST", "-d", "a=b"])
            .status,
        500
    );
    wait("Internal Server Error: /boom/ (POST /boom/?x=1 HTTP/1.1)");
    wait("ParseIntError: invalid digit found in string");
    assert_eq!(server.curl("/chained/", &["--http1.0"]).status, 500);
    wait("Internal Server Error: /chained/ (GET /chained/ HTTP/1.0)");
    wait("ReportFailed: the report could not be built");
    wait("caused by: the disk holding reports is gone");

    // DisallowedHost: once, under django.security, not again as "Bad Request".
    assert_eq!(
        server
            .curl("/ok/", &["-H", "Host: evil.example.com"])
            .status,
        400
    );
    wait("Invalid HTTP_HOST header: 'evil.example.com'");
    // 405s, from the decorator and from the class-based view: only the detailed line.
    assert_eq!(server.curl("/get-only/", &["-X", "POST"]).status, 405);
    wait("Method Not Allowed (POST): /get-only/");
    assert_eq!(server.curl("/items/", &["-X", "DELETE"]).status, 405);
    wait("Method Not Allowed (DELETE): /items/");
    assert_eq!(server.curl("/forbidden/", &[]).status, 403);
    wait("Forbidden (Permission denied): /forbidden/");
    assert_eq!(server.curl("/bad-request/", &[]).status, 400);
    wait("The title is missing: /bad-request/");
    assert_eq!(server.curl("/nothing/", &[]).status, 404);
    wait("Not Found: /nothing/");

    let logs = server.logs();
    assert_eq!(count(&server, "Invalid HTTP_HOST header"), 1, "{logs}");
    assert!(
        logs.contains("ERROR django.security.DisallowedHost"),
        "{logs}"
    );
    assert_eq!(count(&server, "Bad Request"), 0, "{logs}");
    assert_eq!(count(&server, "Method Not Allowed:"), 0, "{logs}");
    assert_eq!(count(&server, "Method Not Allowed ("), 2, "{logs}");
    assert_eq!(count(&server, "Forbidden"), 1, "{logs}");
    assert_eq!(count(&server, "Internal Server Error: /boom/"), 1, "{logs}");
    assert!(
        logs.contains("WARN  django.request] Forbidden"),
        "4xx are warnings: {logs}"
    );
}

#[test]
fn redirects_resolve_like_resolve_url_and_refuse_unsafe_schemes() {
    let dir = TempDir::new("hc-err-redirect");
    let server = start(
        &dir,
        &format!("debug = false\n{HOSTS}middleware = [\"common\"]\n"),
    );
    // `redirect("nosuch")`: neither a route nor a URL, so NoReverseMatch, a 500.
    let r = server.curl("/bad-redirect/", &[]);
    assert_eq!((r.status, r.header("Location")), (500, None));
    assert!(
        server.wait_for_log(
            "NoReverseMatch: Reverse for 'nosuch'",
            Duration::from_secs(5)
        ),
        "{}",
        server.logs()
    );
    // `login_required` with a login URL that does not resolve: the same.
    let r = server.curl("/private-broken/", &[]);
    assert_eq!((r.status, r.header("Location")), (500, None));
    // `HttpResponseRedirect("javascript:…")`: DisallowedRedirect, a SuspiciousOperation.
    let r = server.curl("/unsafe-redirect/", &[]);
    assert_eq!((r.status, r.header("Location")), (400, None));
    assert!(r.text().contains("Bad Request (400)"), "{}", r.text());
    assert!(
        server.wait_for_log(
            "ERROR django.security.DisallowedRedirect] Unsafe redirect to URL with protocol 'javascript'",
            Duration::from_secs(5)
        ),
        "{}",
        server.logs()
    );
    // The good ones still redirect.
    let r = server.curl("/go-home/", &[]);
    assert_eq!((r.status, r.header("Location")), (302, Some("/")));
}

#[test]
fn debug_shows_the_technical_page_with_status_400_for_bad_and_suspicious_requests() {
    let dir = TempDir::new("hc-err-debug400");
    let server = start(&dir, "debug = true\nmiddleware = [\"common\"]\n");
    let r = server.curl("/bad-request/", &[]);
    assert_eq!(r.status, 400);
    let page = r.text();
    assert!(
        page.contains("<title>BadRequest at /bad-request/</title>"),
        "{page}"
    );
    assert!(page.contains("The title is missing"), "{page}");
    assert!(
        page.contains("testapp::bad_request"),
        "names the view: {page}"
    );

    let r = server.curl("/unsafe-redirect/", &[]);
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("DisallowedRedirect at /unsafe-redirect/"),
        "{}",
        r.text()
    );

    let r = server.curl("/ok/", &["-H", "Host: evil.example.com"]);
    assert_eq!(r.status, 400);
    let page = r.text();
    assert!(page.contains("DisallowedHost at /ok/"), "{page}");
    assert!(page.contains("You may need to add"), "{page}");

    // A body that does not parse is Django's MultiPartParserError: handler400, debug or not.
    let r = server.curl(
        "/api/meta/1/",
        &[
            "-H",
            "Content-Type: multipart/form-data",
            "--data-binary",
            "--x\r\n",
        ],
    );
    assert_eq!(r.status, 400);
    assert!(r.text().contains("Bad Request (400)"), "{}", r.text());
    assert!(
        !r.text().contains("MultiPartParserError at"),
        "{}",
        r.text()
    );
    assert!(
        server.wait_for_log(
            "Bad request (Unable to parse request body): /api/meta/1/",
            Duration::from_secs(5)
        ),
        "{}",
        server.logs()
    );
}

#[test]
fn the_technical_500_page_masks_secrets() {
    let dir = TempDir::new("hc-err-mask");
    let server = start(&dir, "debug = true\nmiddleware = [\"common\"]\n");
    let r = server.curl(
        "/boom/",
        &[
            "-H",
            "Authorization: Token tok-4f9e2a-secret",
            "-H",
            "Cookie: sessionid=cookie-7d1c-secret; theme=dark",
            "-H",
            "X-Api-Key: key-88aa-secret",
            "-H",
            "X-CSRFToken: csrf-19bd-secret",
            "-A",
            "hc-agent-visible",
        ],
    );
    assert_eq!(r.status, 500);
    let page = r.text();
    for secret in ["tok-4f9e2a", "cookie-7d1c", "key-88aa", "csrf-19bd"] {
        assert!(!page.contains(secret), "{secret} is on the page: {page}");
    }
    assert!(page.contains("********************"), "{page}");
    for key in [
        "HTTP_AUTHORIZATION",
        "HTTP_COOKIE",
        "HTTP_X_API_KEY",
        "Authorization",
    ] {
        assert!(
            page.contains(&format!("<td>{key}</td><td>********************</td>")),
            "{key} masked: {page}"
        );
    }
    assert!(
        page.contains("hc-agent-visible"),
        "other headers stay: {page}"
    );
}

#[test]
fn a_panic_in_a_middleware_hook_is_a_500_and_the_server_keeps_serving() {
    let dir = TempDir::new("hc-err-mw-panic");
    let server = start(
        &dir,
        &format!("debug = false\n{HOSTS}middleware = [\"common\", \"panicky\"]\n"),
    );
    for hook in ["request", "response", "request", "response"] {
        let r = server.curl(&format!("/ok/?panic={hook}"), &[]);
        assert_eq!(r.status, 500, "{hook}: {}", r.text());
        assert!(
            r.text().contains("<h1>Server Error (500)</h1>"),
            "{}",
            r.text()
        );
        let ok = server.curl("/ok/", &[]);
        assert_eq!((ok.status, ok.text().as_str()), (200, "ok"));
    }
    for hook in ["request", "response"] {
        let line = format!("Internal Server Error: /ok/ (GET /ok/?panic={hook} HTTP/1.1)");
        assert!(
            server.wait_for_log(&line, Duration::from_secs(5)),
            "{line}: {}",
            server.logs()
        );
        let panic = format!("Panic: process_{hook} panicked on purpose");
        assert!(server.logs().contains(&panic), "{panic}: {}", server.logs());
    }
}

#[test]
fn a_panicking_handler500_still_gives_a_plain_500() {
    let dir = TempDir::new("hc-err-h500");
    let server = start(
        &dir,
        &format!(
            "debug = false\n{HOSTS}middleware = [\"common\"]\n[app]\nhandler500 = \"panics\"\n"
        ),
    );
    for path in ["/boom/", "/panic/", "/boom/"] {
        let r = server.curl(path, &[]);
        assert_eq!(r.status, 500, "{path}");
        assert_eq!(r.text(), "<h1>Server Error (500)</h1>");
        assert_eq!(server.curl("/ok/", &[]).status, 200);
    }
    assert!(
        server.wait_for_log("handler500 failed", Duration::from_secs(5)),
        "{}",
        server.logs()
    );
    assert!(server
        .logs()
        .contains("Panic: handler500 panicked on purpose"));
}

#[test]
fn a_panicking_stream_is_cut_and_the_server_keeps_serving() {
    let dir = TempDir::new("hc-err-stream");
    let server = start(
        &dir,
        &format!("debug = false\n{HOSTS}middleware = [\"common\"]\n"),
    );
    // On the wire: the head and the first two chunks, then the connection closes without
    // the last chunk, so no client can take the body for complete.
    let request = format!(
        "GET /stream/?n=5&panic_at=2 HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n",
        server.port
    );
    let raw = tests::exchange(server.addr, request.as_bytes(), Duration::from_secs(10));
    let text = String::from_utf8_lossy(&raw).into_owned();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    let head_end = text.find("\r\n\r\n").expect("a complete head") + 4;
    let body = &raw[head_end..];
    assert!(
        tests::decode_chunked(body).is_none(),
        "the chunked body must be cut short: {text}"
    );
    assert!(
        text.contains("line 0\n") && text.contains("line 1\n"),
        "{text}"
    );
    assert!(!text.contains("line 2"), "{text}");
    // curl sees a truncated transfer.
    let r = server.curl("/stream/?n=5&panic_at=2", &[]);
    assert_ne!(r.exit_code, 0, "curl must report the cut transfer");
    assert_eq!(r.text(), "line 0\nline 1\n");
    // The server keeps serving, streams included.
    let r = server.curl("/stream/?n=3", &[]);
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, "line 0\nline 1\nline 2\n")
    );
    assert!(
        server.wait_for_log(
            "Internal Server Error: /stream/ (GET /stream/?n=5&panic_at=2 HTTP/1.1): the streaming response failed",
            Duration::from_secs(5)
        ),
        "{}",
        server.logs()
    );
    assert!(server
        .logs()
        .contains("Panic: the stream panicked on purpose at line 2"));
}
