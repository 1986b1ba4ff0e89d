//! The Redis backend (Django's `backends/redis.py`, `RedisCache`), on the `redis` crate's
//! synchronous connections: the first location is written to, reads go to a random one of
//! the others (replicas) when there are several, as in Django. Values are JSON; an integer's
//! JSON is its decimal digits, which is what Django's `RedisSerializer` stores for an `int`,
//! so `INCR` works on both.
//!
//! Connections are pooled per server and opened on first use (so never before a fork), with
//! short connect and read/write timeouts. A failure is logged as an ERROR naming the server
//! and returned as [`CacheError::Backend`] (Django's `RedisCache` raises too); the connection
//! is dropped. A pooled connection that turns out dead (Redis restarted) is retried once on a
//! new one, and the other idle ones are dropped with it, so the first call after Redis is back
//! succeeds.
//!
//! The pool is a small stack of idle connections rather than r2d2: r2d2 opens connections on
//! its own threads with a retry back-off, so a request just after Redis returns could still
//! wait out the pool's timeout, and it cannot drop the whole stale idle set at once.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rand::Rng;
use redis::{Client, Connection, RedisError, RedisResult};
use serde_json::Value;

use crate::cache::{CacheBackend, CacheError, CacheOptions, LOGGER};

/// One Redis server and its idle connections.
struct Server {
    /// The URL with any password hidden, for logs and errors.
    name: String,
    client: Client,
    idle: Mutex<Vec<Connection>>,
    max_idle: usize,
    connect_timeout: Duration,
    socket_timeout: Duration,
}

/// `redis://user:secret@host` as `redis://user:***@host`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or("", |(u, _)| u);
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        None => url.to_string(),
    }
}

/// An error a fresh connection could cure: the socket is gone (not a timeout, not Redis
/// answering with an error).
fn is_dead_connection(e: &RedisError) -> bool {
    e.is_connection_dropped() || (e.is_io_error() && !e.is_timeout())
}

impl Server {
    fn lock(&self) -> MutexGuard<'_, Vec<Connection>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn connect(&self) -> RedisResult<Connection> {
        let conn = self
            .client
            .get_connection_with_timeout(self.connect_timeout)?;
        conn.set_read_timeout(Some(self.socket_timeout))?;
        conn.set_write_timeout(Some(self.socket_timeout))?;
        Ok(conn)
    }

    fn put_back(&self, conn: Connection) {
        let mut idle = self.lock();
        if idle.len() < self.max_idle && redis::ConnectionLike::is_open(&conn) {
            idle.push(conn);
        }
    }

    fn fail(&self, what: &str, e: &RedisError) -> CacheError {
        log::error!(target: LOGGER, "Redis at {}: {what} failed: {e}", self.name);
        CacheError::Backend {
            server: format!("Redis at {}", self.name),
            message: format!("{what} failed: {e}"),
        }
    }

    /// Runs `f` on a connection: a pooled one, or a new one.
    fn run<T>(
        &self,
        what: &str,
        f: impl Fn(&mut Connection) -> RedisResult<T>,
    ) -> Result<T, CacheError> {
        let pooled = self.lock().pop();
        let reused = pooled.is_some();
        let mut conn = match pooled {
            Some(c) => c,
            None => self.connect().map_err(|e| self.fail(what, &e))?,
        };
        match f(&mut conn) {
            Ok(v) => {
                self.put_back(conn);
                Ok(v)
            }
            Err(e) if reused && is_dead_connection(&e) => {
                // Redis went away since this connection was pooled: the others are as dead.
                self.lock().clear();
                log::info!(target: LOGGER, "Redis at {}: a pooled connection was dead ({e}); reconnecting", self.name);
                let mut conn = self.connect().map_err(|e| self.fail(what, &e))?;
                match f(&mut conn) {
                    Ok(v) => {
                        self.put_back(conn);
                        Ok(v)
                    }
                    Err(e) => Err(self.fail(what, &e)),
                }
            }
            Err(e) => {
                // A reply error (WRONGTYPE, say) leaves the connection usable.
                if !e.is_io_error()
                    && !e.is_unrecoverable_error()
                    && redis::ConnectionLike::is_open(&conn)
                {
                    self.put_back(conn);
                }
                Err(self.fail(what, &e))
            }
        }
    }
}

