//! The session engines (Django's `django.contrib.sessions.backends`).

pub mod cache;
pub mod cached_db;
pub mod db;
pub mod signed_cookies;
