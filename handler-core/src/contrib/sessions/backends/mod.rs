//! The session engines (Django's `django.contrib.sessions.backends`).

pub mod db;
pub mod signed_cookies;
