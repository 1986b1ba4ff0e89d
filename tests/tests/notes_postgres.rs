//! notes as it is deployed on PostgreSQL (issue 15's "What it must show"): two instances with
//! separate working directories and the same settings share only the database (a login
//! through one is seen by the other, the session counter continues across them, a logout
//! through either ends the session on both); and a PostgreSQL crash under a small load is a
//! fast 500 with an ERROR naming the database, the server stays up, and once PostgreSQL is
//! back the next request succeeds (`conn_health_checks`).

mod notes_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use notes_support::*;
use tests::postgres::{Postgres, StopMode};

/// alice's session cookie of `from`, put in `to`'s jar (the same browser on another instance
/// behind a load balancer).
fn carry_session(from: &Browser<'_>, to: &Browser<'_>) {
    let session = from.cookie("sessionid").expect("a session cookie");
    to.set_cookie("sessionid", &session);
}

fn whoami(b: &Browser<'_>) -> String {
    let r = b.get("/api/whoami/");
    assert_status(&r, 200);
    r.json()["username"].as_str().unwrap_or("").to_string()
}

fn counter(b: &Browser<'_>) -> i64 {
    let r = b.get("/session/counter/");
    assert_status(&r, 200);
    r.json()["count"].as_i64().expect("a count")
}

fn logout(b: &Browser<'_>) {
    let token = b.csrf_token();
    let r = b.post_form("/accounts/logout/", &[("csrfmiddlewaretoken", &token)], &[]);
    assert_status(&r, 302);
}

#[test]
fn two_instances_sharing_only_postgresql_share_sessions() {
    let Some(url) = postgres_database("two_instances") else {
        eprintln!("SKIPPED: two instances need PostgreSQL");
        return;
    };
    // Started one after the other, as a rolling deploy does; the second finds the schema
    // and the users made.
    let one = Target::start_on("instance-one", &[], Some(&url));
    let two = Target::start_on("instance-two", &[], Some(&url));
    assert_ne!(one.dir.path(), two.dir.path());

    for (first, second) in [(&one, &two), (&two, &one)] {
        let on_first = first.browser();
        on_first.login_alice();
        assert_eq!(counter(&on_first), 1);
        let on_second = second.browser();
        carry_session(&on_first, &on_second);
        // The login made through the first is seen by the second.
        assert_eq!(whoami(&on_second), "alice");
        // The counter continues across them.
        assert_eq!(counter(&on_second), 2);
        assert_eq!(counter(&on_first), 3);
        assert_eq!(counter(&on_second), 4);
        // A logout through the second ends the session the first still has the cookie of.
        logout(&on_second);
        assert_eq!(whoami(&on_second), "");
        assert_eq!(whoami(&on_first), "", "the session ended on both instances");
        assert_eq!(counter(&on_first), 1, "a new, empty session");
    }
}

/// What one request of the load saw.
struct Answer {
    sent: Instant,
    took: Duration,
    status: u16,
}

#[test]
fn a_postgresql_crash_under_load_is_a_fast_error_and_the_next_request_succeeds() {
    let mut pg = match Postgres::start() {
        Ok(pg) => pg,
        Err(reason) => {
            eprintln!("SKIPPED: PostgreSQL is unavailable: {reason}");
            return;
        }
    };
    let url = pg.create_database("crash");
    // Persistent connections (the shipped settings' conn_max_age), checked before reuse: a
    // deployment on PostgreSQL.
    let t = Target::start_on(
        "crash",
        &[(
            "conn_max_age = 600",
            "conn_max_age = 600\nconn_health_checks = true",
        )],
        Some(&url),
    );
    let pid = t.server().pid();
    let answers = Arc::new(Mutex::new(Vec::<Answer>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    std::thread::scope(|scope| {
        // A small load: four clients, each with its own session.
        for _ in 0..4 {
            let (answers, stop, t) = (Arc::clone(&answers), Arc::clone(&stop), &t);
            scope.spawn(move || {
                let b = t.browser();
                while !stop.load(Ordering::Relaxed) {
                    let sent = Instant::now();
                    let r = b.curl("/session/counter/", &["--max-time", "10"]);
                    let answer = Answer {
                        sent,
                        took: sent.elapsed(),
                        status: r.status,
                    };
                    answers.lock().unwrap().push(answer);
                }
            });
        }
        std::thread::sleep(Duration::from_millis(1500));
        let crashed = Instant::now();
        pg.stop(StopMode::Immediate);
        std::thread::sleep(Duration::from_millis(2000));
        stop.store(true, Ordering::Relaxed);
        let answers = answers.lock().unwrap();
        let before: Vec<&Answer> = answers
            .iter()
            .filter(|a| a.sent + a.took < crashed)
            .collect();
        assert!(
            !before.is_empty() && before.iter().all(|a| a.status == 200),
            "the load was served before the crash: {:?}",
            before.iter().map(|a| a.status).collect::<Vec<_>>()
        );
        // Requests sent once the server was gone: each a 500 or 503, in under a second.
        let after: Vec<&Answer> = answers
            .iter()
            .filter(|a| a.sent > crashed + Duration::from_millis(200))
            .collect();
        assert!(!after.is_empty(), "requests were sent after the crash");
        eprintln!(
            "{} requests before the crash, {} during the outage (slowest {:?})",
            before.len(),
            after.len(),
            after.iter().map(|a| a.took).max()
        );
        for a in &after {
            assert!(
                a.status == 500 || a.status == 503,
                "a request during the outage got {}",
                a.status
            );
            assert!(
                a.took < Duration::from_secs(1),
                "a request during the outage took {:?}",
                a.took
            );
        }
    });
    let logs = t.server().logs();
    let named = format!(
        "on database 'default' (postgresql 127.0.0.1:{}/crash)",
        pg.port()
    );
    assert!(
        logs.contains(" ERROR ") && logs.contains(&named),
        "an ERROR names the database: {logs}"
    );
    // The server stayed up: the same master, and pages without the database still answer.
    assert_eq!(t.server().pid(), pid);
    let b = t.browser();
    let r = b.get("/big/");
    assert_status(&r, 200);

    pg.start_again().expect("PostgreSQL starts again");
    // The next request succeeds: the dead connections are replaced (the health check
    // replaces a stale one before its first query).
    for _ in 0..4 {
        let b = t.browser();
        let r = b.get("/session/counter/");
        assert_status(&r, 200);
        assert_eq!(r.json()["count"], 1);
    }
}
