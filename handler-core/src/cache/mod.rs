//! The cache framework (Django's `django.core.cache`): the caches `[caches.<alias>]` names,
//! reached with [`caches`] / [`cache`], each a [`Cache`] with Django's low-level API (`get`,
//! `set`, `add`, `delete`, `get_many`, `set_many`, `delete_many`, `incr` / `decr`, `touch`,
//! `has_key`, `clear`, versions), on the [`backends`]: `locmem` (the default, per process) and
//! `redis` (shared by every instance).
//!
//! Values are stored as JSON (serde), not pickled: a value Django pickled into a shared Redis
//! is not readable here (and ours are not readable by Django), except integers, which both
//! store as their decimal digits (Django's `RedisSerializer` keeps `int`s raw so `INCR` works;
//! a JSON integer is exactly that text).
//!
//! Keys are made as Django's `default_key_func` makes them, `key_prefix:version:key`, and
//! checked as `BaseCache.validate_key` checks them (a warning, `CacheKeyWarning`, for a key
//! memcached would refuse).

pub mod backends;
pub mod config;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, RwLock};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

pub use config::{BackendKind, CacheConfig, CacheOptions};

use crate::settings::{ConfigError, Settings};

/// Django's `DEFAULT_CACHE_ALIAS`.
pub const DEFAULT_CACHE_ALIAS: &str = "default";

/// Django's `MEMCACHE_MAX_KEY_LENGTH`: longer keys get a [`validate_key`] warning.
pub const MEMCACHE_MAX_KEY_LENGTH: usize = 250;

/// The log target of cache warnings and errors (Django's `django.core.cache` warnings).
pub const LOGGER: &str = "django.core.cache";

/// How long a value lives (Django's `timeout` argument).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Timeout {
    /// The cache's own `timeout` setting (Django's `DEFAULT_TIMEOUT` sentinel).
    #[default]
    Default,
    /// Seconds; `0` or less expires at once ("do not cache").
    Seconds(i64),
    /// Never expires (Django's `None`).
    Never,
}

impl From<i64> for Timeout {
    fn from(seconds: i64) -> Self {
        Timeout::Seconds(seconds)
    }
}

impl From<Option<i64>> for Timeout {
    fn from(seconds: Option<i64>) -> Self {
        seconds.map_or(Timeout::Never, Timeout::Seconds)
    }
}

/// A cache operation failed.
#[derive(Debug)]
pub enum CacheError {
    /// Django's `ValueError("Key '...' not found.")` from `incr` / `decr` / `incr_version`
    /// (naming the made key, as Django's does).
    KeyNotFound(String),
    /// `incr` on a value that is not an integer (or overflows).
    NotAnInteger(String),
    /// A value did not serialise, or a stored one is not the JSON this type reads (a value
    /// Django pickled, say).
    Value(String),
    /// The backend failed: `server` names it (`Redis at redis://host:port/db`).
    Backend {
        /// The server, as the log names it.
        server: String,
        /// What failed.
        message: String,
    },
    /// Django's `InvalidCacheBackendError`: no cache has this alias.
    InvalidCacheBackend(String),
}

impl fmt::Display for CacheError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheError::KeyNotFound(k) => write!(f, "Key '{k}' not found."),
            CacheError::NotAnInteger(k) => write!(f, "the value of '{k}' is not an integer"),
            CacheError::Value(m) => f.write_str(m),
            CacheError::Backend { server, message } => write!(f, "{server}: {message}"),
            CacheError::InvalidCacheBackend(a) => {
                write!(f, "The connection '{a}' doesn't exist.")
            }
        }
    }
}

impl std::error::Error for CacheError {}

impl CacheError {
    /// True for a failure of the backend itself (unreachable, timed out).
    pub fn is_backend(&self) -> bool {
        matches!(self, CacheError::Backend { .. })
    }
}

