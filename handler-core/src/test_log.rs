//! What a unit test logged: a `log::Log` installed once for the test binary that keeps each
//! thread's records apart, so tests running in parallel each see only their own.

use std::cell::RefCell;
use std::sync::Once;

/// One log record.
#[derive(Debug, Clone)]
pub(crate) struct Logged {
    pub level: log::Level,
    pub target: String,
    pub message: String,
}

thread_local! {
    static RECORDS: RefCell<Vec<Logged>> = const { RefCell::new(Vec::new()) };
}

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _metadata: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let logged = Logged {
            level: record.level(),
            target: record.target().to_string(),
            message: record.args().to_string(),
        };
        let _ = RECORDS.try_with(|r| r.borrow_mut().push(logged));
    }

    fn flush(&self) {}
}

/// Runs `f` and returns its value with what it logged on this thread.
pub(crate) fn capture<T>(f: impl FnOnce() -> T) -> (T, Vec<Logged>) {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Nothing else in the unit tests installs a logger (the adapter only does with a host).
        let _ = log::set_logger(&Capture);
        log::set_max_level(log::LevelFilter::Trace);
    });
    RECORDS.with(|r| r.borrow_mut().clear());
    let value = f();
    let logged = RECORDS.with(|r| std::mem::take(&mut *r.borrow_mut()));
    (value, logged)
}
