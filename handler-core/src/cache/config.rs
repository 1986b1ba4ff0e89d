//! One `[caches.<alias>]` table of the settings (Django's `CACHES[alias]`): the backend, its
//! location(s), the default timeout, the key prefix and version, and the backend's options.
//! Checked as it is read, so a bad value is a start-up error naming the file and the line.

use serde::{Deserialize, Deserializer};

/// Django's default `TIMEOUT`: 300 seconds.
pub const DEFAULT_TIMEOUT: i64 = 300;
/// Django's locmem `MAX_ENTRIES` default.
pub const DEFAULT_MAX_ENTRIES: usize = 300;
/// Django's locmem `CULL_FREQUENCY` default: a full cache drops a third of its entries.
pub const DEFAULT_CULL_FREQUENCY: usize = 3;
/// How long a Redis connection may take to open. redis-py waits forever by default; a request
/// must instead fail fast while Redis is down (well under a second), so the default is short.
pub const DEFAULT_SOCKET_CONNECT_TIMEOUT: f64 = 0.25;
/// How long a Redis command may wait for its reply (redis-py's `socket_timeout`), for the same
/// reason: a stopped or stuck Redis is an error within half a second, never a hang.
pub const DEFAULT_SOCKET_TIMEOUT: f64 = 0.5;
/// Idle connections kept per Redis server (redis-py's pool `max_connections` bounds open ones).
pub const DEFAULT_MAX_CONNECTIONS: usize = 32;

/// The backend a cache uses (Django's `BACKEND`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// `locmem` / `django.core.cache.backends.locmem.LocMemCache`: per process, in memory.
    LocMem,
    /// `redis` / `django.core.cache.backends.redis.RedisCache`.
    Redis,
}

impl BackendKind {
    /// The names `backend` accepts for each kind.
    pub const NAMES: [(&'static str, BackendKind); 4] = [
        ("locmem", BackendKind::LocMem),
        (
            "django.core.cache.backends.locmem.LocMemCache",
            BackendKind::LocMem,
        ),
        ("redis", BackendKind::Redis),
        (
            "django.core.cache.backends.redis.RedisCache",
            BackendKind::Redis,
        ),
    ];
}

impl<'de> Deserialize<'de> for BackendKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        BackendKind::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, k)| *k)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "unknown cache backend {name:?} (known: \"locmem\", \"redis\", or \
                     Django's django.core.cache.backends.locmem.LocMemCache, \
                     django.core.cache.backends.redis.RedisCache)"
                ))
            })
    }
}

/// A cache's default timeout (Django's `TIMEOUT`): seconds, `0` for "do not cache", or
/// `"none"` for "never expires" (Django's `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultTimeout(pub Option<i64>);

impl Default for DefaultTimeout {
    fn default() -> Self {
        DefaultTimeout(Some(DEFAULT_TIMEOUT))
    }
}

impl<'de> Deserialize<'de> for DefaultTimeout {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Seconds(i64),
            Word(String),
        }
        match Raw::deserialize(d)? {
            Raw::Seconds(s) => Ok(DefaultTimeout(Some(s))),
            Raw::Word(w) if w.eq_ignore_ascii_case("none") => Ok(DefaultTimeout(None)),
            Raw::Word(w) => Err(serde::de::Error::custom(format!(
                "timeout must be a number of seconds or \"none\" (never expire), not {w:?}"
            ))),
        }
    }
}

/// `location`: one string or several (Redis: the first is written to, the others are read
/// replicas, as Django's `RedisCache` takes them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Locations(pub Vec<String>);

impl<'de> Deserialize<'de> for Locations {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(String),
            Many(Vec<String>),
        }
        let list = match Raw::deserialize(d).map_err(|_| {
            serde::de::Error::custom("location must be a string or an array of strings")
        })? {
            Raw::One(s) => vec![s],
            Raw::Many(v) => v,
        };
        Ok(Locations(list))
    }
}

