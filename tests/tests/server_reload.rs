//! Reloads on the real binary, under a steady load from the wrk-like client in `tests::load`
//! (8 keep-alive connections for 10 s): a HUP that swaps in a rebuilt library (the ops app built
//! with another body) costs no socket error and no non-2xx answer, the new body is served after
//! it and a request in flight finishes on the old app; a HUP onto a file that is not an app, or
//! onto an app whose `create` fails, keeps the old app serving with the failure logged (path and
//! reason); `--reload` serves a replaced library within 2 s and reloads on a settings change;
//! and overwriting the library in place does not touch the running workers (they run a snapshot).

use std::io::Write;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use tests::load::{run_for, Report};
use tests::{curl, read_more_responses, Server, TempDir};

const OPS_A: &str = env!("OPS_A_LIB");
const OPS_B: &str = env!("OPS_B_LIB");
const A: &str = env!("OPS_A_BODY");
const B: &str = env!("OPS_B_BODY");

/// The load's length and width, as the issue asks of wrk: 10 s, at least 8 connections.
const LOAD: Duration = Duration::from_secs(10);
const CONNECTIONS: usize = 8;

/// Puts `bytes` at `lib` the way a build or a deploy does: a new file renamed over the old.
fn install_bytes(lib: &Path, bytes: &[u8]) {
    let next = lib.with_extension("so.next");
    std::fs::write(&next, bytes).expect("write the new library");
    std::fs::rename(&next, lib).expect("rename it into place");
}

fn install(lib: &Path, from: &str) {
    install_bytes(lib, &std::fs::read(from).expect("read a built library"));
}

fn body(server: &Server) -> String {
    let r = curl(&["--max-time", "5", &server.url("/plaintext")]);
    assert_eq!(r.status, 200, "{r:?}");
    r.text()
}

fn sleep_until(load_elapsed: impl Fn() -> Duration, at: Duration) {
    let now = load_elapsed();
    if now < at {
        thread::sleep(at - now);
    }
}

fn assert_clean(report: &Report, logs: &str) {
    eprintln!(
        "load: {} requests, socket errors {} (connect {}, read {}, write {}, timeout {}), non-2xx {}, bodies {:?}",
        report.requests,
        report.socket_errors(),
        report.connect_errors,
        report.read_errors,
        report.write_errors,
        report.timeouts,
        report.non_2xx,
        report.bodies
    );
    assert_eq!(
        report.socket_errors(),
        0,
        "{:?}; log:\n{logs}",
        report.errors
    );
    assert_eq!(report.non_2xx, 0, "{:?}", report.errors);
    assert!(report.requests > 1000, "a steady load: {report:?}");
}

