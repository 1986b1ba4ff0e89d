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

/// A request in flight when `signal` arrives completes with 200, then the process exits 0.
fn signal_lets_the_request_in_flight_finish_then_exits_0(signal: i32, name: &str) {
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
    server.signal(signal);
    let answer = client.join().expect("client thread");
    assert_eq!(
        answer,
        Some((200, r#"{"slept_ms":1000}"#.to_string())),
        "the in-flight request must complete after {name}; log:\n{}",
        server.logs()
    );
    let status = server
        .wait_exit(Duration::from_secs(20))
        .unwrap_or_else(|| panic!("portico did not exit after {name}; log:\n{}", server.logs()));
    assert!(
        status.success(),
        "exit status {status} after {name}; log:\n{}",
        server.logs()
    );
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_then_exits_0() {
    signal_lets_the_request_in_flight_finish_then_exits_0(libc::SIGTERM, "SIGTERM");
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

/// Requests `path` on a connection, expects 502 with the server's body, a log line naming the
/// app and `why`, and then a 200 on the same connection and on a new one.
fn broken_route_is_502_then_the_server_keeps_serving(path: &str, why: &str) {
    let server = Server::start(app_lib("raw_hello"));
    let mut s = server.connect();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .expect("send");
    let mut data = Vec::new();
    let (resps, _) = read_more_responses(&mut s, &mut data, 1, &[]);
    assert_eq!(
        resps.first().map(|r| r.status),
        Some(502),
        "{:?}",
        String::from_utf8_lossy(&data)
    );
    assert_eq!(
        String::from_utf8_lossy(&resps[0].body),
        "Bad Gateway: the application failed\n"
    );
    let names_app_and_why = |l: &&str| l.contains("raw-hello") && l.contains(why);
    assert!(
        server.wait_for_log(why, Duration::from_secs(10))
            && server.logs().lines().any(|l| names_app_and_why(&l)),
        "no log line naming the app and {why:?}; log:\n{}",
        server.logs()
    );
    s.write_all(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send the next request on the same connection");
    let (resps, _) = read_more_responses(&mut s, &mut data, 2, &[]);
    assert_eq!(resps.get(1).map(|r| r.status), Some(200), "{resps:?}");
    let r = server.curl("/plaintext", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "Hello, World!");
}

#[test]
fn a_second_start_response_is_502_and_the_server_keeps_serving() {
    broken_route_is_502_then_the_server_keeps_serving(
        "/double-start",
        "called start_response twice",
    );
}

#[test]
fn an_error_code_before_any_byte_is_502_and_the_server_keeps_serving() {
    broken_route_is_502_then_the_server_keeps_serving("/fail-early", "returned error -8");
}

#[test]
fn sigint_lets_the_request_in_flight_finish_then_exits_0() {
    signal_lets_the_request_in_flight_finish_then_exits_0(libc::SIGINT, "SIGINT");
}

/// The start-up line logged at debug (the limits), absent at info.
const DEBUG_LINE: &str = "limits: request line";

#[test]
fn rust_log_wins_over_log_level() {
    // --log-level info alone: no debug lines.
    let server = Server::builder(app_lib("raw_hello"))
        .args(["--log-level", "info"])
        .env_remove("RUST_LOG")
        .start();
    assert_eq!(server.curl("/plaintext", &[]).status, 200);
    assert!(server.wait_for_log("serving app", Duration::from_secs(10)));
    thread::sleep(Duration::from_millis(200));
    assert!(
        !server.logs().contains(DEBUG_LINE),
        "--log-level info must not show debug lines; log:\n{}",
        server.logs()
    );
    drop(server);

    // RUST_LOG=debug with --log-level info: RUST_LOG wins, the debug line appears.
    let server = Server::builder(app_lib("raw_hello"))
        .args(["--log-level", "info"])
        .env("RUST_LOG", "debug")
        .start();
    assert!(
        server.wait_for_log(DEBUG_LINE, Duration::from_secs(10)),
        "RUST_LOG=debug must win over --log-level info; log:\n{}",
        server.logs()
    );
    drop(server);

    // And the other way round: RUST_LOG=warn silences what --log-level debug would show.
    let server = Server::builder(app_lib("raw_hello"))
        .args(["--log-level", "debug"])
        .env("RUST_LOG", "warn")
        .start();
    assert_eq!(server.curl("/plaintext", &[]).status, 200);
    thread::sleep(Duration::from_millis(200));
    let logs = server.logs();
    assert!(
        !logs.contains(DEBUG_LINE) && !logs.contains("serving app"),
        "RUST_LOG=warn must win over --log-level debug; log:\n{logs}"
    );
}

#[test]
fn log_level_takes_gunicorns_names() {
    let server = Server::builder(app_lib("raw_hello"))
        .args(["--log-level", "warning"])
        .env_remove("RUST_LOG")
        .start();
    assert_eq!(server.curl("/plaintext", &[]).status, 200);
    thread::sleep(Duration::from_millis(200));
    assert!(
        !server.logs().contains("serving app"),
        "--log-level warning hides info lines; log:\n{}",
        server.logs()
    );
    drop(server);
    for name in ["critical", "error"] {
        let server = Server::builder(app_lib("raw_hello"))
            .args(["--log-level", name])
            .env_remove("RUST_LOG")
            .start();
        assert_eq!(server.curl("/no-response", &[]).status, 502);
        thread::sleep(Duration::from_millis(200));
        assert!(
            server.logs().contains("answering 502") && !server.logs().contains("serving app"),
            "--log-level {name} shows errors only; log:\n{}",
            server.logs()
        );
    }
    let server = Server::builder(app_lib("raw_hello"))
        .args(["--log-level", "debug"])
        .env_remove("RUST_LOG")
        .start();
    assert!(
        server.wait_for_log(DEBUG_LINE, Duration::from_secs(10)),
        "--log-level debug shows debug lines; log:\n{}",
        server.logs()
    );
}

/// The access-log lines on `server`'s stdout whose status is `status`, as (request line, bytes).
fn access_lines(server: &Server, status: u16) -> Vec<(String, String)> {
    server
        .stdout()
        .lines()
        .filter_map(|l| {
            let (_, rest) = l.split_once("] \"")?;
            let (request, rest) = rest.split_once("\" ")?;
            let mut fields = rest.split(' ');
            let s: u16 = fields.next()?.parse().ok()?;
            let bytes = fields.next()?.to_string();
            (s == status).then(|| (request.to_string(), bytes))
        })
        .collect()
}

#[test]
fn server_made_responses_count_their_body_bytes_in_the_access_log() {
    let server = Server::builder(app_lib("raw_hello"))
        .args([
            "--threads",
            "1",
            "--max-queue",
            "1",
            "--access-logfile",
            "-",
        ])
        .start();
    let addr = server.addr;
    let clients: Vec<_> = (0..8)
        .map(|_| {
            thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(addr).expect("connect");
                s.set_read_timeout(Some(Duration::from_secs(60)))
                    .expect("read timeout");
                s.write_all(b"GET /slow?ms=300 HTTP/1.1\r\nHost: x\r\n\r\n")
                    .expect("send");
                let mut data = Vec::new();
                let (resps, _) = read_more_responses(&mut s, &mut data, 1, &[]);
                resps.first().map(|r| (r.status, r.body.len()))
            })
        })
        .collect();
    let results: Vec<(u16, usize)> = clients
        .into_iter()
        .filter_map(|c| c.join().expect("client thread"))
        .collect();
    let shed: Vec<usize> = results
        .iter()
        .filter(|(s, _)| *s == 503)
        .map(|(_, n)| *n)
        .collect();
    assert!(
        !shed.is_empty(),
        "the burst must shed some load: {results:?}"
    );

    // And a 400 made by the parser.
    let mut s = server.connect();
    s.write_all(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
    )
    .expect("send");
    let raw = tests::read_until_closed(&mut s).expect("closed after the 400");
    let (resps, _) = tests::parse_responses(&raw, &[]);
    let bad_len = resps.first().map(|r| r.body.len()).expect("a 400");

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let logged_503 = access_lines(&server, 503);
        let logged_400 = access_lines(&server, 400);
        if logged_503.len() == shed.len() && logged_400.len() == 1 {
            for (request, bytes) in &logged_503 {
                assert_eq!(request, "GET /slow?ms=300 HTTP/1.1");
                assert_eq!(bytes, &shed[0].to_string(), "503 body bytes");
            }
            assert_eq!(
                logged_400[0],
                ("POST /echo HTTP/1.1".to_string(), bad_len.to_string())
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "access log:\n{}\nexpected {} 503 lines and one 400",
            server.stdout(),
            shed.len()
        );
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_client_leaving_mid_head_is_answered_but_not_logged_as_invalid() {
    let server = Server::builder(app_lib("raw_hello"))
        .args(["--access-logfile", "-"])
        .start();
    let mut s = server.connect();
    s.write_all(b"GET /plaintext HTTP/1.1\r\nHost: x\r\nX-Half: ")
        .expect("send half a head");
    s.shutdown(std::net::Shutdown::Write)
        .expect("close the write side");
    let raw = tests::read_until_closed(&mut s).expect("the server answers and closes");
    let (resps, _) = tests::parse_responses(&raw, &[]);
    assert_eq!(resps.first().map(|r| r.status), Some(400), "{raw:?}");
    // A malformed request, by contrast, is logged at info.
    let mut s = server.connect();
    s.write_all(b"GET /plaintext HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n")
        .expect("send");
    let _ = tests::read_until_closed(&mut s);
    assert!(
        server.wait_for_log(
            "Invalid request from ip=127.0.0.1: invalid header name",
            Duration::from_secs(10)
        ),
        "log:\n{}",
        server.logs()
    );
    assert!(
        !server.logs().contains("incomplete request head"),
        "a premature disconnection is not an invalid request at info; log:\n{}",
        server.logs()
    );
    // Both got their access-log line.
    let deadline = Instant::now() + Duration::from_secs(10);
    while access_lines(&server, 400).len() < 2 {
        assert!(
            Instant::now() < deadline,
            "access log:\n{}",
            server.stdout()
        );
        thread::sleep(Duration::from_millis(50));
    }
}
