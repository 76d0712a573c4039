//! Tasks: futures the executor owns and polls, each with a waker and a join handle.
//!
//! A spawned future is split in two, because a waker must be `Send + Sync` (any thread may
//! wake any task) while the future itself need not be `Send` (this runtime never moves it
//! off its thread):
//!
//! ```text
//!   executor's slab (this thread only)           anywhere
//!   ┌────────────────────────────────┐        ┌──────────────────────┐
//!   │ Spawned<F>: the future, plus   │        │ Header (Arc):        │
//!   │ the Rc<JoinState> it completes │        │  id, scheduled flag, │◀── Waker
//!   │ Arc<Header> ───────────────────┼───────▶│  runtime id, remote  │
//!   └────────────────────────────────┘        └──────────────────────┘
//!                 │ Rc
//!                 ▼
//!   JoinState: output slot + joiner's waker ◀── JoinHandle
//! ```
//!
//! Waking sets the header's `scheduled` flag and, only if it was clear, pushes the task's
//! id on a run queue: a task is never queued twice. The executor clears the flag just
//! before polling, so a wake that arrives during the poll queues the task again.
//!
//! ```
//! use std::cell::RefCell;
//! use std::rc::Rc;
//!
//! epoll_rt::block_on(async {
//!     let log = Rc::new(RefCell::new(Vec::new())); // not `Send`, and need not be
//!     let task_log = log.clone();
//!     let task = epoll_rt::spawn(async move { task_log.borrow_mut().push("task") });
//!     log.borrow_mut().push("main"); // spawning queued the task; it has not run yet
//!     epoll_rt::yield_now().await; // back of the queue: now the task runs
//!     task.await.unwrap();
//!     assert_eq!(*log.borrow(), ["main", "task"]);
//! });
//! ```

mod builder;
mod header;
mod join;
mod spawned;
mod yield_now;

pub use builder::Builder;
pub(crate) use header::{Header, TaskId};
pub use join::{JoinError, JoinHandle};
pub(crate) use spawned::spawned;
pub use yield_now::yield_now;
