//! Requests and responses (Django's `django.http`).
pub mod cookies;
pub mod encoding;
pub mod multipart;
pub mod querydict;
