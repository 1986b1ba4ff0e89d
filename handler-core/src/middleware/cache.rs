//! The cache middleware (Django's `django/middleware/cache.py`): `cache_fetch`
//! ([`FetchFromCacheMiddleware`]) answers a GET or HEAD from the cache when the page is there;
//! `cache_update` ([`UpdateCacheMiddleware`]) stores a 200 answer to such a request on the way
//! out. Put `cache_update` first and `cache_fetch` last in `middleware`, as in Django.
//! [`CacheMiddleware`] is both, as `cache_page` uses it.
//!
//! Django 5.2's rules for what is stored: only GET and HEAD, only 200 (304 gets headers
//! only), never a streaming response, never one with `Cache-Control` `private`, `no-cache` or
//! `no-store`, never `Vary: *`, never one that sets a cookie and varies on `Cookie`;
//! `max-age=0` is not stored; the timeout is the page's (`cache_page`), else `max-age`, else
//! `cache_middleware_seconds`; a request with `Authorization` makes the page vary on it unless
//! it is `public`. A page served from the cache carries `Age`. Pages are stored as JSON
//! (status, headers, body in base64).

use std::borrow::Cow;
use std::time::SystemTime;

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::cache::{caches, Cache, CacheError, Timeout};
use crate::exception::ViewError;
use crate::http::{Headers, HttpRequest, HttpResponse};
use crate::middleware::Middleware;
use crate::settings::{ConfigError, Settings};
use crate::utils::cache::{
    get_cache_key, get_max_age, has_vary_header, learn_cache_key, patch_response_headers,
    patch_vary_headers,
};

/// Django's `request._cache_update_cache`: set by the fetch side, read by the update side.
#[derive(Debug, Clone, Copy)]
struct UpdateCache(bool);

/// A page as the cache holds it (Django pickles the `HttpResponse`).
#[derive(Serialize, Deserialize)]
struct CachedResponse {
    status: u16,
    reason: Option<String>,
    headers: Vec<(String, String)>,
    charset: String,
    xframe_options_exempt: bool,
    content: String,
}

impl CachedResponse {
    fn of(response: &HttpResponse) -> Self {
        CachedResponse {
            status: response.status_code,
            reason: response.reason.clone(),
            headers: response
                .headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            charset: response.charset.to_string(),
            xframe_options_exempt: response.xframe_options_exempt,
            content: base64::engine::general_purpose::STANDARD.encode(response.content()),
        }
    }

    fn into_response(self) -> Option<HttpResponse> {
        let content = base64::engine::general_purpose::STANDARD
            .decode(self.content)
            .ok()?;
        let mut response = HttpResponse::with_status(self.status, content);
        response.reason = self.reason;
        let mut headers = Headers::new();
        for (k, v) in &self.headers {
            headers.append(k, v);
        }
        response.headers = headers;
        response.charset = Cow::Owned(self.charset);
        response.xframe_options_exempt = self.xframe_options_exempt;
        Some(response)
    }
}

