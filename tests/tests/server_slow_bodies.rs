//! Slow request bodies cost the attacker, not the server: a handler waiting for body bytes does
//! not hold one of `--threads`, and a body that comes slower than `--body-min-rate` past
//! `--body-timeout` (mod_reqtimeout's `body=20,MinRate=500` by default) is answered 408 and its
//! connection closed. Driven against the articles app's `POST /api/echo/`, a view that reads its
//! whole body, as the attack was first tried.

mod articles_support;

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use articles_support::App;
use tests::{parse_responses, read_until_closed};

/// The head each trickler sends: a megabyte promised, a byte a second delivered.
const SLOW_HEAD: &[u8] = b"POST /api/echo/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\
    Content-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n";

/// `count` connections that sent `SLOW_HEAD`, and a thread writing one body byte to each of
/// them every second until `stop` is set (a write that fails drops out quietly).
fn tricklers(app: &App, count: usize, stop: &Arc<AtomicBool>) -> Vec<TcpStream> {
    let conns: Vec<TcpStream> = (0..count)
        .map(|_| {
            let mut s = app.server.connect();
            s.write_all(SLOW_HEAD).expect("send the slow head");
            s
        })
        .collect();
    let mut writers: Vec<TcpStream> = conns
        .iter()
        .map(|s| s.try_clone().expect("clone"))
        .collect();
    let stop = Arc::clone(stop);
    thread::spawn(move || {
        while !stop.load(Ordering::Acquire) && !writers.is_empty() {
            writers.retain_mut(|w| w.write_all(b"x").is_ok());
            thread::sleep(Duration::from_secs(1));
        }
    });
    conns
}

/// A fresh GET, answered 200 within `limit`.
fn fresh_request_is_answered_within(app: &App, limit: Duration) {
    let asked = Instant::now();
    let r = app.server.curl("/api/success/", &["--max-time", "10"]);
    let took = asked.elapsed();
    assert_eq!(
        r.status,
        200,
        "a fresh request during the trickle ({took:?}, curl {}); log:\n{}",
        r.stderr,
        app.server.logs()
    );
    assert!(took < limit, "a fresh request waited {took:?}");
}

#[test]
fn a_hundred_trickled_bodies_hold_no_thread_and_get_408_past_the_grace() {
    // Default settings: --threads is 2 x cores, --body-timeout 20, --body-min-rate 500.
    let app = App::start("slow-bodies");
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut conns = tricklers(&app, 100, &stop);

    // Every trickler's view is now waiting in read_body; none holds an app thread.
    thread::sleep(Duration::from_millis(1500));
    for _ in 0..20 {
        fresh_request_is_answered_within(&app, Duration::from_secs(1));
        thread::sleep(Duration::from_millis(200));
    }

    // Past the grace, each trickler is answered 408 and closed (20 s plus a second per 500
    // bytes: about 20 s for a byte a second).
    for (i, s) in conns.iter_mut().enumerate() {
        s.set_read_timeout(Some(Duration::from_secs(40)))
            .expect("read timeout");
        let raw = read_until_closed(s).unwrap_or_else(|e| {
            panic!("trickler {i} still open after {:?}: {e}", started.elapsed())
        });
        let at = started.elapsed();
        let (resps, _) = parse_responses(&raw, &[]);
        assert_eq!(
            resps.iter().map(|r| r.status).collect::<Vec<_>>(),
            vec![408],
            "trickler {i}: {:?}",
            String::from_utf8_lossy(&raw)
        );
        assert!(
            at >= Duration::from_secs(19) && at < Duration::from_secs(35),
            "trickler {i} closed after {at:?}; expected just past the 20 s grace"
        );
    }
    stop.store(true, Ordering::Release);
    let logs = app.server.logs();
    assert!(
        logs.contains("request(s) whose body came slower than 500 bytes/s past 20s"),
        "the rate-limited warning names the count and the rule; log:\n{logs}"
    );
    // Still serving after all that.
    fresh_request_is_answered_within(&app, Duration::from_secs(1));
}

