//! Authentication (Django's `django.contrib.auth`): the [`User`] attached to a request
//! (`User` and `AnonymousUser`, read with `request.user()` through [`RequestUserExt`]), the
//! [`UserStore`] the app provides (the user model and `ModelBackend`, given with
//! [`AppAuthExt::user_store`]), [`authenticate`], [`login`], [`logout`] and [`get_user`] with
//! Django's session keys and session auth hash, and the modules [`hashers`], [`middleware`]
//! (`AuthenticationMiddleware`) and [`decorators`] (`login_required`, `permission_required`,
//! `user_passes_test`).

pub mod backends;
pub mod decorators;
pub mod hashers;
pub mod management;
pub mod middleware;
pub mod migrations;

use std::sync::Arc;

use crate::app::App;
use crate::contrib::sessions::RequestSessionExt;
use crate::crypto::{constant_time_compare, salted_hmac, Algorithm};
use crate::exception::ViewError;
use crate::http::HttpRequest;
use crate::signing::SecretKeys;

/// Django's `SESSION_KEY`: the signed-in user's id in the session.
pub const SESSION_KEY: &str = "_auth_user_id";
/// Django's `BACKEND_SESSION_KEY`.
pub const BACKEND_SESSION_KEY: &str = "_auth_user_backend";
/// Django's `HASH_SESSION_KEY`: the session auth hash.
pub const HASH_SESSION_KEY: &str = "_auth_user_hash";
/// Django's `REDIRECT_FIELD_NAME`.
pub const REDIRECT_FIELD_NAME: &str = "next";
/// The one authentication backend, by Django's name (what the session records).
pub const BACKEND: &str = "django.contrib.auth.backends.ModelBackend";
/// The salt of Django's `get_session_auth_hash`.
pub const SESSION_AUTH_HASH_SALT: &str =
    "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash";

/// An error of the app's user storage.
pub type StoreError = Box<dyn std::error::Error + Send + Sync>;

/// A user as the app stores it (the fields of Django's `AbstractUser` that authentication
/// reads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUser {
    /// The primary key, as Django writes it into the session (`str(pk)`).
    pub id: String,
    /// `username`.
    pub username: String,
    /// `password`: a hash in Django's format.
    pub password: String,
    /// `is_active`: an inactive user cannot sign in.
    pub is_active: bool,
    /// `is_staff`.
    pub is_staff: bool,
    /// `is_superuser`: every permission.
    pub is_superuser: bool,
}

/// The users of the app (Django's user model with `ModelBackend`): handler-core owns no
/// database, so the app implements this.
pub trait UserStore: Send + Sync + 'static {
    /// `ModelBackend.get_user(user_id)` without the active check: the user with this id.
    fn get_user(&self, user_id: &str) -> Result<Option<StoredUser>, StoreError>;

    /// `UserManager.get_by_natural_key(username)`.
    fn get_by_natural_key(&self, username: &str) -> Result<Option<StoredUser>, StoreError>;

    /// The permissions (`"app_label.codename"`) the user has (`get_all_permissions`); none
    /// by default.
    fn get_all_permissions(&self, _user: &StoredUser) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }

    /// The `user_logged_in` signal (Django's receiver updates `last_login`).
    fn user_logged_in(&self, _user: &StoredUser) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Who made the request. Middleware sets it (Django's `AuthenticationMiddleware`); a request
/// starts anonymous.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct User {
    /// The primary key as a string; `None` for the anonymous user.
    pub id: Option<String>,
    /// The user name; empty for the anonymous user.
    pub username: String,
    /// Django's `is_staff`.
    pub is_staff: bool,
    /// Django's `is_superuser`.
    pub is_superuser: bool,
    authenticated: bool,
}

impl User {
    /// Django's `AnonymousUser`.
    pub fn anonymous() -> Self {
        User::default()
    }

    /// A signed-in user.
    pub fn authenticated(username: impl Into<String>, is_staff: bool) -> Self {
        User {
            id: None,
            username: username.into(),
            is_staff,
            is_superuser: false,
            authenticated: true,
        }
    }

