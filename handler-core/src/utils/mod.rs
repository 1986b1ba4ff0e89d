//! Helpers Django keeps in `django.utils`: [`cache`] (`patch_vary_headers`) and [`http`]
//! (`urlsplit` as Python has it, `is_same_domain`, `url_has_allowed_host_and_scheme`).

pub mod cache;
pub mod http;
