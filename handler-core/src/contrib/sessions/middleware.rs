//! The `sessions` middleware (Django's `SessionMiddleware`): a [`Session`] for the cookie's
//! key on the way in; on the way out the session is saved and the cookie set (with Django's
//! attributes from the `session_cookie_*` settings) when it was modified, the cookie deleted
//! when the session became empty, and `Vary: Cookie` added when it was accessed.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::backends::signed_cookies::SignedCookieSessionStore;
use super::base::{Session, SessionError, SessionState, SessionStore};
use crate::exception::ViewError;
use crate::http::cookies::CookieOptions;
use crate::http::{Extensions, HttpRequest, HttpResponse};
use crate::middleware::csrf::samesite;
use crate::middleware::Middleware;
use crate::settings::{ConfigError, Settings};
use crate::utils::cache::patch_vary_headers;

/// The engines `session_engine` may name, short and dotted.
pub const DB_ENGINES: [&str; 2] = ["db", "django.contrib.sessions.backends.db"];
/// The signed-cookie engine's names.
pub const SIGNED_COOKIE_ENGINES: [&str; 2] = [
    "signed_cookies",
    "django.contrib.sessions.backends.signed_cookies",
];

/// The cache engine's names.
pub const CACHE_ENGINES: [&str; 2] = ["cache", "django.contrib.sessions.backends.cache"];
/// The cached-database engine's names.
pub const CACHED_DB_ENGINES: [&str; 2] =
    ["cached_db", "django.contrib.sessions.backends.cached_db"];

/// Django's `SessionMiddleware`.
pub struct SessionMiddleware {
    store: Arc<dyn SessionStore>,
    cookie_name: String,
    cookie_age: i64,
    expire_at_browser_close: bool,
    save_every_request: bool,
    path: String,
    domain: Option<String>,
    secure: bool,
    httponly: bool,
    samesite: Option<String>,
}

impl SessionMiddleware {
    /// The middleware on `store`, with the `session_cookie_*` settings.
    pub fn new(settings: &Settings, store: Arc<dyn SessionStore>) -> Result<Self, ConfigError> {
        let samesite = samesite(&settings.session_cookie_samesite, "session_cookie_samesite")?;
        let mw = SessionMiddleware {
            store,
            cookie_name: settings.session_cookie_name.clone(),
            cookie_age: settings.session_cookie_age,
            expire_at_browser_close: settings.session_expire_at_browser_close,
            save_every_request: settings.session_save_every_request,
            path: settings.session_cookie_path.clone(),
            domain: settings.session_cookie_domain.clone(),
            secure: settings.session_cookie_secure,
            httponly: settings.session_cookie_httponly,
            samesite,
        };
        crate::http::cookies::render_set_cookie(&mw.cookie_name, "x", &mw.options(None))
            .map_err(|e| ConfigError::new(format!("session_cookie_*: {e}")))?;
        Ok(mw)
    }

    /// The registered factory: on the engine built at start-up into the app's registry,
    /// else as [`SessionMiddleware::from_settings`].
    pub fn from_extensions(
        settings: &Settings,
        extensions: &Extensions,
    ) -> Result<Self, ConfigError> {
        match extensions.get::<Arc<dyn SessionStore>>() {
            Some(store) => SessionMiddleware::new(settings, Arc::clone(store)),
            None => SessionMiddleware::from_settings(settings),
        }
    }

    /// The factory without an app: the signed-cookie engine when settings name it; the
    /// database engine needs the app's database
    /// ([`App::session_database`](super::AppSessionExt::session_database)).
    pub fn from_settings(settings: &Settings) -> Result<Self, ConfigError> {
        let engine = settings.session_engine.as_str();
        if SIGNED_COOKIE_ENGINES.contains(&engine) {
            let store = SignedCookieSessionStore::new(settings)?;
            return SessionMiddleware::new(settings, Arc::new(store));
        }
        if CACHE_ENGINES.contains(&engine) {
            let store = super::backends::cache::CacheSessionStore::from_settings(settings)?;
            return SessionMiddleware::new(settings, Arc::new(store));
        }
        if DB_ENGINES.contains(&engine) || CACHED_DB_ENGINES.contains(&engine) {
            return Err(ConfigError::new(format!(
                "session_engine = {engine:?} keeps sessions in the app's database: the app \
                 must call App::session_database(...)"
            )));
        }
        Err(ConfigError::new(format!(
            "session_engine = {engine:?} is not an engine (known: {}, {}, {}, {})",
            DB_ENGINES[1], SIGNED_COOKIE_ENGINES[1], CACHE_ENGINES[1], CACHED_DB_ENGINES[1]
        )))
    }

    fn options(&self, max_age: Option<i64>) -> CookieOptions {
        CookieOptions {
            max_age,
            expires: None,
            path: self.path.clone(),
            domain: self.domain.clone(),
            secure: self.secure,
            httponly: self.httponly,
            samesite: self.samesite.clone(),
        }
    }
}

impl Middleware for SessionMiddleware {
    fn process_request(
        &self,
        request: &mut HttpRequest,
    ) -> Result<Option<HttpResponse>, ViewError> {
        let key = request.cookie(&self.cookie_name).map(str::to_string);
        let state = SessionState::new(
            key.as_deref(),
            self.cookie_age,
            self.expire_at_browser_close,
        );
        request
            .extensions
            .insert(Session::new(Arc::clone(&self.store), state));
        Ok(None)
    }