    /// The signed-in user a [`StoredUser`] describes.
    pub fn from_stored(user: &StoredUser) -> Self {
        User {
            id: Some(user.id.clone()),
            username: user.username.clone(),
            is_staff: user.is_staff,
            is_superuser: user.is_superuser,
            authenticated: true,
        }
    }

    /// Django's `is_authenticated`.
    pub fn is_authenticated(&self) -> bool {
        self.authenticated
    }

    /// Django's `is_anonymous`.
    pub fn is_anonymous(&self) -> bool {
        !self.authenticated
    }
}

/// Django's `AnonymousUser`, for a request no one signed in (no allocation, nothing stored).
static ANONYMOUS: User = User {
    id: None,
    username: String::new(),
    is_staff: false,
    is_superuser: false,
    authenticated: false,
};

/// Loads the user on first use (Django's `SimpleLazyObject(lambda: get_user(request))`).
pub type UserLoader = Box<dyn FnOnce(&mut HttpRequest) -> User + Send + Sync>;

/// `request.user` as the request's extensions carry it: the user as loaded so far, and the
/// loader that has not run yet. A request without one is anonymous.
struct RequestUser {
    user: User,
    loader: Option<UserLoader>,
}

/// `request.user` (Django's `AuthenticationMiddleware` sets it), kept in the request's
/// extensions (the core knows nothing of users). In the prelude, so `request.user()` works
/// with `use handler_core::prelude::*`.
pub trait RequestUserExt {
    /// The user (Django's lazy `request.user`): the first call runs the loader
    /// `AuthenticationMiddleware` installed (reading the session), later calls return the
    /// same user; anonymous unless a middleware signed one in.
    fn user(&mut self) -> &User;

    /// Installs `loader`, run by the first [`RequestUserExt::user`] call (replacing any user
    /// set before then).
    fn set_user_loader(&mut self, loader: UserLoader);

    /// Sets the user at once, dropping any pending loader (Django's `request.user = user`).
    fn set_user(&mut self, user: User);
}

impl RequestUserExt for HttpRequest {
    fn user(&mut self) -> &User {
        let pending = match self.extensions.get_mut::<RequestUser>() {
            Some(slot) => slot.loader.take(),
            None => return &ANONYMOUS,
        };
        if let Some(load) = pending {
            let user = load(self);
            match self.extensions.get_mut::<RequestUser>() {
                Some(slot) => slot.user = user,
                None => {
                    self.extensions.insert(RequestUser { user, loader: None });
                }
            }
        }
        self.extensions
            .get::<RequestUser>()
            .map_or(&ANONYMOUS, |slot| &slot.user)
    }

    fn set_user_loader(&mut self, loader: UserLoader) {
        match self.extensions.get_mut::<RequestUser>() {
            Some(slot) => slot.loader = Some(loader),
            None => {
                self.extensions.insert(RequestUser {
                    user: User::anonymous(),
                    loader: Some(loader),
                });
            }
        }
    }

    fn set_user(&mut self, user: User) {
        match self.extensions.get_mut::<RequestUser>() {
            Some(slot) => {
                slot.loader = None;
                slot.user = user;
            }
            None => {
                self.extensions.insert(RequestUser { user, loader: None });
            }
        }
    }
}

/// The app's users: `App::user_store(store)`. In the prelude.
pub trait AppAuthExt {
    /// The app's users (Django's user model and `ModelBackend`), for `"auth"`
    /// (`AuthenticationMiddleware`), `login`, `authenticate` and the permission decorators;
    /// kept in the app's typed registry.
    fn user_store<U: UserStore>(self, store: U) -> Self;
}

impl AppAuthExt for App {
    fn user_store<U: UserStore>(self, store: U) -> Self {
        self.extension(Arc::new(store) as Arc<dyn UserStore>)
    }
}

/// What `AuthenticationMiddleware` attaches to the request (behind an `Arc`, so attaching it
/// copies no key): the store and the keys, for `login`, `authenticate` and
/// `permission_required`.
#[derive(Clone)]
pub struct AuthContext {
    /// The app's users.
    pub store: Arc<dyn UserStore>,
    /// The settings' `secret_key` and fallbacks (the session auth hash is keyed with them).
    pub keys: SecretKeys,
}

