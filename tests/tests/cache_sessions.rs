//! Sessions on Redis through the real binary: the notes app with `session_engine = "cache"`
//! and `[caches.default] backend = "redis"`, on a throwaway redis-server
//! (`tests::redis::RedisServer`). Two instances with their own working directories and SQLite
//! files share sessions through that one Redis; a Redis outage under load is a quick 500 with
//! an ERROR naming Redis, the server stays up, and the next request after Redis is back works.

mod notes_support;

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use notes_support::{assert_status, Target};
use tests::redis::RedisServer;

/// The shipped settings with sessions in the cache and the default cache on `redis_url`.
fn redis_edits(redis_url: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "login_url = \"/accounts/login/\"",
            "login_url = \"/accounts/login/\"\nsession_engine = \"cache\"".to_string(),
        ),
        (
            "[templates]",
            format!(
                "[caches.default]\nbackend = \"redis\"\nlocation = \"{redis_url}\"\n[templates]"
            ),
        ),
    ]
}

fn start_notes(label: &str, redis: &RedisServer) -> Target {
    let edits = redis_edits(&redis.url(0));
    let edits: Vec<(&str, &str)> = edits.iter().map(|(f, t)| (*f, t.as_str())).collect();
    Target::start_with(label, &edits)
}

/// A redis-server, or `None` after saying why the test skips.
fn redis_or_skip() -> Option<RedisServer> {
    if Target::is_external() {
        eprintln!("skipped against NOTES_BASE_URL: these tests configure the portico they start");
        return None;
    }
    match RedisServer::start() {
        Ok(r) => Some(r),
        Err(why) => {
            eprintln!("skipped: no redis-server ({why})");
            None
        }
    }
}

#[test]
fn two_instances_with_their_own_sqlite_share_sessions_through_one_redis() {
    let Some(redis) = redis_or_skip() else { return };
    let a = start_notes("cache-a", &redis);
    let b = start_notes("cache-b", &redis);
    assert_ne!(a.database(), b.database());

    // Log in through A.
    let via_a = a.browser();
    via_a.login_alice();
    assert_eq!(via_a.get("/session/counter/").json()["count"], 1);
    let session = via_a.cookie("sessionid").expect("a session cookie");
    let keys = redis.command("KEYS *").unwrap_or_default();
    assert!(
        keys.contains(&format!(":1:django.contrib.sessions.cache{session}")),
        "the session is in Redis under Django's key: {keys}"
    );

    // B sees the login and continues the counter; A sees B's write.
    let via_b = b.browser();
    via_b.set_cookie("sessionid", &session);
    let r = via_b.get("/api/whoami/");
    assert_eq!(r.json()["username"], "alice", "{}", r.text());
    assert_eq!(via_b.get("/session/counter/").json()["count"], 2);
    assert_eq!(via_a.get("/session/counter/").json()["count"], 3);

    // Logging out through B ends the session on both.
    let token = via_b.csrf_token();
    let r = via_b.post_form("/accounts/logout/", &[("csrfmiddlewaretoken", &token)], &[]);
    assert_status(&r, 302);
    let r = via_a.get("/api/whoami/");
    assert_eq!(r.json()["is_authenticated"], false, "{}", r.text());
    let replay = a.browser();
    replay.set_cookie("sessionid", &session);
    assert_eq!(replay.get("/api/whoami/").json()["is_authenticated"], false);
    let keys = redis.command("KEYS *").unwrap_or_default();
    assert!(!keys.contains(&session), "the session left Redis: {keys}");
}

/// One answer seen by the load: when it was sent (since the load began), how long it took,
/// and its status (0: the connection failed).
#[derive(Debug, Clone, Copy)]
struct Seen {
    sent: Duration,
    took: Duration,
    status: u16,
}

