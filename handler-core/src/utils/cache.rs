//! Django's `django.utils.cache`: the `Vary` and `Cache-Control` headers, and the keys the
//! cache middleware stores pages under (`learn_cache_key` / `get_cache_key`: a page's key
//! covers its absolute URL, its method and the request headers its `Vary` names).
//!
//! Django also suffixes keys with the language and time zone (`USE_I18N`, `USE_TZ`); Portico
//! has neither, so its keys stop before that suffix.

use std::time::{Duration, SystemTime};

use md5::{Digest, Md5};

use crate::cache::{Cache, Timeout};
use crate::exception::ViewError;
use crate::http::{HttpRequest, HttpResponse};

/// Django's `patch_vary_headers`: adds each of `new_headers` to `Vary` unless it is already
/// there (any case), keeping the existing order; a `*` anywhere makes the header `*`.
pub fn patch_vary_headers(response: &mut HttpResponse, new_headers: &[&str]) {
    let mut vary: Vec<String> = match response.get("Vary") {
        // Django's cc_delim_re: `\s*,\s*`.
        Some(v) => v.split(',').map(|h| h.trim().to_string()).collect(),
        None => Vec::new(),
    };
    // Python's re.split keeps the empty pieces; a header of "" is one empty element.
    let existing: Vec<String> = vary.iter().map(|h| h.to_ascii_lowercase()).collect();
    for new in new_headers {
        if !existing.contains(&new.to_ascii_lowercase()) {
            vary.push((*new).to_string());
        }
    }
    if vary.iter().any(|h| h == "*") {
        response.headers.set("Vary", "*");
    } else {
        response.headers.set("Vary", vary.join(", "));
    }
}

/// Django's `has_vary_header`: is `header` (any case) listed in `Vary`?
pub fn has_vary_header(response: &HttpResponse, header: &str) -> bool {
    response
        .get("Vary")
        .is_some_and(|v| v.split(',').any(|h| h.trim().eq_ignore_ascii_case(header)))
}

/// One `Cache-Control` directive for [`patch_cache_control`]: Django's keyword arguments
/// (`max_age=300` is `("max_age", Directive::Value("300"))`, `private=True` is
/// `("private", Directive::Flag)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Directive {
    /// A bare directive (Python's `True`).
    Flag,
    /// `name=value`.
    Value(String),
}

/// Django's `dictitem`: `name=value` or a bare `name` (lower-cased).
fn directive(field: &str) -> (String, Directive) {
    match field.split_once('=') {
        Some((k, v)) => (k.to_ascii_lowercase(), Directive::Value(v.to_string())),
        None => (field.to_ascii_lowercase(), Directive::Flag),
    }
}

/// Django's `patch_cache_control(response, **kwargs)`: the directives added to (or replacing
/// those in) `Cache-Control`. A smaller existing `max-age` wins; `public` drops `private` and
/// the reverse; `no-cache` may name several fields, and a bare one wins over them.
pub fn patch_cache_control(response: &mut HttpResponse, directives: &[(&str, Directive)]) {
    // Ordered as Django's dict: existing directives first, new ones after.
    let mut cc: Vec<(String, Vec<Directive>)> = Vec::new();
    let put = |cc: &mut Vec<(String, Vec<Directive>)>, name: String, value: Directive| {
        let multi = name == "no-cache";
        match cc.iter_mut().find(|(n, _)| *n == name) {
            Some((_, values)) if multi => {
                if !values.contains(&value) {
                    values.push(value);
                }
            }
            Some((_, values)) => *values = vec![value],
            None => cc.push((name, vec![value])),
        }
    };
    if let Some(existing) = response.get("Cache-Control").filter(|v| !v.is_empty()) {
        for field in existing.split(',').map(str::trim) {
            let (name, value) = directive(field);
            put(&mut cc, name, value);
        }
    }
    let wants = |name: &str| directives.iter().any(|(k, _)| k.replace('_', "-") == name);
    if wants("private") {
        cc.retain(|(n, _)| n != "public");
    } else if wants("public") {
        cc.retain(|(n, _)| n != "private");
    }
    for (name, value) in directives {
        let name = name.replace('_', "-");
        let mut value = value.clone();
        if name == "max-age" {
            let old = cc
                .iter()
                .find(|(n, _)| n == "max-age")
                .and_then(|(_, v)| match v.first() {
                    Some(Directive::Value(s)) => s.parse::<i64>().ok(),
                    _ => None,
                });
            if let (Some(old), Directive::Value(new)) = (old, &value) {
                if let Ok(new) = new.parse::<i64>() {
                    value = Directive::Value(old.min(new).to_string());
                }
            }
        }
        put(&mut cc, name, value);
    }
    let mut out: Vec<String> = Vec::new();
    for (name, values) in cc {
        if values.contains(&Directive::Flag) {
            out.push(name);
            continue;
        }
        for v in values {
            if let Directive::Value(v) = v {
                out.push(format!("{name}={v}"));
            }
        }
    }
    response.headers.set("Cache-Control", out.join(", "));
}

