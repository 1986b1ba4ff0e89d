//! The server's HTTP/1.1 behaviour on the bare-ABI app `raw-hello`: keep-alive, HTTP/1.0,
//! pipelining, request bodies of both framings, `Expect: 100-continue`, HEAD, streamed
//! responses, the headers the server adds, malformed requests, and unix sockets.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use tests::{
    app_lib, closes_within, curl, curl_raw, parse_responses, pseudo_random_bytes,
    read_more_responses, read_responses, read_until_closed, RawResponse, Server, TempDir,
};

fn raw_hello() -> Server {
    Server::start(app_lib("raw_hello"))
}

/// Reads from `s` into `data` until a whole response head (or interim response) has arrived.
fn read_head(s: &mut TcpStream, data: &mut Vec<u8>) {
    let mut buf = [0u8; 4096];
    while !data.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) => panic!("connection closed before a response head: {data:?}"),
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(e) => panic!(
                "no response head ({e}); got {:?}",
                String::from_utf8_lossy(data)
            ),
        }
    }
}

fn body_text(r: &RawResponse) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

#[test]
fn curl_gets_hello_world_from_plaintext() {
    let server = raw_hello();
    let r = server.curl("/plaintext", &[]);
    assert_eq!(r.exit_code, 0, "curl failed: {}", r.stderr);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "Hello, World!");
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert_eq!(r.header("content-length"), Some("13"));
}

#[test]
fn two_urls_in_one_curl_call_share_one_connection() {
    let server = raw_hello();
    let (a, b) = (server.url("/plaintext"), server.url("/json"));
    let out = curl_raw(&[
        "-sS",
        "--max-time",
        "30",
        "-o",
        "/dev/null",
        "-o",
        "/dev/null",
        "--write-out",
        "%{http_code} %{num_connects}\n",
        &a,
        &b,
    ]);
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        vec!["200 1", "200 0"],
        "the second request must reuse the first connection"
    );
}

#[test]
fn http_1_0_is_answered_and_the_connection_closes() {
    let server = raw_hello();
    let r = server.curl("/plaintext", &["--http1.0"]);
    assert_eq!(r.exit_code, 0, "curl failed: {}", r.stderr);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "Hello, World!");

    let mut s = server.connect();
    s.write_all(b"GET /plaintext HTTP/1.0\r\nHost: x\r\n\r\n")
        .expect("send");
    let raw = read_until_closed(&mut s)
        .expect("an HTTP/1.0 request without keep-alive must end with the server closing");
    let (resps, rest) = parse_responses(&raw, &[]);
    assert_eq!(resps.len(), 1, "{:?}", String::from_utf8_lossy(&raw));
    assert_eq!(resps[0].status, 200);
    assert_eq!(resps[0].body, b"Hello, World!");
    assert!(rest.is_empty());
    assert!(raw.starts_with(b"HTTP/1."), "status line: {raw:?}");
}

