//! Look-ahead: warming the cache for the tasks the executor will poll next.
//!
//! With a million tasks alive, their memory is hundreds of megabytes, and a woken task is
//! almost never in the CPU's caches. Polling one then waits on main memory three times in
//! a row, each load needing the one before: the task's slot in the slab, then its header
//! and its future, which the slot points to, then whatever the future itself reads. That
//! was 134 ns a poll on this project's machine, against 27 with a thousand tasks
//! (`bench/scaling.sh`, its run of 08:08:52 in `bench/results/scaling-2026-11-30-0810.md`).
//!
//! The run queue already says which tasks come next, so the executor asks the CPU to start
//! loading them early, in two steps, like a software pipeline:
//!
//! ```text
//!   run queue:  [ polled now ] [ +1 ] [ +2 ] [ +3 ] [ +4 ] [ +5 ] [ +6 ] ...
//!                                             │                    │
//!                          header and future ◀┘                    └▶ slot in the slab
//! ```
//!
//! The slot of the task six places ahead is fetched; three polls later that task is three
//! places ahead, its slot has arrived, and the header and future it points to are fetched
//! in turn. By the time the task is polled, its memory is on its way or there. A poll
//! takes tens of nanoseconds and a trip to main memory about a hundred, so each fetch
//! starts a few polls before it is needed: in trials of `bench/scaling.sh` by hand, these
//! distances did better than two and four, and as well as four and eight. (The script's
//! recorded runs show the effect: see the README's scaling table.)
//!
//! With few tasks, their memory stays in the cache anyway and the look-ahead would only
//! cost instructions, so it runs only with [`LOOK_AHEAD_FROM`] live tasks or more.

use std::sync::Arc;

use super::Scheduler;
use super::header::Header;
use crate::sys::prefetch::prefetch;

/// Live tasks from which the executor looks ahead: at a few hundred bytes each, about
/// what fills a core's own (L2) cache, 1 to 2 MiB on current x86-64 CPUs.
const LOOK_AHEAD_FROM: usize = 4096;

/// How many places after the task being polled the run queue holds the task whose
/// header and future are fetched: its slot was fetched `FAR - NEAR` polls before.
const NEAR: usize = 3;

/// How many places after the task being polled the run queue holds the task whose slab
/// slot is fetched.
const FAR: usize = 6;

impl Scheduler {
    /// Notes that `live` tasks now exist.
    #[inline]
    pub(super) fn count_tasks(&self, live: usize) {
        self.looks_ahead.set(live >= LOOK_AHEAD_FROM);
    }

    /// Starts loading the memory of the tasks queued [`NEAR`] and [`FAR`] places ahead of
    /// the front, if there are enough tasks for it to be worth it.
    #[inline]
    pub(super) fn look_ahead(&self) {
        if !self.looks_ahead.get() {
            return;
        }
        let tasks = self.tasks.borrow();
        let (near, far) = self.run_queue.ahead(NEAR, FAR);
        if let Some(far) = far {
            tasks.prefetch(far);
        }
        // Reading the near slot costs little: it was fetched three polls ago.
        if let Some(task) = near.and_then(|near| tasks.get(near)) {
            // The header with the `Arc`'s counts before it (one or two cache lines: its
            // first and last bytes), and the first two lines of the future, where a task
            // keeps its state.
            let header = Arc::as_ptr(&task.header).cast::<u8>();
            prefetch(header.wrapping_sub(2 * size_of::<usize>()));
            prefetch(header.wrapping_add(size_of::<Header>() - 1));
            let future = (&raw const *task.future).cast::<u8>();
            prefetch(future);
            prefetch(future.wrapping_add(64));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;
    use std::sync::Weak;

    use super::LOOK_AHEAD_FROM;
    use crate::scheduler::Scheduler;
    use crate::util::budget::Budget;

    /// Runs every queued task, as the executor does.
    fn run_queued(scheduler: &Scheduler) {
        while let Some(id) = scheduler.pop() {
            scheduler.run_task(id);
        }
    }

    /// Above the threshold the executor looks ahead, and every task still runs exactly
    /// once, including when the tasks the look-ahead reads have finished in between (their
    /// slots are then empty, or hold a newer task).
    #[test]
    fn with_many_tasks_the_executor_looks_ahead_and_runs_each_once() {
        let scheduler = Scheduler::new(0, Weak::new(), None, Rc::new(Budget::new()));
        let runs = Rc::new(Cell::new(0usize));
        let count = LOOK_AHEAD_FROM + 100;
        for _ in 0..count {
            let runs = runs.clone();
            scheduler.spawn_detached(async move { runs.set(runs.get() + 1) }, None);
        }
        assert!(scheduler.looks_ahead.get(), "{count} tasks are many");

        // Half the queue finishes first; each of those spawns a task that reuses a slot.
        while runs.get() < count / 2 {
            let id = scheduler.pop().expect("tasks are queued");
            scheduler.run_task(id);
        }
        let late = Rc::new(Cell::new(0usize));
        for _ in 0..10 {
            let late = late.clone();
            scheduler.spawn_detached(async move { late.set(late.get() + 1) }, None);
        }
        run_queued(&scheduler);
        assert_eq!((runs.get(), late.get()), (count, 10));
        assert_eq!(scheduler.task_count(), 0);
        assert!(!scheduler.looks_ahead.get(), "no task is left");
    }

    /// Below the threshold, it does not.
    #[test]
    fn with_few_tasks_the_executor_does_not_look_ahead() {
        let scheduler = Scheduler::new(0, Weak::new(), None, Rc::new(Budget::new()));
        for _ in 0..LOOK_AHEAD_FROM - 1 {
            scheduler.spawn_detached(async {}, None);
        }
        assert!(!scheduler.looks_ahead.get());
        scheduler.spawn_detached(async {}, None);
        assert!(scheduler.looks_ahead.get());
        run_queued(&scheduler);
        assert!(!scheduler.looks_ahead.get());
    }
}