/// The page under `key`; a value that is not a page (stored by something else) is a miss,
/// a failing cache an error (Django's `RedisCache` raises).
fn cached_page(cache: &Cache, key: &str) -> Result<Option<CachedResponse>, ViewError> {
    match cache.get::<CachedResponse>(key) {
        Ok(found) => Ok(found),
        Err(CacheError::Value(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn cache_of(alias: &str) -> Result<Cache, ViewError> {
    Ok(caches(alias)?)
}

/// Django's `Age` on a page served from the cache: how long it has been kept, from its
/// `max-age` and `Expires`.
fn set_age(response: &mut HttpResponse) {
    let Some(max_age) = get_max_age(response) else {
        return;
    };
    let Some(expires) = response
        .get("Expires")
        .and_then(|e| httpdate::parse_http_date(e).ok())
    else {
        return;
    };
    let remaining = match expires.duration_since(SystemTime::now()) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    };
    let age = max_age.saturating_sub(remaining).max(0);
    response.headers.set("Age", age.to_string());
}

/// Django's `UpdateCacheMiddleware` (`cache_update`).
#[derive(Debug, Clone)]
pub struct UpdateCacheMiddleware {
    /// `cache_middleware_seconds`.
    pub cache_timeout: i64,
    /// The page's own timeout (`cache_page`'s); `None` follows `max-age`, then `cache_timeout`.
    pub page_timeout: Option<Timeout>,
    /// `cache_middleware_key_prefix`.
    pub key_prefix: String,
    /// `cache_middleware_alias`.
    pub cache_alias: String,
}

impl UpdateCacheMiddleware {
    /// With the `cache_middleware_*` settings.
    pub fn new(settings: &Settings) -> Self {
        UpdateCacheMiddleware {
            cache_timeout: settings.cache_middleware_seconds,
            page_timeout: None,
            key_prefix: settings.cache_middleware_key_prefix.clone(),
            cache_alias: settings.cache_middleware_alias.clone(),
        }
    }

    /// The registry's factory: the alias must name a cache.
    pub fn from_settings(settings: &Settings) -> Result<Self, ConfigError> {
        check_alias(settings)?;
        Ok(UpdateCacheMiddleware::new(settings))
    }
}

fn check_alias(settings: &Settings) -> Result<(), ConfigError> {
    caches(&settings.cache_middleware_alias)
        .map(|_| ())
        .map_err(|e| ConfigError::new(format!("cache_middleware_alias: {e}")))
}

impl Middleware for UpdateCacheMiddleware {
    fn process_response(
        &self,
        request: &mut HttpRequest,
        mut response: HttpResponse,
    ) -> Result<HttpResponse, ViewError> {
        if !request.extensions.get::<UpdateCache>().is_some_and(|u| u.0) {
            return Ok(response);
        }
        if response.is_streaming() || !matches!(response.status_code, 200 | 304) {
            return Ok(response);
        }
        // A user-specific (maybe security-sensitive) cookie.
        if response.has_header("Set-Cookie") && has_vary_header(&response, "Cookie") {
            return Ok(response);
        }
        let cache_control = response
            .get("Cache-Control")
            .unwrap_or("")
            .to_ascii_lowercase();
        if ["private", "no-cache", "no-store"]
            .iter()
            .any(|d| cache_control.contains(d))
        {
            return Ok(response);
        }
        if has_vary_header(&response, "*") {
            return Ok(response);
        }
        let timeout = match self.page_timeout {
            Some(t) => t,
            None => match get_max_age(&response) {
                Some(0) => return Ok(response),
                Some(age) => Timeout::Seconds(age),
                None => Timeout::Seconds(self.cache_timeout),
            },
        };
        let cache = cache_of(&self.cache_alias)?;
        let seconds = cache.backend_timeout(timeout);
        // Django's patch_response_headers(response, None) falls back to the settings' seconds.
        patch_response_headers(&mut response, seconds.unwrap_or(self.cache_timeout));
        // Credentials make the page the user's own unless it says it is public.
        if request.headers.get("Authorization").is_some() && !cache_control.contains("public") {
            patch_vary_headers(&mut response, &["Authorization"]);
        }
        if seconds != Some(0) && response.status_code == 200 {
            let key = learn_cache_key(request, &response, timeout, &self.key_prefix, &cache)?;
            cache.set(&key, &CachedResponse::of(&response), timeout)?;
        }
        Ok(response)
    }
}

/// Django's `FetchFromCacheMiddleware` (`cache_fetch`).
#[derive(Debug, Clone)]
pub struct FetchFromCacheMiddleware {
    /// `cache_middleware_key_prefix`.
    pub key_prefix: String,
    /// `cache_middleware_alias`.
    pub cache_alias: String,
}

impl FetchFromCacheMiddleware {
    /// With the `cache_middleware_*` settings.
    pub fn new(settings: &Settings) -> Self {
        FetchFromCacheMiddleware {
            key_prefix: settings.cache_middleware_key_prefix.clone(),
            cache_alias: settings.cache_middleware_alias.clone(),
        }
    }

    /// The registry's factory: the alias must name a cache.
    pub fn from_settings(settings: &Settings) -> Result<Self, ConfigError> {
        check_alias(settings)?;
        Ok(FetchFromCacheMiddleware::new(settings))
    }
}

impl Middleware for FetchFromCacheMiddleware {
    fn process_request(
        &self,
        request: &mut HttpRequest,
    ) -> Result<Option<HttpResponse>, ViewError> {
        if request.method != "GET" && request.method != "HEAD" {
            request.extensions.insert(UpdateCache(false));
            return Ok(None);
        }
        let cache = cache_of(&self.cache_alias)?;
        let Some(key) = get_cache_key(request, &self.key_prefix, "GET", &cache)? else {
            request.extensions.insert(UpdateCache(true));
            return Ok(None);
        };
        let mut found = cached_page(&cache, &key)?;
        if found.is_none() && request.method == "HEAD" {
            if let Some(key) = get_cache_key(request, &self.key_prefix, "HEAD", &cache)? {
                found = cached_page(&cache, &key)?;
            }
        }
        match found.and_then(CachedResponse::into_response) {
            Some(mut response) => {
                set_age(&mut response);
                request.extensions.insert(UpdateCache(false));
                Ok(Some(response))
            }
            None => {
                request.extensions.insert(UpdateCache(true));
                Ok(None)
            }
        }
    }
}

/// Django's `CacheMiddleware`: fetch on the way in, update on the way out (`cache`, and what
/// `cache_page` runs).
#[derive(Debug, Clone)]
pub struct CacheMiddleware {
    /// The update side.
    pub update: UpdateCacheMiddleware,
    /// The fetch side.
    pub fetch: FetchFromCacheMiddleware,
}

impl CacheMiddleware {
    /// With the settings, and `cache_page`'s arguments: the page timeout, the alias (`None`:
    /// `default`) and the key prefix (`None`: `""`), as Django's `CacheMiddleware(...)` takes
    /// them.
    pub fn new(
        settings: &Settings,
        page_timeout: Option<Timeout>,
        cache_alias: Option<&str>,
        key_prefix: Option<&str>,
    ) -> Self {
        let alias = cache_alias
            .unwrap_or(crate::cache::DEFAULT_CACHE_ALIAS)
            .to_string();
        let prefix = key_prefix.unwrap_or("").to_string();
        CacheMiddleware {
            update: UpdateCacheMiddleware {
                cache_timeout: settings.cache_middleware_seconds,
                // Django's cache_page(None): max-age, else the settings' seconds.
                page_timeout: page_timeout.filter(|t| *t != Timeout::Default),
                key_prefix: prefix.clone(),
                cache_alias: alias.clone(),
            },
            fetch: FetchFromCacheMiddleware {
                key_prefix: prefix,
                cache_alias: alias,
            },
        }
    }

    /// The registry's factory (`cache`): the `cache_middleware_*` settings.
    pub fn from_settings(settings: &Settings) -> Result<Self, ConfigError> {
        check_alias(settings)?;
        Ok(CacheMiddleware {
            update: UpdateCacheMiddleware::new(settings),
            fetch: FetchFromCacheMiddleware::new(settings),
        })
    }
}

impl Middleware for CacheMiddleware {
    fn process_request(
        &self,
        request: &mut HttpRequest,
    ) -> Result<Option<HttpResponse>, ViewError> {
        self.fetch.process_request(request)
    }

    fn process_response(
        &self,
        request: &mut HttpRequest,
        response: HttpResponse,
    ) -> Result<HttpResponse, ViewError> {
        self.update.process_response(request, response)
    }
}

#[cfg(test)]
mod tests {
    use crate::app::App;
    use crate::http::{HttpRequest, HttpResponse};
    use crate::settings::Settings;
    use crate::test::Client;
    use crate::urls::path;
    use crate::views::{view, ViewResult};
    use std::sync::atomic::{AtomicUsize, Ordering};

    static CALLS: AtomicUsize = AtomicUsize::new(0);

    fn counted(_: &mut HttpRequest) -> ViewResult {
        let n = CALLS.fetch_add(1, Ordering::SeqCst);
        Ok(HttpResponse::new(format!("call {n}")))
    }

    #[test]
    fn the_site_wide_pair_caches_gets_by_their_django_names_too() {
        let mut s = Settings::default();
        s.middleware = vec![
            "django.middleware.cache.UpdateCacheMiddleware".into(),
            "cache_fetch".into(),
        ];
        s.cache_middleware_key_prefix = "site-wide-test".into();
        s.cache_middleware_seconds = 30;
        let app = App::new(vec![path("mw-page/", view(counted))]);
        let mut client = Client::from_app(app, s.clone()).unwrap();
        let first = client.get("/mw-page/");
        assert_eq!(first.get("Cache-Control"), Some("max-age=30"));
        assert_eq!(client.get("/mw-page/").content, first.content);
        assert_ne!(client.post("/mw-page/", &[]).content, first.content);

        // An alias that names no cache stops start-up.
        s.cache_middleware_alias = "nope".into();
        let app = App::new(vec![path("mw-page/", view(counted))]);
        let e = app.into_handler(s).err().unwrap();
        assert!(
            e.message().contains("The connection 'nope' doesn't exist."),
            "{e}"
        );
    }
}
