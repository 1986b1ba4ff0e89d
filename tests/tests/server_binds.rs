//! Listening addresses: an IPv6 `[::1]:PORT` bind, and several `-b` in one process (two TCP ports
//! and a unix socket), each of them served.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use tests::{app_lib, curl, free_port, read_more_responses, wait_for_listener, Server, TempDir};

/// A port on ::1 that was free a moment ago, or why ::1 cannot be used here.
fn free_ipv6_loopback_port() -> Result<u16, std::io::Error> {
    let listener = TcpListener::bind("[::1]:0")?;
    Ok(listener.local_addr()?.port())
}

/// curl against a unix socket, retried while the server is still starting.
fn curl_unix(sock: &str, path: &str) -> tests::CurlResponse {
    let url = format!("http://localhost{path}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = curl(&["--unix-socket", sock, &url]);
        if r.status != 0 || Instant::now() > deadline {
            return r;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_ipv6_loopback_bind_is_served() {
    let port = match free_ipv6_loopback_port() {
        Ok(port) => port,
        Err(e) => {
            eprintln!(
                "SKIPPED an_ipv6_loopback_bind_is_served: ::1 is not available on this machine ({e})"
            );
            return;
        }
    };
    let server = Server::builder(app_lib("raw_hello"))
        .bind(format!("[::1]:{port}"))
        .start();
    let addr: SocketAddr = format!("[::1]:{port}").parse().expect("an IPv6 address");
    assert!(
        wait_for_listener(addr, Duration::from_secs(30)),
        "nothing listens on {addr}; log:\n{}",
        server.logs()
    );
    assert!(
        server.logs().contains(&format!("on http://[::1]:{port}")),
        "the start-up line names the IPv6 address; log:\n{}",
        server.logs()
    );
    let url = format!("http://[::1]:{port}/plaintext");
    let r = curl(&["--globoff", &url]);
    assert_eq!(r.status, 200, "curl: {}", r.stderr);
    assert_eq!(r.text(), "Hello, World!");

    // The app sees the IPv6 peer and local addresses.
    let mut s = TcpStream::connect(addr).expect("connect to [::1]");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    s.write_all(b"GET /headers HTTP/1.1\r\nHost: [::1]\r\n\r\n")
        .expect("send");
    let mut data = Vec::new();
    let (resps, _) = read_more_responses(&mut s, &mut data, 1, &[]);
    assert_eq!(resps.first().map(|r| r.status), Some(200), "{data:?}");
    let doc: serde_json::Value = serde_json::from_slice(&resps[0].body).expect("JSON");
    assert_eq!(doc["headers"]["host"], "[::1]");
}

#[test]
fn repeated_binds_serve_two_tcp_ports_and_a_unix_socket_in_one_process() {
    let dir = TempDir::new("binds");
    let sock = dir.path().join("portico.sock");
    let sock_text = sock.display().to_string();
    let second = free_port();
    // The harness binds its own first port with --bind; these come on top of it.
    let mut server = Server::builder(app_lib("raw_hello"))
        .args([
            "-b".to_string(),
            format!("127.0.0.1:{second}"),
            "--bind".to_string(),
            format!("unix:{sock_text}"),
        ])
        .start();
    let second_addr = SocketAddr::from(([127, 0, 0, 1], second));
    assert!(
        wait_for_listener(second_addr, Duration::from_secs(30)),
        "nothing listens on the second port; log:\n{}",
        server.logs()
    );

    let first = server.curl("/plaintext", &[]);
    assert_eq!(first.status, 200, "first port: {}", first.stderr);
    assert_eq!(first.text(), "Hello, World!");
    let url = format!("http://127.0.0.1:{second}/json");
    let r = curl(&[&url]);
    assert_eq!(r.status, 200, "second port: {}", r.stderr);
    assert_eq!(r.text(), r#"{"message":"Hello, World!"}"#);
    let r = curl_unix(&sock_text, "/plaintext");
    assert_eq!(r.status, 200, "unix socket: {}", r.stderr);
    assert_eq!(r.text(), "Hello, World!");

    assert!(server.is_running(), "one process serves all three");
    let logs = server.logs();
    for address in [
        format!("http://127.0.0.1:{}", server.port),
        format!("http://127.0.0.1:{second}"),
        format!("unix:{sock_text}"),
    ] {
        assert!(
            logs.lines()
                .any(|l| l.contains("serving app raw-hello on") && l.contains(&address)),
            "no start-up line for {address}; log:\n{logs}"
        );
    }
}
