//! The `csrf` middleware (Django 5's `CsrfViewMiddleware`, `django/middleware/csrf.py`): the
//! 32-character secret in the `csrftoken` cookie (or the session), the masked 64-character
//! token [`get_token`] hands to forms, the `csrfmiddlewaretoken` form field and the
//! `X-CSRFToken` header, the `Origin` check, the `Referer` check on HTTPS,
//! `csrf_trusted_origins`, and the 403 failure view with Django's reasons in the
//! `django.security.csrf` log.
//!
//! The decorators (`csrf_exempt`, `csrf_protect`, `ensure_csrf_cookie`,
//! `requires_csrf_token`) are in [`crate::views::decorators::csrf`].

use std::sync::Arc;

use subtle::ConstantTimeEq;

use super::Middleware;
use crate::contrib::sessions::RequestSessionExt;
use crate::exception::ViewError;
use crate::http::cookies::CookieOptions;
use crate::http::{HttpRequest, HttpResponse};
use crate::settings::{ConfigError, Settings};
use crate::utils::cache::patch_vary_headers;
use crate::utils::http::{is_same_domain, urlsplit};
use crate::views::ViewFn;

/// The logger CSRF failures go to (Django's `django.security.csrf`).
pub const LOGGER: &str = "django.security.csrf";

/// Django's `REASON_BAD_ORIGIN` (`%s` is the Origin header).
pub const REASON_BAD_ORIGIN: &str =
    "Origin checking failed - %s does not match any trusted origins.";
/// Django's `REASON_NO_REFERER`.
pub const REASON_NO_REFERER: &str = "Referer checking failed - no Referer.";
/// Django's `REASON_BAD_REFERER` (`%s` is the Referer).
pub const REASON_BAD_REFERER: &str =
    "Referer checking failed - %s does not match any trusted origins.";
/// Django's `REASON_NO_CSRF_COOKIE`.
pub const REASON_NO_CSRF_COOKIE: &str = "CSRF cookie not set.";
/// Django's `REASON_CSRF_TOKEN_MISSING`.
pub const REASON_CSRF_TOKEN_MISSING: &str = "CSRF token missing.";
/// Django's `REASON_MALFORMED_REFERER`.
pub const REASON_MALFORMED_REFERER: &str = "Referer checking failed - Referer is malformed.";
/// Django's `REASON_INSECURE_REFERER`.
pub const REASON_INSECURE_REFERER: &str =
    "Referer checking failed - Referer is insecure while host is secure.";
/// Django's `REASON_INCORRECT_LENGTH` (a phrase about a cookie or a token).
pub const REASON_INCORRECT_LENGTH: &str = "has incorrect length";
/// Django's `REASON_INVALID_CHARACTERS`.
pub const REASON_INVALID_CHARACTERS: &str = "has invalid characters";

/// Django's `CSRF_SECRET_LENGTH`.
pub const CSRF_SECRET_LENGTH: usize = 32;
/// Django's `CSRF_TOKEN_LENGTH`: a mask and the masked secret.
pub const CSRF_TOKEN_LENGTH: usize = 2 * CSRF_SECRET_LENGTH;
/// Django's `CSRF_ALLOWED_CHARS` (`ascii_letters + digits`, in that order: the masking is
/// arithmetic on the positions).
pub const CSRF_ALLOWED_CHARS: &[u8; 62] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/// Django's `CSRF_SESSION_KEY`: where the secret lives with `csrf_use_sessions`.
pub const CSRF_SESSION_KEY: &str = "_csrftoken";
/// The form field Django reads the token from.
pub const CSRF_FORM_FIELD: &str = "csrfmiddlewaretoken";

/// The CSRF state of one request (Django keeps it in `request.META["CSRF_COOKIE"]`,
/// `META["CSRF_COOKIE_NEEDS_UPDATE"]`, `request.csrf_processing_done` and
/// `request._dont_enforce_csrf_checks`).
#[derive(Debug, Clone, Default)]
pub struct CsrfState {
    /// `META["CSRF_COOKIE"]`: the secret in use.
    pub cookie: Option<String>,
    /// `META["CSRF_COOKIE_NEEDS_UPDATE"]`: send the cookie on the way out.
    pub needs_update: bool,
    /// `request.csrf_processing_done`.
    pub processing_done: bool,
    /// `request._dont_enforce_csrf_checks` (the test client sets it unless asked to enforce).
    pub dont_enforce: bool,
}

fn state(request: &mut HttpRequest) -> &mut CsrfState {
    if request.extensions.get::<CsrfState>().is_none() {
        request.extensions.insert(CsrfState::default());
    }
    request
        .extensions
        .get_mut::<CsrfState>()
        .expect("inserted just above")
}