    fn process_response(
        &self,
        request: &mut HttpRequest,
        mut response: HttpResponse,
    ) -> Result<HttpResponse, ViewError> {
        let had_cookie = request.cookie(&self.cookie_name).is_some();
        let Some(session) = request.extensions.get_mut::<Session>() else {
            return Ok(response);
        };
        let (accessed, modified, empty) =
            (session.accessed(), session.modified(), session.is_empty());
        if had_cookie && empty {
            let mut options = CookieOptions::for_delete(
                &self.cookie_name,
                &self.path,
                self.domain.as_deref(),
                self.samesite.as_deref(),
            );
            options.httponly = false;
            response.set_cookie(&self.cookie_name, "", &options)?;
            patch_vary_headers(&mut response, &["Cookie"]);
            return Ok(response);
        }
        if accessed {
            patch_vary_headers(&mut response, &["Cookie"]);
        }
        if (modified || self.save_every_request) && !empty {
            let max_age = if session.state().expire_at_browser_close() {
                None
            } else {
                Some(session.state().expiry_age())
            };
            // Django skips the save (and the cookie) for 5xx responses.
            if response.status_code < 500 {
                match session.save() {
                    Ok(()) => {}
                    Err(SessionError::Update) => {
                        return Err(ViewError::SuspiciousOperation(
                            "The request's session was deleted before the request completed. \
                             The user may have logged out in a concurrent request, for example."
                                .to_string(),
                        ))
                    }
                    Err(e) => return Err(e.into()),
                }
                let key = session.session_key().unwrap_or_default().to_string();
                let mut options = self.options(max_age);
                if let Some(age) = max_age {
                    let when = SystemTime::now() + Duration::from_secs(age.max(0).unsigned_abs());
                    options.expires = Some(httpdate::fmt_http_date(when));
                }
                response.set_cookie(&self.cookie_name, &key, &options)?;
            }
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contrib::sessions::base::tests::MemoryStore;
    use crate::contrib::sessions::RequestSessionExt;
    use crate::views::{view, ViewResult};

    fn run(
        mw: &SessionMiddleware,
        cookie: Option<&str>,
        v: fn(&mut HttpRequest) -> ViewResult,
    ) -> HttpResponse {
        let s = Arc::new(Settings::default());
        let mut r = HttpRequest::new("GET", "/", "", s);
        if let Some(c) = cookie {
            r.headers.append("Cookie", c);
        }
        mw.process_request(&mut r).unwrap();
        let resp = view(v).call(&mut r).unwrap();
        mw.process_response(&mut r, resp).unwrap()
    }

    fn count(r: &mut HttpRequest) -> ViewResult {
        let s = r.session()?;
        let n = s.get("count")?.and_then(|v| v.as_i64()).unwrap_or(0) + 1;
        s.set("count", n)?;
        Ok(HttpResponse::new(n.to_string()))
    }

    fn read(r: &mut HttpRequest) -> ViewResult {
        let n = r.session()?.get("count")?.cloned();
        Ok(HttpResponse::new(format!("{n:?}")))
    }

    fn untouched(_r: &mut HttpRequest) -> ViewResult {
        Ok(HttpResponse::new("x"))
    }

    fn flush(r: &mut HttpRequest) -> ViewResult {
        r.session()?.flush()?;
        Ok(HttpResponse::new("x"))
    }

    fn key_of(resp: &HttpResponse) -> String {
        let c = resp.get("Set-Cookie").unwrap();
        c.strip_prefix("sessionid=")
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string()
    }

    #[test]
    fn cookie_set_when_modified_with_djangos_attributes_and_vary_when_accessed() {
        let mw =
            SessionMiddleware::new(&Settings::default(), Arc::new(MemoryStore::default())).unwrap();
        let r = run(&mw, None, count);
        assert_eq!(r.content(), b"1");
        let cookie = r.get("Set-Cookie").unwrap().to_string();
        assert!(
            cookie.contains("; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax"),
            "{cookie}"
        );
        assert!(cookie.contains("; expires="), "{cookie}");
        assert_eq!(r.get("Vary"), Some("Cookie"));
        let sid = format!("sessionid={}", key_of(&r));
        assert_eq!(run(&mw, Some(&sid), count).content(), b"2");
        // Read only: Vary, no cookie.
        let r = run(&mw, Some(&sid), read);
        assert_eq!(r.content(), b"Some(Number(2))");
        assert_eq!((r.get("Vary"), r.get("Set-Cookie")), (Some("Cookie"), None));
        // Not touched: nothing.
        let r = run(&mw, Some(&sid), untouched);
        assert_eq!((r.get("Vary"), r.get("Set-Cookie")), (None, None));
        // Flushed: the cookie is deleted.
        let r = run(&mw, Some(&sid), flush);
        assert!(r
            .get("Set-Cookie")
            .unwrap()
            .starts_with("sessionid=\"\"; expires=Thu, 01 Jan 1970"));
        assert_eq!(run(&mw, Some(&sid), read).content(), b"None");
        // A tampered or unknown key is an empty session, and its cookie is deleted once read.
        let r = run(&mw, Some("sessionid=tampered-key-xyz"), read);
        assert_eq!(r.content(), b"None");
        assert!(r.get("Set-Cookie").unwrap().contains("Max-Age=0"));
    }
}
