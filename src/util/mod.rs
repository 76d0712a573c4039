//! Leaf utilities: small pieces that every layer above may use and that use nothing of
//! the runtime themselves.
//!
//! - [`slab`]: generational keys into a vector of slots (registrations, tasks, timers);
//! - [`stats`]: the counters each part of the runtime keeps, and their public snapshot;
//! - [`budget`]: the cooperative budget, how many I/O operations a task may complete in
//!   one poll;
//! - [`deferred`]: the wakes of tasks that gave the thread back, held until the runtime
//!   next looks at epoll;
//! - [`oneshot`]: one value handed from any thread to a task that awaits it;
//! - [`poll_inline`]: `poll_fn`, inlined into the awaiting future (the streams' reads and
//!   writes);
//! - [`trace`]: the trace mode (`EPOLL_RT_TRACE`), which every layer reports to.

pub(crate) mod budget;
pub(crate) mod deferred;
pub(crate) mod oneshot;
pub(crate) mod poll_inline;
pub(crate) mod slab;
pub(crate) mod stats;
pub(crate) mod trace;
