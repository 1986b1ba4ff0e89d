//! Behind a proxy, on the real binary: from a trusted peer (`--forwarded-allow-ips`, default
//! 127.0.0.1; unix-socket peers always) `X-Forwarded-For` and `-Proto` become the client address
//! and scheme the app sees (the ops app's `/whoami`, and `META` in the Django-style test app)
//! and the access log's client; from any other peer they change nothing. `X-Forwarded-Host`
//! never replaces the Host, as in gunicorn: the app gets it as `HTTP_X_FORWARDED_HOST`, and
//! handler-core's `get_host` reads it only with `use_x_forwarded_host` (Django's setting).
//! And the access log's formats: gunicorn's atoms, and JSON lines.

use std::thread;
use std::time::{Duration, Instant};

use tests::{app_lib, curl, Server, TempDir};

const OPS_A: &str = env!("OPS_A_LIB");

const PROXY_HEADERS: [&str; 6] = [
    "-H",
    "X-Forwarded-For: 203.0.113.7",
    "-H",
    "X-Forwarded-Proto: https",
    "-H",
    "X-Forwarded-Host: shop.example",
];

fn whoami(server: &Server, extra: &[&str]) -> String {
    let r = server.curl("/whoami", extra);
    assert_eq!(r.status, 200, "{r:?}");
    r.text()
}

#[test]
fn a_trusted_proxy_sets_the_client_and_the_scheme_never_the_host() {
    let server = Server::start(OPS_A);
    assert_eq!(
        whoami(&server, &PROXY_HEADERS),
        format!("203.0.113.7 https 127.0.0.1:{}", server.port)
    );
    assert_eq!(
        whoami(&server, &[]),
        format!("127.0.0.1 http 127.0.0.1:{}", server.port),
        "without the headers, the peer"
    );
    // A client's own X-Forwarded-For entry sits left of the one its proxy appended.
    assert_eq!(
        whoami(&server, &["-H", "X-Forwarded-For: 1.1.1.1, 198.51.100.4"]),
        format!("198.51.100.4 http 127.0.0.1:{}", server.port)
    );
}

#[test]
fn an_untrusted_peer_cannot_set_them() {
    // The default trusts 127.0.0.1 only; this client comes from 127.0.0.2.
    let server = Server::start(OPS_A);
    let mut args = vec!["--interface", "127.0.0.2"];
    args.extend_from_slice(&PROXY_HEADERS);
    let seen = whoami(&server, &args);
    if seen.starts_with("127.0.0.1 ") {
        eprintln!("SKIPPED the 127.0.0.2 half: curl could not bind 127.0.0.2 here");
    } else {
        assert_eq!(seen, format!("127.0.0.2 http 127.0.0.1:{}", server.port));
    }
    // A list that leaves out 127.0.0.1.
    let server = Server::builder(OPS_A)
        .args(["--forwarded-allow-ips", "10.0.0.0/8, 192.0.2.1"])
        .start();
    assert_eq!(
        whoami(&server, &PROXY_HEADERS),
        format!("127.0.0.1 http 127.0.0.1:{}", server.port)
    );
    // And `*` trusts everyone.
    let server = Server::builder(OPS_A)
        .args(["--forwarded-allow-ips", "*"])
        .start();
    assert_eq!(
        whoami(&server, &PROXY_HEADERS),
        format!("203.0.113.7 https 127.0.0.1:{}", server.port)
    );
}

#[test]
fn a_unix_socket_peer_is_a_trusted_proxy() {
    let dir = TempDir::new("proxy-unix");
    let sock = dir.path().join("portico.sock");
    let sock_text = sock.display().to_string();
    let _server = Server::builder(OPS_A)
        .bind(format!("unix:{sock_text}"))
        .args(["--forwarded-allow-ips", ""])
        .start();
    let deadline = Instant::now() + Duration::from_secs(20);
    let r = loop {
        let mut args = vec!["--unix-socket", &sock_text];
        args.extend_from_slice(&PROXY_HEADERS);
        args.push("http://localhost/whoami");
        let r = curl(&args);
        if r.status != 0 || Instant::now() > deadline {
            break r;
        }
        thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.text(), "203.0.113.7 https localhost");
}