fn context(request: &HttpRequest) -> Result<Arc<AuthContext>, ViewError> {
    request
        .extensions
        .get::<Arc<AuthContext>>()
        .cloned()
        .ok_or_else(|| {
            ViewError::msg(
                "ImproperlyConfigured: authentication needs \"auth\" \
             (django.contrib.auth.middleware.AuthenticationMiddleware) in middleware",
            )
        })
}

fn store_error(e: StoreError) -> ViewError {
    ViewError::msg(format!("user store: {e}"))
}

/// Django's `AbstractBaseUser.get_session_auth_hash()` with `secret` (the key or a fallback):
/// the HMAC of the password hash, so changing the password ends the other sessions.
pub fn get_session_auth_hash(password_hash: &str, secret: &[u8]) -> String {
    salted_hmac(
        SESSION_AUTH_HASH_SALT,
        password_hash.as_bytes(),
        secret,
        Algorithm::Sha256,
    )
    .hexdigest()
}

/// A session value as Django's `str(pk)` would be (a number stored by another writer too).
fn as_id(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Django's `authenticate(request, username=..., password=...)` with `ModelBackend`: the
/// user when the password matches and the user is active. An unknown user still costs one
/// password hash, as in Django, so timing does not tell which usernames exist. A stored hash
/// is verified as written and never upgraded.
pub fn authenticate(
    request: &HttpRequest,
    username: &str,
    password: &str,
) -> Result<Option<StoredUser>, ViewError> {
    let ctx = context(request)?;
    let Some(user) = ctx
        .store
        .get_by_natural_key(username)
        .map_err(store_error)?
    else {
        hashers::make_password(password);
        return Ok(None);
    };
    let correct = match hashers::check_password(password, &user.password) {
        Ok(ok) => ok,
        Err(e) => {
            log::warn!(target: "django.contrib.auth", "unreadable password hash for {:?}: {e}", user.username);
            false
        }
    };
    Ok((correct && user.is_active).then_some(user))
}

/// Django's `login(request, user)`: the user's id, backend and session auth hash go in the
/// session; an anonymous session gets a new key (`cycle_key`), a session of another user (or
/// with another hash) is flushed first; `request.user` is set and the CSRF token rotated.
pub fn login(request: &mut HttpRequest, user: &StoredUser) -> Result<(), ViewError> {
    let ctx = context(request)?;
    let hash = get_session_auth_hash(&user.password, ctx.keys.key());
    let session = request.session()?;
    if session.contains_key(SESSION_KEY)? {
        let current = session.get(SESSION_KEY)?.and_then(as_id);
        let stored_hash = session
            .get(HASH_SESSION_KEY)?
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        if current.as_deref() != Some(user.id.as_str())
            || (!hash.is_empty() && !constant_time_compare(&stored_hash, &hash))
        {
            session.flush()?;
        }
    } else {
        session.cycle_key()?;
    }
    session.set(SESSION_KEY, user.id.clone())?;
    session.set(BACKEND_SESSION_KEY, BACKEND)?;
    session.set(HASH_SESSION_KEY, hash)?;
    request.set_user(User::from_stored(user));
    crate::middleware::csrf::rotate_token(request);
    ctx.store.user_logged_in(user).map_err(store_error)?;
    Ok(())
}

/// Django's `logout(request)`: the session flushed, the user anonymous.
pub fn logout(request: &mut HttpRequest) -> Result<(), ViewError> {
    request.session()?.flush()?;
    request.set_user(User::anonymous());
    Ok(())
}

/// Django's `get_user(request)`: the user the session names, if its backend is ours, the
/// user exists and is active, and the session auth hash matches the password (a hash made
/// with a fallback key is renewed with a new session key); otherwise anonymous, and a
/// session whose hash does not match is flushed.
pub fn get_user(request: &mut HttpRequest) -> Result<User, ViewError> {
    let ctx = context(request)?;
    let session = request.session()?;
    let user_id = session.get(SESSION_KEY)?.and_then(as_id);
    let backend = session
        .get(BACKEND_SESSION_KEY)?
        .and_then(|v| v.as_str().map(str::to_string));
    let (Some(user_id), Some(backend)) = (user_id, backend) else {
        return Ok(User::anonymous());
    };
    if backend != BACKEND {
        return Ok(User::anonymous());
    }
    let Some(user) = ctx
        .store
        .get_user(&user_id)
        .map_err(store_error)?
        .filter(|u| u.is_active)
    else {
        return Ok(User::anonymous());
    };
    let session_hash = session
        .get(HASH_SESSION_KEY)?
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let current = get_session_auth_hash(&user.password, ctx.keys.key());
    if !session_hash.is_empty() && constant_time_compare(&session_hash, &current) {
        return Ok(User::from_stored(&user));
    }
    let by_fallback = !session_hash.is_empty()
        && ctx.keys.fallbacks().iter().any(|k| {
            constant_time_compare(&session_hash, get_session_auth_hash(&user.password, k))
        });
    if by_fallback {
        session.cycle_key()?;
        session.set(HASH_SESSION_KEY, current)?;
        Ok(User::from_stored(&user))
    } else {
        session.flush()?;
        Ok(User::anonymous())
    }
}

/// Django's `user.has_perm(perm)`: an active superuser has every permission; otherwise the
/// store says.
pub fn has_perm(request: &mut HttpRequest, perm: &str) -> Result<bool, ViewError> {
    let user = request.user().clone();
    if !user.is_authenticated() {
        return Ok(false);
    }
    if user.is_superuser {
        return Ok(true);
    }
    let ctx = context(request)?;
    let Some(id) = user.id.as_deref() else {
        return Ok(false);
    };
    let Some(stored) = ctx.store.get_user(id).map_err(store_error)? else {
        return Ok(false);
    };
    if !stored.is_active {
        return Ok(false);
    }
    let perms = ctx
        .store
        .get_all_permissions(&stored)
        .map_err(store_error)?;
    Ok(perms.iter().any(|p| p == perm))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_auth_hash_is_djangos() {
        // Django 5.2: salted_hmac(key_salt, user.password, algorithm="sha256").hexdigest()
        // for alice's hash in the notes settings, with the notes key.
        let hash =
            "pbkdf2_sha256$10000$notessaltalice$ZbfiDUP9TIZjov7FbXiBmTf6PK5wqRiO4BJrJFN0yZw=";
        let key = b"notes-insecure-test-key-7f3c9a1e5b2d4c6e8a0b1d3f5e7c9a2b4d6f8e0a";
        assert_eq!(
            get_session_auth_hash(hash, key),
            "21f62217a573cbf0534834ea492ce1d863e07da985989d3fa52ce70e79d79e1c"
        );
    }

    #[test]
    fn request_user_is_lazy_and_lives_in_the_extensions() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static LOADS: AtomicUsize = AtomicUsize::new(0);
        let settings = std::sync::Arc::new(crate::Settings::default());
        let mut r = HttpRequest::new("GET", "/", "", settings);
        // Nothing stored: anonymous, and reading it stores nothing.
        assert!(r.user().is_anonymous());
        assert!(r.extensions.get::<RequestUser>().is_none());
        // A loader runs on the first read only (Django's SimpleLazyObject).
        r.set_user_loader(Box::new(|_: &mut HttpRequest| {
            LOADS.fetch_add(1, Ordering::SeqCst);
            User::authenticated("alice", false)
        }));
        assert_eq!(LOADS.load(Ordering::SeqCst), 0);
        assert_eq!(r.user().username, "alice");
        assert_eq!(r.user().username, "alice");
        assert_eq!(LOADS.load(Ordering::SeqCst), 1);
        // set_user drops a pending loader.
        r.set_user_loader(Box::new(|_: &mut HttpRequest| {
            LOADS.fetch_add(1, Ordering::SeqCst);
            User::anonymous()
        }));
        r.set_user(User::authenticated("root", true));
        assert!(r.user().is_staff);
        assert_eq!(LOADS.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn anonymous_and_signed_in_users_differ() {
        let a = User::anonymous();
        assert!(a.is_anonymous() && !a.is_authenticated() && !a.is_staff);
        let u = User::authenticated("root", true);
        assert!(u.is_authenticated() && u.is_staff);
        assert_eq!(u.username, "root");
    }
}