/// One request on `conn` (opened when there is none): the status, or `None` (and no
/// connection) when it failed.
fn exchange(conn: &mut Option<TcpStream>, port: u16, request: &str) -> Option<u16> {
    if conn.is_none() {
        let s = TcpStream::connect(("127.0.0.1", port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        *conn = Some(s);
    }
    let s = conn.as_mut()?;
    let status = match s.write_all(request.as_bytes()) {
        Ok(()) => tests::read_responses(s, 1, &[false])
            .iter()
            .find(|r| r.status >= 200)
            .map(|r| r.status),
        Err(_) => None,
    };
    if status.is_none() {
        *conn = None;
    }
    status
}

#[test]
fn a_redis_outage_under_load_is_a_quick_500_and_the_next_request_after_it_works() {
    let Some(mut redis) = redis_or_skip() else {
        return;
    };
    let t = start_notes("cache-outage", &redis);
    let browser = t.browser();
    browser.login_alice();
    assert_eq!(browser.get("/session/counter/").json()["count"], 1);
    let session = browser.cookie("sessionid").expect("a session cookie");
    let server = t.server.as_ref().expect("a portico of the test's own");
    let port = server.port;
    let request = format!(
        "GET /session/counter/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: sessionid={session}\r\n\r\n"
    );

    // A few keep-alive connections, each sending its next request when the last is answered.
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
    let began = Instant::now();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (stop, seen, request) = (Arc::clone(&stop), Arc::clone(&seen), request.clone());
            thread::spawn(move || {
                let mut conn: Option<TcpStream> = None;
                while !stop.load(Ordering::Acquire) {
                    let sent = began.elapsed();
                    let start = Instant::now();
                    let mut status = None;
                    // A keep-alive connection the server closed is reopened once (as wrk does).
                    for _ in 0..2 {
                        let reused = conn.is_some();
                        status = exchange(&mut conn, port, &request);
                        if status.is_some() || !reused {
                            break;
                        }
                    }
                    seen.lock().unwrap().push(Seen {
                        sent,
                        took: start.elapsed(),
                        status: status.unwrap_or(0),
                    });
                }
            })
        })
        .collect();

    thread::sleep(Duration::from_secs(1));
    let stopped_at = began.elapsed();
    redis.stop();
    thread::sleep(Duration::from_secs(3));
    let restarted_at = began.elapsed();
    redis.restart().expect("redis-server starts again");
    let back_at = began.elapsed();
    thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::Release);
    for w in workers {
        w.join().expect("a load thread");
    }
    let seen = seen.lock().unwrap().clone();

    let before: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.sent + s.took < stopped_at)
        .collect();
    let bad: Vec<&&Seen> = before.iter().filter(|s| s.status != 200).take(5).collect();
    assert!(
        !before.is_empty() && bad.is_empty(),
        "before the outage, {} answers; not 200: {bad:?}",
        before.len()
    );
    let during: Vec<&Seen> = seen
        .iter()
        .filter(|s| {
            s.sent > stopped_at + Duration::from_millis(100) && s.sent + s.took < restarted_at
        })
        .collect();
    assert!(
        during.len() >= 8,
        "a load during the outage: {} answers",
        during.len()
    );
    for s in &during {
        assert!(
            s.status == 500 || s.status == 503,
            "during the outage: {s:?}"
        );
        assert!(
            s.took < Duration::from_secs(1),
            "answered within a second: {s:?}"
        );
    }
    let slowest = during.iter().map(|s| s.took).max().unwrap_or_default();
    eprintln!(
        "outage: {} answers, all 500/503, slowest {slowest:?}; {} answers in all",
        during.len(),
        seen.len()
    );
    // Redis is back (and empty: no persistence), so the next request makes a new session.
    let after: Vec<&Seen> = seen.iter().filter(|s| s.sent > back_at).collect();
    let bad: Vec<&&Seen> = after.iter().filter(|s| s.status != 200).take(5).collect();
    assert!(
        !after.is_empty() && bad.is_empty(),
        "once Redis answers again, {} answers; not 200: {bad:?}",
        after.len()
    );
    assert_eq!(browser.get("/session/counter/").json()["count"], 1);

    let logs = server.logs();
    let named = format!("Redis at {}", redis.url(0));
    assert!(
        logs.lines()
            .any(|l| l.contains("ERROR") && l.contains(&named)),
        "an ERROR naming Redis: {logs}"
    );
    let mut t = t;
    let server = t.server.as_mut().expect("the server");
    assert!(server.is_running(), "the server stayed up");
}

#[test]
fn cached_db_sessions_are_cached_in_redis_and_survive_its_outage_from_the_database() {
    let Some(mut redis) = redis_or_skip() else {
        return;
    };
    let edits = redis_edits(&redis.url(0));
    let mut edits: Vec<(&str, &str)> = edits.iter().map(|(f, t)| (*f, t.as_str())).collect();
    edits[0].1 = "login_url = \"/accounts/login/\"\nsession_engine = \"cached_db\"";
    let t = Target::start_with("cached-db", &edits);
    let b = t.browser();
    b.login_alice();
    assert_eq!(b.get("/session/counter/").json()["count"], 1);
    let session = b.cookie("sessionid").expect("a session cookie");
    let keys = redis.command("KEYS *").unwrap_or_default();
    assert!(
        keys.contains(&format!(":1:django.contrib.sessions.cached_db{session}")),
        "cached under Django's key: {keys}"
    );
    // Redis down: the database answers (Django 5.2 logs the cache errors and goes on).
    redis.stop();
    let r = b.get("/session/counter/");
    assert_status(&r, 200);
    assert_eq!(r.json()["count"], 2);
    assert_eq!(b.get("/api/whoami/").json()["username"], "alice");
    let logs = t.server.as_ref().expect("a portico").logs();
    assert!(
        logs.lines()
            .any(|l| l.contains("ERROR") && l.contains("Redis at")),
        "the cache errors are logged: {logs}"
    );
    // Redis back (empty): the session is read from the database and cached again.
    redis.restart().expect("redis-server starts again");
    assert_eq!(b.get("/session/counter/").json()["count"], 3);
    assert!(redis
        .command("KEYS *")
        .unwrap_or_default()
        .contains(&session));
}
