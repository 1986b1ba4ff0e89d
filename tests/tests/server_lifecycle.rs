//! The server's life cycle on raw-hello: an app that breaks the ABI (502 and a log line naming
//! it), graceful shutdown on SIGTERM, the access log, the app's own log records,
//! `--check-config` and `--version`.

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use tests::{app_lib, read_more_responses, Server};

#[test]
fn no_response_is_502_and_the_server_keeps_serving() {
    let server = Server::start(app_lib("raw_hello"));
    assert!(server.wait_for_log("raw-hello ready", Duration::from_secs(10)));
    let before = server.logs().len();
    let r = server.curl("/no-response", &[]);
    assert_eq!(r.status, 502, "{:?}", r.raw_headers);
    let r = server.curl("/plaintext", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "Hello, World!");

    let deadline = Instant::now() + Duration::from_secs(10);
    let names_app = |text: &str| {
        text.lines()
            .any(|l| l.contains("raw-hello") || l.contains("raw_hello"))
    };
    loop {
        let logs = server.logs();
        let new = logs.get(before..).unwrap_or_default();
        if names_app(new) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no log line naming the app after the 502; log since:\n{new}"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_then_exits_0() {
    let mut server = Server::start(app_lib("raw_hello"));
    let mut s = server.connect();
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    s.write_all(b"GET /slow?ms=1000 HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send");
    let client = thread::spawn(move || {
        let mut data = Vec::new();
        let (resps, _) = read_more_responses(&mut s, &mut data, 1, &[]);
        resps
            .first()
            .map(|r| (r.status, String::from_utf8_lossy(&r.body).into_owned()))
    });
    thread::sleep(Duration::from_millis(400));
    server.signal(libc::SIGTERM);
    let answer = client.join().expect("client thread");
    assert_eq!(
        answer,
        Some((200, r#"{"slept_ms":1000}"#.to_string())),
        "the in-flight request must complete; log:\n{}",
        server.logs()
    );
    let status = server
        .wait_exit(Duration::from_secs(20))
        .unwrap_or_else(|| {
            panic!(
                "portico did not exit after SIGTERM; log:\n{}",
                server.logs()
            )
        });
    assert!(
        status.success(),
        "exit status {status}; log:\n{}",
        server.logs()
    );
}

#[test]
fn access_log_on_stdout_uses_the_combined_format() {
    let server = Server::builder(app_lib("raw_hello"))
        .args(["--access-logfile", "-"])
        .start();
    let r = server.curl(
        "/plaintext",
        &[
            "-A",
            "portico-test-agent/1.0",
            "-e",
            "http://ref.example/page",
        ],
    );
    assert_eq!(r.status, 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    let line = loop {
        if let Some(line) = server
            .stdout()
            .lines()
            .find(|l| l.contains("/plaintext"))
            .map(str::to_string)
        {
            break line;
        }
        assert!(
            Instant::now() < deadline,
            "no access log line on stdout; stdout:\n{}\nstderr:\n{}",
            server.stdout(),
            server.logs()
        );
        thread::sleep(Duration::from_millis(50));
    };
    // %h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"
    assert!(line.starts_with("127.0.0.1 - - ["), "{line}");
    let (time, rest) = line["127.0.0.1 - - [".len()..]
        .split_once("] ")
        .unwrap_or_else(|| panic!("no [time] field: {line}"));
    assert!(
        time.contains('/') && time.contains(':') && (time.contains('+') || time.contains('-')),
        "time like 10/Oct/2000:13:55:36 +0000: {line}"
    );
    assert_eq!(
        rest,
        "\"GET /plaintext HTTP/1.1\" 200 13 \"http://ref.example/page\" \"portico-test-agent/1.0\"",
        "{line}"
    );
}

#[test]
fn the_apps_log_record_reaches_the_server_log() {
    let server = Server::start(app_lib("raw_hello"));
    assert!(
        server.wait_for_log("raw-hello ready", Duration::from_secs(10)),
        "log:\n{}",
        server.logs()
    );
}

#[test]
fn check_config_on_raw_hello_exits_0() {
    let port = tests::free_port();
    let done = Server::builder(app_lib("raw_hello"))
        .bind(format!("127.0.0.1:{port}"))
        .arg("--check-config")
        .run_to_exit(Duration::from_secs(30));
    assert!(done.status.success(), "{done:?}");
}

#[test]
fn version_prints_the_version() {
    let done = Server::builder(app_lib("raw_hello"))
        .arg("--version")
        .run_to_exit(Duration::from_secs(30));
    assert!(done.status.success(), "{done:?}");
    assert!(
        done.stdout.contains(env!("CARGO_PKG_VERSION")),
        "{:?}",
        done.stdout
    );
}

#[test]
fn a_client_that_leaves_mid_stream_frees_its_worker() {
    let server = Server::builder(app_lib("raw_hello"))
        .args(["--threads", "1"])
        .start();
    {
        let mut s = server.connect();
        s.write_all(b"GET /stream?n=100000 HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("send");
        let mut first = [0u8; 1024];
        let n = std::io::Read::read(&mut s, &mut first).expect("the stream starts");
        assert!(first[..n].starts_with(b"HTTP/1.1 200"));
        // Dropping the socket with unread data resets the connection.
    }
    let asked = Instant::now();
    let r = server.curl("/plaintext", &[]);
    assert_eq!(r.status, 200, "the only worker must be free again");
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "took {:?}",
        asked.elapsed()
    );
}

#[test]
fn a_request_past_its_deadline_is_given_up() {
    let server = Server::builder(app_lib("raw_hello"))
        .args(["--timeout", "1"])
        .start();
    let asked = Instant::now();
    let r = server.curl("/slow?ms=20000", &[]);
    let took = asked.elapsed();
    assert!(
        r.status >= 500 || r.exit_code != 0,
        "a cancelled request must not succeed: {r:?}"
    );
    assert!(
        took < Duration::from_secs(8),
        "the app should see is_cancelled soon after the 1 s deadline; took {took:?}"
    );
    let r = server.curl("/plaintext", &[]);
    assert_eq!(r.status, 200);
}

#[test]
fn sigterm_past_the_graceful_timeout_cancels_the_request_and_exits() {
    let mut server = Server::builder(app_lib("raw_hello"))
        .args(["--graceful-timeout", "1"])
        .start();
    let mut s = server.connect();
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    s.write_all(b"GET /slow?ms=30000 HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send");
    thread::sleep(Duration::from_millis(400));
    let signalled = Instant::now();
    server.signal(libc::SIGTERM);
    let exited = server.wait_exit(Duration::from_secs(15));
    assert!(
        exited.is_some(),
        "portico must exit soon after its graceful timeout; log:\n{}",
        server.logs()
    );
    let took = signalled.elapsed();
    assert!(
        took < Duration::from_secs(8),
        "exited {took:?} after SIGTERM with --graceful-timeout 1"
    );
}
