//! Owns the processes: the master ([`arbiter`]), a worker ([`worker`]) and what links them
//! ([`worker_link`]: status pipe, heartbeat page), the library copies each generation loads
//! ([`snapshot`]), the pid file ([`pidfile`]), the master's `--metrics-bind` listener
//! ([`metrics_endpoint`]) and systemd's socket activation and notify
//! ([`systemd`]). A worker runs `serve`; nothing in `serve` knows of processes.

pub mod arbiter;
pub mod metrics_endpoint;
pub mod pidfile;
pub mod snapshot;
pub mod systemd;
pub mod worker;
pub mod worker_link;
