//! Owns what the server says to and believes of the world outside: who the peer is
//! ([`peer`]), which forwarded headers are believed ([`proxy`]), the PROXY protocol header a
//! TCP balancer sends ([`proxy_protocol`]), the access log
//! ([`access_log`], [`log_format`]), the Prometheus metrics ([`metrics`]), rate-limited warnings ([`ratelimit`]) and native TLS ([`tls`]). It depends on
//! nothing but `http1` and the crate's foundations, so both halves may use it.

pub mod access_log;
pub mod log_format;
pub mod metrics;
pub mod peer;
pub mod proxy;
pub mod proxy_protocol;
pub mod ratelimit;
pub mod tls;
