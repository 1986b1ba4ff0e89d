//! The local-memory backend (Django's `backends/locmem.py`, `LocMemCache`): entries in this
//! process, in least-recently-used order, with their expiry; caches with the same location
//! share them (Django's module-level `_caches` by name). A full cache (`max_entries`) drops
//! the least recently used `1/cull_frequency` of its entries before storing a new one.
//!
//! Per process, so per worker: fine for one machine's memoised work, never for sessions
//! behind several instances (use Redis).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use serde_json::Value;

use crate::cache::{CacheBackend, CacheError, CacheOptions};

struct Entry {
    value: Value,
    /// `None` never expires.
    expires: Option<Instant>,
}

impl Entry {
    fn expired(&self, now: Instant) -> bool {
        self.expires.is_some_and(|e| e <= now)
    }
}

/// The entries of one location, least recently used first.
type Store = Mutex<IndexMap<String, Entry>>;

/// Django's `_caches`: the stores by location name, for the life of the process.
fn stores() -> &'static Mutex<HashMap<String, Arc<Store>>> {
    static STORES: OnceLock<Mutex<HashMap<String, Arc<Store>>>> = OnceLock::new();
    STORES.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Django's `LocMemCache`.
pub struct LocMemCache {
    store: Arc<Store>,
    max_entries: usize,
    cull_frequency: usize,
}

fn expiry(timeout: Option<i64>, now: Instant) -> Option<Instant> {
    // Django's `get_backend_timeout`: 0 or less is "already expired".
    timeout.map(|s| now + Duration::from_secs(s.max(0).unsigned_abs()))
}

impl LocMemCache {
    /// The cache of `location` (Django's `LOCATION`, a name; `""` is a name too).
    pub fn new(location: &str, options: &CacheOptions) -> Self {
        let mut all = stores().lock().unwrap_or_else(|p| p.into_inner());
        let store = Arc::clone(all.entry(location.to_string()).or_default());
        LocMemCache {
            store,
            max_entries: options.max_entries,
            cull_frequency: options.cull_frequency,
        }
    }

    fn lock(&self) -> MutexGuard<'_, IndexMap<String, Entry>> {
        // A panic while the map was held leaves it consistent (each edit is one call).
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The live entry's index, dropping it if it expired (Django's `_has_expired` + `_delete`).
    fn live(map: &mut IndexMap<String, Entry>, key: &str, now: Instant) -> Option<usize> {
        let i = map.get_index_of(key)?;
        if map[i].expired(now) {
            map.shift_remove_index(i);
            return None;
        }
        Some(i)
    }

    /// Django's `_set`: culls a full cache first, stores as the most recently used.
    fn store_entry(&self, map: &mut IndexMap<String, Entry>, key: &str, entry: Entry) {
        if map.len() >= self.max_entries && !map.contains_key(key) {
            self.cull(map);
        }
        map.shift_remove(key);
        map.insert(key.to_string(), entry);
    }

    /// Django's `_cull`: `cull_frequency` 0 clears; else the least recently used
    /// `len / cull_frequency` go.
    fn cull(&self, map: &mut IndexMap<String, Entry>) {
        if self.cull_frequency == 0 {
            map.clear();
            return;
        }
        let count = map.len() / self.cull_frequency;
        map.drain(..count.min(map.len()));
    }
}

impl CacheBackend for LocMemCache {
    fn get(&self, key: &str) -> Result<Option<Value>, CacheError> {
        let mut map = self.lock();
        let Some(i) = Self::live(&mut map, key, Instant::now()) else {
            return Ok(None);
        };
        let last = map.len() - 1;
        map.move_index(i, last);
        Ok(Some(map[last].value.clone()))
    }

    fn set(&self, key: &str, value: &Value, timeout: Option<i64>) -> Result<(), CacheError> {
        let now = Instant::now();
        let mut map = self.lock();
        let entry = Entry {
            value: value.clone(),
            expires: expiry(timeout, now),
        };
        self.store_entry(&mut map, key, entry);
        Ok(())
    }

    fn add(&self, key: &str, value: &Value, timeout: Option<i64>) -> Result<bool, CacheError> {
        let now = Instant::now();
        let mut map = self.lock();
        if Self::live(&mut map, key, now).is_some() {
            return Ok(false);
        }
        let entry = Entry {
            value: value.clone(),
            expires: expiry(timeout, now),
        };
        self.store_entry(&mut map, key, entry);
        Ok(true)
    }

    fn touch(&self, key: &str, timeout: Option<i64>) -> Result<bool, CacheError> {
        let now = Instant::now();
        let mut map = self.lock();
        let Some(i) = Self::live(&mut map, key, now) else {
            return Ok(false);
        };
        map[i].expires = expiry(timeout, now);
        Ok(true)
    }