#[test]
fn four_slow_uploads_leave_four_threads_free_for_a_fast_request() {
    let app = App::start_with_args("slow-bodies-threads", &["--threads", "4"]);
    let stop = Arc::new(AtomicBool::new(false));
    let conns = tricklers(&app, 4, &stop);
    thread::sleep(Duration::from_millis(1500));
    fresh_request_is_answered_within(&app, Duration::from_secs(1));
    // A fast upload goes through beside them too.
    let r = app.server.curl(
        "/api/echo/",
        &[
            "-H",
            "Content-Type: text/plain",
            "--data-binary",
            "fast",
            "--max-time",
            "10",
        ],
    );
    assert_eq!((r.status, r.text()), (200, "fast".to_string()));
    stop.store(true, Ordering::Release);
    drop(conns);
}

#[test]
fn a_body_behind_the_minimum_rate_is_cut_off_with_408_and_the_view_sees_an_error() {
    let app = App::start_with_args(
        "slow-bodies-rate",
        &["--body-timeout", "1", "--body-min-rate", "100"],
    );
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut conns = tricklers(&app, 1, &stop);
    let raw = read_until_closed(&mut conns[0]).expect("the slow upload is closed");
    let at = started.elapsed();
    stop.store(true, Ordering::Release);
    let (resps, _) = parse_responses(&raw, &[]);
    assert_eq!(resps.len(), 1, "{:?}", String::from_utf8_lossy(&raw));
    assert_eq!(resps[0].status, 408);
    assert_eq!(
        String::from_utf8_lossy(&resps[0].body),
        "Request Timeout: request body sent too slowly\n"
    );
    assert!(
        at >= Duration::from_millis(900) && at < Duration::from_secs(6),
        "closed after {at:?}, expected soon after --body-timeout 1"
    );
    // An honest upload well above the rate is not affected by the short grace.
    let body = vec![b'a'; 256 * 1024];
    let file = app.dir.dir.write("upload.bin", &body);
    let r = app.server.curl(
        "/api/echo/",
        &[
            "-H",
            "Content-Type: application/octet-stream",
            "--data-binary",
            &format!("@{}", file.display()),
            "--limit-rate",
            "100k",
            "--max-time",
            "20",
        ],
    );
    assert_eq!(r.status, 200, "a 100 KB/s upload; curl {}", r.stderr);
    assert_eq!(r.body.len(), body.len());
}

#[test]
fn a_client_taking_its_response_behind_the_minimum_rate_is_cut_off() {
    use std::io::Read;
    // --timeout alone would never fire: the client takes a few bytes every 50 ms.
    let server = tests::Server::builder(tests::app_lib("raw_hello"))
        .args(["--body-timeout", "1", "--body-min-rate", "100000"])
        .start();
    let mut slow = tests::connect_with_small_receive_buffer(server.addr, 4096);
    // More than both ends' socket buffers can hold (loopback autotunes them to several MiB), so
    // the upload can only finish if the server reads it all.
    let body_len = 64 * 1024 * 1024;
    slow.write_all(
        format!("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {body_len}\r\n\r\n").as_bytes(),
    )
    .expect("send head");
    let mut uploader = slow.try_clone().expect("clone");
    let upload = thread::spawn(move || uploader.write_all(&vec![b'x'; body_len]).is_ok());
    let started = Instant::now();
    slow.set_read_timeout(Some(Duration::from_secs(2)))
        .expect("read timeout");
    let mut buf = [0u8; 100];
    let mut taken = 0usize;
    let ended = loop {
        match slow.read(&mut buf) {
            Ok(0) | Err(_) => break started.elapsed(),
            Ok(n) => taken += n,
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "still connected after {taken} bytes; log:\n{}",
            server.logs()
        );
        thread::sleep(Duration::from_millis(50));
    };
    assert!(taken < body_len, "the response could not have completed");
    assert!(
        ended < Duration::from_secs(10),
        "cut off after {ended:?}, expected soon after --body-timeout 1"
    );
    assert!(
        server.wait_for_log(
            "whose client took its response slower than 100000 bytes/s",
            Duration::from_secs(5)
        ),
        "the cut-off is logged; log:\n{}",
        server.logs()
    );
    assert!(!upload.join().expect("uploader"), "the upload was cut too");
}
