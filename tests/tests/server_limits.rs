//! The server's limits on raw-hello: request line, header size and count, body size, the worker
//! queue (503 with Retry-After), and the head timeout against a trickling client.

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use tests::{app_lib, closes_within, parse_responses, read_more_responses, reason_phrase, Server};

/// Sends `request` on a new connection, expects one response with `status` whose body names its
/// reason phrase, then the connection to close; then checks the server still serves.
fn rejected(server: &Server, request: &[u8], status: u16) {
    let mut s = server.connect();
    s.write_all(request).expect("send request");
    let mut data = Vec::new();
    let (resps, _) = read_more_responses(&mut s, &mut data, 1, &[]);
    assert_eq!(
        resps.first().map(|r| r.status),
        Some(status),
        "got {:?}",
        String::from_utf8_lossy(&data[..data.len().min(500)])
    );
    let reason = reason_phrase(&data);
    assert!(!reason.is_empty(), "a reason phrase on the status line");
    let body = String::from_utf8_lossy(&resps[0].body).to_ascii_lowercase();
    assert!(
        body.contains(&reason.to_ascii_lowercase()),
        "the body {body:?} should name the reason {reason:?}"
    );
    assert!(
        closes_within(&mut s, Duration::from_secs(10)),
        "the connection must close after a {status}"
    );
    let r = server.curl("/plaintext", &[]);
    assert_eq!(
        r.status, 200,
        "the server must keep serving after a {status}"
    );
    assert_eq!(r.text(), "Hello, World!");
}

#[test]
fn over_long_request_line_is_414() {
    let server = Server::start(app_lib("raw_hello"));
    let request = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(5000));
    rejected(&server, request.as_bytes(), 414);
}

#[test]
fn over_long_header_is_431() {
    let server = Server::start(app_lib("raw_hello"));
    let request = format!(
        "GET /plaintext HTTP/1.1\r\nHost: x\r\nX-Long: {}\r\n\r\n",
        "b".repeat(9000)
    );
    rejected(&server, request.as_bytes(), 431);
}

#[test]
fn too_many_headers_is_431() {
    let server = Server::start(app_lib("raw_hello"));
    let mut request = String::from("GET /plaintext HTTP/1.1\r\nHost: x\r\n");
    for i in 0..150 {
        request.push_str(&format!("X-H{i}: v\r\n"));
    }
    request.push_str("\r\n");
    rejected(&server, request.as_bytes(), 431);
}

#[test]
fn body_over_the_limit_is_413() {
    let server = Server::builder(app_lib("raw_hello"))
        .args(["--limit-request-body", "1024"])
        .start();
    let mut request =
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 2000\r\n\r\n"
            .to_vec();
    request.extend_from_slice(&[b'x'; 2000]);
    rejected(&server, &request, 413);
    // A body within the limit still goes through.
    let r = server.curl("/echo", &["--data-binary", "small body"]);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "small body");
}

#[test]
fn full_queue_sheds_load_with_503_and_retry_after() {
    let server = Server::builder(app_lib("raw_hello"))
        .args(["--threads", "1", "--max-queue", "1"])
        .start();
    let addr = server.addr;
    let clients: Vec<_> = (0..10)
        .map(|_| {
            thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(addr).expect("connect");
                s.set_read_timeout(Some(Duration::from_secs(60)))
                    .expect("read timeout");
                s.write_all(b"GET /slow?ms=500 HTTP/1.1\r\nHost: x\r\n\r\n")
                    .expect("send");
                let mut data = Vec::new();
                let (resps, _) = read_more_responses(&mut s, &mut data, 1, &[]);
                resps
                    .first()
                    .map(|r| (r.status, r.header("retry-after").map(str::to_string)))
            })
        })
        .collect();
    let results: Vec<_> = clients
        .into_iter()
        .map(|c| c.join().expect("client thread"))
        .collect();
    assert!(
        results.iter().all(Option::is_some),
        "every request must get an answer: {results:?}"
    );
    let results: Vec<(u16, Option<String>)> = results.into_iter().flatten().collect();
    assert!(
        results.iter().all(|(s, _)| *s == 200 || *s == 503),
        "only 200 and 503 expected: {results:?}"
    );
    let ok = results.iter().filter(|(s, _)| *s == 200).count();
    let shed = results.iter().filter(|(s, _)| *s == 503).count();
    assert!(ok >= 1 && shed >= 1, "some of each: {results:?}");
    assert!(
        results
            .iter()
            .filter(|(s, _)| *s == 503)
            .all(|(_, retry)| retry.is_some()),
        "every 503 carries Retry-After: {results:?}"
    );
}