#[test]
fn the_django_style_app_sees_them_in_meta() {
    let dir = TempDir::new("proxy-meta");
    let settings = dir.write(
        "settings.toml",
        "allowed_hosts = [\"127.0.0.1\", \"shop.example\"]\n",
    );
    let server = Server::builder(app_lib("testapp"))
        .settings(settings)
        .start();
    let r = server.curl("/api/meta/1/", &PROXY_HEADERS);
    assert_eq!(r.status, 200, "{}", r.text());
    let meta = r.json();
    assert_eq!(meta["remote_addr"], "203.0.113.7", "{meta}");
    assert_eq!(meta["scheme"], "https", "{meta}");
    let host = format!("127.0.0.1:{}", server.port);
    assert_eq!(meta["host"], host.as_str(), "{meta}");
    assert_eq!(meta["forwarded_host"], "shop.example", "{meta}");
    assert_eq!(meta["get_host"], host.as_str(), "{meta}");
}

/// Issue 17, point 1: `X-Forwarded-Host` from the default trusted peer no longer makes a
/// DisallowedHost 400 (gunicorn + Django answer 200); an allowed value changes nothing either.
#[test]
fn x_forwarded_host_is_not_the_host_unless_the_app_says_so() {
    let dir = TempDir::new("proxy-xfh");
    let settings = dir.write(
        "settings.toml",
        "allowed_hosts = [\"127.0.0.1\", \"localhost\"]\n",
    );
    let server = Server::builder(app_lib("testapp"))
        .settings(settings)
        .start();
    for forwarded in ["evil.example", "localhost"] {
        let r = server.curl(
            "/api/meta/1/",
            &["-H", &format!("X-Forwarded-Host: {forwarded}")],
        );
        assert_eq!(r.status, 200, "{forwarded}: {}", r.text());
        let meta = r.json();
        assert_eq!(
            meta["get_host"],
            format!("127.0.0.1:{}", server.port),
            "{meta}"
        );
        assert_eq!(meta["forwarded_host"], forwarded, "{meta}");
    }
    // Django's USE_X_FORWARDED_HOST / USE_X_FORWARDED_PORT / SECURE_PROXY_SSL_HEADER.
    let dir = TempDir::new("proxy-use-xfh");
    let settings = dir.write(
        "settings.toml",
        "allowed_hosts = [\"127.0.0.1\", \"shop.example\"]\n\
         use_x_forwarded_host = true\nuse_x_forwarded_port = true\n\
         secure_proxy_ssl_header = [\"HTTP_X_SSL\", \"on\"]\n",
    );
    let server = Server::builder(app_lib("testapp"))
        .settings(settings)
        .start();
    let r = server.curl(
        "/api/meta/1/",
        &[
            "-H",
            "X-Forwarded-Host: shop.example",
            "-H",
            "X-Forwarded-Port: 8443",
            "-H",
            "X-SSL: on, off",
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let meta = r.json();
    assert_eq!(meta["get_host"], "shop.example", "{meta}");
    assert_eq!(meta["get_port"], "8443", "{meta}");
    assert_eq!(meta["is_secure"], true, "{meta}");
    let r = server.curl("/api/meta/1/", &["-H", "X-Forwarded-Host: evil.example"]);
    assert_eq!(
        r.status, 400,
        "a forwarded host is validated as the Host is"
    );
    let r = server.curl("/api/meta/1/", &["-H", "X-SSL: off"]);
    assert_eq!(r.json()["is_secure"], false);
}

/// Waits for the first stdout line containing `needle`.
fn access_line(server: &Server, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(line) = server.stdout().lines().find(|l| l.contains(needle)) {
            return line.to_string();
        }
        assert!(
            Instant::now() < deadline,
            "no access log line with {needle:?}; stdout:\n{}\nstderr:\n{}",
            server.stdout(),
            server.logs()
        );
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_access_log_takes_gunicorns_atoms_and_shows_the_forwarded_client() {
    let format = "%(h)s|%(l)s|%(u)s|%(r)s|%(m)s|%(U)s|%(q)s|%(H)s|%(s)s|%(B)s|%(b)s|%(f)s|%(a)s|%({x-request-id}i)s|%(p)s|%(L)s|%(M)s";
    let server = Server::builder(OPS_A)
        .args(["--access-logfile", "-", "--access-logformat", format])
        .start();
    let mut args = PROXY_HEADERS.to_vec();
    args.extend_from_slice(&[
        "-u",
        "alice:secret",
        "-A",
        "agent/1",
        "-e",
        "http://ref.example/",
        "-H",
        "X-Request-Id: abc-123",
    ]);
    let r = server.curl("/slow?ms=120", &args);
    assert_eq!(r.status, 200);
    let line = access_line(&server, "/slow");
    let fields: Vec<&str> = line.split('|').collect();
    assert_eq!(fields.len(), 17, "{line}");
    assert_eq!(
        fields[..14],
        [
            "203.0.113.7",
            "-",
            "alice",
            "GET /slow?ms=120 HTTP/1.1",
            "GET",
            "/slow",
            "ms=120",
            "HTTP/1.1",
            "200",
            "18",
            "18",
            "http://ref.example/",
            "agent/1",
            "abc-123"
        ],
        "{line}"
    );
    let pid = &fields[14];
    let worker = server.worker_pids()[0].to_string();
    assert_eq!(*pid, format!("<{worker}>"), "{line}");
    let seconds: f64 = fields[15].parse().expect("%(L)s is decimal seconds");
    let millis: u64 = fields[16].parse().expect("%(M)s is milliseconds");
    assert!((0.12..5.0).contains(&seconds), "{line}");
    assert!((120..5000).contains(&millis), "{line}");
}

#[test]
fn the_json_access_log_is_one_object_per_line() {
    let server = Server::builder(OPS_A)
        .args(["--access-logfile", "-", "--access-log-json"])
        .start();
    let r = server.curl("/plaintext?x=1", &PROXY_HEADERS);
    assert_eq!(r.status, 200);
    let r = server.curl("/nothing", &[]);
    assert_eq!(r.status, 404);
    let line = access_line(&server, "/plaintext");
    let doc: serde_json::Value = serde_json::from_str(&line).expect("a JSON object");
    assert_eq!(doc["remote_addr"], "203.0.113.7");
    assert_eq!(doc["method"], "GET");
    assert_eq!(doc["path"], "/plaintext");
    assert_eq!(doc["query"], "x=1");
    assert_eq!(doc["status"], 200);
    assert_eq!(doc["bytes"], 12);
    assert_eq!(doc["request"], "GET /plaintext?x=1 HTTP/1.1");
    assert!(
        doc["duration_ms"].as_f64().is_some_and(|d| d >= 0.0),
        "{doc}"
    );
    assert!(doc["request_id"].as_u64().is_some_and(|id| id > 0), "{doc}");
    assert!(
        doc["time"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{doc}"
    );
    assert_eq!(doc["user"], serde_json::Value::Null);
    let line = access_line(&server, "/nothing");
    let doc: serde_json::Value = serde_json::from_str(&line).expect("a JSON object");
    assert_eq!(
        (doc["status"].as_u64(), doc["remote_addr"].as_str()),
        (Some(404), Some("127.0.0.1"))
    );
}

#[test]
fn bad_proxy_and_log_flags_stop_start_up_naming_the_flag() {
    for (flag, value, says) in [
        ("--access-logformat", "%(h)s %(zz)s", "unknown atom %(zz)s"),
        (
            "--forwarded-allow-ips",
            "10.0.0.1,proxy.local",
            "`proxy.local`",
        ),
    ] {
        let done = Server::builder(OPS_A)
            .args([flag, value])
            .run_to_exit(Duration::from_secs(20));
        assert!(!done.status.success(), "{done:?}");
        assert!(
            done.stderr.contains(flag) && done.stderr.contains(says),
            "{flag}: {}",
            done.stderr
        );
    }
}
