//! Worker processes under the master, on the real binary with the ops test app: a worker killed
//! with SIGKILL or dying of SIGABRT is logged with its signal and replaced (serving again within a
//! second), a handler stuck forever is given up on after `--timeout` while other requests keep
//! getting 200, TTIN/TTOU resize the pool, `--max-requests` recycles workers without an error,
//! QUIT stops at once, a killed master takes its workers with it, `--pid`, and USR1 reopens the
//! access log.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use tests::load::Load;
use tests::{curl, signal_pid, Server, TempDir};

const OPS_A: &str = env!("OPS_A_LIB");
const OPS_A_BODY: &str = env!("OPS_A_BODY");

/// One request on a fresh connection; `None` when no answer came (refused, reset, closed).
fn get(server: &Server, path: &str) -> Option<(u16, String)> {
    let r = curl(&["--max-time", "5", &server.url(path)]);
    (r.exit_code == 0).then(|| (r.status, r.text()))
}

fn pid_answering(server: &Server) -> Option<u32> {
    get(server, "/pid").and_then(|(status, body)| (status == 200).then(|| body.parse().ok())?)
}

#[test]
fn a_worker_killed_under_load_is_replaced_and_serving_within_a_second() {
    let server = Server::builder(OPS_A).args(["--workers", "1"]).start();
    let old = pid_answering(&server).expect("the first worker answers");
    let load = Load::start(server.addr, "/plaintext", 8);
    thread::sleep(Duration::from_millis(500));
    let killed_at = Instant::now();
    signal_pid(old, libc::SIGKILL);
    // The only worker is gone: the next answer must come from its replacement.
    let replacement = loop {
        if let Some(pid) = pid_answering(&server) {
            break pid;
        }
        assert!(
            killed_at.elapsed() < Duration::from_secs(5),
            "no worker answered after the kill; log:\n{}",
            server.logs()
        );
    };
    let took = killed_at.elapsed();
    assert_ne!(replacement, old);
    assert!(
        took < Duration::from_secs(1),
        "the replacement served {took:?} after the kill; log:\n{}",
        server.logs()
    );
    thread::sleep(Duration::from_millis(500));
    let report = load.finish();
    assert!(
        report.bodies.get(OPS_A_BODY).is_some_and(|b| b.2 > took),
        "the load was served again after the kill: {report:?}"
    );
    assert_eq!(report.non_2xx, 0, "{report:?}");
    let logs = server.logs();
    assert!(
        logs.contains(&format!(
            "worker {old} (generation 1) was killed by signal 9 (SIGKILL); starting a replacement"
        )),
        "the master names the dead worker and its signal; log:\n{logs}"
    );
    eprintln!(
        "kill -9 under load: replacement {replacement} serving after {took:?}; load {} requests, {} socket errors (the killed worker's connections)",
        report.requests,
        report.socket_errors()
    );
}

