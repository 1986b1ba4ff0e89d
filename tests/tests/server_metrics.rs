//! Prometheus metrics on `--metrics-bind`: served by the master on its own port, summed over
//! every worker through their shared pages, counters that survive a worker's death, the
//! restart counted by cause, and `promtool check metrics` clean (Debian's `prometheus`
//! package, installed by .ci/run; the check says it skipped where promtool is missing).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tests::{app_lib, free_port, read_until_closed, signal_pid, Server};

fn scrape(port: u16) -> String {
    let r = tests::curl(&[&format!("http://127.0.0.1:{port}/metrics")]);
    assert_eq!(r.status, 200, "scrape: {}", r.stderr);
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    r.text()
}

/// The sum of every sample of `family` (all its label sets).
fn sum(text: &str, family: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(family)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn promtool_check(text: &str) {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("SKIPPED: promtool check metrics (promtool is not installed: apt-get install prometheus)");
        return;
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("feed promtool");
    let out = child.wait_with_output().expect("promtool ran");
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn two_workers_are_summed_and_a_killed_workers_counts_survive() {
    let port = free_port();
    let server = Server::builder(app_lib("raw_hello"))
        .args([
            "--workers",
            "2",
            "--metrics-bind",
            &format!("127.0.0.1:{port}"),
        ])
        .start();
    let workers = server.wait_for_workers(2, Duration::from_secs(10));
    assert_eq!(workers.len(), 2);

    for i in 0..100 {
        let mut s = server.connect();
        s.write_all(b"GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .expect("send");
        let raw = read_until_closed(&mut s).expect("answer");
        assert!(
            raw.starts_with(b"HTTP/1.1 200 "),
            "request {i}: {:?}\nlog:\n{}",
            String::from_utf8_lossy(&raw),
            server.logs()
        );
    }
    let text = scrape(port);
    let total = sum(&text, "portico_requests_total");
    assert!(
        total >= 100.0,
        "portico_requests_total sums to {total}:\n{text}"
    );
    assert_eq!(
        sample(
            &text,
            "portico_requests_total{method=\"GET\",status=\"2xx\"}"
        ),
        Some(total)
    );
    assert_eq!(sample(&text, "portico_workers"), Some(2.0));
    assert_eq!(
        sample(&text, "portico_request_duration_seconds_count"),
        Some(total)
    );
    assert!(sample(&text, "portico_sent_bytes_total").is_some_and(|b| b > 100.0 * 100.0));
    assert_eq!(
        sample(&text, "portico_worker_restarts_total{cause=\"signal\"}"),
        Some(0.0)
    );
    promtool_check(&text);
    // The metrics port is not the app's, and the app's port has no /metrics of the master.
    let app_side = server.curl("/metrics", &[]);
    assert_eq!(app_side.status, 404);

    signal_pid(workers[0], libc::SIGKILL);
    let deadline = Instant::now() + Duration::from_secs(10);
    let after = loop {
        let text = scrape(port);
        if sample(&text, "portico_worker_restarts_total{cause=\"signal\"}") == Some(1.0)
            && sample(&text, "portico_workers") == Some(2.0)
        {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "no restart counted after kill -9:\n{text}\nlog:\n{}",
            server.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    // The dead worker's requests are still counted (and the scrapes are not requests).
    let total_after = sum(&after, "portico_requests_total");
    assert!(
        total_after >= total,
        "counters went back from {total} to {total_after} after the worker's death"
    );
    promtool_check(&after);
}

#[test]
fn a_bad_metrics_bind_is_a_start_up_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let finished = Server::builder(app_lib("raw_hello"))
        .args(["--metrics-bind", &format!("127.0.0.1:{port}")])
        .run_to_exit(Duration::from_secs(10));
    assert!(!finished.status.success());
    assert!(
        finished.stderr.contains("--metrics-bind"),
        "the error names the flag: {}",
        finished.stderr
    );
}