/// `[caches.<alias>.options]` (Django's `OPTIONS`). locmem reads `max_entries` and
/// `cull_frequency`; Redis reads the socket timeouts (seconds, redis-py's names) and
/// `max_connections`. `ignore_exceptions` (django-redis's option) turns a backend failure into
/// a miss (reads) or a no-op (writes), still logged; off by default, as Django's `RedisCache`
/// raises.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheOptions {
    /// Django's `MAX_ENTRIES` (locmem).
    pub max_entries: usize,
    /// Django's `CULL_FREQUENCY` (locmem): a full cache drops 1/N of its entries; 0 clears it.
    pub cull_frequency: usize,
    /// redis-py's `socket_connect_timeout`, in seconds.
    pub socket_connect_timeout: f64,
    /// redis-py's `socket_timeout`, in seconds.
    pub socket_timeout: f64,
    /// Idle connections kept per Redis server (a busy moment may open more; the extra ones
    /// close when they come back to a full pool).
    pub max_connections: usize,
    /// Degrade instead of failing when the backend is unreachable.
    pub ignore_exceptions: bool,
}

impl Default for CacheOptions {
    fn default() -> Self {
        CacheOptions {
            max_entries: DEFAULT_MAX_ENTRIES,
            cull_frequency: DEFAULT_CULL_FREQUENCY,
            socket_connect_timeout: DEFAULT_SOCKET_CONNECT_TIMEOUT,
            socket_timeout: DEFAULT_SOCKET_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            ignore_exceptions: false,
        }
    }
}

/// As the file has it, before the checks that need the whole table.
#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawCacheConfig {
    backend: BackendKind,
    location: Locations,
    timeout: DefaultTimeout,
    key_prefix: String,
    version: i64,
    options: CacheOptions,
}

impl Default for RawCacheConfig {
    fn default() -> Self {
        RawCacheConfig {
            backend: BackendKind::LocMem,
            location: Locations::default(),
            timeout: DefaultTimeout::default(),
            key_prefix: String::new(),
            version: 1,
            options: CacheOptions::default(),
        }
    }
}

/// One cache's settings (Django's `CACHES[alias]`, lower-case keys): `backend`, `location`,
/// `timeout`, `key_prefix`, `version`, `[options]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawCacheConfig")]
pub struct CacheConfig {
    /// `BACKEND`.
    pub backend: BackendKind,
    /// `LOCATION`: locmem's name (caches with one name share their entries), Redis URLs.
    pub location: Vec<String>,
    /// `TIMEOUT`: `None` never expires.
    pub timeout: Option<i64>,
    /// `KEY_PREFIX`.
    pub key_prefix: String,
    /// `VERSION`.
    pub version: i64,
    /// `OPTIONS`.
    pub options: CacheOptions,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig::try_from(RawCacheConfig::default()).unwrap_or_else(|_| CacheConfig {
            backend: BackendKind::LocMem,
            location: Vec::new(),
            timeout: Some(DEFAULT_TIMEOUT),
            key_prefix: String::new(),
            version: 1,
            options: CacheOptions::default(),
        })
    }
}

impl TryFrom<RawCacheConfig> for CacheConfig {
    type Error = String;

    fn try_from(raw: RawCacheConfig) -> Result<Self, String> {
        let o = &raw.options;
        for (name, secs) in [
            ("socket_connect_timeout", o.socket_connect_timeout),
            ("socket_timeout", o.socket_timeout),
        ] {
            if !(secs.is_finite() && secs > 0.0) {
                return Err(format!(
                    "options.{name} must be a positive number of seconds, not {secs}"
                ));
            }
        }
        if o.max_connections == 0 {
            return Err("options.max_connections must be at least 1".into());
        }
        if raw.backend == BackendKind::Redis {
            if raw.location.0.is_empty() {
                return Err("a redis cache needs a location (\"redis://host:port/db\")".into());
            }
            for url in &raw.location.0 {
                check_redis_url(url)?;
            }
        } else if raw.location.0.len() > 1 {
            return Err("a locmem cache takes one location (its name)".into());
        }
        Ok(CacheConfig {
            backend: raw.backend,
            location: raw.location.0,
            timeout: raw.timeout.0,
            key_prefix: raw.key_prefix,
            version: raw.version,
            options: raw.options,
        })
    }
}