#[test]
fn a_worker_that_aborts_is_logged_with_its_signal_and_replaced() {
    let server = Server::builder(OPS_A).args(["--workers", "2"]).start();
    let workers = server.wait_for_workers(2, Duration::from_secs(10));
    assert_eq!(workers.len(), 2, "log:\n{}", server.logs());
    // The client of the crashing request gets no answer (the process died under it).
    assert!(get(&server, "/abort").is_none());
    assert!(
        server.wait_for_log("was killed by signal 6 (SIGABRT)", Duration::from_secs(5)),
        "log:\n{}",
        server.logs()
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = server.worker_pids();
        if now.len() == 2 && now != workers {
            break;
        }
        assert!(Instant::now() < deadline, "not replaced: {now:?}");
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(get(&server, "/plaintext"), Some((200, OPS_A_BODY.into())));
}

#[test]
fn a_stuck_handler_is_given_up_on_after_the_timeout_and_others_keep_getting_200() {
    let server = Server::builder(OPS_A)
        .args(["--workers", "1", "--threads", "4", "--timeout", "2"])
        .start();
    let stuck_worker = pid_answering(&server).expect("a worker answers");
    let load = Load::start(server.addr, "/plaintext", 4);
    let mut stuck = server.connect();
    stuck
        .write_all(b"GET /stuck HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send /stuck");
    let sent = Instant::now();
    // The replacement: a new worker answering.
    let replaced = loop {
        if let Some(pid) = pid_answering(&server) {
            if pid != stuck_worker {
                break sent.elapsed();
            }
        }
        assert!(
            sent.elapsed() < Duration::from_secs(10),
            "no replacement; log:\n{}",
            server.logs()
        );
        thread::sleep(Duration::from_millis(50));
    };
    // The stuck client is let go: a clean close once the worker has nothing else to finish.
    stuck
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let mut rest = Vec::new();
    let closed = stuck.read_to_end(&mut rest);
    let let_go = sent.elapsed();
    let report = load.finish();
    eprintln!(
        "stuck handler: replaced after {replaced:?}, stuck client closed after {let_go:?} ({:?}, {} bytes); load: {} requests, {} socket errors, {} non-2xx",
        closed.as_ref().map_err(|e| e.kind()),
        rest.len(),
        report.requests,
        report.socket_errors(),
        report.non_2xx
    );
    assert!(
        (Duration::from_millis(1900)..Duration::from_millis(3500)).contains(&replaced),
        "--timeout 2: replaced after {replaced:?}; log:\n{}",
        server.logs()
    );
    assert!(closed.is_ok(), "a clean close, not a reset: {closed:?}");
    assert!(let_go < Duration::from_secs(10), "closed after {let_go:?}");
    assert_eq!(report.socket_errors(), 0, "{report:?}");
    assert_eq!(report.non_2xx, 0, "{report:?}");
    assert!(report.requests > 20, "{report:?}");
    let logs = server.logs();
    assert!(logs.contains("WORKER TIMEOUT"), "log:\n{logs}");
    assert!(
        logs.contains(&format!("worker {stuck_worker} (generation 1) retiring: a handler ran past --timeout (2s); starting a replacement")),
        "log:\n{logs}"
    );
    // The stuck worker's process is gone (the master reaps it on its next turn).
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.worker_pids().contains(&stuck_worker) {
        assert!(Instant::now() < deadline, "log:\n{}", server.logs());
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn with_one_thread_a_request_queued_behind_a_stuck_handler_is_still_answered() {
    let server = Server::builder(OPS_A)
        .args(["--workers", "1", "--threads", "1", "--timeout", "2"])
        .start();
    let worker = pid_answering(&server).expect("a worker answers");
    let mut stuck = server.connect();
    stuck
        .write_all(b"GET /stuck HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send /stuck");
    thread::sleep(Duration::from_millis(200));
    // This one waits for the only app thread, which the stuck handler holds; once the handler
    // is given up on, its slot is lent and the request runs on the old worker.
    let mut queued = server.connect();
    queued
        .write_all(b"GET /pid HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send");
    queued
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut data = Vec::new();
    let (resps, _) = tests::read_more_responses(&mut queued, &mut data, 1, &[]);
    assert_eq!(
        resps.first().map(|r| r.status),
        Some(200),
        "{data:?}; log:\n{}",
        server.logs()
    );
    assert_eq!(
        String::from_utf8_lossy(&resps[0].body),
        worker.to_string(),
        "answered by the worker that held it, not cut when it was replaced"
    );
}

#[test]
fn ttin_and_ttou_add_and_retire_a_worker() {
    let server = Server::builder(OPS_A).args(["--workers", "2"]).start();
    let two = server.wait_for_workers(2, Duration::from_secs(10));
    assert_eq!(two.len(), 2);
    server.signal(libc::SIGTTIN);
    let three = server.wait_for_workers(3, Duration::from_secs(10));
    assert_eq!(three.len(), 3, "log:\n{}", server.logs());
    server.signal(libc::SIGTTOU);
    let back = server.wait_for_workers(2, Duration::from_secs(10));
    assert_eq!(back.len(), 2, "log:\n{}", server.logs());
    // The oldest went.
    assert!(!back.contains(&two[0]), "{two:?} then {back:?}");
    assert!(server.wait_for_log("retiring: SIGTTOU", Duration::from_secs(5)));
    // TTOU never goes below one worker. (Signals of one kind sent back to back may arrive as
    // one: wait for each to be handled.)
    server.signal(libc::SIGTTOU);
    assert!(server.wait_for_log("SIGTTOU: 1 worker(s) wanted", Duration::from_secs(5)));
    server.signal(libc::SIGTTOU);
    assert!(server.wait_for_log("already at one worker", Duration::from_secs(5)));
    assert_eq!(server.wait_for_workers(1, Duration::from_secs(10)).len(), 1);
    assert_eq!(get(&server, "/plaintext"), Some((200, OPS_A_BODY.into())));
}

#[test]
fn max_requests_recycles_workers_without_a_failed_request() {
    let server = Server::builder(OPS_A)
        .args([
            "--workers",
            "1",
            "--max-requests",
            "40",
            "--max-requests-jitter",
            "10",
        ])
        .start();
    let report = tests::load::run_for(server.addr, "/pid", 4, Duration::from_secs(3), |_| {});
    // Each body is the pid of the worker that answered.
    let pids: Vec<&String> = report.bodies.keys().collect();
    assert!(pids.len() >= 3, "workers were recycled: {report:?}");
    assert_eq!(report.socket_errors(), 0, "{:?}", report.errors);
    // Each worker asks for its replacement at its own limit, 40 plus up to 10 of jitter, and
    // serves until the replacement does (so with one worker nobody ever stops accepting).
    assert!(server.wait_for_log("(--max-requests): retiring", Duration::from_secs(5)));
    let limits: Vec<u64> = server
        .logs()
        .lines()
        .filter_map(|l| {
            l.split_once(": served ")?
                .1
                .split_once(" requests (--max-requests)")
        })
        .filter_map(|(n, _)| n.parse().ok())
        .collect();
    assert!(limits.len() >= 2, "{}", server.logs());
    assert!(limits.iter().all(|n| (40..=50).contains(n)), "{limits:?}");
    assert_eq!(report.non_2xx, 0, "{report:?}");
}

#[test]
fn quit_stops_at_once_cutting_what_is_in_flight() {
    let mut server = Server::builder(OPS_A).start();
    let mut s = server.connect();
    s.write_all(b"GET /slow?ms=20000 HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send");
    thread::sleep(Duration::from_millis(300));
    let asked = Instant::now();
    server.signal(libc::SIGQUIT);
    let status = server.wait_exit(Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| s.success()),
        "{status:?}; log:\n{}",
        server.logs()
    );
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "{:?}",
        asked.elapsed()
    );
}

#[test]
fn a_killed_master_takes_its_workers_with_it() {
    let server = Server::builder(OPS_A).args(["--workers", "2"]).start();
    let workers = server.wait_for_workers(2, Duration::from_secs(10));
    assert_eq!(workers.len(), 2);
    signal_pid(server.pid(), libc::SIGKILL);
    let deadline = Instant::now() + Duration::from_secs(10);
    while workers
        .iter()
        .any(|w| std::path::Path::new(&format!("/proc/{w}")).exists() && !is_zombie(*w))
    {
        assert!(
            Instant::now() < deadline,
            "workers {workers:?} outlived their master"
        );
        thread::sleep(Duration::from_millis(50));
    }
    assert!(
        TcpStream::connect(server.addr).is_err(),
        "nothing listens any more"
    );
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rfind(')')
                .map(|i| s[i + 1..].trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}

#[test]
fn the_pid_file_holds_the_masters_pid_refuses_a_second_master_and_goes_at_exit() {
    let dir = TempDir::new("pidfile");
    let pid_path = dir.path().join("portico.pid");
    let pid_arg = pid_path.display().to_string();
    let mut server = Server::builder(OPS_A).args(["--pid", &pid_arg]).start();
    let text = std::fs::read_to_string(&pid_path).expect("the pid file");
    assert_eq!(text.trim(), server.pid().to_string());
    let second = Server::builder(OPS_A)
        .bind(format!("127.0.0.1:{}", tests::free_port()))
        .args(["--pid", &pid_arg])
        .run_to_exit(Duration::from_secs(20));
    assert!(!second.status.success());
    assert!(
        second.stderr.contains(&format!(
            "pid file {pid_arg}: already running as pid {}",
            server.pid()
        )),
        "{second:?}"
    );
    server.signal(libc::SIGTERM);
    assert!(server.wait_exit(Duration::from_secs(20)).is_some());
    assert!(!pid_path.exists(), "removed at exit");
}

#[test]
fn usr1_reopens_the_access_log_after_a_rotation() {
    let dir = TempDir::new("logrotate");
    let log = dir.path().join("access.log");
    let rotated = dir.path().join("access.log.1");
    let server = Server::builder(OPS_A)
        .args(["--workers", "2", "--access-logfile"])
        .arg(&log)
        .start();
    assert_eq!(
        get(&server, "/plaintext?before"),
        Some((200, OPS_A_BODY.into()))
    );
    let wait_for = |path: &std::path::Path, needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "{} never held {needle:?}: {text:?}; log:\n{}",
                path.display(),
                server.logs()
            );
            thread::sleep(Duration::from_millis(50));
        }
    };
    wait_for(&log, "/plaintext?before");
    // logrotate: move the file away, then tell the master.
    std::fs::rename(&log, &rotated).expect("rotate");
    server.signal(libc::SIGUSR1);
    let reopened = format!("access log {} reopened", log.display());
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.logs().matches(&reopened).count() < 2 {
        assert!(Instant::now() < deadline, "log:\n{}", server.logs());
        thread::sleep(Duration::from_millis(20));
    }
    for _ in 0..4 {
        assert_eq!(
            get(&server, "/plaintext?after"),
            Some((200, OPS_A_BODY.into()))
        );
    }
    let fresh = wait_for(&log, "/plaintext?after");
    assert!(!fresh.contains("?before"), "{fresh}");
    let old = std::fs::read_to_string(&rotated).expect("the rotated file");
    assert!(!old.contains("?after"), "{old}");
    assert_eq!(server.worker_pids().len(), 2, "USR1 stops no worker");
}

#[test]
fn a_handler_that_streams_past_the_timeout_is_not_stuck() {
    let server = Server::builder(OPS_A)
        .args(["--workers", "1", "--timeout", "1"])
        .start();
    let worker = pid_answering(&server).expect("a worker answers");
    // Eight chunks 400 ms apart: 3.2 s of app time, but never 1 s without sending.
    let r = curl(&["--max-time", "20", &server.url("/drip?ms=400")]);
    assert_eq!((r.status, r.text()), (200, "drip\n".repeat(8)), "{r:?}");
    assert!(
        !server.logs().contains("WORKER TIMEOUT"),
        "log:\n{}",
        server.logs()
    );
    assert_eq!(pid_answering(&server), Some(worker), "the same worker");
}