/// What a backend implements (Django's `BaseCache` methods), on keys already made and
/// timeouts already resolved: `None` never expires, `Some(s)` with `s <= 0` expires at once.
pub trait CacheBackend: Send + Sync + 'static {
    /// `get`.
    fn get(&self, key: &str) -> Result<Option<Value>, CacheError>;
    /// `set`.
    fn set(&self, key: &str, value: &Value, timeout: Option<i64>) -> Result<(), CacheError>;
    /// `add`: stores only when the key is absent; whether it did.
    fn add(&self, key: &str, value: &Value, timeout: Option<i64>) -> Result<bool, CacheError>;
    /// `touch`: a new timeout for a live key; whether there was one.
    fn touch(&self, key: &str, timeout: Option<i64>) -> Result<bool, CacheError>;
    /// `delete`: whether a key was deleted.
    fn delete(&self, key: &str) -> Result<bool, CacheError>;
    /// `has_key`.
    fn has_key(&self, key: &str) -> Result<bool, CacheError>;
    /// `incr` by `delta`: the new value; [`CacheError::KeyNotFound`] for a missing key.
    fn incr(&self, key: &str, delta: i64) -> Result<i64, CacheError>;
    /// `get_many`: one answer per key, in order.
    fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Value>>, CacheError> {
        keys.iter().map(|k| self.get(k)).collect()
    }
    /// `set_many`.
    fn set_many(&self, items: &[(String, Value)], timeout: Option<i64>) -> Result<(), CacheError> {
        items.iter().try_for_each(|(k, v)| self.set(k, v, timeout))
    }
    /// `delete_many`.
    fn delete_many(&self, keys: &[String]) -> Result<(), CacheError> {
        keys.iter().try_for_each(|k| self.delete(k).map(|_| ()))
    }
    /// `clear`: every key of this cache (Redis: the whole database, as Django's `flushdb`).
    fn clear(&self) -> Result<(), CacheError>;
}

/// Django's `default_key_func`: `key_prefix:version:key`.
pub fn default_key_func(key: &str, key_prefix: &str, version: i64) -> String {
    format!("{key_prefix}:{version}:{key}")
}

/// Django's `memcache_key_warnings`: what memcached would refuse in `key` (too long, control
/// characters or spaces).
pub fn memcache_key_warnings(key: &str) -> Vec<String> {
    let mut warnings = Vec::new();
    if key.len() > MEMCACHE_MAX_KEY_LENGTH {
        warnings.push(format!(
            "Cache key will cause errors if used with memcached: '{key}' (longer than \
             {MEMCACHE_MAX_KEY_LENGTH})"
        ));
    }
    if key.chars().any(|c| (c as u32) < 33 || c as u32 == 127) {
        warnings.push(format!(
            "Cache key contains characters that will cause errors if used with memcached: \
             '{key}'"
        ));
    }
    warnings
}

/// Django's `BaseCache.validate_key`: each warning logged (Django's `CacheKeyWarning`).
pub fn validate_key(key: &str) {
    for w in memcache_key_warnings(key) {
        log::warn!(target: LOGGER, "CacheKeyWarning: {w}");
    }
}

struct CacheInner {
    alias: String,
    backend: Box<dyn CacheBackend>,
    key_prefix: String,
    default_timeout: Option<i64>,
    ignore_exceptions: bool,
}

/// One cache (Django's `caches[alias]`): cheap to clone, shared by every thread.
#[derive(Clone)]
pub struct Cache {
    inner: Arc<CacheInner>,
    version: i64,
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("alias", &self.inner.alias)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, CacheError> {
    serde_json::to_value(value).map_err(|e| CacheError::Value(format!("not serialisable: {e}")))
}

fn from_value<T: DeserializeOwned>(key: &str, value: Value) -> Result<T, CacheError> {
    serde_json::from_value(value)
        .map_err(|e| CacheError::Value(format!("the value of '{key}' does not load: {e}")))
}

impl Cache {
    /// The cache `config` describes, under `alias`.
    pub fn from_config(alias: &str, config: &CacheConfig) -> Result<Cache, ConfigError> {
        let backend: Box<dyn CacheBackend> = match config.backend {
            BackendKind::LocMem => Box::new(backends::locmem::LocMemCache::new(
                config.location.first().map_or("", String::as_str),
                &config.options,
            )),
            BackendKind::Redis => Box::new(
                backends::redis::RedisCache::new(&config.location, &config.options)
                    .map_err(|e| ConfigError::new(format!("caches.{alias}: {e}")))?,
            ),
        };
        Ok(Cache::with_backend(alias, backend, config))
    }

