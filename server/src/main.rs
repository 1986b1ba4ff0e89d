//! portico: the HTTP/1.1 server process. Parses the command line, loads the app, opens the
//! listeners and runs the event loop over a worker pool; see each module for its part.

mod access_log;
mod app;
mod config;
mod connection;
mod error;
mod event_loop;
mod http1;
mod signals;
mod worker;

use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use clap::Parser;

use crate::app::App;
use crate::config::Config;
use crate::error::ServerError;
use crate::event_loop::{EventLoop, Listener};
use crate::worker::{Pool, Port};

fn init_logging(config: &Config) {
    let mut builder = env_logger::Builder::new();
    match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.is_empty() => {
            builder.parse_filters(&spec);
        }
        _ => {
            builder.parse_filters(&config.log_level);
        }
    }
    builder.target(env_logger::Target::Stderr).init();
}

fn serve(config: &Config) -> Result<(), ServerError> {
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

fn main() -> ExitCode {
    let config = Config::parse();
    init_logging(&config);
    match serve(&config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portico: {e}");
            ExitCode::FAILURE
        }
    }
}
