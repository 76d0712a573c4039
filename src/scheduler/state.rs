//! The task state machine: whether a task is idle, queued, being polled, woken during its
//! poll, or finished, in one atomic byte that its wakers and its scheduler share.
//!
//! ```text
//!               wake                 start_poll
//!     IDLE ──────────────▶ SCHEDULED ───────────▶ RUNNING ────── wake ──────▶ NOTIFIED
//!      ▲   (the waker         ▲                     │                            │
//!      │    queues it)        │                     │                            │
//!      └──── end_poll ────────┼─────────────────────┘                            │
//!            (Pending)        └──────────── end_poll (Pending): ─────────────────┘
//!                                           the scheduler queues it
//!
//!     RUNNING, NOTIFIED ── complete (Ready, or aborted) ──▶ COMPLETE, where wakes do
//!     nothing (and any state for a task dropped at shutdown)
//! ```
//!
//! A wake of a SCHEDULED, NOTIFIED or COMPLETE task changes nothing: a task sits in a run
//! queue at most once, however often it is woken, and a finished one never again.
//!
//! # Why every transition is a read-modify-write
//!
//! A wake races the poll it must not be lost to. The waker stores its data (a message, a
//! flag) and then looks at the state; the scheduler marks the poll's start and then the
//! task reads the data. With a plain store on one side and a plain load on the other, both
//! threads may read the *old* value of what the other wrote (each store can still sit in
//! its core's store buffer when the other core's load runs): the waker sees "already
//! queued" and leaves, the task sees no data and returns `Pending`, and nothing will ever
//! poll it again. So every transition is one atomic read-modify-write (`fetch_or`,
//! `compare_exchange`, `fetch_sub`, `swap`), all `AcqRel`. Read-modify-writes of one
//! location are totally ordered, and each reads the one before it: either the wake comes
//! first, and the poll's start reads it, and with it the data stored before it; or the
//! poll's start comes first, and the wake sees RUNNING and leaves NOTIFIED, which the end
//! of the poll cannot miss. The same order decides which of two racing wakes queues the
//! task, and keeps a wake from slipping in between the end of a poll's load and its store.
//!
//! The one plain load is the local shortcut of [`TaskState::wake_local`], for wakes on
//! the scheduler's own thread, where there is nothing to publish.
//!
//! tokio (`runtime/task/state.rs`) and async-task (`src/state.rs`) keep the same states in
//! a word with the reference count beside them; here the count is the `Arc`'s own, and
//! the state needs a byte, in the padding of the task header.

#[cfg(loom)]
use loom::sync::atomic::{AtomicU8, Ordering};
#[cfg(not(loom))]
use std::sync::atomic::{AtomicU8, Ordering};

/// Set while the scheduler polls the task, from [`TaskState::start_poll`] to
/// [`TaskState::end_poll`] or [`TaskState::complete`]. This flag can't be set when the task
/// is complete.
const RUNNING: u8 = 1 << 0;

/// Set if the task was woken and has not been polled since: it is in a run queue (or in
/// the remote queue, on its way there), or, with RUNNING, it was woken during its poll and
/// its scheduler queues it again when the poll ends. Always set when the task is complete,
/// so that a late wake finds it set and does nothing.
const SCHEDULED: u8 = 1 << 1;

/// Set once the task has finished (or was cancelled): it is never polled again. This flag
/// can't be set with RUNNING.
const FINISHED: u8 = 1 << 2;

/// Not queued, not running: waiting for a wake.
const IDLE: u8 = 0;
/// Running, and woken meanwhile.
const NOTIFIED: u8 = RUNNING | SCHEDULED;
/// Finished; wakes do nothing.
const COMPLETE: u8 = FINISHED | SCHEDULED;

/// What a wake leaves its caller to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// The task was idle and is now scheduled: the caller must queue it.
    Queue,
    /// The task was running and is now notified: its scheduler queues it when the poll
    /// ends.
    Notified,
    /// The task was already scheduled or notified, or is complete: nothing to do.
    Nothing,
}

/// The state of one task. See the module docs for the states and their transitions.
#[derive(Debug)]
pub(crate) struct TaskState {
    /// The flags RUNNING, SCHEDULED and FINISHED.
    flags: AtomicU8,
}

impl TaskState {
    /// A new task's state: scheduled, since its creator queues it at once.
    pub(crate) fn new() -> Self {
        Self {
            flags: AtomicU8::new(SCHEDULED),
        }
    }

    /// Wakes the task, from any thread: IDLE becomes SCHEDULED (and the caller queues the
    /// task), RUNNING becomes NOTIFIED; other states stay as they are.
    ///
    /// Always a read-modify-write, even when it changes nothing: a wake that finds the
    /// task scheduled must still publish what its caller stored before it to the poll it
    /// counts on, and a plain load would let it read a SCHEDULED that the poll's start has
    /// already replaced (the lost wake-up of the module docs).
    #[inline]
    pub(crate) fn wake(&self) -> Wake {
        match self.flags.fetch_or(SCHEDULED, Ordering::AcqRel) {
            IDLE => Wake::Queue,
            RUNNING => Wake::Notified,
            _ => Wake::Nothing,
        }
    }