/// Django's `RedisCache`.
pub struct RedisCache {
    servers: Vec<Server>,
}

fn encode(value: &Value) -> Vec<u8> {
    // serde_json never fails on a Value.
    serde_json::to_vec(value).unwrap_or_default()
}

fn decode(key: &str, bytes: &[u8]) -> Result<Value, CacheError> {
    serde_json::from_slice(bytes).map_err(|_| {
        CacheError::Value(format!(
            "the value of '{key}' in Redis is not JSON (a value Django pickled cannot be read)"
        ))
    })
}

impl RedisCache {
    /// The cache on `locations` (the first is the primary).
    pub fn new(locations: &[String], options: &CacheOptions) -> Result<Self, String> {
        let mut servers = Vec::with_capacity(locations.len());
        for url in locations {
            let client = Client::open(url.as_str())
                .map_err(|e| format!("location {url:?} is not a usable Redis URL: {e}"))?;
            servers.push(Server {
                name: redact(url),
                client,
                idle: Mutex::new(Vec::new()),
                max_idle: options.max_connections,
                connect_timeout: Duration::from_secs_f64(options.socket_connect_timeout),
                socket_timeout: Duration::from_secs_f64(options.socket_timeout),
            });
        }
        if servers.is_empty() {
            return Err("a redis cache needs a location".into());
        }
        Ok(RedisCache { servers })
    }

    /// Django's `_get_connection_pool_index`: the primary for writes, a random replica for
    /// reads.
    fn server(&self, write: bool) -> &Server {
        if write || self.servers.len() == 1 {
            return &self.servers[0];
        }
        &self.servers[rand::thread_rng().gen_range(1..self.servers.len())]
    }
}

impl CacheBackend for RedisCache {
    fn get(&self, key: &str) -> Result<Option<Value>, CacheError> {
        let bytes: Option<Vec<u8>> = self
            .server(false)
            .run("GET", |c| redis::cmd("GET").arg(key).query(c))?;
        bytes.map(|b| decode(key, &b)).transpose()
    }

    fn set(&self, key: &str, value: &Value, timeout: Option<i64>) -> Result<(), CacheError> {
        let bytes = encode(value);
        self.server(true).run("SET", |c| match timeout {
            // Django: a timeout of 0 deletes (Redis refuses `EX 0`).
            Some(t) if t <= 0 => redis::cmd("DEL").arg(key).query::<()>(c),
            Some(t) => redis::cmd("SET")
                .arg(key)
                .arg(&bytes)
                .arg("EX")
                .arg(t)
                .query(c),
            None => redis::cmd("SET").arg(key).arg(&bytes).query(c),
        })
    }

    fn add(&self, key: &str, value: &Value, timeout: Option<i64>) -> Result<bool, CacheError> {
        let bytes = encode(value);
        self.server(true).run("SET NX", |c| {
            let mut cmd = redis::cmd("SET");
            cmd.arg(key).arg(&bytes).arg("NX");
            if let Some(t) = timeout.filter(|t| *t > 0) {
                cmd.arg("EX").arg(t);
            }
            let stored: Option<String> = cmd.query(c)?;
            if stored.is_some() && timeout.is_some_and(|t| t <= 0) {
                // Django: added, then gone at once.
                redis::cmd("DEL").arg(key).query::<()>(c)?;
            }
            Ok(stored.is_some())
        })
    }

    fn touch(&self, key: &str, timeout: Option<i64>) -> Result<bool, CacheError> {
        let n: i64 = self.server(true).run("EXPIRE", |c| match timeout {
            None => redis::cmd("PERSIST").arg(key).query(c),
            Some(t) => redis::cmd("EXPIRE").arg(key).arg(t).query(c),
        })?;
        Ok(n == 1)
    }

    fn delete(&self, key: &str) -> Result<bool, CacheError> {
        let n: i64 = self
            .server(true)
            .run("DEL", |c| redis::cmd("DEL").arg(key).query(c))?;
        Ok(n == 1)
    }

