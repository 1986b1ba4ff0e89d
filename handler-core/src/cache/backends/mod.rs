//! The cache backends (Django's `django.core.cache.backends`): [`locmem`] and [`redis`].

pub mod locmem;
pub mod redis;