/// Django's `get_max_age(response)`: `max-age` of `Cache-Control`, if it is an integer.
pub fn get_max_age(response: &HttpResponse) -> Option<i64> {
    let cc = response.get("Cache-Control")?;
    cc.split(',')
        .map(|f| directive(f.trim()))
        .rfind(|(n, _)| n == "max-age")
        .and_then(|(_, v)| match v {
            Directive::Value(s) => s.parse().ok(),
            Directive::Flag => None,
        })
}

/// Django's `patch_response_headers(response, cache_timeout)`: `Expires` (unless set) and
/// `Cache-Control: max-age` for `cache_timeout` seconds (negative is 0).
pub fn patch_response_headers(response: &mut HttpResponse, cache_timeout: i64) {
    let timeout = cache_timeout.max(0);
    if !response.has_header("Expires") {
        let when = SystemTime::now() + Duration::from_secs(timeout.unsigned_abs());
        response
            .headers
            .set("Expires", httpdate::fmt_http_date(when));
    }
    patch_cache_control(
        response,
        &[("max_age", Directive::Value(timeout.to_string()))],
    );
}

/// Django's `add_never_cache_headers(response)`.
pub fn add_never_cache_headers(response: &mut HttpResponse) {
    patch_response_headers(response, -1);
    patch_cache_control(
        response,
        &[
            ("no_cache", Directive::Flag),
            ("no_store", Directive::Flag),
            ("must_revalidate", Directive::Flag),
            ("private", Directive::Flag),
        ],
    );
}

