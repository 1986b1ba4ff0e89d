//! Sessions (Django's `django.contrib.sessions`): the per-request [`Session`]
//! (`request.session`, Django's `SessionBase`), the [`SessionStore`] trait its engines
//! implement, the engines in [`backends`] (`db`, on a [`backends::db::SessionDatabase`] the
//! app implements, and `signed_cookies`), and [`middleware::SessionMiddleware`].

pub mod backends;
pub mod base;
pub mod middleware;

pub use backends::db::{DbSessionStore, SessionDatabase};
pub use backends::signed_cookies::SignedCookieSessionStore;
pub use base::{Session, SessionData, SessionError, SessionState, SessionStore};