    /// A cache on a backend of the app's own (Django's custom `BACKEND` class), with the
    /// key prefix, version and timeout of `config`.
    pub fn with_backend(
        alias: &str,
        backend: Box<dyn CacheBackend>,
        config: &CacheConfig,
    ) -> Cache {
        Cache {
            inner: Arc::new(CacheInner {
                alias: alias.to_string(),
                backend,
                key_prefix: config.key_prefix.clone(),
                default_timeout: config.timeout,
                ignore_exceptions: config.options.ignore_exceptions,
            }),
            version: config.version,
        }
    }

    /// The alias.
    pub fn alias(&self) -> &str {
        &self.inner.alias
    }

    /// This cache with another default version (Django's `version=` argument, for a series
    /// of calls).
    pub fn version(&self, version: i64) -> Cache {
        Cache {
            inner: Arc::clone(&self.inner),
            version,
        }
    }

    /// Django's `make_key(key, version)`.
    pub fn make_key(&self, key: &str) -> String {
        default_key_func(key, &self.inner.key_prefix, self.version)
    }

    fn make_and_validate_key(&self, key: &str) -> String {
        let key = self.make_key(key);
        validate_key(&key);
        key
    }

    /// Django's `get_backend_timeout`.
    pub fn backend_timeout(&self, timeout: Timeout) -> Option<i64> {
        match timeout {
            Timeout::Default => self.inner.default_timeout,
            Timeout::Seconds(s) => Some(s),
            Timeout::Never => None,
        }
    }

    /// A backend failure as the caller gets it: with `ignore_exceptions`, `degraded` (the
    /// failure was logged where it happened).
    fn degrade<T>(&self, result: Result<T, CacheError>, degraded: T) -> Result<T, CacheError> {
        match result {
            Err(e) if e.is_backend() && self.inner.ignore_exceptions => Ok(degraded),
            other => other,
        }
    }

    /// Django's `get(key)`: the value, `None` when missing or expired.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, CacheError> {
        let made = self.make_and_validate_key(key);
        match self.degrade(self.inner.backend.get(&made), None)? {
            Some(v) => from_value(key, v).map(Some),
            None => Ok(None),
        }
    }

    /// Django's `get(key, default)`.
    pub fn get_or<T: DeserializeOwned>(&self, key: &str, default: T) -> Result<T, CacheError> {
        Ok(self.get(key)?.unwrap_or(default))
    }

    /// Django's `get_or_set(key, default, timeout)`: the value, or `default()` stored (with
    /// `add`, so a concurrent writer wins) and returned.
    pub fn get_or_set<T, F>(
        &self,
        key: &str,
        default: F,
        timeout: impl Into<Timeout>,
    ) -> Result<T, CacheError>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> T,
    {
        if let Some(v) = self.get(key)? {
            return Ok(v);
        }
        let value = default();
        self.add(key, &value, timeout)?;
        // Django: fetch again so a racing add's value is the one returned.
        Ok(self.get(key)?.unwrap_or(value))
    }

