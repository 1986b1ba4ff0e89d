//! handler-core's Redis cache backend against a real redis-server (`tests::redis`): Django's
//! low-level API with Django's Redis semantics (integers stored raw, so `INCR` and
//! `redis-cli GET` see digits; timeouts as `EX`; `0` deletes; `incr` on a missing key is an
//! error), and an outage: a quick error naming the server, then the next call after Redis is
//! back succeeds.

use std::time::{Duration, Instant};

use handler_core::cache::{Cache, CacheConfig, CacheError, Timeout};
use handler_core::Settings;
use tests::redis::RedisServer;

fn redis_or_skip() -> Option<RedisServer> {
    match RedisServer::start() {
        Ok(r) => Some(r),
        Err(why) => {
            eprintln!("skipped: no redis-server ({why})");
            None
        }
    }
}

fn redis_cache(redis: &RedisServer, extra: &str) -> Cache {
    let src = format!(
        "[caches.default]\nbackend = \"redis\"\nlocation = \"{}\"\nkey_prefix = \"p\"\n{extra}",
        redis.url(0)
    );
    let settings = Settings::parse(&src, None).expect("settings");
    let config: &CacheConfig = &settings.caches["default"];
    Cache::from_config("default", config).expect("a redis cache")
}

#[test]
fn the_low_level_api_on_redis_follows_django() {
    let Some(redis) = redis_or_skip() else { return };
    let c = redis_cache(&redis, "");
    assert_eq!(c.get::<String>("missing").unwrap(), None);
    assert_eq!(c.get_or("missing", 3).unwrap(), 3);

    // Ints are stored raw: Redis itself sees the digits, and INCR works on them.
    c.set("n", &41, Timeout::Default).unwrap();
    assert_eq!(redis.command("GET p:1:n").unwrap(), "$2\r\n41\r\n");
    assert_eq!(c.incr("n", 1).unwrap(), 42);
    assert_eq!(c.decr("n", 2).unwrap(), 40);
    assert_eq!(redis.command("INCRBY p:1:n 2").unwrap(), ":42\r\n");
    assert_eq!(c.get::<i64>("n").unwrap(), Some(42));
    match c.incr("nope", 1) {
        Err(e @ CacheError::KeyNotFound(_)) => {
            assert_eq!(e.to_string(), "Key 'p:1:nope' not found.")
        }
        other => panic!("{other:?}"),
    }
    assert!(!c.has_key("nope").unwrap(), "incr created nothing");
    c.set("text", "x", Timeout::Default).unwrap();
    assert!(matches!(
        c.incr("text", 1),
        Err(CacheError::NotAnInteger(_))
    ));

    // Timeouts: the default is 300 s (EX 300), "never" has no TTL, 0 deletes.
    let ttl = redis.command("TTL p:1:n").unwrap();
    let secs: i64 = ttl.trim_start_matches(':').trim().parse().unwrap();
    assert!((295..=300).contains(&secs), "{ttl}");
    c.set("forever", &vec!["a", "b"], Timeout::Never).unwrap();
    assert_eq!(redis.command("TTL p:1:forever").unwrap(), ":-1\r\n");
    assert_eq!(
        c.get::<Vec<String>>("forever").unwrap(),
        Some(vec!["a".into(), "b".into()])
    );
    c.set("forever", &1, 0).unwrap();
    assert!(!c.has_key("forever").unwrap());
    c.set("short", &1, 1).unwrap();
    assert!(c.touch("short", 100).unwrap());
    assert!(!c.touch("absent", 100).unwrap());
    assert_eq!(redis.command("TTL p:1:short").unwrap(), ":100\r\n");
    c.set("expiring", &1, 1).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(c.get::<i64>("expiring").unwrap(), None);

    // add only when absent; with 0 it reports and stores nothing.
    assert!(c.add("a", "first", Timeout::Default).unwrap());
    assert!(!c.add("a", "second", Timeout::Default).unwrap());
    assert_eq!(c.get::<String>("a").unwrap().as_deref(), Some("first"));
    assert!(c.add("z", "gone", 0).unwrap());
    assert!(!c.has_key("z").unwrap());

    // Many at once, and versions.
    c.set_many(&[("m1", 1), ("m2", 2)], 60).unwrap();
    assert_eq!(redis.command("TTL p:1:m2").unwrap(), ":60\r\n");
    let many = c.get_many::<i64>(&["m1", "m2", "m3"]).unwrap();
    assert_eq!((many.len(), many["m2"]), (2, 2));
    c.delete_many(&["m1", "m2"]).unwrap();
    assert!(c.get_many::<i64>(&["m1", "m2"]).unwrap().is_empty());
    assert_eq!(c.incr_version("a", 1).unwrap(), 2);
    assert_eq!(redis.command("EXISTS p:2:a").unwrap(), ":1\r\n");
    assert!(c.delete("text").unwrap() && !c.delete("text").unwrap());

    // A value Django pickled is not readable: an error saying so, not a crash.
    redis.command("SET p:1:pickled \u{80}\u{4}K").unwrap();
    let e = c.get::<i64>("pickled").unwrap_err();
    assert!(e.to_string().contains("pickled"), "{e}");

    c.clear().unwrap();
    assert_eq!(redis.command("DBSIZE").unwrap(), ":0\r\n");
}

#[test]
fn an_outage_is_a_quick_error_naming_redis_and_the_next_call_after_it_works() {
    let Some(mut redis) = redis_or_skip() else {
        return;
    };
    let c = redis_cache(&redis, "");
    c.set("k", &1, Timeout::Default).unwrap();
    redis.stop();
    for _ in 0..3 {
        let start = Instant::now();
        match c.get::<i64>("k") {
            Err(CacheError::Backend { server, .. }) => {
                assert_eq!(server, format!("Redis at {}", redis.url(0)))
            }
            other => panic!("{other:?}"),
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{:?}",
            start.elapsed()
        );
    }
    redis.restart().unwrap();
    // Redis has no persistence here: the key is gone, but the call itself succeeds.
    assert_eq!(c.get::<i64>("k").unwrap(), None);
    c.set("k", &2, Timeout::Default).unwrap();
    // A pooled connection that died with the server is replaced on the next call.
    redis.restart().unwrap();
    assert_eq!(c.get::<i64>("k").unwrap(), None);

    // With ignore_exceptions, reads miss and writes are no-ops while Redis is down.
    let lenient = redis_cache(
        &redis,
        "[caches.default.options]\nignore_exceptions = true\n",
    );
    redis.stop();
    assert_eq!(lenient.get::<i64>("k").unwrap(), None);
    lenient.set("k", &1, Timeout::Default).unwrap();
    assert!(!lenient.add("k", &1, Timeout::Default).unwrap());
}

#[test]
fn a_stuck_redis_is_an_error_after_the_read_timeout_never_a_hang() {
    let Some(redis) = redis_or_skip() else { return };
    let c = redis_cache(&redis, "[caches.default.options]\nsocket_timeout = 0.3\n");
    c.set("k", &1, Timeout::Default).unwrap();
    redis.pause();
    let start = Instant::now();
    let result = c.get::<i64>("k");
    let took = start.elapsed();
    redis.resume();
    assert!(
        matches!(result, Err(CacheError::Backend { .. })),
        "{result:?}"
    );
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(1),
        "failed after the 0.3 s read timeout: {took:?}"
    );
    // The timed-out connection was dropped: the next call reads its own answer.
    assert_eq!(c.get::<i64>("k").unwrap(), Some(1));
}
