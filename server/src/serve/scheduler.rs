//! Owns the threads: the event loops' threads, the spare threads a loop is handed to when its
//! app call blocks, and the monitor that decides when (`sysmon`, after Go's scheduler). The
//! state they share is [`Runtime`]'s; the crate docs draw the whole model.
//!
//! A loop is a value ([`EventLoop`]) that whichever thread runs it owns. Before an app call its
//! thread publishes the loop in the loop's `Slot::parked` and makes the call with only the
//! connection; after it, the thread takes the loop back. If the call outlives the grace period,
//! the monitor takes the loop from the slot first and gives it to a spare thread; the calling
//! thread, when its call returns, finds the slot empty, sends the connection back to its loop
//! over a channel, and becomes a spare itself. The common path costs two atomic stores and one
//! swap: no lock, no channel, no thread switch.

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

use crate::serve::call_clock::CallEnd;
use crate::serve::event_loop::{EventLoop, Step};
use crate::serve::runtime::{LoopShared, Runtime};

/// The monitor's period. A call still running after one full period (so between one and two)
/// has its loop handed to a spare thread: short enough that a blocked call costs the loop's
/// other connections about a millisecond, long enough that ordinary calls never pay a switch.
pub const GRACE: Duration = Duration::from_millis(1);

/// Periods without any app call after which the monitor sleeps until the next call (an idle
/// server does not wake a thousand times a second).
const QUIET_PERIODS: u32 = 100;

/// How long an idle spare thread waits before checking whether the server has stopped.
const SPARE_POLL: Duration = Duration::from_millis(500);

/// Where a loop's thread parks the loop during an app call, for the monitor to find.
struct Slot {
    /// The loop while its thread is inside an app call; null otherwise.
    parked: AtomicPtr<EventLoop>,
    /// App calls started on this loop (the monitor compares it between periods).
    calls: AtomicU64,
}

/// The monitor's sleep state: it sleeps through quiet times and is woken by the next call.
struct Sysmon {
    sleeping: AtomicBool,
    lock: Mutex<()>,
    wake: Condvar,
}

/// The threads' own state, beside the [`Runtime`] they serve.
struct Scheduler {
    rt: Arc<Runtime>,
    /// One per loop, by its id.
    slots: Vec<Slot>,
    sysmon: Sysmon,
    spares: (Sender<Box<EventLoop>>, Receiver<Box<EventLoop>>),
    idle_spares: AtomicUsize,
    exits: (Sender<bool>, Receiver<bool>),
}

/// Starts a thread per loop and the monitor, then waits until every loop has exited.
/// Returns true when every request finished (so the app may be destroyed), false when the
/// graceful timeout cut some off.
pub fn run(rt: &Arc<Runtime>, loops: Vec<EventLoop>) -> std::io::Result<bool> {
    let shared: Vec<Arc<LoopShared>> = loops.iter().map(|l| Arc::clone(l.shared())).collect();
    let count = shared.len();
    let slots = shared
        .iter()
        .map(|_| Slot {
            parked: AtomicPtr::new(std::ptr::null_mut()),
            calls: AtomicU64::new(0),
        })
        .collect();
    rt.set_loops(shared);
    let sched = Arc::new(Scheduler {
        rt: Arc::clone(rt),
        slots,
        sysmon: Sysmon {
            sleeping: AtomicBool::new(false),
            lock: Mutex::new(()),
            wake: Condvar::new(),
        },
        spares: crossbeam_channel::unbounded(),
        idle_spares: AtomicUsize::new(0),
        exits: crossbeam_channel::unbounded(),
    });
    let monitor = {
        let sched = Arc::clone(&sched);
        std::thread::Builder::new()
            .name("portico-sysmon".into())
            .spawn(move || sched.sysmon())?
    };
    for lp in loops {
        let sched = Arc::clone(&sched);
        let id = lp.shared().id;
        std::thread::Builder::new()
            .name(format!("portico-loop-{id}"))
            .spawn(move || sched.drive(Box::new(lp)))?;
    }
    let mut clean = true;
    for _ in 0..count {
        clean &= sched.exits.1.recv().unwrap_or(false);
    }
    rt.set_stopped();
    sched.wake_sysmon();
    let _ = monitor.join();
    Ok(clean)
}

