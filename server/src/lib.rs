//! portico's server library: the process (CLI and config, sockets, the mio event loop, HTTP/1.1
//! parsing and writing, the worker pool, loading apps, signals, logging). The `portico` binary is
//! a thin `main` over [`serve`]; the modules are public so that fuzz targets and benchmarks can
//! drive the wire-level parts (`http1::parse::parse_head`, `http1::body::Decoder`) directly.

pub mod access_log;
pub mod app;
pub mod config;
pub mod connection;
pub mod error;
pub mod event_loop;
pub mod http1;
pub mod loader;
pub mod signals;
pub mod worker;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::app::App;
use crate::config::Config;
use crate::error::ServerError;
use crate::event_loop::{EventLoop, Listener};
use crate::worker::{Pool, Port};

/// Installs the logger: `RUST_LOG` when set and non-empty, else `--log-level`.
pub fn init_logging(config: &Config) {
    let mut builder = env_logger::Builder::new();
    match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.is_empty() => {
            builder.parse_filters(&spec);
        }
        _ => {
            builder.filter_level(config.log_level.filter());
        }
    }
    builder.target(env_logger::Target::Stderr).init();
}

/// Loads the app and serves it until a shutdown signal has been handled (or, with
/// `--check-config`, reports on the app and returns).
pub fn serve(config: &Config) -> Result<(), ServerError> {
    let app = App::open(&config.app, config.settings.as_deref())?;
    if config.check_config {
        println!(
            "portico: app {} loaded from {} and created: configuration OK",
            app.name,
            config.app.display()
        );
        app.destroy();
        return Ok(());
    }
    let shutdown = signals::Shutdown::install()?;
    let listeners = Listener::bind_all(config)?;
    let access_log = match &config.access_logfile {
        Some(target) => Some(access_log::AccessLog::open(target)?),
        None => None,
    };
    let poll = mio::Poll::new().map_err(|e| ServerError::io("cannot create the poller", e))?;
    let waker = Arc::new(
        mio::Waker::new(poll.registry(), mio::Token(usize::MAX - 1))
            .map_err(|e| ServerError::io("cannot create the waker", e))?,
    );
    let wake_pending = Arc::new(AtomicBool::new(false));
    let (tx, rx) = crossbeam_channel::unbounded();
    let app = Arc::new(app);
    let threads = config.thread_count();
    let pool = Pool::start(Arc::clone(&app), threads, config.max_queue, || {
        Port::new(tx.clone(), Arc::clone(&waker), Arc::clone(&wake_pending))
    })
    .map_err(|e| ServerError::io("cannot start worker threads", e))?;
    drop(tx);
    for l in &listeners {
        log::info!(
            "portico {} serving app {} on {} ({threads} threads)",
            env!("CARGO_PKG_VERSION"),
            app.name,
            l.describe()
        );
    }
    log::debug!(
        "limits: request line {} bytes, {} header fields of at most {} bytes, body {}; \
         timeout {}s, keep-alive {}s, graceful timeout {}s; queue {}, connections {}",
        config.limit_request_line,
        config.limit_request_fields,
        config.limit_request_field_size,
        config
            .body_limit()
            .map_or_else(|| "unlimited".to_string(), |n| format!("{n} bytes")),
        config.timeout,
        config.keep_alive,
        config.graceful_timeout,
        config.max_queue,
        config.max_connections
    );
    let event_loop = EventLoop::new(config, poll, listeners, rx, wake_pending, access_log)?;
    let clean = event_loop.run(&pool, &shutdown)?;
    if clean {
        pool.join();
        match Arc::try_unwrap(app) {
            Ok(app) => app.destroy(),
            Err(_) => log::warn!("app still referenced at exit; not calling destroy"),
        }
    }
    Ok(())
}