    /// [`wake`](Self::wake), on the thread that runs the task's scheduler.
    ///
    /// There, a plain load settles the repeated wakes of a task already scheduled, without
    /// a locked instruction: only this thread takes SCHEDULED away (by starting or ending a
    /// poll), so a SCHEDULED it reads is not stale, and the poll this wake counts on runs
    /// on this thread, after it, so there is nothing to publish. An idle or running task
    /// still takes the read-modify-write, which decides the race with a remote wake.
    #[inline]
    pub(crate) fn wake_local(&self) -> Wake {
        let mut flags = self.flags.load(Ordering::Relaxed);
        // The `fetch_or` of `wake`, as a loop that starts from the value just loaded.
        while flags & SCHEDULED == 0 {
            match self.flags.compare_exchange_weak(
                flags,
                flags | SCHEDULED,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) if flags == IDLE => return Wake::Queue,
                Ok(_) => return Wake::Notified,
                Err(actual) => flags = actual,
            }
        }
        Wake::Nothing
    }

    /// Marks the start of a poll: SCHEDULED becomes RUNNING. Returns `false`, changing
    /// nothing, if the task is not scheduled: the queue entry being served is stale, and
    /// the task must not be polled without a wake.
    ///
    /// A read-modify-write, so that it reads the last wake's `fetch_or` (and sees the data
    /// stored before it); a plain store could land after a wake that still saw SCHEDULED,
    /// and the poll would miss that wake's data.
    #[inline]
    pub(crate) fn start_poll(&self) -> bool {
        self.flags
            .compare_exchange(SCHEDULED, RUNNING, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    }

    /// Marks the end of a poll that returned `Pending`: RUNNING becomes IDLE, NOTIFIED
    /// becomes SCHEDULED. Returns `true` in the second case: the task was woken during the
    /// poll, and the caller must queue it.
    ///
    /// A read-modify-write, so that a wake arriving between a load and a store cannot be
    /// overwritten: it either comes before (NOTIFIED, seen here) or after (it finds IDLE
    /// and queues the task itself).
    #[inline]
    pub(crate) fn end_poll(&self) -> bool {
        let previous = self.flags.fetch_sub(RUNNING, Ordering::AcqRel);
        debug_assert!(previous & RUNNING != 0, "end_poll of a task not running");
        previous == NOTIFIED
    }

    /// Marks the task complete: it is not polled again, and later wakes do nothing.
    ///
    /// A swap, like every transition, though nothing here needs what it reads. A wake
    /// that comes after it finds COMPLETE. One just before it may have queued an idle task
    /// (only at shutdown: a poll's end or an abort completes a task that a wake cannot
    /// queue); that entry finds the task gone from the slab.
    pub(crate) fn complete(&self) {
        self.flags.swap(COMPLETE, Ordering::AcqRel);
    }

    /// Whether the task is complete: finished or cancelled, never polled again.
    pub(crate) fn is_complete(&self) -> bool {
        self.flags.load(Ordering::Acquire) & FINISHED != 0
    }
}

/// The models of the state machine, run by the `loom` model checker, which tries every
/// interleaving of the threads and every value a load may read under the C++ memory model.
/// The run queue is a mock: a count of the task's entries, with `Relaxed` accesses, so
/// that it lends the state machine no ordering of its own.
///
/// ```text
/// RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test --lib --release loom
/// ```
#[cfg(all(test, loom))]
mod loom_tests {
    use loom::sync::Arc;
    use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
    use loom::thread;

    use super::{TaskState, Wake};

    /// The mock run queue: how many entries of the task it holds.
    #[derive(Default)]
    struct Queue(AtomicUsize);

    impl Queue {
        /// Queues the task, checking it was not queued already.
        fn push(&self) {
            let before = self.0.fetch_add(1, Relaxed);
            assert_eq!(before, 0, "the task was queued twice");
        }