#[test]
fn trickled_head_is_cut_off_after_the_timeout_while_others_are_served() {
    let server = Server::builder(app_lib("raw_hello"))
        .args(["--timeout", "2"])
        .start();
    let started = Instant::now();
    let mut slow = server.connect();
    slow.set_read_timeout(Some(Duration::from_secs(15)))
        .expect("read timeout");
    let mut writer = slow.try_clone().expect("clone the trickling socket");
    let trickle = thread::spawn(move || {
        for &b in b"GET /plaintext HTTP/1.1\r\nHost: x\r\nX-Trickle: aaaaaaaaaaaaaaaaaaaaaaa" {
            if writer.write_all(&[b]).is_err() {
                break;
            }
            thread::sleep(Duration::from_secs(1));
        }
    });

    // Ask early: a server blocked on the trickler would only answer when it is cut off at
    // about 2 s, so a quick answer here shows the two are independent.
    thread::sleep(Duration::from_millis(300));
    let asked = Instant::now();
    let r = server.curl("/plaintext", &[]);
    let took = asked.elapsed();
    assert_eq!(r.status, 200, "another client is served during the trickle");
    assert!(
        took < Duration::from_millis(1200),
        "the other client waited {took:?}"
    );

    let raw = tests::read_until_closed(&mut slow);
    let closed_after = started.elapsed();
    assert!(
        raw.is_ok(),
        "the trickling connection was still open after {closed_after:?}"
    );
    assert!(
        closed_after >= Duration::from_millis(1500) && closed_after <= Duration::from_secs(6),
        "closed after {closed_after:?}, expected about 2 s (--timeout 2)"
    );
    if let Ok(raw) = raw {
        // Whatever was sent before closing (a 408, or nothing) must not be a success.
        let (resps, _) = parse_responses(&raw, &[]);
        assert!(resps.iter().all(|r| r.status != 200), "{resps:?}");
    }
    // The trickler is not joined: the server discards what it still sends for as long as a
    // lingering close lasts (up to 30 s, as nginx's lingering_time), and the thread ends when
    // its writes fail or the test process exits.
    drop(trickle);
}

#[test]
fn the_request_line_limit_is_exact_as_in_gunicorn() {
    let server = Server::builder(app_lib("raw_hello"))
        .args(["--limit-request-line", "20"])
        .start();
    // 20 bytes without the CRLF: within the limit, so the app answers (404: no such route).
    let line = "GET /abcdef HTTP/1.1";
    assert_eq!(line.len(), 20);
    let mut s = server.connect();
    s.write_all(format!("{line}\r\nHost: x\r\n\r\n").as_bytes())
        .expect("send");
    let mut data = Vec::new();
    let (resps, _) = read_more_responses(&mut s, &mut data, 1, &[]);
    assert_eq!(
        resps.first().map(|r| r.status),
        Some(404),
        "{:?}",
        String::from_utf8_lossy(&data)
    );
    // 21 bytes: 414 (rejected() cannot be used: its /plaintext check is itself over 20 bytes).
    let line = "GET /abcdefg HTTP/1.1";
    assert_eq!(line.len(), 21);
    let mut s = server.connect();
    s.write_all(format!("{line}\r\nHost: x\r\n\r\n").as_bytes())
        .expect("send");
    let raw = tests::read_until_closed(&mut s).expect("the server closes after a 414");
    let (resps, _) = parse_responses(&raw, &[]);
    assert_eq!(
        resps.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![414],
        "{:?}",
        String::from_utf8_lossy(&raw)
    );
    assert_eq!(
        String::from_utf8_lossy(&resps[0].body),
        "URI Too Long: request line too long\n"
    );
}

