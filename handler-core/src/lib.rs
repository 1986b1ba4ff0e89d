//! Django's request/response cycle in Rust, exported through the gateway ABI.
//!
//! Module map (Django's names): `http` (HttpRequest, HttpResponse, QueryDict, cookies,
//! multipart), `urls` (path, re_path, include, reverse).
pub mod http;
pub mod urls;
