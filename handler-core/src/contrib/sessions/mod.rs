//! Sessions (Django's `django.contrib.sessions`): the per-request [`Session`]
//! (`request.session`, Django's `SessionBase`), the [`SessionStore`] trait its engines
//! implement, the engines in [`backends`] (`db`, on a [`backends::db::SessionDatabase`] the
//! app implements, `signed_cookies`, and `cache` / `cached_db` on [`crate::cache`]), and
//! [`middleware::SessionMiddleware`].

pub mod backends;
pub mod base;
pub mod middleware;

pub use backends::cache::CacheSessionStore;
pub use backends::cached_db::CachedDbSessionStore;
pub use backends::db::{DbSessionStore, SessionDatabase};
pub use backends::signed_cookies::SignedCookieSessionStore;
pub use base::{Session, SessionData, SessionError, SessionState, SessionStore};
