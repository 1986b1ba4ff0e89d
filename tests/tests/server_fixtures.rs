//! The request fixtures of `tests/requests/invalid/` replayed over TCP against the real binary
//! (the parser's unit tests replay the same files in-process): each gets its status with a
//! one-line reason, the connection closes, the refusal is logged at info, and the access log has
//! a line for it.

use std::io::Write;
use std::time::{Duration, Instant};

use tests::{app_lib, parse_responses, read_until_closed, reason_phrase, request_fixtures, Server};

#[test]
fn every_invalid_fixture_is_refused_over_tcp_with_its_status_and_closed() {
    let server = Server::builder(app_lib("raw_hello"))
        .args(["--access-logfile", "-"])
        .start();
    let fixtures = request_fixtures("invalid");
    assert!(fixtures.len() >= 30, "the corpus lost fixtures");
    let mut statuses = Vec::new();
    for (path, bytes, expected) in &fixtures {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let status: u16 = expected
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}: the .expected file holds a status"));
        let mut s = server.connect();
        s.write_all(bytes).expect("send the fixture");
        let raw = read_until_closed(&mut s)
            .unwrap_or_else(|e| panic!("{name}: the server did not close the connection ({e})"));
        let (resps, rest) = parse_responses(&raw, &[]);
        assert_eq!(
            resps.iter().map(|r| r.status).collect::<Vec<_>>(),
            vec![status],
            "{name}: {:?}",
            String::from_utf8_lossy(&raw)
        );
        assert!(rest.is_empty(), "{name}: bytes after the response");
        let reason = reason_phrase(&raw);
        let body = String::from_utf8_lossy(&resps[0].body).into_owned();
        assert!(
            body.starts_with(&format!("{reason}: "))
                && body.ends_with('\n')
                && body.lines().count() == 1,
            "{name}: the body is one line naming the reason: {body:?}"
        );
        assert_eq!(resps[0].header("connection"), Some("close"), "{name}");
        statuses.push(status);
    }

    // One info line per refusal, like gunicorn's, and one access-log line each.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let invalid = server
            .logs()
            .lines()
            .filter(|l| l.contains(" INFO ") && l.contains("Invalid request from ip=127.0.0.1: "))
            .count();
        let access: Vec<u16> = server
            .stdout()
            .lines()
            .filter_map(|l| l.split("\" ").nth(1)?.split(' ').next()?.parse().ok())
            .collect();
        if invalid == fixtures.len() && access == statuses {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{invalid} 'Invalid request' lines and access statuses {access:?} for {} fixtures \
             ({statuses:?}); log:\n{}\naccess log:\n{}",
            fixtures.len(),
            server.logs(),
            server.stdout()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