/// Django's `_get_new_csrf_string`: 32 random characters of [`CSRF_ALLOWED_CHARS`].
pub fn get_new_csrf_string() -> String {
    // CSRF_ALLOWED_CHARS is ASCII, so it is a str as well.
    let chars = std::str::from_utf8(CSRF_ALLOWED_CHARS).unwrap_or_default();
    crate::crypto::get_random_string(CSRF_SECRET_LENGTH, chars)
}

fn position(c: u8) -> Option<usize> {
    CSRF_ALLOWED_CHARS.iter().position(|&a| a == c)
}

/// Django's `_mask_cipher_secret`: a fresh mask, then the secret shifted by it, character by
/// character, in [`CSRF_ALLOWED_CHARS`]. `secret` must be made of those characters (a
/// character outside them is taken as the first one).
pub fn mask_cipher_secret(secret: &str) -> String {
    mask_with(secret, &get_new_csrf_string())
}

fn mask_with(secret: &str, mask: &str) -> String {
    let n = CSRF_ALLOWED_CHARS.len();
    let cipher: String = secret
        .bytes()
        .zip(mask.bytes())
        .map(|(s, m)| {
            let (x, y) = (position(s).unwrap_or(0), position(m).unwrap_or(0));
            char::from(CSRF_ALLOWED_CHARS[(x + y) % n])
        })
        .collect();
    format!("{mask}{cipher}")
}

/// Django's `_unmask_cipher_token`: the secret a 64-character token masks. `None` when the
/// token is not 64 characters of [`CSRF_ALLOWED_CHARS`] (Django checks the format first).
pub fn unmask_cipher_token(token: &str) -> Option<String> {
    let bytes = token.as_bytes();
    if bytes.len() != CSRF_TOKEN_LENGTH {
        return None;
    }
    let (mask, cipher) = bytes.split_at(CSRF_SECRET_LENGTH);
    let n = CSRF_ALLOWED_CHARS.len();
    cipher
        .iter()
        .zip(mask)
        .map(|(&c, &m)| {
            let (x, y) = (position(c)?, position(m)?);
            Some(char::from(CSRF_ALLOWED_CHARS[(x + n - y) % n]))
        })
        .collect()
}

/// Why a cookie secret or a request token has the wrong shape (Django's
/// `InvalidTokenFormat`); the reason is a phrase without a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidTokenFormat(pub &'static str);

/// Django's `_check_token_format`: 32 or 64 characters, all of [`CSRF_ALLOWED_CHARS`]
/// (lengths counted in characters, as Python counts them).
pub fn check_token_format(token: &str) -> Result<(), InvalidTokenFormat> {
    let len = token.chars().count();
    if len != CSRF_TOKEN_LENGTH && len != CSRF_SECRET_LENGTH {
        return Err(InvalidTokenFormat(REASON_INCORRECT_LENGTH));
    }
    if !token.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(InvalidTokenFormat(REASON_INVALID_CHARACTERS));
    }
    Ok(())
}

/// Django's `_does_token_match`: the request's token (a secret, or a masked 64-character
/// token, already format-checked) against the secret, in constant time.
pub fn does_token_match(request_token: &str, secret: &str) -> bool {
    let unmasked;
    let token = if request_token.len() == CSRF_TOKEN_LENGTH {
        match unmask_cipher_token(request_token) {
            Some(t) => {
                unmasked = t;
                unmasked.as_str()
            }
            None => return false,
        }
    } else {
        request_token
    };
    token.len() == secret.len() && bool::from(token.as_bytes().ct_eq(secret.as_bytes()))
}

/// Django's `_add_new_csrf_cookie`: a new secret for this request, to be sent out.
fn add_new_csrf_cookie(request: &mut HttpRequest) -> String {
    let secret = get_new_csrf_string();
    let st = state(request);
    st.cookie = Some(secret.clone());
    st.needs_update = true;
    secret
}

/// Django's `get_token(request)`: a masked token for a form or a header, made from the
/// request's secret (a new one when it has none). The cookie is then (re)sent with the
/// response, with `Vary: Cookie`.
pub fn get_token(request: &mut HttpRequest) -> String {
    let secret = {
        let st = state(request);
        match st.cookie.clone() {
            Some(secret) => {
                st.needs_update = true;
                Some(secret)
            }
            None => None,
        }
    };
    let secret = secret.unwrap_or_else(|| add_new_csrf_cookie(request));
    mask_cipher_secret(&secret)
}

/// Django's `rotate_token(request)`: a new secret (done at login).
pub fn rotate_token(request: &mut HttpRequest) {
    add_new_csrf_cookie(request);
}

/// Marks the request as exempt from the checks while keeping everything else (Django's
/// `request._dont_enforce_csrf_checks`, which the test client sets).
pub fn dont_enforce_csrf_checks(request: &mut HttpRequest) {
    state(request).dont_enforce = true;
}

/// Django's `RejectRequest`: the reason a request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RejectRequest(String);

