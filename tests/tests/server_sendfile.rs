//! Zero-copy file responses (ABI 1.2 `send_file`) through the real binary: a `FileResponse`
//! comes back byte-identical, carried by `sendfile(2)` in the worker, HEAD sends no body, and a
//! client that leaves half-way does not take the server down.

use std::io::{Read, Write};
use std::process::Command;
use std::time::Duration;

use tests::{app_lib, Server, TempDir};

fn start() -> (TempDir, Server) {
    let dir = TempDir::new("sendfile");
    let settings = dir.write("settings.toml", "");
    let server = Server::builder(app_lib("testapp"))
        .settings(settings)
        .start();
    (dir, server)
}

fn data(len: usize) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect()
}

#[test]
fn a_4_mib_file_comes_back_byte_identical_and_head_sends_no_body() {
    let (dir, server) = start();
    let want = data(4 << 20);
    let file = dir.write("big.bin", &want);
    let url = format!("/file/?path={}", file.display());
    let r = server.curl(&url, &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("Content-Length"), Some("4194304"));
    assert_eq!(r.header("Content-Type"), Some("application/octet-stream"));
    assert_eq!(
        r.header("Content-Disposition"),
        Some("inline; filename=\"big.bin\"")
    );
    assert!(r.body == want, "the body differs ({} bytes)", r.body.len());

    let r = server.curl(&format!("{url}&from=1000&len=5000"), &[]);
    assert_eq!(r.header("Content-Length"), Some("5000"));
    assert_eq!(r.body, &want[1000..6000]);

    let r = server.curl(&url, &["-I"]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Length"), Some("4194304"));
    // curl -I writes the head into its output: the head is all there is.
    assert!(r.body.len() < 1024, "{} bytes after a HEAD", r.body.len());
}

#[test]
fn the_worker_sends_the_file_with_sendfile() {
    if Command::new("strace").arg("-V").output().is_err() {
        eprintln!("skipped: strace is not installed (.ci/run installs it)");
        return;
    }
    let (dir, server) = start();
    let want = data(4 << 20);
    let file = dir.write("traced.bin", &want);
    let workers = server.wait_for_workers(1, Duration::from_secs(10));
    let worker = *workers.first().expect("a worker");
    let log = dir.path().join("strace.log");
    let mut strace = Command::new("strace")
        .args(["-f", "-e", "trace=sendfile", "-o"])
        .arg(&log)
        .args(["-p", &worker.to_string()])
        .spawn()
        .expect("run strace");
    std::thread::sleep(Duration::from_millis(700));
    let r = server.curl(&format!("/file/?path={}", file.display()), &[]);
    assert!(r.body == want);
    std::thread::sleep(Duration::from_millis(300));
    let _ = strace.kill();
    let _ = strace.wait();
    let trace = std::fs::read_to_string(&log).unwrap_or_default();
    if trace.contains("Operation not permitted") || trace.is_empty() {
        eprintln!("skipped: strace could not attach here: {trace}");
        return;
    }
    let sent: u64 = trace
        .lines()
        .filter(|l| l.contains("sendfile("))
        .filter_map(|l| l.rsplit("= ").next()?.trim().parse::<u64>().ok())
        .sum();
    assert_eq!(sent, 4 << 20, "sendfile carried the body:\n{trace}");
}

#[test]
fn a_client_that_leaves_mid_file_does_not_take_the_server_down() {
    let (dir, server) = start();
    let file = dir.write("leave.bin", data(16 << 20));
    let mut s = server.connect();
    write!(
        s,
        "GET /file/?path={} HTTP/1.1\r\nHost: x\r\n\r\n",
        file.display()
    )
    .expect("send");
    let mut buf = vec![0u8; 64 * 1024];
    let n = s.read(&mut buf).expect("the start of the answer");
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    drop(s);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(server.curl("/ok/", &[]).status, 200);
}

#[test]
fn eight_clients_that_never_read_a_100_mb_file_do_not_grow_memory() {
    let (dir, server) = start();
    let path = dir.path().join("sparse.bin");
    std::fs::File::create(&path)
        .and_then(|f| f.set_len(100 << 20))
        .expect("a sparse 100 MB file");
    assert_eq!(server.curl("/ok/", &[]).status, 200);
    let start_kib = server.rss_kib();
    let conns: Vec<_> = (0..8)
        .map(|_| {
            let mut s = server.connect();
            write!(
                s,
                "GET /file/?path={} HTTP/1.1\r\nHost: x\r\n\r\n",
                path.display()
            )
            .expect("send");
            s
        })
        .collect();
    let mut peak = start_kib;
    for _ in 0..75 {
        peak = peak.max(server.rss_kib());
        std::thread::sleep(Duration::from_millis(20));
    }
    let grown = peak.saturating_sub(start_kib);
    eprintln!("8 clients owed 100 MB each, reading none: RSS {start_kib} KiB, peak +{grown} KiB");
    assert!(grown < 16 * 1024, "RSS grew by {grown} KiB");
    drop(conns);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(server.curl("/ok/", &[]).status, 200);
}
