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
    pub fn new() -> Self {
        Self::default()
    }

    /// Names the task, for traces.
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Spawns `future` on the runtime running on this thread; see [`spawn`](crate::spawn).
    ///
    /// # Panics
    ///
    /// If no runtime is running on this thread.
    pub fn spawn<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        crate::runtime::spawn_named(future, self.name)
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