/// Why the request's secret could not be read.
#[derive(Debug)]
enum SecretError {
    /// The cookie is malformed (Django's `InvalidTokenFormat`).
    Format(InvalidTokenFormat),
    /// The session (with `csrf_use_sessions`) could not be loaded.
    Session(ViewError),
}

/// What `_check_token` ends with when it does not pass.
#[derive(Debug)]
enum TokenError {
    Reject(RejectRequest),
    Failed(ViewError),
}

impl From<RejectRequest> for TokenError {
    fn from(r: RejectRequest) -> Self {
        TokenError::Reject(r)
    }
}

/// The view answering a refused request (Django's `CSRF_FAILURE_VIEW`), called with the
/// request and the reason.
pub type FailureView = Arc<dyn Fn(&mut HttpRequest, &str) -> HttpResponse + Send + Sync>;

/// Django's `CsrfViewMiddleware`.
#[derive(Clone)]
pub struct CsrfViewMiddleware {
    cookie_name: String,
    cookie_options: CookieOptions,
    cookie_domain: Option<String>,
    header_name: String,
    use_sessions: bool,
    session_cookie_domain: Option<String>,
    /// `csrf_trusted_origins_hosts`: each origin's netloc without a leading `*`.
    trusted_hosts: Vec<String>,
    /// `allowed_origins_exact`.
    origins_exact: Vec<String>,
    /// `allowed_origin_subdomains`: scheme and netloc (without `*`).
    origin_subdomains: Vec<(String, String)>,
    failure_view: FailureView,
    /// `_reject` answers (false for `requires_csrf_token` and `ensure_csrf_cookie`, whose
    /// `_reject` returns None).
    reject: bool,
    /// `process_view` also calls `get_token` (`ensure_csrf_cookie`).
    ensure_cookie: bool,
}

/// A samesite setting as `CookieOptions` takes it: `""` leaves the attribute out.
pub(crate) fn samesite(value: &str, setting: &str) -> Result<Option<String>, ConfigError> {
    if value.is_empty() {
        return Ok(None);
    }
    if ["lax", "strict", "none"]
        .iter()
        .any(|v| v.eq_ignore_ascii_case(value))
    {
        Ok(Some(value.to_string()))
    } else {
        Err(ConfigError::new(format!(
            "{setting} = {value:?}: samesite must be \"Lax\", \"Strict\", \"None\" or \"\""
        )))
    }
}

impl CsrfViewMiddleware {
    /// The middleware configured from the settings' `csrf_*` values. An origin in
    /// `csrf_trusted_origins` without a scheme is refused, as Django's check `4_0_E001` does.
    pub fn new(settings: &Settings) -> Result<Self, ConfigError> {
        let mut trusted_hosts = Vec::new();
        let mut origins_exact = Vec::new();
        let mut origin_subdomains = Vec::new();
        for origin in &settings.csrf_trusted_origins {
            if !origin.contains("://") {
                return Err(ConfigError::new(format!(
                    "csrf_trusted_origins: {origin:?} must start with a scheme (usually \
                     http:// or https://), as Django 4.0 and later require"
                )));
            }
            let parsed = urlsplit(origin)
                .map_err(|e| ConfigError::new(format!("csrf_trusted_origins: {origin:?}: {e}")))?;
            let host = parsed.netloc.trim_start_matches('*').to_string();
            trusted_hosts.push(host.clone());
            if origin.contains('*') {
                origin_subdomains.push((parsed.scheme, host));
            } else {
                origins_exact.push(origin.clone());
            }
        }
        let cookie_options = CookieOptions {
            max_age: Some(settings.csrf_cookie_age),
            expires: None,
            path: settings.csrf_cookie_path.clone(),
            domain: settings.csrf_cookie_domain.clone(),
            secure: settings.csrf_cookie_secure,
            httponly: settings.csrf_cookie_httponly,
            samesite: samesite(&settings.csrf_cookie_samesite, "csrf_cookie_samesite")?,
        };
        crate::http::cookies::render_set_cookie(&settings.csrf_cookie_name, "x", &cookie_options)
            .map_err(|e| ConfigError::new(format!("csrf_cookie_*: {e}")))?;
        Ok(CsrfViewMiddleware {
            cookie_name: settings.csrf_cookie_name.clone(),
            cookie_options,
            cookie_domain: settings.csrf_cookie_domain.clone(),
            header_name: settings.csrf_header_name.clone(),
            use_sessions: settings.csrf_use_sessions,
            session_cookie_domain: settings.session_cookie_domain.clone(),
            trusted_hosts,
            origins_exact,
            origin_subdomains,
            failure_view: Arc::new(crate::views::csrf::csrf_failure),
            reject: true,
            ensure_cookie: false,
        })
    }

    /// The same middleware answering failures with `view` (Django's `CSRF_FAILURE_VIEW`).
    pub fn with_failure_view<F>(mut self, view: F) -> Self
    where
        F: Fn(&mut HttpRequest, &str) -> HttpResponse + Send + Sync + 'static,
    {
        self.failure_view = Arc::new(view);
        self
    }