    /// Django's `set(key, value, timeout)`.
    pub fn set<T: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
        timeout: impl Into<Timeout>,
    ) -> Result<(), CacheError> {
        let made = self.make_and_validate_key(key);
        let value = to_value(value)?;
        let t = self.backend_timeout(timeout.into());
        self.degrade(self.inner.backend.set(&made, &value, t), ())
    }

    /// Django's `add(key, value, timeout)`: stores only when absent; whether it did.
    pub fn add<T: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
        timeout: impl Into<Timeout>,
    ) -> Result<bool, CacheError> {
        let made = self.make_and_validate_key(key);
        let value = to_value(value)?;
        let t = self.backend_timeout(timeout.into());
        self.degrade(self.inner.backend.add(&made, &value, t), false)
    }

    /// Django's `touch(key, timeout)`: whether the key was there.
    pub fn touch(&self, key: &str, timeout: impl Into<Timeout>) -> Result<bool, CacheError> {
        let made = self.make_and_validate_key(key);
        let t = self.backend_timeout(timeout.into());
        self.degrade(self.inner.backend.touch(&made, t), false)
    }

    /// Django's `delete(key)`: whether a key was deleted.
    pub fn delete(&self, key: &str) -> Result<bool, CacheError> {
        let made = self.make_and_validate_key(key);
        self.degrade(self.inner.backend.delete(&made), false)
    }

    /// Django's `has_key(key)` (`key in cache`).
    pub fn has_key(&self, key: &str) -> Result<bool, CacheError> {
        let made = self.make_and_validate_key(key);
        self.degrade(self.inner.backend.has_key(&made), false)
    }

    /// Django's `incr(key, delta)`: the new value; [`CacheError::KeyNotFound`] (Django's
    /// `ValueError`) when the key is missing.
    pub fn incr(&self, key: &str, delta: i64) -> Result<i64, CacheError> {
        let made = self.make_and_validate_key(key);
        // Django's message names the made key (`Key ':1:n' not found.`).
        self.inner.backend.incr(&made, delta)
    }

    /// Django's `decr(key, delta)`.
    pub fn decr(&self, key: &str, delta: i64) -> Result<i64, CacheError> {
        self.incr(
            key,
            delta
                .checked_neg()
                .ok_or_else(|| CacheError::NotAnInteger(key.into()))?,
        )
    }

    /// Django's `get_many(keys)`: the keys found, with their values.
    pub fn get_many<T: DeserializeOwned>(
        &self,
        keys: &[&str],
    ) -> Result<HashMap<String, T>, CacheError> {
        let made: Vec<String> = keys.iter().map(|k| self.make_and_validate_key(k)).collect();
        let found = self.degrade(self.inner.backend.get_many(&made), vec![None; keys.len()])?;
        let mut out = HashMap::new();
        for (key, value) in keys.iter().zip(found) {
            if let Some(v) = value {
                out.insert((*key).to_string(), from_value(key, v)?);
            }
        }
        Ok(out)
    }

    /// Django's `set_many(data, timeout)`: the keys that failed to store (always none for
    /// these backends, as in Django).
    pub fn set_many<T: Serialize>(
        &self,
        items: &[(&str, T)],
        timeout: impl Into<Timeout>,
    ) -> Result<Vec<String>, CacheError> {
        let mut made = Vec::with_capacity(items.len());
        for (k, v) in items {
            made.push((self.make_and_validate_key(k), to_value(v)?));
        }
        let t = self.backend_timeout(timeout.into());
        self.degrade(self.inner.backend.set_many(&made, t), ())?;
        Ok(Vec::new())
    }

    /// Django's `delete_many(keys)`.
    pub fn delete_many(&self, keys: &[&str]) -> Result<(), CacheError> {
        let made: Vec<String> = keys.iter().map(|k| self.make_and_validate_key(k)).collect();
        self.degrade(self.inner.backend.delete_many(&made), ())
    }

    /// Django's `clear()`.
    pub fn clear(&self) -> Result<(), CacheError> {
        self.degrade(self.inner.backend.clear(), ())
    }

    /// Django's `incr_version(key, delta)`: the value moved to version + `delta`; the new
    /// version.
    pub fn incr_version(&self, key: &str, delta: i64) -> Result<i64, CacheError> {
        let value: Option<Value> = self.get(key)?;
        let Some(value) = value else {
            return Err(CacheError::KeyNotFound(key.to_string()));
        };
        let new = self.version + delta;
        self.version(new).set(key, &value, Timeout::Default)?;
        self.delete(key)?;
        Ok(new)
    }

    /// Django's `decr_version(key, delta)`.
    pub fn decr_version(&self, key: &str, delta: i64) -> Result<i64, CacheError> {
        self.incr_version(key, -delta)
    }
}