fn hex_md5(bytes: &[u8]) -> String {
    let digest = Md5::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Django's `_generate_cache_key` (5.2.19): the page's key from its method, absolute URL and
/// the values of the `META` keys in `headerlist` (`-,` for each one the request lacks).
fn generate_cache_key(
    request: &HttpRequest,
    method: &str,
    headerlist: &[String],
    key_prefix: &str,
) -> Result<String, ViewError> {
    let mut ctx = Md5::new();
    for header in headerlist {
        match request.meta(header) {
            Some(value) => ctx.update(value.as_bytes()),
            // Django 5.2.19: an absent field must not share a key with a present but empty
            // one (RFC 9111, section 4.1), so it adds a marker no value can be.
            None => ctx.update(b"-,"),
        }
    }
    let headers: String = ctx.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let url = hex_md5(request.build_absolute_uri(None)?.as_bytes());
    Ok(format!(
        "views.decorators.cache.cache_page.{key_prefix}.{method}.{url}.{headers}"
    ))
}

/// Django's `_generate_cache_header_key`: where the header list of a URL is kept.
fn generate_cache_header_key(key_prefix: &str, request: &HttpRequest) -> Result<String, ViewError> {
    let url = hex_md5(request.build_absolute_uri(None)?.as_bytes());
    Ok(format!(
        "views.decorators.cache.cache_header.{key_prefix}.{url}"
    ))
}

/// Django's `get_cache_key(request, key_prefix, method, cache)`: the key of the page stored
/// for this request, `None` when no header list was learnt for its URL (nothing stored yet).
pub fn get_cache_key(
    request: &HttpRequest,
    key_prefix: &str,
    method: &str,
    cache: &Cache,
) -> Result<Option<String>, ViewError> {
    let header_key = generate_cache_header_key(key_prefix, request)?;
    match cache.get::<Vec<String>>(&header_key)? {
        Some(headerlist) => Ok(Some(generate_cache_key(
            request,
            method,
            &headerlist,
            key_prefix,
        )?)),
        None => Ok(None),
    }
}

/// Django's `learn_cache_key(request, response, cache_timeout, key_prefix, cache)`: stores
/// the request headers the response's `Vary` names for its URL (`HTTP_COOKIE`, ...) and
/// returns the key the page goes under.
pub fn learn_cache_key(
    request: &HttpRequest,
    response: &HttpResponse,
    cache_timeout: Timeout,
    key_prefix: &str,
    cache: &Cache,
) -> Result<String, ViewError> {
    let header_key = generate_cache_header_key(key_prefix, request)?;
    let mut headerlist: Vec<String> = match response.get("Vary") {
        Some(vary) => vary
            .split(',')
            .map(|h| format!("HTTP_{}", h.trim().to_ascii_uppercase().replace('-', "_")))
            .collect(),
        None => Vec::new(),
    };
    headerlist.sort();
    cache.set(&header_key, &headerlist, cache_timeout)?;
    generate_cache_key(request, &request.method, &headerlist, key_prefix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::CacheConfig;
    use crate::settings::Settings;
    use std::sync::Arc;

    fn request(path: &str, headers: &[(&str, &str)]) -> HttpRequest {
        let mut s = Settings::default();
        s.allowed_hosts = vec!["testserver".into()];
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let mut r = HttpRequest::new("GET", path, query, Arc::new(s));
        r.headers.append("Host", "testserver");
        for (k, v) in headers {
            r.headers.append(k, v);
        }
        r
    }

    #[test]
    fn cache_control_is_patched_as_django_does() {
        let mut r = HttpResponse::new("x").header("Cache-Control", "max-age=100, public");
        patch_cache_control(&mut r, &[("max_age", Directive::Value("300".into()))]);
        assert_eq!(r.get("Cache-Control"), Some("max-age=100, public"));
        patch_cache_control(&mut r, &[("private", Directive::Flag)]);
        assert_eq!(r.get("Cache-Control"), Some("max-age=100, private"));
        assert_eq!(get_max_age(&r), Some(100));
        let mut r = HttpResponse::new("x").header("Cache-Control", "no-cache=\"Set-Cookie\"");
        patch_cache_control(&mut r, &[("no_cache", Directive::Value("\"foo\"".into()))]);
        assert_eq!(
            r.get("Cache-Control"),
            Some("no-cache=\"Set-Cookie\", no-cache=\"foo\"")
        );
        patch_cache_control(&mut r, &[("no_cache", Directive::Flag)]);
        assert_eq!(r.get("Cache-Control"), Some("no-cache"));
        let mut r = HttpResponse::new("x");
        patch_response_headers(&mut r, 60);
        assert_eq!(r.get("Cache-Control"), Some("max-age=60"));
        assert!(r.has_header("Expires"));
        let mut r = HttpResponse::new("x");
        add_never_cache_headers(&mut r);
        assert_eq!(
            r.get("Cache-Control"),
            Some("max-age=0, no-cache, no-store, must-revalidate, private")
        );
        assert_eq!(get_max_age(&HttpResponse::new("x")), None);
    }

    #[test]
    fn learnt_keys_cover_the_url_and_the_varied_headers() {
        let cache = Cache::from_config(
            "default",
            &CacheConfig {
                location: vec!["utils-cache-keys".into()],
                ..CacheConfig::default()
            },
        )
        .unwrap();
        let req = request("/page/?a=1", &[("Cookie", "sessionid=one")]);
        assert_eq!(get_cache_key(&req, "", "GET", &cache).unwrap(), None);
        let resp = HttpResponse::new("x").header("Vary", "Cookie, Accept-Encoding");
        let key = learn_cache_key(&req, &resp, Timeout::Default, "", &cache).unwrap();
        let url = hex_md5(b"http://testserver/page/?a=1");
        // The key Django 5.2 computes for this request and response (USE_I18N off).
        assert_eq!(
            key,
            "views.decorators.cache.cache_page..GET.de86f710c45d0bfac9526360b3d8dd21.\
             b467d749f70f0425e6f82d52ee69a268"
        );
        let stored: Vec<String> = cache
            .get(&format!("views.decorators.cache.cache_header..{url}"))
            .unwrap()
            .unwrap();
        assert_eq!(stored, ["HTTP_ACCEPT_ENCODING", "HTTP_COOKIE"]);
        assert_eq!(
            get_cache_key(&req, "", "GET", &cache).unwrap(),
            Some(key.clone())
        );
        // Another cookie is another key; another prefix knows nothing yet.
        let other = request("/page/?a=1", &[("Cookie", "sessionid=two")]);
        assert_ne!(get_cache_key(&other, "", "GET", &cache).unwrap(), Some(key));
        assert_eq!(get_cache_key(&req, "p", "GET", &cache).unwrap(), None);
        // Django's key of the empty header list is the MD5 of nothing.
        let plain = request("/plain/", &[]);
        let key = learn_cache_key(
            &plain,
            &HttpResponse::new("x"),
            Timeout::Default,
            "",
            &cache,
        )
        .unwrap();
        assert!(key.ends_with(".d41d8cd98f00b204e9800998ecf8427e"), "{key}");
    }

    #[test]
    fn vary_keeps_order_and_case_and_does_not_repeat() {
        let mut r = HttpResponse::new("x");
        patch_vary_headers(&mut r, &["Cookie"]);
        assert_eq!(r.get("Vary"), Some("Cookie"));
        patch_vary_headers(&mut r, &["Accept-Encoding", "cookie"]);
        assert_eq!(r.get("Vary"), Some("Cookie, Accept-Encoding"));
        assert!(has_vary_header(&r, "accept-encoding"));
        let mut r = HttpResponse::new("x").header("Vary", "Accept-Language ,  *");
        patch_vary_headers(&mut r, &["Cookie"]);
        assert_eq!(r.get("Vary"), Some("*"));
    }
}