/// A Redis URL as redis-py's `from_url` takes it: `redis://`, `rediss://` or `unix://`.
fn check_redis_url(url: &str) -> Result<(), String> {
    if !["redis://", "rediss://", "unix://", "redis+unix://"]
        .iter()
        .any(|s| url.starts_with(s))
    {
        return Err(format!(
            "location {url:?} is not a Redis URL (redis://host:port/db)"
        ));
    }
    redis::Client::open(url)
        .map(|_| ())
        .map_err(|e| format!("location {url:?} is not a usable Redis URL: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Deserialize)]
    struct Doc {
        caches: BTreeMap<String, CacheConfig>,
    }

    fn parse(src: &str) -> Result<BTreeMap<String, CacheConfig>, String> {
        toml::from_str::<Doc>(src)
            .map(|d| d.caches)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_djangos() {
        let c = &parse("[caches.default]\n").unwrap()["default"];
        assert_eq!(c.backend, BackendKind::LocMem);
        assert_eq!(c.timeout, Some(300));
        assert_eq!((c.version, c.key_prefix.as_str()), (1, ""));
        assert_eq!((c.options.max_entries, c.options.cull_frequency), (300, 3));
        assert_eq!(*c, CacheConfig::default());
    }

    #[test]
    fn redis_and_dotted_names_and_timeouts_are_read() {
        let src = "[caches.default]\nbackend = \"django.core.cache.backends.redis.RedisCache\"\n\
                   location = [\"redis://127.0.0.1:6379/1\", \"redis://10.0.0.2:6379/1\"]\n\
                   timeout = \"none\"\nkey_prefix = \"site\"\nversion = 3\n\
                   [caches.default.options]\nsocket_timeout = 0.1\n\
                   [caches.local]\nbackend = \"locmem\"\nlocation = \"one\"\ntimeout = 0\n";
        let c = parse(src).unwrap();
        let d = &c["default"];
        assert_eq!(d.backend, BackendKind::Redis);
        assert_eq!(d.location.len(), 2);
        assert_eq!((d.timeout, d.version), (None, 3));
        assert_eq!(d.options.socket_timeout, 0.1);
        assert_eq!(c["local"].timeout, Some(0));
        assert_eq!(c["local"].location, ["one"]);
    }

    #[test]
    fn bad_values_say_what_is_wrong() {
        let e = parse("[caches.default]\nbackend = \"memcached\"\n").unwrap_err();
        assert!(e.contains("unknown cache backend \"memcached\""), "{e}");
        let e = parse("[caches.default]\nbackend = \"redis\"\n").unwrap_err();
        assert!(e.contains("needs a location"), "{e}");
        let e = parse("[caches.default]\nbackend = \"redis\"\nlocation = \"localhost:6379\"\n")
            .unwrap_err();
        assert!(e.contains("not a Redis URL"), "{e}");
        let e = parse("[caches.default]\ntimeout = \"forever\"\n").unwrap_err();
        assert!(e.contains("\"none\""), "{e}");
        let e = parse("[caches.default]\nlocaton = \"x\"\n").unwrap_err();
        assert!(e.contains("unknown field `locaton`"), "{e}");
        let e = parse("[caches.default.options]\nmax_entires = 3\n").unwrap_err();
        assert!(e.contains("max_entires"), "{e}");
        let e = parse("[caches.default.options]\nsocket_timeout = 0\n").unwrap_err();
        assert!(e.contains("socket_timeout"), "{e}");
    }
}

#[cfg(test)]
mod settings_tests {
    use crate::settings::Settings;
    use std::path::Path;

    #[test]
    fn settings_errors_name_the_file_and_line() {
        let src = "debug = false\n[caches.default]\nbackend = \"redis\"\nlocation = \"redis://127.0.0.1:1/0\"\n[caches.other]\nbackend = \"memcached\"\n";
        let e = Settings::parse(src, Some(Path::new("s.toml"))).unwrap_err();
        assert!(e.message().starts_with("s.toml:6: "), "{e}");
        assert!(e.message().contains("unknown cache backend"), "{e}");
        let src = "debug = false\n\n[caches.default]\nbackend = \"redis\"\n";
        let e = Settings::parse(src, Some(Path::new("s.toml"))).unwrap_err();
        assert!(e.message().contains("needs a location"), "{e}");
        assert!(e.message().starts_with("s.toml:"), "{e}");
        let ok = Settings::parse("[caches.default]\ntimeout = \"none\"\n", None).unwrap();
        assert_eq!(ok.caches["default"].timeout, None);
    }
}