/// The caches of the settings (Django's `CacheHandler`), each built once.
pub struct CacheHandler {
    caches: HashMap<String, Cache>,
}

impl CacheHandler {
    /// The caches `[caches.*]` names; without any, Django's default: a locmem `default`.
    pub fn from_settings(settings: &Settings) -> Result<CacheHandler, ConfigError> {
        let file = settings
            .path()
            .map_or_else(|| "<settings>".to_string(), |p| p.display().to_string());
        let mut configs: BTreeMap<String, CacheConfig> = settings.caches.clone();
        if configs.is_empty() {
            configs.insert(DEFAULT_CACHE_ALIAS.to_string(), CacheConfig::default());
        }
        if !configs.contains_key(DEFAULT_CACHE_ALIAS) {
            return Err(ConfigError::new(format!(
                "{file}: caches: you must define a 'default' cache ([caches.default])"
            )));
        }
        let mut caches = HashMap::new();
        for (alias, config) in &configs {
            let cache = Cache::from_config(alias, config)
                .map_err(|e| ConfigError::new(format!("{file}: {e}")))?;
            caches.insert(alias.clone(), cache);
        }
        Ok(CacheHandler { caches })
    }

    /// Django's `caches[alias]`.
    pub fn get(&self, alias: &str) -> Result<Cache, CacheError> {
        self.caches
            .get(alias)
            .cloned()
            .ok_or_else(|| CacheError::InvalidCacheBackend(alias.to_string()))
    }
}

/// The process's caches: set by [`configure`] when the app is built.
static HANDLER: RwLock<Option<Arc<CacheHandler>>> = RwLock::new(None);

/// Builds the caches of `settings` and makes them the ones [`caches`] answers with (called
/// once at start-up by [`App::into_handler`](crate::App::into_handler)). No connection is
/// opened here: a Redis connection opens on first use, in the worker that uses it.
pub fn configure(settings: &Settings) -> Result<(), ConfigError> {
    let handler = Arc::new(CacheHandler::from_settings(settings)?);
    let mut slot = HANDLER.write().unwrap_or_else(|p| p.into_inner());
    *slot = Some(handler);
    Ok(())
}

/// Django's `caches[alias]`; before [`configure`], Django's default caches (a locmem
/// `default`).
pub fn caches(alias: &str) -> Result<Cache, CacheError> {
    let slot = HANDLER.read().unwrap_or_else(|p| p.into_inner());
    if let Some(handler) = slot.as_ref() {
        return handler.get(alias);
    }
    drop(slot);
    let mut slot = HANDLER.write().unwrap_or_else(|p| p.into_inner());
    let handler = match slot.as_ref() {
        Some(h) => Arc::clone(h),
        None => {
            let h = Arc::new(
                CacheHandler::from_settings(&Settings::default())
                    .map_err(|e| CacheError::Value(e.to_string()))?,
            );
            *slot = Some(Arc::clone(&h));
            h
        }
    };
    handler.get(alias)
}

