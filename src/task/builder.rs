//! `task::Builder`: spawning with options. Today the one option is a name, which traces
//! (`EPOLL_RT_TRACE`) print next to the task's number.

use std::future::Future;

use super::JoinHandle;
use crate::Runtime;

/// Spawns a task with a name.
///
/// ```
/// use epoll_rt::task::Builder;
///
/// epoll_rt::block_on(async {
///     let handle = Builder::new().name("answer").spawn(async { 42 });
///     assert_eq!(handle.await.unwrap(), 42);
/// });
/// ```
#[derive(Debug, Default, Clone)]
pub struct Builder {
    /// The name traces show, if any.
    name: Option<Box<str>>,
}

impl Builder {
    /// A builder with no option set.
    ///
    /// ```
    /// use epoll_rt::task::Builder;
    ///
    /// epoll_rt::block_on(async {
    ///     // With no option set, the same as `epoll_rt::spawn`.
    ///     let handle = Builder::new().spawn(async { "unnamed" });
    ///     assert_eq!(handle.await.unwrap(), "unnamed");
    /// });
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Names the task, for traces.
    ///
    /// Run a program with `EPOLL_RT_TRACE=1` to see the name next to the task's number.
    ///
    /// ```
    /// use epoll_rt::task::Builder;
    ///
    /// let builder = Builder::new().name("acceptor");
    /// assert!(format!("{builder:?}").contains("acceptor"));
    /// ```
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Spawns `future` on the runtime running on this thread; see [`spawn`](crate::spawn).
    ///
    /// # Panics
    ///
    /// If no runtime is running on this thread.
    ///
    /// ```
    /// use epoll_rt::task::Builder;
    ///
    /// epoll_rt::block_on(async {
    ///     let workers: Vec<_> = (0..3)
    ///         .map(|i| Builder::new().name(&format!("worker-{i}")).spawn(async move { i * 10 }))
    ///         .collect();
    ///     let mut sum = 0;
    ///     for worker in workers {
    ///         sum += worker.await.unwrap();
    ///     }
    ///     assert_eq!(sum, 30);
    /// });
    /// ```
    pub fn spawn<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        crate::runtime::spawn_named(future, self.name)
    }

    /// Spawns `future` as a detached task of the current runtime; see
    /// [`spawn_detached`](crate::spawn_detached).
    ///
    /// # Panics
    ///
    /// If no runtime is running on this thread.
    pub fn spawn_detached<F: Future + 'static>(self, future: F) {
        crate::runtime::spawn_detached_named(future, self.name);
    }

    /// Spawns `future` on `runtime`; see [`Runtime::spawn`].
    ///
    /// ```
    /// use epoll_rt::{Runtime, task::Builder};
    ///
    /// let rt = Runtime::new()?;
    /// let handle = Builder::new().name("early").spawn_on(&rt, async { "ran" });
    /// assert_eq!(rt.block_on(handle).unwrap(), "ran");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn_on<F>(self, runtime: &Runtime, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        runtime.spawn_named(future, self.name)
    }
}
