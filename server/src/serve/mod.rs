//! Owns the request path inside one process: the threads and the monitor ([`scheduler`]), the
//! state they share ([`runtime`]), one event loop ([`event_loop`]; no HTTP), a connection's
//! reading and writing states ([`connection`]), one request through the app ([`exchange`]: the
//! ABI trampolines), the socket and its buffers ([`io`]), stuck-handler clocks
//! ([`call_clock`]), binding and accepting ([`listener`]), the minimum rate a
//! client must keep up while a call waits on it ([`min_rate`]) and the shutdown flags the loops read
//! ([`signals`]). It knows nothing of worker processes: `process` runs it.
//!
//! Dependencies point one way: `scheduler` drives `event_loop`, which reads `runtime`.

pub mod call_clock;
pub mod connection;
pub mod event_loop;
pub mod exchange;
pub mod io;
pub mod listener;
pub mod min_rate;
pub mod runtime;
pub mod scheduler;
pub mod signals;