    /// The variant behind `requires_csrf_token` (`reject = false`) and `ensure_csrf_cookie`
    /// (`reject = false`, `ensure_cookie = true`).
    pub(crate) fn variant(mut self, reject: bool, ensure_cookie: bool) -> Self {
        self.reject = reject;
        self.ensure_cookie = ensure_cookie;
        self
    }

    fn accept(request: &mut HttpRequest) -> Option<HttpResponse> {
        state(request).processing_done = true;
        None
    }

    /// Django's `_reject`: the failure view's response, logged `Forbidden (<reason>): <path>`
    /// under `django.security.csrf`.
    fn reject_request(&self, request: &mut HttpRequest, reason: &str) -> Option<HttpResponse> {
        if !self.reject {
            return None;
        }
        let mut response = (self.failure_view)(request, reason);
        crate::handler::log_response(
            &mut response,
            LOGGER,
            None,
            format_args!(
                "Forbidden ({}): {}",
                crate::http::encoding::unicode_escape(reason),
                crate::http::encoding::unicode_escape(&request.path)
            ),
        );
        Some(response)
    }

    /// Django's `_get_secret`: the secret the request came with (cookie or session), unmasked
    /// if an old Django stored it masked; a malformed cookie is an error.
    fn get_secret(&self, request: &mut HttpRequest) -> Result<Option<String>, SecretError> {
        let secret = if self.use_sessions {
            // Django: ImproperlyConfigured without SessionMiddleware before this one.
            let session = request.session().map_err(SecretError::Session)?;
            session
                .get(CSRF_SESSION_KEY)
                .map_err(|e| SecretError::Session(e.into()))?
                .and_then(|v| v.as_str().map(str::to_string))
        } else {
            match request.cookie(&self.cookie_name) {
                Some(c) => {
                    check_token_format(c).map_err(SecretError::Format)?;
                    Some(c.to_string())
                }
                None => None,
            }
        };
        Ok(secret.map(|s| {
            if s.len() == CSRF_TOKEN_LENGTH {
                unmask_cipher_token(&s).unwrap_or(s)
            } else {
                s
            }
        }))
    }

    /// Django's `_set_csrf_cookie`.
    fn set_csrf_cookie(
        &self,
        request: &mut HttpRequest,
        response: &mut HttpResponse,
    ) -> Result<(), ViewError> {
        let Some(secret) = state(request).cookie.clone() else {
            return Ok(());
        };
        if self.use_sessions {
            let session = request.session()?;
            let current = session.get(CSRF_SESSION_KEY)?.and_then(|v| v.as_str());
            if current != Some(secret.as_str()) {
                session.set(CSRF_SESSION_KEY, serde_json::Value::String(secret))?;
            }
        } else {
            // The name and options were checked at start-up and the secret is alphanumeric.
            if let Err(e) = response.set_cookie(&self.cookie_name, &secret, &self.cookie_options) {
                log::error!(target: LOGGER, "cannot set the CSRF cookie: {e}");
            }
            patch_vary_headers(response, &["Cookie"]);
        }
        Ok(())
    }

    /// Django's `_origin_verified`.
    fn origin_verified(&self, request: &HttpRequest, origin: &str) -> bool {
        if let Ok(host) = request.get_host() {
            let scheme = if request.is_secure() { "https" } else { "http" };
            if origin == format!("{scheme}://{host}") {
                return true;
            }
        }
        if self.origins_exact.iter().any(|o| o == origin) {
            return true;
        }
        let Ok(parsed) = urlsplit(origin) else {
            return false;
        };
        self.origin_subdomains
            .iter()
            .any(|(scheme, host)| *scheme == parsed.scheme && is_same_domain(&parsed.netloc, host))
    }

    /// Django's `_check_referer` (HTTPS requests without an Origin).
    fn check_referer(&self, request: &HttpRequest) -> Result<(), RejectRequest> {
        let Some(referer) = request.meta("HTTP_REFERER") else {
            return Err(RejectRequest(REASON_NO_REFERER.to_string()));
        };
        let parsed =
            urlsplit(referer).map_err(|_| RejectRequest(REASON_MALFORMED_REFERER.to_string()))?;
        if parsed.scheme.is_empty() || parsed.netloc.is_empty() {
            return Err(RejectRequest(REASON_MALFORMED_REFERER.to_string()));
        }
        if parsed.scheme != "https" {
            return Err(RejectRequest(REASON_INSECURE_REFERER.to_string()));
        }
        if self
            .trusted_hosts
            .iter()
            .any(|host| is_same_domain(&parsed.netloc, host))
        {
            return Ok(());
        }
        let bad = || RejectRequest(REASON_BAD_REFERER.replace("%s", &geturl(&parsed)));
        let cookie_domain = if self.use_sessions {
            &self.session_cookie_domain
        } else {
            &self.cookie_domain
        };
        let good_referer = match cookie_domain {
            None => request.get_host().map_err(|_| bad())?,
            Some(domain) => {
                let port = request.get_port();
                if port == "443" || port == "80" {
                    domain.clone()
                } else {
                    format!("{domain}:{port}")
                }
            }
        };
        if is_same_domain(&parsed.netloc, &good_referer) {
            Ok(())
        } else {
            Err(bad())
        }
    }