    fn has_key(&self, key: &str) -> Result<bool, CacheError> {
        let n: i64 = self
            .server(false)
            .run("EXISTS", |c| redis::cmd("EXISTS").arg(key).query(c))?;
        Ok(n == 1)
    }

    fn incr(&self, key: &str, delta: i64) -> Result<i64, CacheError> {
        // Django: EXISTS first, so a missing key is ValueError rather than a new counter.
        let server = self.server(true);
        let found: Option<i64> = server.run("INCRBY", |c| {
            let exists: i64 = redis::cmd("EXISTS").arg(key).query(c)?;
            if exists == 0 {
                return Ok(None);
            }
            match redis::cmd("INCRBY").arg(key).arg(delta).query(c) {
                Ok(n) => Ok(Some(n)),
                // "ERR value is not an integer or out of range".
                Err(e) if matches!(e.kind(), redis::ErrorKind::Server(_)) => Ok(Some(i64::MIN)),
                Err(e) => Err(e),
            }
        })?;
        match found {
            None => Err(CacheError::KeyNotFound(key.to_string())),
            Some(i64::MIN) => Err(CacheError::NotAnInteger(key.to_string())),
            Some(n) => Ok(n),
        }
    }

    fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Value>>, CacheError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let found: Vec<Option<Vec<u8>>> = self
            .server(false)
            .run("MGET", |c| redis::cmd("MGET").arg(keys).query(c))?;
        keys.iter()
            .zip(found)
            .map(|(k, v)| v.map(|b| decode(k, &b)).transpose())
            .collect()
    }

    fn set_many(&self, items: &[(String, Value)], timeout: Option<i64>) -> Result<(), CacheError> {
        if items.is_empty() {
            return Ok(());
        }
        if timeout.is_some_and(|t| t <= 0) {
            let keys: Vec<String> = items.iter().map(|(k, _)| k.clone()).collect();
            return self.delete_many(&keys);
        }
        let encoded: Vec<(&str, Vec<u8>)> =
            items.iter().map(|(k, v)| (k.as_str(), encode(v))).collect();
        self.server(true).run("MSET", |c| {
            let mut pipe = redis::pipe();
            pipe.atomic();
            pipe.cmd("MSET");
            for (k, v) in &encoded {
                pipe.arg(*k).arg(v);
            }
            pipe.ignore();
            if let Some(t) = timeout {
                for (k, _) in &encoded {
                    pipe.cmd("EXPIRE").arg(*k).arg(t).ignore();
                }
            }
            pipe.query::<()>(c)
        })
    }

    fn delete_many(&self, keys: &[String]) -> Result<(), CacheError> {
        if keys.is_empty() {
            return Ok(());
        }
        self.server(true)
            .run("DEL", |c| redis::cmd("DEL").arg(keys).query::<()>(c))
    }

    fn clear(&self) -> Result<(), CacheError> {
        self.server(true)
            .run("FLUSHDB", |c| redis::cmd("FLUSHDB").query::<()>(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_the_logs() {
        assert_eq!(
            redact("redis://127.0.0.1:6379/0"),
            "redis://127.0.0.1:6379/0"
        );
        assert_eq!(redact("redis://:pw@h:1/2"), "redis://:***@h:1/2");
        assert_eq!(redact("redis://u:pw@h"), "redis://u:***@h");
    }

    #[test]
    fn an_unreachable_server_is_a_logged_error_at_once() {
        // A port nothing listens on: refused at once, never a hang.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let url = format!("redis://127.0.0.1:{port}/0");
        let cache = RedisCache::new(std::slice::from_ref(&url), &CacheOptions::default()).unwrap();
        let start = std::time::Instant::now();
        let (result, logs) = crate::test_log::capture(|| cache.get(":1:k"));
        assert!(start.elapsed() < Duration::from_secs(1));
        match result {
            Err(CacheError::Backend { server, .. }) => {
                assert_eq!(server, format!("Redis at {url}"))
            }
            other => panic!("{other:?}"),
        }
        assert!(
            logs.iter()
                .any(|l| l.level == log::Level::Error && l.message.contains(&url)),
            "{logs:?}"
        );
    }
}
