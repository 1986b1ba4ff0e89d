//! The PROXY protocol (`--proxy-protocol`, `--proxy-allow-from`, gunicorn's names): a v1 or v2
//! header from an allowed peer gives the app (the ops app's `/whoami`) and the access log the
//! client's address; a connection without one, or with one from a peer not allowed, is closed
//! unanswered; and a real HAProxy in front with `send-proxy-v2` passes its client's address
//! (Debian's `haproxy`, installed by .ci/run; the test says it skipped where it is missing).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tests::{curl, free_port, Server, TempDir};

const OPS_A: &str = env!("OPS_A_LIB");

const WHOAMI: &[u8] = b"GET /whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

fn proxied(server: &Server, header: &[u8]) -> Vec<u8> {
    let mut s = server.connect();
    s.write_all(&[header, WHOAMI].concat()).expect("send");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

fn body(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    assert!(text.starts_with("HTTP/1.1 200 "), "{text}");
    text.split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string()
}

fn v2_tcp4(src: [u8; 4], sport: u16) -> Vec<u8> {
    let mut h = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    h.extend_from_slice(&[0x21, 0x11, 0, 12]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&[127, 0, 0, 1]);
    h.extend_from_slice(&sport.to_be_bytes());
    h.extend_from_slice(&8000u16.to_be_bytes());
    h
}

#[test]
fn v1_and_v2_headers_give_the_app_and_the_log_the_client() {
    let server = Server::builder(OPS_A)
        .args(["--proxy-protocol", "--access-logfile", "-"])
        .start();
    let v1 = proxied(&server, b"PROXY TCP4 203.0.113.9 127.0.0.1 4444 8000\r\n");
    assert_eq!(body(&v1), "203.0.113.9 http x");
    let v2 = proxied(&server, &v2_tcp4([198, 51, 100, 4], 5555));
    assert_eq!(body(&v2), "198.51.100.4 http x");
    // A LOCAL v2 header (a balancer's health check) keeps the peer's own address.
    let mut local = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    local.extend_from_slice(&[0x20, 0x00, 0, 0]);
    assert_eq!(body(&proxied(&server, &local)), "127.0.0.1 http x");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !(server.stdout().contains("203.0.113.9 ") && server.stdout().contains("198.51.100.4 ")) {
        assert!(
            Instant::now() < deadline,
            "the access log names the clients:\n{}",
            server.stdout()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_missing_or_bad_header_closes_the_connection_unanswered() {
    let server = Server::builder(OPS_A).args(["--proxy-protocol"]).start();
    for (what, bytes) in [
        ("no header", &b""[..]),
        ("a bad v1 header", b"PROXY TCP4 nonsense\r\n"),
        (
            "a v2 signature with a bad version",
            b"\r\n\r\n\0\r\nQUIT\n\x11\x11\x00\x00",
        ),
    ] {
        let raw = proxied(&server, bytes);
        assert!(
            raw.is_empty(),
            "{what}: answered {:?}",
            String::from_utf8_lossy(&raw)
        );
    }
    // Still serving a well-behaved proxy.
    let ok = proxied(&server, b"PROXY TCP4 203.0.113.1 127.0.0.1 1 2\r\n");
    assert_eq!(body(&ok), "203.0.113.1 http x");
}

#[test]
fn a_header_from_a_peer_not_allowed_closes_the_connection() {
    let server = Server::builder(OPS_A)
        .args(["--proxy-protocol", "--proxy-allow-from", "10.0.0.0/8"])
        .start();
    let raw = proxied(&server, b"PROXY TCP4 203.0.113.9 127.0.0.1 4444 8000\r\n");
    assert!(
        raw.is_empty(),
        "answered {:?}",
        String::from_utf8_lossy(&raw)
    );
    assert!(
        server.wait_for_log("not in --proxy-allow-from", Duration::from_secs(5)),
        "the refusal is logged; log:\n{}",
        server.logs()
    );
}

/// HAProxy in the foreground on `config`, stopped when dropped.
struct HaProxy(Child);

impl Drop for HaProxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn haproxy_binary() -> Option<&'static str> {
    ["/usr/sbin/haproxy", "/usr/bin/haproxy"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
}

#[test]
fn haproxy_in_front_with_send_proxy_v2_passes_its_clients_address() {
    let Some(haproxy) = haproxy_binary() else {
        eprintln!("SKIPPED: haproxy is not installed (apt-get install haproxy)");
        return;
    };
    let server = Server::builder(OPS_A)
        .args(["--proxy-protocol", "--access-logfile", "-"])
        .start();
    let front = free_port();
    let dir = TempDir::new("haproxy");
    let config = dir.write(
        "haproxy.cfg",
        format!(
            "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n\
             frontend fe\n  bind 127.0.0.1:{front}\n  default_backend be\n\
             backend be\n  server portico 127.0.0.1:{} send-proxy-v2\n",
            server.port
        ),
    );
    let child = Command::new(haproxy)
        .args(["-db", "-f"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start haproxy");
    let _haproxy = HaProxy(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", front)).is_err() {
        assert!(Instant::now() < deadline, "haproxy did not start listening");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The client connects from 127.0.0.2, so its address differs from HAProxy's own.
    let r = curl(&[
        "--interface",
        "127.0.0.2",
        "-H",
        "Host: x",
        &format!("http://127.0.0.1:{front}/whoami"),
    ]);
    assert_eq!(r.status, 200, "through haproxy: {}", r.stderr);
    assert_eq!(r.text(), "127.0.0.2 http x");
    // And without it, straight to portico: refused (no header).
    let direct = curl(&[&format!("http://127.0.0.1:{}/whoami", server.port)]);
    assert_ne!(
        direct.status, 200,
        "a direct connection has no PROXY header"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server.stdout().contains("127.0.0.2 ") {
        assert!(
            Instant::now() < deadline,
            "access log:\n{}",
            server.stdout()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
