//! The scheduler: every spawned task of one runtime, and the queue of those ready to run.
//!
//! Tasks live in a slab keyed by [`TaskId`]; the run queue holds ids, not tasks (as in
//! blog_os's executor). A woken task's id is pushed at the back; the executor pops from the
//! front and polls. An id whose task has finished since it was queued finds an empty slot
//! (the slab's generation check) and is skipped.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::Context;

use futures_task::waker_ref;

use super::Remote;
use crate::slab::Slab;
use crate::task::{Header, JoinHandle, TaskId, spawned};

/// A spawned task as the scheduler stores it.
struct Task {
    /// The user's future, wrapped to deliver its outcome to the `JoinHandle`.
    future: Pin<Box<dyn Future<Output = ()>>>,
    /// What the task's wakers point to.
    header: Arc<Header>,
}

/// The tasks of one runtime and its run queue. Runtime thread only.
#[derive(Default)]
pub(crate) struct Scheduler {
    /// Every live task. A slot holds `None` while its task is being polled: the future is
    /// taken out so that the task can spawn (which inserts into this slab) mid-poll.
    tasks: RefCell<Slab<Option<Task>>>,
    /// Ids of tasks to poll, in wake order.
    run_queue: RefCell<VecDeque<TaskId>>,
}

impl Scheduler {
    /// Adds a task running `future` and queues it for its first poll.
    pub(crate) fn spawn<F>(
        &self,
        future: F,
        runtime_id: u64,
        remote: Weak<Remote>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let mut handle = None;
        let id = self.tasks.borrow_mut().insert_with(|id| {
            let header = Arc::new(Header::new(id, runtime_id, remote));
            let (future, join) = spawned(future, futures_task::waker(header.clone()));
            handle = Some(join);
            Some(Task {
                future: Box::pin(future),
                header,
            })
        });
        self.push(id);
        handle.expect("insert_with calls its closure exactly once")
    }

    /// Queues task `id` (a wake on the runtime's thread).
    pub(crate) fn push(&self, id: TaskId) {
        self.run_queue.borrow_mut().push_back(id);
    }

    /// The next task to poll, if any.
    pub(crate) fn pop(&self) -> Option<TaskId> {
        self.run_queue.borrow_mut().pop_front()
    }

    /// Whether some task waits to be polled.
    pub(crate) fn has_ready(&self) -> bool {
        !self.run_queue.borrow().is_empty()
    }

    /// The run queue, to append remotely woken tasks.
    pub(crate) fn run_queue(&self) -> std::cell::RefMut<'_, VecDeque<TaskId>> {
        self.run_queue.borrow_mut()
    }

    /// Number of live tasks.
    pub(crate) fn task_count(&self) -> usize {
        self.tasks.borrow().len()
    }

    /// Polls task `id` once; removes it if it finished.
    pub(crate) fn run_task(&self, id: TaskId) {
        // Take the task out of its slot, so no borrow of the slab is held while user code
        // runs. A stale id (the task finished after this wake was queued) finds nothing.
        let Some(mut task) = self.tasks.borrow_mut().get_mut(id).and_then(Option::take) else {
            return;
        };

        // Clear `scheduled` before polling: a wake during the poll must queue the task again.
        task.header.start_poll();
        super::budget::reset();
        let waker = waker_ref(&task.header);
        let done = task
            .future
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_ready();

        if done {
            // Late wakes of a finished task must do nothing.
            task.header.retire();
            self.tasks.borrow_mut().remove(id);
            drop_quietly(task);
        } else if let Some(slot) = self.tasks.borrow_mut().get_mut(id) {
            *slot = Some(task);
        }
    }

    /// Drops every task's future (running their destructors) and empties the run queue.
    pub(crate) fn shutdown(&self) {
        // A destructor may spawn; drain until nothing is left, but not forever.
        for _ in 0..16 {
            let tasks = self.tasks.borrow_mut().drain();
            if tasks.is_empty() {
                break;
            }
            for task in tasks.into_iter().flatten() {
                task.header.retire();
                drop_quietly(task);
            }
        }
        self.run_queue.borrow_mut().clear();
    }
}

/// Drops a task's future, containing a panic from its destructors: a task's failure is
/// reported through its `JoinHandle` and must not take the runtime down.
fn drop_quietly(task: Task) {
    let _ = catch_unwind(AssertUnwindSafe(move || drop(task)));
}
