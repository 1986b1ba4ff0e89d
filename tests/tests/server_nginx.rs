//! Behind nginx, for real: nginx runs with `deploy/nginx.conf` (only its addresses, listen port
//! and paths changed, to a temp directory and loopback ports; `daemon off`, its own prefix, pid
//! and error log) in front of two portico instances, one on TCP and one on a unix socket. The
//! test checks that requests reach both, that the app sees the client's address through the
//! proxy headers (the client connects from 127.0.0.2 and sends a spoofed X-Forwarded-For of its
//! own), and that killing one instance (SIGKILL, master and workers) under a steady load makes
//! nginx fail over without an error reaching the client.
//!
//! nginx is looked for in PATH and /usr/sbin; when it is missing the test installs Debian's
//! `nginx-light` (as `.ci/run` does), and only if that is impossible too does it skip, saying so.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tests::load::Load;
use tests::{curl, free_port, signal_pid, wait_for_listener, workspace_root, Server, TempDir};

const OPS_A: &str = env!("OPS_A_LIB");
const OPS_B: &str = env!("OPS_B_LIB");
const A: &str = env!("OPS_A_BODY");
const B: &str = env!("OPS_B_BODY");

/// The nginx binary, installing Debian's package when none is found.
fn nginx() -> Result<PathBuf, String> {
    let find = || {
        let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect())
            .unwrap_or_default();
        dirs.extend(["/usr/sbin", "/usr/local/sbin", "/usr/local/nginx/sbin"].map(PathBuf::from));
        dirs.into_iter()
            .map(|d| d.join("nginx"))
            .find(|p| p.is_file())
    };
    tests::installed_or_install("nginx", "nginx-light", find)
}

/// `deploy/nginx.conf` with its addresses and paths pointed at this test's.
fn config(dir: &Path, listen: u16, tcp: u16, sock: &Path) -> String {
    let text = std::fs::read_to_string(workspace_root().join("deploy/nginx.conf"))
        .expect("read deploy/nginx.conf");
    let d = dir.display();
    let mut text = text;
    for (from, to) in [
        (
            "listen 80;".to_string(),
            format!("listen 127.0.0.1:{listen};"),
        ),
        (
            "server 127.0.0.1:8000 ".to_string(),
            format!("server 127.0.0.1:{tcp} "),
        ),
        (
            "server unix:/run/portico/portico.sock ".to_string(),
            format!("server unix:{} ", sock.display()),
        ),
        (
            "pid /run/nginx.pid;".to_string(),
            format!("pid {d}/nginx.pid;"),
        ),
        (
            "error_log /var/log/nginx/error.log warn;".to_string(),
            format!("error_log {d}/error.log warn;"),
        ),
        (
            "access_log /var/log/nginx/access.log;".to_string(),
            format!("access_log {d}/access.log;"),
        ),
    ] {
        assert_eq!(
            text.matches(&from).count(),
            1,
            "deploy/nginx.conf should hold `{from}` exactly once"
        );
        text = text.replace(&from, &to);
    }
    assert_eq!(
        text.matches("/var/lib/nginx/").count(),
        5,
        "the five temp paths"
    );
    text.replace("/var/lib/nginx/", &format!("{d}/"))
}

/// nginx in the foreground, stopped when dropped.
struct Nginx {
    child: Child,
    dir: PathBuf,
}