#[test]
fn a_client_that_stops_reading_does_not_pin_the_only_worker() {
    let server = Server::builder(app_lib("raw_hello"))
        .args(["--threads", "1", "--timeout", "2"])
        .start();
    // A client with a tiny receive window uploads 40 MiB to /echo and never reads the echo:
    // the app's writes block once the socket and the write bound are full. The body streams,
    // so the upload itself stalls too, and the server cuts the connection after --timeout:
    // the uploader, on its own thread, sees its write fail.
    let mut stalled = tests::connect_with_small_receive_buffer(server.addr, 4096);
    let body_len = 40 * 1024 * 1024;
    stalled
        .write_all(
            format!("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {body_len}\r\n\r\n")
                .as_bytes(),
        )
        .expect("send head");
    let mut uploader = stalled.try_clone().expect("clone the socket");
    let upload = std::thread::spawn(move || uploader.write_all(&vec![b'x'; body_len]).is_ok());
    std::thread::sleep(Duration::from_millis(300));
    let asked = Instant::now();
    let r = server.curl("/plaintext", &["--max-time", "20"]);
    let took = asked.elapsed();
    // A handler waiting on its client does not hold the only thread: the other request runs
    // at once, long before the stalled client is cut off.
    assert_eq!(
        r.status, 200,
        "another request is served while the stalled client blocks its handler ({took:?}, curl {}); log:\n{}",
        r.stderr,
        server.logs()
    );
    assert!(
        took < Duration::from_millis(1500),
        "served after {took:?}; the stalled handler's wait must not count against --threads 1"
    );
    assert!(
        server.wait_for_log("client read nothing for", Duration::from_secs(10)),
        "the stalled client is cut off after --timeout 2, and it is logged; log:\n{}",
        server.logs()
    );
    assert!(
        !upload.join().expect("the uploader"),
        "the upload cannot complete: the connection was cut"
    );
    // The stalled connection itself was closed: reading drains what was sent, then EOF/reset.
    assert!(
        closes_within(&mut stalled, Duration::from_secs(10)),
        "the stalled connection must be closed"
    );
}

#[test]
fn bad_requests_name_their_reason_in_the_body_and_close() {
    let server = Server::start(app_lib("raw_hello"));
    for (request, body) in [
        (
            &b"GET /plaintext HTTP/1.1 extra\r\nHost: x\r\n\r\n"[..],
            "Bad Request: malformed request\n",
        ),
        (
            b"G@T /plaintext HTTP/1.1\r\nHost: x\r\n\r\n",
            "Bad Request: invalid request line\n",
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            "Bad Request: both Content-Length and Transfer-Encoding\n",
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
            "Bad Request: malformed chunked body\n",
        ),
    ] {
        let mut s = server.connect();
        s.write_all(request).expect("send");
        let raw = tests::read_until_closed(&mut s).unwrap_or_else(|e| {
            panic!(
                "the server must close after a 400 to {:?}: {e}",
                String::from_utf8_lossy(request)
            )
        });
        let (resps, _) = parse_responses(&raw, &[]);
        assert_eq!(resps.len(), 1, "{:?}", String::from_utf8_lossy(&raw));
        assert_eq!(resps[0].status, 400);
        assert_eq!(String::from_utf8_lossy(&resps[0].body), body);
        assert_eq!(resps[0].header("connection"), Some("close"));
        assert_eq!(
            resps[0].header("content-length"),
            Some(body.len().to_string().as_str())
        );
    }
}