    /// Django's `_bad_token_message`.
    fn bad_token_message(&self, reason: &str, from_post: bool) -> String {
        if from_post {
            format!("CSRF token from POST {reason}.")
        } else {
            format!(
                "CSRF token from the '{}' HTTP header {reason}.",
                parse_header_name(&self.header_name)
            )
        }
    }

    /// Django's `_check_token`.
    fn check_token(&self, request: &mut HttpRequest) -> Result<(), TokenError> {
        let secret = match self.get_secret(request) {
            Ok(secret) => secret,
            Err(SecretError::Format(e)) => {
                return Err(RejectRequest(format!("CSRF cookie {}.", e.0)).into())
            }
            Err(SecretError::Session(e)) => return Err(TokenError::Failed(e)),
        };
        let secret = secret.ok_or_else(|| RejectRequest(REASON_NO_CSRF_COOKIE.to_string()))?;
        let mut token = String::new();
        if request.method == "POST" {
            // Django catches only UnreadablePostError here (a body the adapter could not read
            // never reaches the middleware); a form that does not parse (MultiPartParserError,
            // too many fields, BadRequest for a charset other than UTF-8) raises from
            // process_view.
            let post = request.POST().map_err(TokenError::Failed)?;
            token = post.get(CSRF_FORM_FIELD).unwrap_or("").to_string();
        }
        let from_post = !token.is_empty();
        if !from_post {
            token = request
                .meta(&self.header_name)
                .ok_or_else(|| RejectRequest(REASON_CSRF_TOKEN_MISSING.to_string()))?
                .to_string();
        }
        check_token_format(&token)
            .map_err(|e| RejectRequest(self.bad_token_message(e.0, from_post)))?;
        if !does_token_match(&token, &secret) {
            return Err(RejectRequest(self.bad_token_message("incorrect", from_post)).into());
        }
        Ok(())
    }
}

/// Django's `geturl()` of a split URL (scheme, netloc, path, query, fragment put back).
fn geturl(p: &crate::utils::http::SplitResult) -> String {
    let mut url = String::new();
    if !p.scheme.is_empty() {
        url.push_str(&p.scheme);
        url.push(':');
    }
    if !p.netloc.is_empty() {
        url.push_str("//");
        url.push_str(&p.netloc);
    }
    url.push_str(&p.path);
    if !p.query.is_empty() {
        url.push('?');
        url.push_str(&p.query);
    }
    if !p.fragment.is_empty() {
        url.push('#');
        url.push_str(&p.fragment);
    }
    url
}

/// Django's `HttpHeaders.parse_header_name`: `HTTP_X_CSRFTOKEN` is `X-Csrftoken` (Python's
/// `title()`).
pub fn parse_header_name(meta_key: &str) -> String {
    let name = meta_key.strip_prefix("HTTP_").unwrap_or(meta_key);
    let mut out = String::with_capacity(name.len());
    let mut start = true;
    for c in name.chars() {
        let c = if c == '_' { '-' } else { c };
        if c.is_alphabetic() {
            if start {
                out.extend(c.to_uppercase());
            } else {
                out.extend(c.to_lowercase());
            }
            start = false;
        } else {
            out.push(c);
            start = true;
        }
    }
    out
}

impl Middleware for CsrfViewMiddleware {
    fn process_request(
        &self,
        request: &mut HttpRequest,
    ) -> Result<Option<HttpResponse>, ViewError> {
        match self.get_secret(request) {
            Err(SecretError::Format(_)) => {
                add_new_csrf_cookie(request);
            }
            Err(SecretError::Session(e)) => return Err(e),
            Ok(Some(secret)) => state(request).cookie = Some(secret),
            Ok(None) => {}
        }
        Ok(None)
    }

    fn process_view(
        &self,
        request: &mut HttpRequest,
        view: &ViewFn,
    ) -> Result<Option<HttpResponse>, ViewError> {
        let result = self.check_view(request, view)?;
        if self.ensure_cookie {
            get_token(request);
        }
        Ok(result)
    }

    fn process_response(
        &self,
        request: &mut HttpRequest,
        mut response: HttpResponse,
    ) -> Result<HttpResponse, ViewError> {
        if request
            .extensions
            .get::<CsrfState>()
            .is_some_and(|s| s.needs_update)
        {
            self.set_csrf_cookie(request, &mut response)?;
            state(request).needs_update = false;
        }
        Ok(response)
    }
}