/// Django's `cache` (`caches["default"]`).
pub fn cache() -> Result<Cache, CacheError> {
    caches(DEFAULT_CACHE_ALIAS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locmem(name: &str) -> Cache {
        let config = CacheConfig {
            location: vec![name.to_string()],
            ..CacheConfig::default()
        };
        Cache::from_config("default", &config).unwrap()
    }

    #[test]
    fn keys_are_prefix_version_key_and_odd_keys_warn() {
        let c = Cache::from_config(
            "x",
            &CacheConfig {
                key_prefix: "site".into(),
                version: 2,
                location: vec!["keys".into()],
                ..CacheConfig::default()
            },
        )
        .unwrap();
        assert_eq!(c.make_key("k"), "site:2:k");
        assert_eq!(c.version(5).make_key("k"), "site:5:k");
        assert_eq!(default_key_func("a", "", 1), ":1:a");
        assert!(memcache_key_warnings(":1:fine").is_empty());
        let w = memcache_key_warnings("has space");
        assert_eq!(w.len(), 1);
        // Django 5.2's text (Python's repr quotes the key).
        assert_eq!(
            w[0],
            "Cache key contains characters that will cause errors if used with memcached: \
             'has space'"
        );
        let long = "k".repeat(251);
        assert!(memcache_key_warnings(&long)[0].contains("(longer than 250)"));
        let (_, logs) = crate::test_log::capture(|| c.set("a\u{7f}b", &1, Timeout::Default));
        assert!(
            logs.iter().any(|l| l.message.contains("CacheKeyWarning")),
            "{logs:?}"
        );
    }

    #[test]
    fn the_api_round_trips_typed_values() {
        let c = locmem("api");
        assert_eq!(c.get::<String>("missing").unwrap(), None);
        assert_eq!(c.get_or("missing", 7).unwrap(), 7);
        c.set("s", "text", Timeout::Default).unwrap();
        c.set("list", &vec![1, 2], 60).unwrap();
        assert_eq!(c.get::<String>("s").unwrap().as_deref(), Some("text"));
        assert_eq!(c.get::<Vec<i32>>("list").unwrap(), Some(vec![1, 2]));
        assert!(matches!(c.get::<i32>("s"), Err(CacheError::Value(_))));
        assert!(!c.add("s", "other", Timeout::Default).unwrap());
        assert!(c.add("new", "v", Timeout::Default).unwrap());
        let many = c.get_many::<Value>(&["s", "new", "nope"]).unwrap();
        assert_eq!(many.len(), 2);
        c.set_many(&[("m1", 1), ("m2", 2)], Timeout::Never).unwrap();
        assert_eq!(c.get::<i64>("m2").unwrap(), Some(2));
        c.delete_many(&["m1", "m2"]).unwrap();
        assert!(!c.has_key("m1").unwrap());
        assert_eq!(c.get_or_set("gs", || 5, 60).unwrap(), 5);
        assert_eq!(c.get_or_set("gs", || 6, 60).unwrap(), 5);
        assert!(c.delete("gs").unwrap() && !c.delete("gs").unwrap());
    }

    #[test]
    fn incr_decr_and_versions_follow_django() {
        let c = locmem("incr");
        match c.incr("nope", 1) {
            Err(e @ CacheError::KeyNotFound(_)) => {
                assert_eq!(e.to_string(), "Key ':1:nope' not found.")
            }
            other => panic!("{other:?}"),
        }
        c.set("n", &10, Timeout::Default).unwrap();
        assert_eq!(c.incr("n", 5).unwrap(), 15);
        assert_eq!(c.decr("n", 20).unwrap(), -5);
        c.set("s", "x", Timeout::Default).unwrap();
        assert!(matches!(c.incr("s", 1), Err(CacheError::NotAnInteger(_))));
        // Versions: the same key under another version is another entry.
        c.set("v", "one", Timeout::Default).unwrap();
        assert_eq!(c.version(2).get::<String>("v").unwrap(), None);
        assert_eq!(c.incr_version("v", 1).unwrap(), 2);
        assert_eq!(c.get::<String>("v").unwrap(), None);
        assert_eq!(
            c.version(2).get::<String>("v").unwrap().as_deref(),
            Some("one")
        );
        assert!(matches!(
            c.incr_version("gone", 1),
            Err(CacheError::KeyNotFound(_))
        ));
    }

    #[test]
    fn the_handler_needs_a_default_and_answers_for_unknown_aliases() {
        let mut s = Settings::default();
        let h = CacheHandler::from_settings(&s).unwrap();
        assert!(h.get("default").is_ok());
        match h.get("other") {
            Err(e) => assert_eq!(e.to_string(), "The connection 'other' doesn't exist."),
            Ok(_) => panic!("no such alias"),
        }
        s.caches.insert("other".into(), CacheConfig::default());
        let e = CacheHandler::from_settings(&s).err().unwrap();
        assert!(e.message().contains("'default'"), "{e}");
    }
}