        /// Takes the task's entry, if it has one.
        fn pop(&self) -> bool {
            self.0
                .fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1))
                .is_ok()
        }

        /// The number of entries.
        fn len(&self) -> usize {
            self.0.load(Relaxed)
        }
    }

    /// Queues the task if `wake` says so.
    fn follow(wake: Wake, queue: &Queue) {
        if wake == Wake::Queue {
            queue.push();
        }
    }

    /// One poll of a task that is ready once every flag of `answers` is set, as the
    /// scheduler runs it after popping its entry. `self_wake` makes the task wake itself
    /// during the poll (as a hand-written yield does; `yield_now`'s own wake comes after
    /// the poll, from the runtime's thread, like a wake by the reactor). Returns whether
    /// the poll saw every answer.
    fn poll(state: &TaskState, queue: &Queue, answers: &[AtomicBool], self_wake: bool) -> bool {
        assert!(state.start_poll(), "a queued task is scheduled");
        if self_wake {
            follow(state.wake_local(), queue);
        }
        if answers.iter().all(|answer| answer.load(Relaxed)) {
            state.complete();
            return true;
        }
        if state.end_poll() {
            queue.push();
        }
        false
    }

    /// Polls racing wakes from other threads, each of which sets its answer and then
    /// wakes: the task always sees every answer, in a poll that raced the wakes or in one
    /// they queued. The runtime serves the queue while the wakes run, and after. The
    /// first poll either wakes itself or not (a task that wakes itself to run again, and
    /// one that only waits); there are one or two waking threads.
    #[test]
    fn loom_a_remote_wake_racing_a_poll_is_never_lost() {
        for (self_wake, wakers) in [(false, 1), (true, 1), (false, 2)] {
            loom::model(move || {
                let state = Arc::new(TaskState::new());
                let queue = Arc::new(Queue::default());
                let answers: Arc<Vec<AtomicBool>> =
                    Arc::new((0..wakers).map(|_| AtomicBool::new(false)).collect());
                queue.push(); // a new task is queued at once

                let threads: Vec<_> = (0..wakers)
                    .map(|i| {
                        let (state, queue, answers) =
                            (state.clone(), queue.clone(), answers.clone());
                        thread::spawn(move || {
                            answers[i].store(true, Relaxed);
                            follow(state.wake(), &queue);
                        })
                    })
                    .collect();
                let mut seen = false;
                let mut first = true;
                while !seen && queue.pop() {
                    seen = poll(&state, &queue, &answers, self_wake && first);
                    first = false;
                }
                for thread in threads {
                    thread.join().unwrap();
                }
                while !seen && queue.pop() {
                    seen = poll(&state, &queue, &answers, false);
                }
                assert!(seen, "a wake was lost: the task never saw every answer");
                assert_eq!(queue.len(), 0);
            });
        }
    }

    /// An abort from another thread (an `AbortHandle`): the mark, then a wake, racing the
    /// scheduler, which reads the mark after the start of each poll, as
    /// `Scheduler::run_task` does. The task is always dropped in the end, never left idle
    /// with the mark unseen. (Read before `start_poll`, the mark can be stale while the
    /// wake finds the task scheduled and does nothing: this model fails then.)
    #[test]
    fn loom_an_abort_from_another_thread_is_never_lost() {
        loom::model(|| {
            let state = Arc::new(TaskState::new());
            let queue = Arc::new(Queue::default());
            let aborted = Arc::new(AtomicBool::new(false));
            queue.push(); // a new task is queued at once

            let aborter = {
                let (state, queue, aborted) = (state.clone(), queue.clone(), aborted.clone());
                thread::spawn(move || {
                    aborted.store(true, Relaxed);
                    follow(state.wake(), &queue);
                })
            };
            // One turn of `run_task`: a task that is never ready on its own, dropped once
            // it is seen aborted.
            let run = |state: &TaskState, queue: &Queue| -> bool {
                if !state.start_poll() {
                    return false;
                }
                if aborted.load(Relaxed) {
                    state.complete();
                    return true;
                }
                if state.end_poll() {
                    queue.push();
                }
                false
            };
            let mut dropped = false;
            while !dropped && queue.pop() {
                dropped = run(&state, &queue);
            }
            aborter.join().unwrap();
            while !dropped && queue.pop() {
                dropped = run(&state, &queue);
            }
            assert!(
                dropped,
                "an abort was lost: the task stays idle, never dropped"
            );
        });
    }

    /// Two wakes of an idle task, from two threads, or from another thread and the
    /// scheduler's own: the task is queued exactly once.
    #[test]
    fn loom_two_racing_wakes_queue_an_idle_task_once() {
        for local in [false, true] {
            loom::model(move || {
                let state = Arc::new(TaskState::new());
                let queue = Arc::new(Queue::default());
                // Polled once, and pending: idle.
                assert!(state.start_poll());
                assert!(!state.end_poll());

                let remote = {
                    let (state, queue) = (state.clone(), queue.clone());
                    thread::spawn(move || follow(state.wake(), &queue))
                };
                let wake = if local {
                    state.wake_local()
                } else {
                    state.wake()
                };
                follow(wake, &queue);
                remote.join().unwrap();
                assert_eq!(queue.len(), 1, "an idle task woken twice is queued once");
            });
        }
    }

    /// A wake racing the poll in which the task completes never queues it, and a wake
    /// after completion does nothing; an entry left for a completed task is not polled.
    #[test]
    fn loom_a_wake_racing_completion_queues_nothing() {
        loom::model(|| {
            let state = Arc::new(TaskState::new());
            let waker = {
                let state = state.clone();
                thread::spawn(move || state.wake())
            };
            assert!(state.start_poll());
            state.complete();
            assert_ne!(waker.join().unwrap(), Wake::Queue);

            assert_eq!(state.wake(), Wake::Nothing);
            assert_eq!(state.wake_local(), Wake::Nothing);
            assert!(!state.start_poll(), "a complete task is not polled again");
        });
    }
}