impl Scheduler {
    /// Runs a loop on this thread: its turns, the app calls it returns, and what happens when a
    /// call outlives the loop's stay here.
    fn drive(self: Arc<Scheduler>, mut lp: Box<EventLoop>) {
        let rt = &self.rt;
        let clock = rt.register_clock();
        loop {
            match lp.turn() {
                Step::Exit(clean) => {
                    let _ = self.exits.0.send(clean);
                    return;
                }
                Step::Call(mut call) => {
                    let shared = Arc::clone(lp.shared());
                    let slot = &self.slots[shared.id];
                    slot.calls.fetch_add(1, Ordering::Relaxed);
                    if rt.settings.max_requests > 0 {
                        rt.count_toward_max_requests();
                    }
                    slot.parked.store(Box::into_raw(lp), Ordering::SeqCst);
                    if self.sysmon.sleeping.load(Ordering::SeqCst) {
                        self.wake_sysmon();
                    }
                    clock.begin();
                    call.run(&rt.call_env());
                    if clock.end() == CallEnd::AfterAbandoned {
                        // Its slot was lent out when it was given up on: take it back.
                        rt.return_lent_slot();
                        log::warn!("a request given up on as stuck returned after all");
                    }
                    rt.leave_app();
                    let back = slot.parked.swap(std::ptr::null_mut(), Ordering::SeqCst);
                    if back.is_null() {
                        // The monitor gave the loop to another thread while the call ran.
                        shared.send_back(call);
                        match self.become_spare() {
                            Some(next) => lp = next,
                            None => return,
                        }
                    } else {
                        // SAFETY: the pointer came from Box::into_raw above, and the swap made
                        // this thread its only owner again (the monitor swaps it out too, and
                        // only one of the two swaps can see it non-null).
                        lp = unsafe { Box::from_raw(back) };
                        lp.resume(call);
                    }
                }
            }
        }
    }

    /// The monitor: every [`GRACE`] it looks at each loop's slot, and hands a loop whose same
    /// call is still running to a spare thread.
    fn sysmon(self: Arc<Scheduler>) {
        let mut seen: Vec<u64> = self.slots.iter().map(|_| u64::MAX).collect();
        let mut quiet = 0;
        while !self.rt.is_stopped() {
            std::thread::sleep(GRACE);
            let mut active = false;
            for (i, slot) in self.slots.iter().enumerate() {
                let calls = slot.calls.load(Ordering::Acquire);
                let in_call = !slot.parked.load(Ordering::Acquire).is_null();
                if calls != seen[i] {
                    active = true;
                } else if in_call {
                    active = true;
                    let taken = slot.parked.swap(std::ptr::null_mut(), Ordering::SeqCst);
                    if !taken.is_null() {
                        // SAFETY: the loop's thread published it with Box::into_raw and the
                        // swap made the monitor its only owner.
                        let lp = unsafe { Box::from_raw(taken) };
                        log::trace!("loop {i}: a call outlived {GRACE:?}; handing the loop on");
                        self.hand_off(lp);
                    }
                }
                seen[i] = calls;
            }
            quiet = if active { 0 } else { quiet + 1 };
            if quiet >= QUIET_PERIODS {
                self.sysmon_sleep();
                quiet = 0;
            }
        }
    }

    /// Sleeps until a call starts (or the server stops).
    fn sysmon_sleep(&self) {
        let guard = self.sysmon.lock.lock().unwrap_or_else(|p| p.into_inner());
        self.sysmon.sleeping.store(true, Ordering::SeqCst);
        // A call that started before the flag was up did not wake us: look once more.
        if self
            .slots
            .iter()
            .any(|s| !s.parked.load(Ordering::SeqCst).is_null())
        {
            self.sysmon.sleeping.store(false, Ordering::SeqCst);
            return;
        }
        let _guard = self
            .sysmon
            .wake
            .wait_while(guard, |_| {
                self.sysmon.sleeping.load(Ordering::SeqCst) && !self.rt.is_stopped()
            })
            .unwrap_or_else(|p| p.into_inner());
    }

    fn wake_sysmon(&self) {
        let _guard = self.sysmon.lock.lock().unwrap_or_else(|p| p.into_inner());
        self.sysmon.sleeping.store(false, Ordering::SeqCst);
        self.sysmon.wake.notify_one();
    }

    /// Gives a loop to an idle spare thread, or to a new one.
    fn hand_off(self: &Arc<Scheduler>, lp: Box<EventLoop>) {
        let reserved = self
            .idle_spares
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok();
        if !reserved {
            let sched = Arc::clone(self);
            let (tx, rx) = crossbeam_channel::bounded::<Box<EventLoop>>(1);
            let spawned = std::thread::Builder::new()
                .name("portico-spare".into())
                .spawn(move || {
                    if let Ok(lp) = rx.recv() {
                        sched.drive(lp);
                    }
                });
            match spawned {
                Ok(_) => {
                    let _ = tx.send(lp);
                    return;
                }
                Err(e) => {
                    // The next thread whose call returns takes it from the spare queue.
                    log::error!("cannot start a spare thread: {e}; the loop waits for one");
                }
            }
        }
        let _ = self.spares.0.send(lp);
    }

    /// A thread without a loop waits for one to run (or for the server to stop).
    fn become_spare(&self) -> Option<Box<EventLoop>> {
        if let Some(log) = &self.rt.access_log {
            log.flush();
        }
        self.idle_spares.fetch_add(1, Ordering::AcqRel);
        loop {
            match self.spares.1.recv_timeout(SPARE_POLL) {
                Ok(lp) => return Some(lp),
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                    if self.rt.is_stopped()
                        && self
                            .idle_spares
                            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                            .is_ok()
                    {
                        return None;
                    }
                }
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return None,
            }
        }
    }
}
