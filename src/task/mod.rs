//! Tasks: futures the executor owns and polls, each with a waker and a join handle.
//!
//! What a task is made of (a header its wakers share, the future in the scheduler's slab,
//! the join state) is the scheduler's business: see `src/scheduler/`. This module is the
//! public face: [`JoinHandle`], [`JoinError`], [`AbortHandle`], [`JoinSet`], [`Builder`],
//! [`spawn_blocking`] and [`yield_now`].
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
//!     epoll_rt::yield_now().await; // step aside: the queued task runs first
//!     task.await.unwrap();
//!     assert_eq!(*log.borrow(), ["main", "task"]);
//! });
//! ```

mod builder;
mod join_set;
mod yield_now;

pub use crate::runtime::spawn_blocking;
pub use crate::scheduler::{AbortHandle, JoinError, JoinHandle};
pub use builder::Builder;
pub use join_set::JoinSet;
pub use yield_now::yield_now;