impl Nginx {
    fn start(bin: &Path, dir: &Path, conf: &str) -> Nginx {
        let path = dir.join("nginx.conf");
        std::fs::write(&path, conf).expect("write nginx.conf");
        // As root, nginx's workers would switch to an unprivileged user that cannot reach the
        // test's unix socket; keep them as the user the test runs as.
        // SAFETY: geteuid(2) cannot fail.
        let globals = if unsafe { libc::geteuid() } == 0 {
            "daemon off; user root;"
        } else {
            "daemon off;"
        };
        let child = Command::new(bin)
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(&path)
            .arg("-e")
            .arg(dir.join("error.log"))
            .args(["-g", globals])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start nginx");
        Nginx {
            child,
            dir: dir.to_path_buf(),
        }
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        signal_pid(self.child.id(), libc::SIGQUIT);
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn via_nginx(port: u16, path: &str, extra: &[&str]) -> tests::CurlResponse {
    let url = format!("http://127.0.0.1:{port}{path}");
    let mut args = extra.to_vec();
    args.push(&url);
    curl(&args)
}

#[test]
fn nginx_in_front_of_two_instances_spreads_load_passes_the_client_and_fails_over() {
    let bin = match nginx() {
        Ok(bin) => bin,
        Err(why) => {
            eprintln!("SKIPPED the nginx integration test: {why}");
            return;
        }
    };
    let dir = TempDir::new("nginx");
    let sock = dir.path().join("portico.sock");
    let tcp_log = dir.path().join("tcp-access.log");
    let unix_log = dir.path().join("unix-access.log");
    // Two instances of the same kind of app; their bodies differ so the test can tell who
    // answered.
    let tcp = Server::builder(OPS_A)
        .args(["--workers", "2", "--access-logfile"])
        .arg(&tcp_log)
        .start();
    let _unix = Server::builder(OPS_B)
        .bind(format!("unix:{}", sock.display()))
        .args(["--workers", "2", "--access-logfile"])
        .arg(&unix_log)
        .start();
    let deadline = Instant::now() + Duration::from_secs(20);
    while curl(&[
        "--unix-socket",
        &sock.display().to_string(),
        "http://x/plaintext",
    ])
    .status
        != 200
    {
        assert!(
            Instant::now() < deadline,
            "the unix-socket instance never answered"
        );
        thread::sleep(Duration::from_millis(50));
    }
    let port = free_port();
    let nginx = Nginx::start(&bin, dir.path(), &config(dir.path(), port, tcp.port, &sock));
    let listen = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    assert!(
        wait_for_listener(listen, Duration::from_secs(20)),
        "nginx did not listen; its error log:\n{}",
        nginx.error_log()
    );

    // Requests reach both instances.
    let mut seen = std::collections::BTreeMap::new();
    for _ in 0..20 {
        let r = via_nginx(port, "/plaintext", &[]);
        assert_eq!(r.status, 200, "{r:?}; nginx:\n{}", nginx.error_log());
        *seen.entry(r.text()).or_insert(0) += 1;
    }
    assert_eq!(seen.keys().cloned().collect::<Vec<_>>(), [A, B], "{seen:?}");

    // The app sees the client's address (this one connects from 127.0.0.2 and claims to be
    // 6.6.6.6), the scheme and the host it asked for, from either instance.
    let mut answers = std::collections::BTreeSet::new();
    for _ in 0..10 {
        let r = via_nginx(
            port,
            "/whoami",
            &[
                "--interface",
                "127.0.0.2",
                "-H",
                "Host: shop.example",
                "-H",
                "X-Forwarded-For: 6.6.6.6",
            ],
        );
        assert_eq!(r.status, 200, "{r:?}");
        answers.insert(r.text());
    }
    assert_eq!(
        answers.into_iter().collect::<Vec<_>>(),
        ["127.0.0.2 http shop.example"],
        "nginx's X-Forwarded-* reach the app as the client's address, scheme and host"
    );
    for log in [&tcp_log, &unix_log] {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        assert!(
            text.lines()
                .any(|l| l.starts_with("127.0.0.2 - - [") && l.contains("/whoami")),
            "{} logs the client, not nginx:\n{text}",
            log.display()
        );
    }

    // Under a steady load, the TCP instance dies (master and workers, SIGKILL): nginx takes
    // the in-flight requests and the rest to the other instance.
    let load = Load::start(listen, "/plaintext", 8);
    thread::sleep(Duration::from_millis(1500));
    let victims = tcp.worker_pids();
    signal_pid(tcp.pid(), libc::SIGKILL);
    for w in victims {
        signal_pid(w, libc::SIGKILL);
    }
    let killed_at = load.elapsed();
    thread::sleep(Duration::from_millis(2500));
    let report = load.finish();
    eprintln!(
        "nginx failover: {} requests, {} socket errors, {} non-2xx, bodies {:?}, instance killed at {killed_at:?}",
        report.requests,
        report.socket_errors(),
        report.non_2xx,
        report.bodies
    );
    assert_eq!(report.socket_errors(), 0, "{:?}", report.errors);
    assert_eq!(
        report.non_2xx,
        0,
        "nginx retried the requests the dead instance had: {:?}; nginx:\n{}",
        report.errors,
        nginx.error_log()
    );
    let a = report
        .bodies
        .get(A)
        .expect("the TCP instance served before it died");
    let b = report
        .bodies
        .get(B)
        .expect("the unix-socket instance served");
    assert!(
        a.2 <= killed_at + Duration::from_millis(200),
        "A after the kill: {a:?}"
    );
    assert!(
        b.2 > killed_at + Duration::from_secs(2),
        "B went on serving: {b:?}"
    );
    drop(nginx);
}