impl CsrfViewMiddleware {
    /// Django's `process_view` body.
    fn check_view(
        &self,
        request: &mut HttpRequest,
        view: &ViewFn,
    ) -> Result<Option<HttpResponse>, ViewError> {
        let st = state(request);
        if st.processing_done {
            return Ok(None);
        }
        let dont_enforce = st.dont_enforce;
        if view.csrf_exempt() {
            return Ok(None);
        }
        // RFC 9110's safe methods.
        if matches!(
            request.method.as_str(),
            "GET" | "HEAD" | "OPTIONS" | "TRACE"
        ) {
            return Ok(Self::accept(request));
        }
        if dont_enforce {
            return Ok(Self::accept(request));
        }
        if let Some(origin) = request.meta("HTTP_ORIGIN").map(str::to_string) {
            if !self.origin_verified(request, &origin) {
                let reason = REASON_BAD_ORIGIN.replace("%s", &origin);
                return Ok(self.reject_request(request, &reason));
            }
        } else if request.is_secure() {
            if let Err(RejectRequest(reason)) = self.check_referer(request) {
                return Ok(self.reject_request(request, &reason));
            }
        }
        match self.check_token(request) {
            Ok(()) => Ok(Self::accept(request)),
            Err(TokenError::Reject(RejectRequest(reason))) => {
                Ok(self.reject_request(request, &reason))
            }
            Err(TokenError::Failed(e)) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::{view, ViewResult};

    const SECRET: &str = "lcccccccX2kcccccccY2jcccccccssIC";

    fn settings(edit: impl FnOnce(&mut Settings)) -> Arc<Settings> {
        let mut s = Settings::default();
        s.allowed_hosts = vec!["testserver".into(), "example.com".into()];
        edit(&mut s);
        Arc::new(s)
    }

    fn ok(_r: &mut HttpRequest) -> ViewResult {
        Ok(HttpResponse::new("ok"))
    }

    /// process_request, process_view and process_response, as the chain runs them.
    fn run(mw: &CsrfViewMiddleware, request: &mut HttpRequest, v: &ViewFn) -> HttpResponse {
        mw.process_request(request).unwrap();
        let response = match mw.process_view(request, v).unwrap() {
            Some(r) => r,
            None => v.call(request).unwrap(),
        };
        mw.process_response(request, response).unwrap()
    }

    fn post(s: &Arc<Settings>, headers: &[(&str, &str)], body: &str) -> HttpRequest {
        let mut r = HttpRequest::new("POST", "/p/", "", Arc::clone(s))
            .with_header("Host", "testserver")
            .with_header("Content-Type", "application/x-www-form-urlencoded")
            .with_body(body.as_bytes().to_vec());
        for (k, v) in headers {
            r.headers.append(*k, *v);
        }
        r
    }

    fn reason_of(s: &Arc<Settings>, headers: &[(&str, &str)], body: &str) -> Option<String> {
        let mw = CsrfViewMiddleware::new(s).unwrap();
        let mut r = post(s, headers, body);
        let (resp, logs) = crate::test_log::capture(|| run(&mw, &mut r, &view(ok)));
        if resp.status_code == 200 {
            assert!(logs.is_empty(), "{logs:?}");
            return None;
        }
        assert_eq!(resp.status_code, 403);
        assert_eq!(logs.len(), 1, "{logs:?}");
        assert_eq!(logs[0].target, LOGGER);
        assert_eq!(logs[0].level, log::Level::Warn);
        let msg = logs[0].message.clone();
        let reason = msg
            .strip_prefix("Forbidden (")
            .and_then(|m| m.strip_suffix("): /p/"))
            .unwrap_or_else(|| panic!("{msg}"));
        Some(reason.to_string())
    }

    #[test]
    fn masking_round_trips_and_matches_djangos_arithmetic() {
        // Django: _mask_cipher_secret with mask "a"*32 leaves the secret as is; with "b"*32
        // shifts each character by one.
        assert_eq!(
            mask_with(SECRET, &"a".repeat(32)),
            format!("{}{SECRET}", "a".repeat(32))
        );
        let shifted = mask_with("az9ZA", "bbbbb");
        assert_eq!(shifted, "bbbbbbAa0B");
        for _ in 0..20 {
            let token = mask_cipher_secret(SECRET);
            assert_eq!(token.len(), CSRF_TOKEN_LENGTH);
            assert_eq!(unmask_cipher_token(&token).as_deref(), Some(SECRET));
            assert!(does_token_match(&token, SECRET));
        }
        assert!(does_token_match(SECRET, SECRET));
        assert!(!does_token_match(&"a".repeat(32), SECRET));
        assert_eq!(unmask_cipher_token(&"-".repeat(64)), None);
        assert_eq!(unmask_cipher_token("abc"), None);
        assert_eq!(
            check_token_format("abc"),
            Err(InvalidTokenFormat(REASON_INCORRECT_LENGTH))
        );
        assert_eq!(
            check_token_format(&"é".repeat(32)),
            Err(InvalidTokenFormat(REASON_INVALID_CHARACTERS))
        );
        assert_eq!(get_new_csrf_string().len(), 32);
        assert_eq!(parse_header_name("HTTP_X_CSRFTOKEN"), "X-Csrftoken");
    }

    #[test]
    fn a_token_from_the_form_or_the_header_must_match_the_cookie() {
        let s = settings(|_| {});
        let cookie = format!("csrftoken={SECRET}");
        let masked = mask_cipher_secret(SECRET);
        let field = format!("csrfmiddlewaretoken={masked}");
        assert_eq!(reason_of(&s, &[("Cookie", &cookie)], &field), None);
        assert_eq!(
            reason_of(&s, &[("Cookie", &cookie), ("X-CSRFToken", &masked)], "a=1"),
            None
        );
        // The header may carry the cookie's secret itself.
        assert_eq!(
            reason_of(&s, &[("Cookie", &cookie), ("X-CSRFToken", SECRET)], ""),
            None
        );
        assert_eq!(
            reason_of(&s, &[], &field).as_deref(),
            Some(REASON_NO_CSRF_COOKIE)
        );
        assert_eq!(
            reason_of(&s, &[("Cookie", &cookie)], "").as_deref(),
            Some(REASON_CSRF_TOKEN_MISSING)
        );
        let other = mask_cipher_secret(&"Z".repeat(32));
        assert_eq!(
            reason_of(
                &s,
                &[("Cookie", &cookie)],
                &format!("csrfmiddlewaretoken={other}")
            )
            .as_deref(),
            Some("CSRF token from POST incorrect.")
        );
        assert_eq!(
            reason_of(&s, &[("Cookie", &cookie), ("X-CSRFToken", "short")], "").as_deref(),
            Some("CSRF token from the 'X-Csrftoken' HTTP header has incorrect length.")
        );
        assert_eq!(
            reason_of(
                &s,
                &[("Cookie", &cookie), ("X-CSRFToken", &"!".repeat(32))],
                ""
            )
            .as_deref(),
            Some("CSRF token from the 'X-Csrftoken' HTTP header has invalid characters.")
        );
        assert_eq!(
            reason_of(&s, &[("Cookie", "csrftoken=bad")], &field).as_deref(),
            Some("CSRF cookie has incorrect length.")
        );
        // An empty form field falls back to the header.
        assert_eq!(
            reason_of(
                &s,
                &[("Cookie", &cookie), ("X-CSRFToken", &masked)],
                "csrfmiddlewaretoken="
            ),
            None
        );
    }

    #[test]
    fn the_origin_must_be_this_host_or_trusted() {
        let s = settings(|s| {
            s.csrf_trusted_origins = vec![
                "https://trusted.example".into(),
                "http://*.partner.example".into(),
            ]
        });
        let cookie = format!("csrftoken={SECRET}");
        let field = format!("csrfmiddlewaretoken={}", mask_cipher_secret(SECRET));
        let with_origin = |o: &str| reason_of(&s, &[("Cookie", &cookie), ("Origin", o)], &field);
        assert_eq!(with_origin("http://testserver"), None);
        assert_eq!(with_origin("https://trusted.example"), None);
        assert_eq!(with_origin("http://a.partner.example"), None);
        assert_eq!(with_origin("http://partner.example"), None);
        for bad in [
            "null",
            "http://testserver:8000",
            "https://testserver",
            "http://evil.example",
            "https://a.partner.example",
            "http://[::1",
        ] {
            assert_eq!(
                with_origin(bad).as_deref(),
                Some(REASON_BAD_ORIGIN.replace("%s", bad).as_str()),
                "{bad}"
            );
        }
        assert!(CsrfViewMiddleware::new(&settings(|s| {
            s.csrf_trusted_origins = vec!["example.com".into()]
        }))
        .is_err());
    }

    #[test]
    fn https_without_origin_checks_the_referer() {
        let s = settings(|s| s.csrf_trusted_origins = vec!["https://*.trusted.example".into()]);
        let cookie = format!("csrftoken={SECRET}");
        let field = format!("csrfmiddlewaretoken={}", mask_cipher_secret(SECRET));
        let mw = CsrfViewMiddleware::new(&s).unwrap();
        let check = |referer: Option<&str>| {
            let mut r = post(&s, &[("Cookie", &cookie)], &field);
            r.connection.scheme = "https".into();
            if let Some(v) = referer {
                r.headers.append("Referer", v);
            }
            let (resp, logs) = crate::test_log::capture(|| run(&mw, &mut r, &view(ok)));
            (resp.status_code, logs.first().map(|l| l.message.clone()))
        };
        assert_eq!(check(Some("https://testserver/form/")).0, 200);
        assert_eq!(check(Some("https://a.trusted.example/")).0, 200);
        let reason = |r: Option<&str>| check(r).1.unwrap_or_default();
        assert!(reason(None).contains(REASON_NO_REFERER));
        assert!(reason(Some("http://testserver/")).contains(REASON_INSECURE_REFERER));
        assert!(reason(Some("nonsense")).contains(REASON_MALFORMED_REFERER));
        assert!(reason(Some("https://evil.example/x?y"))
            .contains("Referer checking failed - https://evil.example/x?y does not match"));
    }

    #[test]
    fn safe_methods_exempt_views_and_the_test_flag_pass() {
        let s = settings(|_| {});
        let mw = CsrfViewMiddleware::new(&s).unwrap();
        for m in ["GET", "HEAD", "OPTIONS", "TRACE"] {
            let mut r = HttpRequest::new(m, "/", "", Arc::clone(&s));
            assert_eq!(run(&mw, &mut r, &view(ok)).status_code, 200);
        }
        let exempt = view(ok).with_attrs(crate::views::ViewAttrs { csrf_exempt: true });
        let mut r = post(&s, &[], "");
        assert_eq!(run(&mw, &mut r, &exempt).status_code, 200);
        let mut r = post(&s, &[], "");
        dont_enforce_csrf_checks(&mut r);
        assert_eq!(run(&mw, &mut r, &view(ok)).status_code, 200);
    }

    #[test]
    fn with_csrf_use_sessions_the_secret_lives_in_the_session() {
        use crate::contrib::sessions::base::tests::MemoryStore;
        use crate::contrib::sessions::{Session, SessionState};
        let s = settings(|s| s.csrf_use_sessions = true);
        let mw = CsrfViewMiddleware::new(&s).unwrap();
        let store: Arc<dyn crate::contrib::sessions::SessionStore> =
            Arc::new(MemoryStore::default());
        let with_session = |r: &mut HttpRequest| {
            let state = SessionState::new(None, 100, false);
            r.extensions.insert(Session::new(Arc::clone(&store), state));
        };
        let token_view =
            |r: &mut HttpRequest| -> ViewResult { Ok(HttpResponse::new(get_token(r))) };
        let mut r = HttpRequest::new("GET", "/", "", Arc::clone(&s));
        with_session(&mut r);
        let resp = run(&mw, &mut r, &view(token_view));
        assert_eq!(
            resp.get("Set-Cookie"),
            None,
            "no cookie with csrf_use_sessions"
        );
        let secret = r
            .session()
            .unwrap()
            .get(CSRF_SESSION_KEY)
            .unwrap()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap();
        let token = String::from_utf8(resp.content().to_vec()).unwrap();
        assert_eq!(unmask_cipher_token(&token), Some(secret));
        // Without SessionMiddleware it is a configuration error, as in Django.
        let mut bare = HttpRequest::new("GET", "/", "", Arc::clone(&s));
        assert!(mw.process_request(&mut bare).is_err());
    }

    #[test]
    fn get_token_sets_the_cookie_with_djangos_attributes() {
        let s = settings(|_| {});
        let mw = CsrfViewMiddleware::new(&s).unwrap();
        let token_view =
            |r: &mut HttpRequest| -> ViewResult { Ok(HttpResponse::new(get_token(r))) };
        let mut r = HttpRequest::new("GET", "/", "", Arc::clone(&s));
        let resp = run(&mw, &mut r, &view(token_view));
        let cookie = resp.get("Set-Cookie").unwrap().to_string();
        let secret = cookie
            .strip_prefix("csrftoken=")
            .and_then(|c| c.split(';').next())
            .unwrap();
        assert_eq!(secret.len(), 32);
        let token = String::from_utf8(resp.content().to_vec()).unwrap();
        assert_eq!(unmask_cipher_token(&token).as_deref(), Some(secret));
        assert!(
            cookie.contains("; Max-Age=31449600; Path=/; SameSite=Lax"),
            "{cookie}"
        );
        assert!(!cookie.contains("HttpOnly"));
        assert_eq!(resp.get("Vary"), Some("Cookie"));
        // With the cookie already there the same secret is reused (and sent again).
        let mut r = HttpRequest::new("GET", "/", "", Arc::clone(&s))
            .with_header("Cookie", &format!("csrftoken={SECRET}"));
        let resp = run(&mw, &mut r, &view(token_view));
        assert!(resp
            .get("Set-Cookie")
            .unwrap()
            .starts_with(&format!("csrftoken={SECRET};")));
        // Untouched: no cookie, no Vary.
        let mut r = HttpRequest::new("GET", "/", "", Arc::clone(&s));
        let resp = run(&mw, &mut r, &view(ok));
        assert_eq!((resp.get("Set-Cookie"), resp.get("Vary")), (None, None));
        // A malformed cookie is replaced.
        let mut r = HttpRequest::new("GET", "/", "", Arc::clone(&s))
            .with_header("Cookie", "csrftoken=short");
        let resp = run(&mw, &mut r, &view(ok));
        assert!(resp.get("Set-Cookie").is_some());
    }
}