#[test]
fn three_pipelined_requests_get_three_answers_in_order() {
    let server = raw_hello();
    let mut s = server.connect();
    s.write_all(
        b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n\
GET /json HTTP/1.1\r\nHost: x\r\n\r\n\
GET /headers?third=1 HTTP/1.1\r\nHost: x\r\nX-Order: 3\r\n\r\n",
    )
    .expect("send three requests in one write");
    let resps = read_responses(&mut s, 3, &[]);
    assert_eq!(resps.len(), 3, "{resps:?}");
    assert!(resps.iter().all(|r| r.status == 200), "{resps:?}");
    assert_eq!(body_text(&resps[0]), "Hello, World!");
    assert_eq!(body_text(&resps[1]), r#"{"message":"Hello, World!"}"#);
    let doc: serde_json::Value = serde_json::from_slice(&resps[2].body).expect("/headers is JSON");
    assert_eq!(doc["path"], "/headers");
    assert_eq!(doc["query"], "third=1");
    assert_eq!(doc["headers"]["x-order"], "3");
}

#[test]
fn headers_route_sees_method_version_and_joined_repeats() {
    let server = raw_hello();
    let r = server.curl(
        "/headers?a=b",
        &[
            "-H",
            "X-Tag: one",
            "-H",
            "X-Tag: two",
            "-H",
            "X-Quote: \"q\"",
        ],
    );
    assert_eq!(r.status, 200);
    let doc = r.json();
    assert_eq!(doc["method"], "GET");
    assert_eq!(doc["version"], "HTTP/1.1");
    assert_eq!(doc["query"], "a=b");
    assert_eq!(doc["headers"]["x-tag"], "one, two");
    assert_eq!(doc["headers"]["x-quote"], "\"q\"");
}

fn echo_5mib(extra: &[&str]) {
    let server = raw_hello();
    let dir = TempDir::new("echo5");
    let data = pseudo_random_bytes(5 * 1024 * 1024, 5);
    let file = dir.write("body.bin", &data);
    let at = format!("@{}", file.display());
    let mut args = vec![
        "-H",
        "Content-Type: application/octet-stream",
        "--data-binary",
        &at,
    ];
    args.extend_from_slice(extra);
    let r = server.curl("/echo", &args);
    assert_eq!(r.exit_code, 0, "curl failed: {}", r.stderr);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    assert_eq!(r.body.len(), data.len());
    assert!(r.body == data, "the echoed body differs from the upload");
}

#[test]
fn five_mib_post_with_content_length_echoes_byte_for_byte() {
    echo_5mib(&[]);
}

#[test]
fn five_mib_chunked_post_echoes_byte_for_byte() {
    echo_5mib(&["-H", "Transfer-Encoding: chunked"]);
}

#[test]
fn expect_100_continue_gets_100_before_the_body_is_sent() {
    let server = raw_hello();
    let mut s = server.connect();
    s.write_all(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n\
Content-Length: 11\r\nExpect: 100-continue\r\n\r\n",
    )
    .expect("send head");
    let mut data = Vec::new();
    read_head(&mut s, &mut data);
    assert!(
        data.starts_with(b"HTTP/1.1 100 Continue\r\n"),
        "expected 100 Continue first, got {:?}",
        String::from_utf8_lossy(&data)
    );
    s.write_all(b"hello world").expect("send body");
    let (resps, _) = read_more_responses(&mut s, &mut data, 1, &[]);
    let finals: Vec<&RawResponse> = resps.iter().filter(|r| r.status >= 200).collect();
    assert_eq!(finals.len(), 1, "{resps:?}");
    assert_eq!(finals[0].status, 200);
    assert_eq!(finals[0].body, b"hello world");
}

#[test]
fn head_has_the_get_headers_and_no_body() {
    let server = raw_hello();
    let mut s = server.connect();
    s.write_all(b"HEAD /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send HEAD");
    let mut data = Vec::new();
    read_head(&mut s, &mut data);
    // Let any stray body bytes arrive before the next request, so they would show up as garbage.
    std::thread::sleep(Duration::from_millis(200));
    s.write_all(b"GET /json HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send GET on the same connection");
    let (resps, rest) = read_more_responses(&mut s, &mut data, 2, &[true]);
    assert_eq!(resps.len(), 2, "{:?}", String::from_utf8_lossy(&data));
    assert_eq!(resps[0].status, 200);
    assert_eq!(resps[0].header("content-length"), Some("13"));
    assert_eq!(resps[0].header("content-type"), Some("text/plain"));
    assert_eq!(resps[1].status, 200, "{:?}", String::from_utf8_lossy(&data));
    assert_eq!(body_text(&resps[1]), r#"{"message":"Hello, World!"}"#);
    assert!(rest.is_empty(), "bytes after the responses: {rest:?}");
}

#[test]
fn stream_of_1000_chunks_arrives_chunked_whole_and_in_order() {
    let server = raw_hello();
    let r = server.curl("/stream?n=1000", &[]);
    assert_eq!(r.exit_code, 0, "curl failed: {}", r.stderr);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert_eq!(r.header("content-length"), None);
    let expected: String = (0..1000).map(|i| format!("chunk {i}\n")).collect();
    assert_eq!(r.text(), expected);
}

#[test]
fn responses_carry_date_and_server_headers() {
    let server = raw_hello();
    let r = server.curl("/plaintext", &[]);
    assert_eq!(r.status, 200);
    let date = r.header("date").expect("a Date header");
    assert!(
        date.ends_with(" GMT") && date.len() == 29,
        "Date must be an IMF-fixdate: {date:?}"
    );
    let server_header = r.header("server").expect("a Server header");
    assert!(!server_header.is_empty());
}

#[test]
fn content_length_with_transfer_encoding_is_400_and_closes() {
    let server = raw_hello();
    let mut s = server.connect();
    s.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
    )
    .expect("send");
    let raw = read_until_closed(&mut s).expect("the server must close after a 400");
    let (resps, _) = parse_responses(&raw, &[]);
    assert_eq!(resps.len(), 1, "{:?}", String::from_utf8_lossy(&raw));
    assert_eq!(resps[0].status, 400);
}

#[test]
fn malformed_chunked_body_is_400() {
    let server = raw_hello();
    let mut s = server.connect();
    s.write_all(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    )
    .expect("send");
    let mut data = Vec::new();
    let (resps, _) = read_more_responses(&mut s, &mut data, 1, &[]);
    assert_eq!(resps.len(), 1, "{:?}", String::from_utf8_lossy(&data));
    assert_eq!(resps[0].status, 400);
    assert!(
        closes_within(&mut s, Duration::from_secs(10)),
        "the connection must close after a malformed body"
    );
}

#[test]
fn unix_socket_serves_plaintext() {
    let dir = TempDir::new("unix");
    let sock = dir.path().join("portico.sock");
    let sock_text = sock.display().to_string();
    let _server = Server::builder(app_lib("raw_hello"))
        .bind(format!("unix:{sock_text}"))
        .start();
    let deadline = Instant::now() + Duration::from_secs(30);
    let r = loop {
        let r = curl(&["--unix-socket", &sock_text, "http://localhost/plaintext"]);
        if r.status == 200 || Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(r.status, 200, "curl: {}", r.stderr);
    assert_eq!(r.text(), "Hello, World!");
}

#[test]
fn connection_close_is_honoured_after_the_response() {
    let server = raw_hello();
    let mut s = server.connect();
    s.write_all(b"GET /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("send");
    let raw = read_until_closed(&mut s).expect("the server must close after Connection: close");
    let (resps, rest) = parse_responses(&raw, &[]);
    assert_eq!(resps.len(), 1, "{:?}", String::from_utf8_lossy(&raw));
    assert_eq!(body_text(&resps[0]), r#"{"message":"Hello, World!"}"#);
    assert!(rest.is_empty());
}

#[test]
fn idle_keep_alive_connection_is_closed_after_keep_alive_seconds() {
    let server = Server::builder(app_lib("raw_hello"))
        .args(["--keep-alive", "1"])
        .start();
    let mut s = server.connect();
    s.write_all(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send");
    let mut data = Vec::new();
    let (resps, _) = read_more_responses(&mut s, &mut data, 1, &[]);
    assert_eq!(resps.first().map(|r| r.status), Some(200));
    let idle_from = Instant::now();
    assert!(
        closes_within(&mut s, Duration::from_secs(10)),
        "an idle keep-alive connection must be closed"
    );
    let idle = idle_from.elapsed();
    assert!(
        idle >= Duration::from_millis(500) && idle <= Duration::from_secs(5),
        "closed after {idle:?} idle, expected about 1 s (--keep-alive 1)"
    );
}

#[test]
fn http_1_0_stream_is_whole_without_chunked_framing() {
    let server = raw_hello();
    let mut s = server.connect();
    s.write_all(b"GET /stream?n=2000 HTTP/1.0\r\nHost: x\r\n\r\n")
        .expect("send");
    let raw = read_until_closed(&mut s).expect("HTTP/1.0: the server closes after the response");
    let (resps, _) = parse_responses(&raw, &[]);
    assert_eq!(resps.len(), 1);
    assert_eq!(resps[0].status, 200);
    assert_eq!(
        resps[0].header("transfer-encoding"),
        None,
        "an HTTP/1.0 client cannot read chunked framing"
    );
    let expected: String = (0..2000).map(|i| format!("chunk {i}\n")).collect();
    assert_eq!(body_text(&resps[0]), expected);
}