#[test]
fn hup_under_load_swaps_in_the_rebuilt_library_with_no_error() {
    let dir = TempDir::new("reload-hup");
    let lib = dir.path().join("libapp.so");
    install(&lib, OPS_A);
    let server = Server::builder(&lib).args(["--workers", "2"]).start();
    assert_eq!(body(&server), A);
    let mut hup_at = Duration::ZERO;
    let mut done_at = Duration::ZERO;
    let mut in_flight = None;
    let report = run_for(server.addr, "/plaintext", CONNECTIONS, LOAD, |load| {
        sleep_until(|| load.elapsed(), Duration::from_secs(3));
        // A request the old app is busy with when the reload happens.
        let mut slow = server.connect();
        slow.write_all(b"GET /slow?ms=1500 HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("send");
        in_flight = Some(slow);
        thread::sleep(Duration::from_millis(100));
        install(&lib, OPS_B);
        hup_at = load.elapsed();
        server.signal(libc::SIGHUP);
        assert!(
            server.wait_for_log("reload complete: generation 2", Duration::from_secs(10)),
            "log:\n{}",
            server.logs()
        );
        done_at = load.elapsed();
    });
    let logs = server.logs();
    assert_clean(&report, &logs);
    let a = report
        .bodies
        .get(A)
        .expect("the old body before the reload");
    let b = report.bodies.get(B).expect("the new body after it");
    assert!(
        a.1 < hup_at && b.1 > hup_at,
        "A {a:?}, B {b:?}, HUP at {hup_at:?}"
    );
    // Once the reload is complete, the old workers answer each connection once more (with
    // Connection: close) and are gone.
    assert!(
        a.2 < done_at + Duration::from_secs(1),
        "the old body was still served at {:?}, the reload completed at {done_at:?}",
        a.2
    );
    assert!(b.0 > 1000, "{b:?}");
    let mut slow = in_flight.expect("the slow request");
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut data = Vec::new();
    let (resps, _) = read_more_responses(&mut slow, &mut data, 1, &[]);
    assert_eq!(resps.first().map(|r| r.status), Some(200), "{data:?}");
    assert_eq!(
        String::from_utf8_lossy(&resps[0].body),
        format!("slept {A}"),
        "the request in flight finished on the old app"
    );
    assert_eq!(body(&server), B);
    eprintln!(
        "HUP at {hup_at:?}, reload complete at {done_at:?}, last old body at {:?}",
        a.2
    );
}

#[test]
fn a_hup_onto_a_broken_library_keeps_the_old_app_serving_under_load() {
    let dir = TempDir::new("reload-bad");
    let lib = dir.path().join("libapp.so");
    install(&lib, OPS_A);
    let server = Server::builder(&lib).args(["--workers", "2"]).start();
    let workers = server.wait_for_workers(2, Duration::from_secs(10));
    assert_eq!(workers.len(), 2);
    let shown = lib.display().to_string();
    let report = run_for(server.addr, "/plaintext", CONNECTIONS, LOAD, |load| {
        sleep_until(|| load.elapsed(), Duration::from_secs(2));
        // Not an app at all.
        install_bytes(&lib, b"this is not a shared library\n");
        server.signal(libc::SIGHUP);
        let not_a_library =
            format!("reload failed: cannot load app {shown}: not a loadable library");
        assert!(
            server.wait_for_log(&not_a_library, Duration::from_secs(10)),
            "log:\n{}",
            server.logs()
        );
        sleep_until(|| load.elapsed(), Duration::from_secs(5));
        // An app whose create fails.
        install(&lib, env!("CREATE_FAILS_LIB"));
        server.signal(libc::SIGHUP);
        let create_failed = format!(
            "reload failed: cannot start app {shown} (create-fails): create failed: {}",
            env!("CREATE_ERROR")
        );
        assert!(
            server.wait_for_log(&create_failed, Duration::from_secs(10)),
            "log:\n{}",
            server.logs()
        );
        // And a library that is not there.
        sleep_until(|| load.elapsed(), Duration::from_secs(7));
        std::fs::remove_file(&lib).expect("remove");
        server.signal(libc::SIGHUP);
        assert!(
            server.wait_for_log(
                &format!("reload failed: cannot load app {shown}: no such file"),
                Duration::from_secs(10)
            ),
            "log:\n{}",
            server.logs()
        );
    });
    let logs = server.logs();
    assert_clean(&report, &logs);
    assert_eq!(
        report.bodies.keys().collect::<Vec<_>>(),
        [A],
        "only the old app answered"
    );
    assert_eq!(server.worker_pids(), workers, "the old workers still serve");
    assert_eq!(body(&server), A);
    assert_eq!(
        logs.matches("keeps serving").count(),
        3,
        "each failure says the old generation keeps serving; log:\n{logs}"
    );
}

#[test]
fn reload_serves_a_replaced_library_within_two_seconds_and_follows_the_settings_file() {
    let dir = TempDir::new("reload-watch");
    let lib = dir.path().join("libapp.so");
    install(&lib, OPS_A);
    let settings = dir.write("settings.toml", "debug = true\n");
    let server = Server::builder(&lib)
        .settings(&settings)
        .args(["--reload"])
        .start();
    assert_eq!(body(&server), A);
    let replaced = Instant::now();
    install(&lib, OPS_B);
    loop {
        if body(&server) == B {
            break;
        }
        assert!(
            replaced.elapsed() < Duration::from_secs(5),
            "never reloaded; log:\n{}",
            server.logs()
        );
        thread::sleep(Duration::from_millis(20));
    }
    let took = replaced.elapsed();
    eprintln!("--reload: the new library served {took:?} after it was replaced");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    std::fs::write(&settings, "debug = false\n").expect("edit the settings");
    let changed = format!("--reload: {} changed", settings.display());
    assert!(
        server.wait_for_log(&changed, Duration::from_secs(5))
            && server.wait_for_log("reload complete: generation 3", Duration::from_secs(5)),
        "log:\n{}",
        server.logs()
    );
}

#[test]
fn overwriting_the_library_in_place_does_not_touch_the_running_workers() {
    let dir = TempDir::new("reload-inplace");
    let lib = dir.path().join("libapp.so");
    install(&lib, OPS_A);
    let server = Server::builder(&lib).args(["--workers", "1"]).start();
    let workers = server.wait_for_workers(1, Duration::from_secs(10));
    assert_eq!(body(&server), A);
    // `cp new.so app.so`: the same file, rewritten. A worker that had mapped this file would
    // now run the new bytes (or crash); one that mapped its snapshot does not notice.
    std::fs::write(&lib, std::fs::read(OPS_B).expect("read")).expect("overwrite in place");
    for _ in 0..20 {
        assert_eq!(body(&server), A);
    }
    assert_eq!(server.worker_pids(), workers, "no worker died");
    server.signal(libc::SIGHUP);
    assert!(server.wait_for_log("reload complete", Duration::from_secs(10)));
    // The old worker stops accepting as soon as it is told (a busy machine may delay that by
    // a scheduling slice).
    let told = Instant::now();
    while body(&server) != B {
        assert!(
            told.elapsed() < Duration::from_secs(2),
            "still the old app after the reload"
        );
        thread::sleep(Duration::from_millis(10));
    }
}
