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
    // The server joins repeated fields as gunicorn does, before the app sees them.
    assert_eq!(doc["headers"]["x-tag"], "one,two");
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
    // The name without the version, as gunicorn sends it since 20.1.
    assert_eq!(r.header("server"), Some("portico"));
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

#[test]
fn absolute_form_target_routes_by_its_path_and_its_authority_is_the_host() {
    let server = raw_hello();
    let mut s = server.connect();
    // RFC 9112 section 3.2.2: the server MUST accept absolute-form; the target's authority
    // replaces the Host header.
    s.write_all(
        b"GET http://x/headers?a=1 HTTP/1.1\r\nHost: ignored.example\r\n\r\n\
GET HTTP://Other.Example:8080 HTTP/1.1\r\nHost: y\r\nConnection: close\r\n\r\n",
    )
    .expect("send");
    let resps = read_responses(&mut s, 2, &[]);
    assert_eq!(resps.len(), 2, "{resps:?}");
    assert_eq!(resps[0].status, 200, "{resps:?}");
    let doc: serde_json::Value = serde_json::from_slice(&resps[0].body).expect("/headers is JSON");
    assert_eq!(doc["path"], "/headers");
    assert_eq!(doc["query"], "a=1");
    assert_eq!(doc["headers"]["host"], "x", "{doc}");
    // No path at all means `/`, which raw-hello does not serve.
    assert_eq!(resps[1].status, 404, "{resps:?}");
}

#[test]
fn http_1_0_keep_alive_serves_two_requests_on_one_connection() {
    let server = raw_hello();
    let mut s = server.connect();
    let mut data = Vec::new();
    for (i, path) in ["/plaintext", "/json"].into_iter().enumerate() {
        let request = format!("GET {path} HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n");
        s.write_all(request.as_bytes())
            .expect("send on the same connection");
        let (resps, _) = read_more_responses(&mut s, &mut data, i + 1, &[]);
        assert_eq!(
            resps.len(),
            i + 1,
            "request {} on the kept-alive connection: {:?}",
            i + 1,
            String::from_utf8_lossy(&data)
        );
        let r = &resps[i];
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header("connection")
                .map(str::to_ascii_lowercase)
                .as_deref(),
            Some("keep-alive"),
            "an HTTP/1.0 keep-alive response must say so: {r:?}"
        );
        assert!(r.header("content-length").is_some(), "{r:?}");
    }
    let (resps, _) = parse_responses(&data, &[]);
    assert_eq!(body_text(&resps[0]), "Hello, World!");
    assert_eq!(body_text(&resps[1]), r#"{"message":"Hello, World!"}"#);
}

#[test]
fn chunked_body_with_extensions_and_trailers_is_echoed() {
    let server = raw_hello();
    let mut s = server.connect();
    s.write_all(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n\
Transfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n\
5;name=value;flag\r\nhello\r\n1 ; q=\"a b\"\r\n \r\n5\r\nworld\r\n\
0;last\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n",
    )
    .expect("send");
    let mut data = Vec::new();
    let (resps, _) = read_more_responses(&mut s, &mut data, 1, &[]);
    assert_eq!(resps.len(), 1, "{:?}", String::from_utf8_lossy(&data));
    assert_eq!(resps[0].status, 200);
    assert_eq!(body_text(&resps[0]), "hello world");
    assert_eq!(resps[0].header("content-type"), Some("text/plain"));
    // The connection is still usable: the trailers were consumed, not left as a next request.
    s.write_all(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send");
    let (resps, _) = read_more_responses(&mut s, &mut data, 2, &[]);
    assert_eq!(resps.len(), 2, "{:?}", String::from_utf8_lossy(&data));
    assert_eq!(body_text(&resps[1]), "Hello, World!");
}

#[test]
fn http_1_1_without_host_is_400_and_http_1_0_without_host_is_served() {
    let server = raw_hello();
    let mut s = server.connect();
    s.write_all(b"GET /plaintext HTTP/1.1\r\nUser-Agent: t\r\n\r\n")
        .expect("send");
    let raw = read_until_closed(&mut s).expect("the server must close after a 400");
    let (resps, _) = parse_responses(&raw, &[]);
    assert_eq!(resps.len(), 1, "{:?}", String::from_utf8_lossy(&raw));
    assert_eq!(resps[0].status, 400);
    assert_eq!(body_text(&resps[0]), "Bad Request: missing Host header\n");

    let mut s = server.connect();
    s.write_all(b"GET /plaintext HTTP/1.0\r\n\r\n")
        .expect("send");
    let raw = read_until_closed(&mut s).expect("HTTP/1.0: the server closes after the response");
    let (resps, _) = parse_responses(&raw, &[]);
    assert_eq!(resps.first().map(|r| r.status), Some(200), "{raw:?}");
}

#[test]
fn a_transfer_coding_we_do_not_implement_is_501_and_closes() {
    let server = raw_hello();
    let mut s = server.connect();
    s.write_all(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    )
    .expect("send");
    let raw = read_until_closed(&mut s).expect("the server must close after a 501");
    let (resps, _) = parse_responses(&raw, &[]);
    assert_eq!(resps.len(), 1, "{:?}", String::from_utf8_lossy(&raw));
    assert_eq!(resps[0].status, 501);
    assert_eq!(
        body_text(&resps[0]),
        "Not Implemented: unsupported transfer coding\n"
    );
    // A coding after chunked is bad framing, not an unknown coding: 400.
    let mut s = server.connect();
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n")
        .expect("send");
    let raw = read_until_closed(&mut s).expect("the server must close after a 400");
    let (resps, _) = parse_responses(&raw, &[]);
    assert_eq!(resps.first().map(|r| r.status), Some(400), "{raw:?}");
}
