//! Owns one event loop: its mio poll, the connections it owns (a slab indexed by token), its
//! idle list (oldest first, for closing idle connections to make room), the listeners (loop 0
//! accepts for every loop and spreads connections over them), readiness dispatch, the wait
//! queue for app threads, the periodic timeout sweep and the graceful drain. No HTTP lives here:
//! a connection advances itself (`connection`), and a complete request leaves the loop as a
//! [`Call`] for its thread to run (`runtime`).

use std::collections::VecDeque;
use std::io;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};
use slab::Slab;

use crate::edge::peer::Peer;
use crate::edge::ratelimit::RateLimited;
use crate::edge::tls::TlsStream;
use crate::serve::connection::{Connection, Env, Next};
use crate::serve::exchange::Call;
use crate::serve::io::Stream;
use crate::serve::listener::Listener;
use crate::serve::runtime::{LoopShared, Runtime};

/// How often timeouts and the shutdown flag are checked: one pass over the connections, and
/// fine-grained enough for second-based timeouts.
const SWEEP_EVERY: Duration = Duration::from_millis(100);

/// Readiness events handled per poll call.
const EVENTS_CAPACITY: usize = 1024;

/// A fresh connection that has sent nothing for this long may be closed to make room for a
/// new one at `--max-connections` (a kept-alive one between requests may be at once): nginx
/// reuses its "reusable" connections the same way.
pub const RECLAIM_FRESH_AFTER: Duration = Duration::from_millis(200);

/// How far into the idle list (from the oldest) a search for a connection to close looks.
const RECLAIM_SCAN: usize = 64;

/// The waker's token; listeners count down from just below it, connections are slab keys.
const WAKER: Token = Token(usize::MAX);

/// The shutdown doorbell's token (loop 0 only): far from both the slab keys and the listeners.
const DOORBELL: Token = Token(usize::MAX >> 1);

/// The connection limit's log line, at most once a second.
static FULL_HOUSE: RateLimited = RateLimited::new();

/// Accept failures (EMFILE and friends), at most once a second.
static ACCEPT_FAILED: RateLimited = RateLimited::new();

/// No link in the idle list.
const NIL: usize = usize::MAX;

/// A slab entry: the connection (absent while it is out on a call) and its idle-list links.
struct Slot {
    conn: Option<Box<Connection>>,
    prev: usize,
    next: usize,
    idle: bool,
    /// Readiness that arrived while the connection was out on a call (it raised its event
    /// here, where the connection was not): given to it when it comes back. `Some(closed)`.
    missed: Option<bool>,
}

/// What a turn of the loop ends with.
pub enum Step {
    /// A request to run on this thread; then [`EventLoop::resume`] with it.
    Call(Call),
    /// The loop is finished: true when every request completed.
    Exit(bool),
}

/// One event loop.
pub struct EventLoop {
    rt: Arc<Runtime>,
    shared: Arc<LoopShared>,
    poll: Poll,
    events: Events,
    conns: Slab<Slot>,
    idle_head: usize,
    idle_tail: usize,
    idle_len: usize,
    /// Connections with work to do, in order.
    runnable: VecDeque<usize>,
    /// Connections whose complete request waits for an app thread, oldest first.
    waiting: VecDeque<usize>,
    listeners: Vec<Listener>,
    /// The header list the next parsed head takes.
    spare: Vec<(Range<usize>, Range<usize>)>,
    /// Connections out on a call.
    out_on_call: usize,
    now: Instant,
    last_sweep: Instant,
    /// The drain's first sweep (closing idle connections) is done.
    drain_swept: bool,
}

/// Whether the server is draining, and whether idle connections close at once (TERM's drain,
/// not a retiring worker's gentle one), read once for a whole pass over connections.
fn drain_state(rt: &Runtime) -> (bool, bool) {
    let draining = rt.draining.load(std::sync::atomic::Ordering::Acquire);
    (
        draining,
        draining && !rt.gentle.load(std::sync::atomic::Ordering::Acquire),
    )
}

