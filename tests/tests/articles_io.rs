//! The articles app's contract (shared/contracts/articles-app.md), part 4: bodies and time.
//! Echo of large and chunked uploads, the streaming response, the slow view, the api_logging
//! middleware's log line, and articles surviving a restart.

mod articles_support;

use std::time::{Duration, Instant};

use articles_support::*;
use serde_json::json;
use tests::pseudo_random_bytes;

#[test]
fn echo_returns_a_1mib_binary_body_byte_for_byte() {
    let app = App::start("echo-big");
    let data = pseudo_random_bytes(1 << 20, 42);
    let file = app.dir.dir.write("upload.bin", &data);
    let at_file = format!("@{}", file.display());
    let r = app.curl(
        "/api/echo/",
        &[
            "-H",
            "Content-Type: application/octet-stream",
            "--data-binary",
            &at_file,
        ],
    );
    assert_status(&r, 200);
    assert_eq!(r.header("Content-Type"), Some("application/octet-stream"));
    assert_eq!(r.body.len(), data.len());
    assert!(r.body == data, "the body comes back byte for byte");
}

#[test]
fn echo_returns_a_chunked_upload() {
    let app = App::start("echo-chunked");
    let data = pseudo_random_bytes(300_000, 7);
    let file = app.dir.dir.write("upload.bin", &data);
    let at_file = format!("@{}", file.display());
    let r = app.curl(
        "/api/echo/",
        &[
            "-H",
            "Content-Type: image/x-test",
            "-H",
            "Transfer-Encoding: chunked",
            "--data-binary",
            &at_file,
        ],
    );
    assert_status(&r, 200);
    assert_eq!(r.header("Content-Type"), Some("image/x-test"));
    assert!(r.body == data, "chunked upload comes back byte for byte");
}