    fn delete(&self, key: &str) -> Result<bool, CacheError> {
        Ok(self.lock().shift_remove(key).is_some())
    }

    fn has_key(&self, key: &str) -> Result<bool, CacheError> {
        Ok(Self::live(&mut self.lock(), key, Instant::now()).is_some())
    }

    fn incr(&self, key: &str, delta: i64) -> Result<i64, CacheError> {
        let mut map = self.lock();
        let Some(i) = Self::live(&mut map, key, Instant::now()) else {
            return Err(CacheError::KeyNotFound(key.to_string()));
        };
        let new = map[i]
            .value
            .as_i64()
            .and_then(|v| v.checked_add(delta))
            .ok_or_else(|| CacheError::NotAnInteger(key.to_string()))?;
        map[i].value = Value::from(new);
        let last = map.len() - 1;
        map.move_index(i, last);
        Ok(new)
    }

    fn clear(&self) -> Result<(), CacheError> {
        self.lock().clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::{Cache, CacheConfig, Timeout};

    fn cache(name: &str, max_entries: usize, cull_frequency: usize) -> Cache {
        let config = CacheConfig {
            location: vec![format!("locmem-test-{name}")],
            options: CacheOptions {
                max_entries,
                cull_frequency,
                ..CacheOptions::default()
            },
            ..CacheConfig::default()
        };
        Cache::from_config("default", &config).unwrap()
    }

    #[test]
    fn entries_expire_and_zero_means_do_not_cache() {
        let c = cache("expiry", 300, 3);
        c.set("short", &1, 1).unwrap();
        c.set("forever", &2, Timeout::Never).unwrap();
        c.set("zero", &3, 0).unwrap();
        c.set("negative", &3, -5).unwrap();
        assert_eq!(c.get::<i64>("zero").unwrap(), None);
        assert_eq!(c.get::<i64>("negative").unwrap(), None);
        assert!(c.add("zero", &4, 0).unwrap(), "an expired key can be added");
        assert_eq!(c.get::<i64>("short").unwrap(), Some(1));
        assert!(c.touch("forever", 1).unwrap());
        assert!(!c.touch("missing", 1).unwrap());
        std::thread::sleep(Duration::from_millis(1100));
        assert_eq!(c.get::<i64>("short").unwrap(), None);
        assert!(!c.has_key("forever").unwrap(), "touch gave it a timeout");
        assert!(matches!(
            c.incr("short", 1),
            Err(CacheError::KeyNotFound(_))
        ));
        assert!(c.add("short", &9, Timeout::Default).unwrap());
    }

    #[test]
    fn a_full_cache_culls_the_least_recently_used() {
        let c = cache("cull", 6, 3);
        for i in 0..6 {
            c.set(&format!("k{i}"), &i, Timeout::Default).unwrap();
        }
        // k0 and k1 are read, so k2 and k3 are now the least recently used.
        c.get::<i64>("k0").unwrap();
        c.get::<i64>("k1").unwrap();
        c.set("k6", &6, Timeout::Default).unwrap();
        let left: Vec<bool> = (0..7)
            .map(|i| c.has_key(&format!("k{i}")).unwrap())
            .collect();
        assert_eq!(left, [true, true, false, false, true, true, true]);
        // Overwriting an entry of a full cache culls nothing.
        c.set("k6", &60, Timeout::Default).unwrap();
        assert!(c.has_key("k4").unwrap());
        // cull_frequency 0 clears the lot.
        let z = cache("cull-zero", 2, 0);
        z.set("a", &1, Timeout::Default).unwrap();
        z.set("b", &1, Timeout::Default).unwrap();
        z.set("c", &1, Timeout::Default).unwrap();
        assert!(!z.has_key("a").unwrap() && !z.has_key("b").unwrap());
        assert!(z.has_key("c").unwrap());
    }

    #[test]
    fn one_location_is_one_store_and_clear_empties_it() {
        let a = cache("shared", 300, 3);
        let b = cache("shared", 300, 3);
        a.set("k", "v", Timeout::Default).unwrap();
        assert_eq!(b.get::<String>("k").unwrap().as_deref(), Some("v"));
        assert_eq!(cache("other", 300, 3).get::<String>("k").unwrap(), None);
        b.clear().unwrap();
        assert!(!a.has_key("k").unwrap());
    }

    #[test]
    fn values_are_copies() {
        let c = cache("copies", 300, 3);
        let mut v = vec![1];
        c.set("v", &v, Timeout::Default).unwrap();
        v.push(2);
        assert_eq!(c.get::<Vec<i32>>("v").unwrap(), Some(vec![1]));
    }
}