/// What a connection consults as it advances, for one pass.
fn conn_env<'a>(
    rt: &'a Runtime,
    spare: &'a mut Vec<(Range<usize>, Range<usize>)>,
    (draining, close_idle): (bool, bool),
) -> Env<'a> {
    Env {
        config: &rt.settings.conn,
        draining,
        close_idle,
        access_log: rt.access_log.as_ref(),
        metrics: rt.metrics(),
        spare,
    }
}

fn listener_token(i: usize) -> Token {
    Token(usize::MAX - 1 - i)
}

impl EventLoop {
    /// Loop `id`; loop 0 gets the listeners.
    pub fn new(
        rt: &Arc<Runtime>,
        id: usize,
        mut listeners: Vec<Listener>,
    ) -> io::Result<EventLoop> {
        let poll = Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKER)?;
        for (i, l) in listeners.iter_mut().enumerate() {
            poll.registry()
                .register(l.source(), listener_token(i), Interest::READABLE)?;
        }
        // The loop that accepts hears a shutdown signal at once, not at its next sweep.
        if let (false, Some(fd)) = (listeners.is_empty(), rt.doorbell()) {
            poll.registry().register(
                &mut mio::unix::SourceFd(&fd),
                DOORBELL,
                Interest::READABLE,
            )?;
        }
        let now = Instant::now();
        Ok(EventLoop {
            rt: Arc::clone(rt),
            shared: Arc::new(LoopShared::new(id, waker)),
            poll,
            events: Events::with_capacity(EVENTS_CAPACITY),
            conns: Slab::new(),
            idle_head: NIL,
            idle_tail: NIL,
            idle_len: 0,
            runnable: VecDeque::new(),
            waiting: VecDeque::new(),
            listeners,
            spare: Vec::new(),
            out_on_call: 0,
            now,
            last_sweep: now,
            drain_swept: false,
        })
    }

    /// The part other threads see.
    pub fn shared(&self) -> &Arc<LoopShared> {
        &self.shared
    }

    /// Runs until a request is ready for the app or the loop is finished.
    pub fn turn(&mut self) -> Step {
        loop {
            while let Some(key) = self.runnable.pop_front() {
                if let Some(call) = self.drive(key) {
                    return Step::Call(call);
                }
            }
            if let Some(log) = &self.rt.access_log {
                log.flush();
            }
            if let Some(clean) = self.maintain() {
                return Step::Exit(clean);
            }
            if !self.runnable.is_empty() {
                continue;
            }
            self.wait();
        }
    }

    /// Takes back a call that ran on this thread, and goes on with its connection first (a
    /// pipelined request behind it is answered in the same write).
    pub fn resume(&mut self, call: Call) {
        self.now = Instant::now();
        let Call {
            key,
            mut conn,
            mut head,
            ..
        } = call;
        if self.spare.capacity() < head.headers.capacity() {
            head.headers.clear();
            self.spare = std::mem::take(&mut head.headers);
        }
        self.out_on_call -= 1;
        let Some(slot) = self.conns.get_mut(key) else {
            return;
        };
        // Readiness that came while it was away raised its event here; without one, the
        // connection's own record of its socket still holds (no extra read to find it empty).
        if let Some(closed) = slot.missed.take() {
            conn.on_readable(closed);
        }
        slot.conn = Some(conn);
        self.runnable.push_front(key);
    }

    /// Waits for readiness (or the next sweep) and queues what is ready.
    fn wait(&mut self) {
        let timeout =
            SWEEP_EVERY.saturating_sub(self.now.saturating_duration_since(self.last_sweep));
        if let Err(e) = self.poll.poll(&mut self.events, Some(timeout)) {
            if e.kind() != io::ErrorKind::Interrupted {
                log::error!("poll failed: {e}");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        self.now = Instant::now();
        let mut woken = false;
        let mut accept = false;
        for event in self.events.iter() {
            match event.token() {
                WAKER => woken = true,
                DOORBELL => self.rt.drain_doorbell(),
                Token(t) if t > usize::MAX - 1 - self.listeners.len() => accept = true,
                Token(key) => {
                    let Some(slot) = self.conns.get_mut(key) else {
                        continue;
                    };
                    let readable =
                        event.is_readable() || event.is_read_closed() || event.is_error();
                    match slot.conn.as_mut() {
                        Some(conn) => {
                            if readable {
                                conn.on_readable(event.is_read_closed());
                            }
                            self.runnable.push_back(key);
                        }
                        None if readable => {
                            let closed = event.is_read_closed();
                            slot.missed = Some(slot.missed.unwrap_or(false) || closed);
                        }
                        None => {}
                    }
                }
            }
        }
        if woken {
            self.on_wake();
        }
        if accept || (woken && !self.listeners.is_empty()) {
            self.accept();
        }
    }

    /// Handles what other threads sent: calls coming back, connections to adopt, requests to
    /// close idle connections, free app threads.
    fn on_wake(&mut self) {
        self.shared.woken();
        while let Some(call) = self.shared.returned() {
            self.resume(call);
        }
        while let Some((stream, peer)) = self.shared.next_accepted() {
            self.adopt(stream, peer);
        }
        let asked = self
            .shared
            .reclaim
            .swap(0, std::sync::atomic::Ordering::AcqRel);
        for _ in 0..asked {
            if !self.reclaim_one() {
                break;
            }
        }
    }

    /// One connection's turn: advance it, hand out its request, flush, close or file it.
    fn drive(&mut self, key: usize) -> Option<Call> {
        let now = self.now;
        let drain = drain_state(&self.rt);
        self.unlink_idle(key);
        let slot = self.conns.get_mut(key)?;
        let conn = slot.conn.as_mut()?;
        loop {
            let mut env = conn_env(&self.rt, &mut self.spare, drain);
            match conn.advance(&mut env, now) {
                Next::Wait => break,
                Next::Request(head) => {
                    if self.rt.try_enter_app() {
                        let conn = slot.conn.take()?;
                        self.out_on_call += 1;
                        return Some(Call {
                            key,
                            conn,
                            head,
                            since: now,
                        });
                    }
                    if self.rt.queue_full() {
                        conn.answer_overloaded(&mut env, head, now);
                        continue;
                    }
                    conn.queue(&mut env, head, now);
                    self.waiting.push_back(key);
                    self.rt.queued(&self.shared);
                    break;
                }
            }
        }
        conn.flush(now);
        if conn.settle(now) {
            self.close(key);
        } else if conn.is_idle() {
            self.link_idle(key);
        }
        None
    }

    /// Everything between batches: app threads freed for waiting requests, the sweep, the
    /// drain. Returns `Some` when the loop is finished.
    fn maintain(&mut self) -> Option<bool> {
        while !self.waiting.is_empty() && self.rt.app_slot_free() {
            let Some(key) = self.waiting.pop_front() else {
                break;
            };
            self.rt.unqueued(&self.shared, self.waiting.is_empty());
            if let Some(conn) = self.conns.get_mut(key).and_then(|s| s.conn.as_mut()) {
                conn.unqueue(self.now);
                self.runnable.push_back(key);
            }
        }
        let deadline = self.rt.drain_deadline();
        let drain_started = deadline.is_some() && !self.drain_swept;
        if self.now.saturating_duration_since(self.last_sweep) >= SWEEP_EVERY || drain_started {
            self.drain_swept |= deadline.is_some();
            self.last_sweep = self.now;
            self.sweep();
        }
        let deadline = deadline?;
        if !self.listeners.is_empty() {
            for l in self.listeners.drain(..) {
                l.close(self.poll.registry());
            }
        }
        // Connections loop 0 handed over just before it stopped accepting are served, not
        // dropped with the loop (their clients would see a reset).
        while let Some((stream, peer)) = self.shared.next_accepted() {
            self.adopt(stream, peer);
        }
        if self.conns.is_empty()
            && self.out_on_call == 0
            && self.shared.conns.load(std::sync::atomic::Ordering::SeqCst) == 0
        {
            log::info!("event loop {}: all connections finished", self.shared.id);
            return Some(true);
        }
        if Instant::now() >= deadline {
            log::warn!(
                "graceful timeout: abandoning {} connection(s)",
                self.conns.len()
            );
            self.rt
                .cancel_all
                .store(true, std::sync::atomic::Ordering::Release);
            return Some(false);
        }
        None
    }

    /// Applies every connection's timeouts (and closes idle ones in TERM's drain; a retiring
    /// worker's gentle drain lets them run out their keep-alive).
    fn sweep(&mut self) {
        let now = self.now;
        let drain = drain_state(&self.rt);
        let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
        for key in keys {
            let Some(conn) = self.conns.get_mut(key).and_then(|s| s.conn.as_mut()) else {
                continue;
            };
            let mut env = conn_env(&self.rt, &mut self.spare, drain);
            if conn.tick(&mut env, now) {
                self.close(key);
            } else if !conn.is_idle() {
                // A 408 may have been queued: send it and close.
                conn.flush(now);
                if conn.settle(now) {
                    self.close(key);
                }
            }
        }
        if self
            .rt
            .accept_paused
            .load(std::sync::atomic::Ordering::Acquire)
            && !self.listeners.is_empty()
        {
            self.accept();
        }
    }

    /// Drops a connection.
    fn close(&mut self, key: usize) {
        self.unlink_idle(key);
        if let Some(mut slot) = self.conns.try_remove(key) {
            if let Some(conn) = slot.conn.as_mut() {
                let _ = self.poll.registry().deregister(conn.stream_mut());
            }
            self.shared
                .conns
                .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
            self.rt.connection_closed();
        }
    }

    // ---- accepting ----

    /// Accepts waiting clients (loop 0) and spreads them over the loops.
    fn accept(&mut self) {
        if self.listeners.is_empty() {
            return;
        }
        let mut i = 0;
        while i < self.listeners.len() {
            if self.rt.draining.load(std::sync::atomic::Ordering::Acquire)
                || self.rt.stop_requested()
            {
                return;
            }
            if !self.rt.admit_connection() {
                self.at_limit();
                return;
            }
            match self.listeners[i].accept() {
                Ok((stream, peer)) => self.place(stream, peer),
                Err(e) => {
                    self.rt.unadmit();
                    match e.kind() {
                        io::ErrorKind::WouldBlock => i += 1,
                        io::ErrorKind::Interrupted => {}
                        _ => {
                            if let Some(n) = ACCEPT_FAILED.hit() {
                                log::warn!("accept failed ({n} time(s) in the last second): {e}");
                            }
                            i += 1;
                        }
                    }
                }
            }
        }
        self.rt
            .accept_paused
            .store(false, std::sync::atomic::Ordering::Release);
    }

    /// At `--max-connections`: close an idle connection (oldest first), here or on the loop
    /// with the most, and leave the client in the backlog until a slot frees.
    fn at_limit(&mut self) {
        self.rt
            .accept_paused
            .store(true, std::sync::atomic::Ordering::Release);
        if let Some(n) = FULL_HOUSE.hit() {
            log::warn!(
                "--max-connections ({}) reached ({n} time(s) in the last second): closing idle connections, oldest first, to make room",
                self.rt.settings.max_connections
            );
        }
        if self.reclaim_one() {
            // A slot is free: accept again now.
            self.accept();
            return;
        }
        let busiest = self
            .rt
            .loops()
            .iter()
            .filter(|l| l.id != self.shared.id)
            .max_by_key(|l| l.idle.load(std::sync::atomic::Ordering::Acquire));
        if let Some(other) = busiest {
            if other.idle.load(std::sync::atomic::Ordering::Acquire) > 0 {
                other
                    .reclaim
                    .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
                other.wake();
            }
        }
    }

    /// Closes the oldest idle connection that may be closed to make room; false if none.
    fn reclaim_one(&mut self) -> bool {
        let mut key = self.idle_head;
        for _ in 0..RECLAIM_SCAN {
            if key == NIL {
                return false;
            }
            let Some(slot) = self.conns.get(key) else {
                return false;
            };
            let next = slot.next;
            if let Some((since, kept_alive)) = slot.conn.as_ref().and_then(|c| c.idle_since()) {
                if kept_alive || self.now.saturating_duration_since(since) >= RECLAIM_FRESH_AFTER {
                    self.close(key);
                    return true;
                }
            }
            key = next;
        }
        false
    }

    /// Puts an accepted connection on the loop with the fewest.
    fn place(&mut self, stream: Stream, peer: Peer) {
        let target = self
            .rt
            .loops()
            .iter()
            .min_by_key(|l| l.conns.load(std::sync::atomic::Ordering::Acquire))
            .filter(|l| l.id != self.shared.id)
            .cloned();
        match target {
            Some(other) => {
                other
                    .conns
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                // A loop that has seen the drain and no connection counted for it exits; one
                // counted after it looked would be lost with it, so once the drain is on, this
                // loop (which is still running) keeps the connection. The counting above and
                // this check pair with the drain's store and the other loop's check (`maintain`).
                if self.rt.draining.load(std::sync::atomic::Ordering::SeqCst) {
                    other
                        .conns
                        .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    self.shared
                        .conns
                        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    self.adopt(stream, peer);
                } else {
                    other.hand_connection(stream, peer);
                }
            }
            None => {
                self.shared
                    .conns
                    .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
                self.adopt(stream, peer);
            }
        }
    }

    /// Drops a connection this loop was given but cannot serve, giving its count back.
    fn refuse(&mut self, what: &str, e: std::io::Error) {
        log::warn!("{what}: {e}");
        self.shared
            .conns
            .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
        self.rt.connection_closed();
    }

    /// Registers a connection with this loop (its count was taken by whoever placed it).
    fn adopt(&mut self, stream: Stream, peer: Peer) {
        // With --certfile a TCP connection starts its TLS session here, on the loop that will
        // serve it (not on the accepting loop).
        let mut stream = match (stream, &self.rt.settings.tls) {
            (Stream::Tcp(sock), Some(tls)) => match TlsStream::new(sock, tls) {
                Ok(s) => Stream::Tls(Box::new(s)),
                Err(e) => return self.refuse("cannot start a TLS session", e),
            },
            (stream, _) => stream,
        };
        let entry = self.conns.vacant_entry();
        let key = entry.key();
        if let Err(e) = self.poll.registry().register(
            &mut stream,
            Token(key),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            return self.refuse("cannot register a connection", e);
        }
        entry.insert(Slot {
            conn: Some(Box::new({
                let mut conn = Connection::new(stream, peer, self.now);
                if self.rt.settings.conn.proxy_protocol.is_some() {
                    conn.expect_proxy_header(self.now);
                }
                conn
            })),
            prev: NIL,
            next: NIL,
            idle: false,
            missed: None,
        });
        self.runnable.push_back(key);
    }

    // ---- the idle list ----

    fn link_idle(&mut self, key: usize) {
        let tail = self.idle_tail;
        let Some(slot) = self.conns.get_mut(key) else {
            return;
        };
        if slot.idle {
            return;
        }
        slot.idle = true;
        slot.prev = tail;
        slot.next = NIL;
        match self.conns.get_mut(tail) {
            Some(t) => t.next = key,
            None => self.idle_head = key,
        }
        self.idle_tail = key;
        self.idle_len += 1;
        self.shared
            .idle
            .store(self.idle_len, std::sync::atomic::Ordering::Release);
    }

    fn unlink_idle(&mut self, key: usize) {
        let Some(slot) = self.conns.get_mut(key) else {
            return;
        };
        if !slot.idle {
            return;
        }
        slot.idle = false;
        let (prev, next) = (slot.prev, slot.next);
        match self.conns.get_mut(prev) {
            Some(p) => p.next = next,
            None => self.idle_head = next,
        }
        match self.conns.get_mut(next) {
            Some(n) => n.prev = prev,
            None => self.idle_tail = prev,
        }
        self.idle_len -= 1;
        self.shared
            .idle
            .store(self.idle_len, std::sync::atomic::Ordering::Release);
    }
}