#[test]
fn echo_keeps_text_and_empty_bodies() {
    let app = App::start("echo-small");
    let r = app.curl(
        "/api/echo/",
        &[
            "-H",
            "Content-Type: text/plain; charset=utf-8",
            "--data-binary",
            "héllo\r\n",
        ],
    );
    assert_status(&r, 200);
    assert_eq!(r.header("Content-Type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.text(), "héllo\r\n");

    let r = app.curl(
        "/api/echo/",
        &["-X", "POST", "-H", "Content-Type: text/plain"],
    );
    assert_status(&r, 200);
    assert!(r.body.is_empty());
}

#[test]
fn echo_is_post_only() {
    let app = App::start("echo-get");
    let r = app.curl("/api/echo/", &[]);
    assert_status(&r, 405);
    assert_eq!(r.header("Allow"), Some("POST"));
}

fn expected_lines(n: usize) -> String {
    (0..n).map(|i| format!("line {i}\n")).collect()
}

#[test]
fn stream_sends_n_lines_chunked() {
    let app = App::start("stream");
    let r = app.curl("/api/stream/?n=5", &[]);
    assert_status(&r, 200);
    assert_eq!(r.header("Transfer-Encoding"), Some("chunked"));
    assert!(r.header("Content-Length").is_none());
    assert_eq!(r.text(), expected_lines(5));

    let r = app.curl("/api/stream/", &[]);
    assert_status(&r, 200);
    assert_eq!(r.text(), expected_lines(10), "n defaults to 10");

    let r = app.curl("/api/stream/?n=2500", &[]);
    assert_status(&r, 200);
    assert_eq!(r.text(), expected_lines(2500));
}

#[test]
fn stream_is_capped_at_10000_lines() {
    let app = App::start("stream-cap");
    let r = app.curl("/api/stream/?n=50000", &[]);
    assert_status(&r, 200);
    assert_eq!(r.text(), expected_lines(10_000));
}

#[test]
fn stream_over_http_1_0_is_close_delimited() {
    let app = App::start("stream-10");
    let r = app.curl("/api/stream/?n=3", &["--http1.0"]);
    assert_status(&r, 200);
    assert!(r.header("Transfer-Encoding").is_none());
    assert_eq!(r.text(), expected_lines(3));
}

#[test]
fn slow_sleeps_the_asked_time() {
    let app = App::start("slow");
    let started = Instant::now();
    let r = app.curl("/api/slow/?ms=300", &[]);
    let took = started.elapsed();
    assert_json(&r, 200, json!({"slept_ms": 300}));
    assert!(took >= Duration::from_millis(300), "took {took:?}");
    let timer = assert_common_headers(&r);
    assert!(timer >= 299.0, "X-Duration-ms measures the view: {timer}");

    let r = app.curl("/api/slow/?ms=0", &[]);
    assert_json(&r, 200, json!({"slept_ms": 0}));
}

#[test]
fn api_logging_logs_method_path_status_duration_and_json_bodies() {
    let app = App::start("api-logging");
    let r = app.curl(
        "/api/articles/",
        &[
            &JSON[..],
            &[
                "--data-binary",
                r#"{"title": "Logged", "content": "zebra-47"}"#,
            ],
        ]
        .concat(),
    );
    assert_status(&r, 201);
    let id = r.json()["id"].as_i64().expect("id");
    assert!(
        app.wait_for_log("zebra-47", Duration::from_secs(5)),
        "the request body is logged:\n{}",
        app.logs()
    );
    let logs = app.logs();
    let line = logs
        .lines()
        .find(|l| l.contains("zebra-47"))
        .expect("log line");
    assert!(line.contains("api_logging"), "{line}");
    assert!(line.contains("POST"), "method: {line}");
    assert!(line.contains("/api/articles/"), "path: {line}");
    assert!(line.contains("201"), "status: {line}");
    assert!(line.contains("ms"), "duration: {line}");
    assert!(
        line.contains("Article created successfully"),
        "response body: {line}"
    );
    assert!(line.contains(&id.to_string()), "response body: {line}");

    // Only /api/ paths are logged.
    let r = app.curl("/login/?marker=quokka", &[]);
    assert_status(&r, 200);
    let r = app.curl("/api/success/?marker=wombat", &[]);
    assert_status(&r, 200);
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline
        && !app
            .logs()
            .lines()
            .any(|l| l.contains("api_logging") && l.contains("/api/success/"))
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let logs = app.logs();
    assert!(
        !logs
            .lines()
            .any(|l| l.contains("api_logging") && l.contains("/login/")),
        "non-API paths are not logged by api_logging:\n{logs}"
    );
    assert!(
        logs.lines()
            .any(|l| l.contains("api_logging") && l.contains("/api/success/")),
        "{logs}"
    );
}

#[test]
fn articles_survive_a_restart() {
    let mut app = App::start("restart");
    let r = app.curl(
        "/api/articles/",
        &["-d", "title=Durable", "-d", "content=still here"],
    );
    assert_status(&r, 201);
    let id = r.json()["id"].as_i64().expect("id");

    app.server.signal(libc::SIGTERM);
    let status = app
        .server
        .wait_exit(Duration::from_secs(30))
        .expect("portico stops on SIGTERM");
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");

    let server = app.dir.start();
    let r = server.curl(&format!("/api/articles/{id}/"), &[]);
    assert_json(
        &r,
        200,
        json!({"id": id, "title": "Durable", "content": "still here"}),
    );
    let r = server.curl("/api/articles/", &[]);
    assert_json(
        &r,
        200,
        json!({"articles": [{"id": id, "title": "Durable", "content": "still here"}]}),
    );
}

#[test]
fn concurrent_writers_all_succeed() {
    let app = App::start("writers");
    let url = app.url("/api/articles/");
    let workers: Vec<_> = (0..20)
        .map(|i| {
            let url = url.clone();
            std::thread::spawn(move || {
                let t = format!("title=w{i}");
                tests::curl(&["-d", &t, "-d", "content=c", url.as_str()])
            })
        })
        .collect();
    for w in workers {
        let r = w.join().expect("curl thread");
        assert_status(&r, 201);
    }
    let r = app.curl("/api/articles/", &[]);
    assert_eq!(r.json()["articles"].as_array().map(Vec::len), Some(20));
}
