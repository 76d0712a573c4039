//! A set of tasks awaited in the order they finish, and cancelled together when the set is
//! dropped.
//!
//! The set keeps each task's [`JoinHandle`] in a slab, and gives each one a waker of its
//! own that, when the task finishes, puts the task's key on the set's list of tasks to
//! look at, and wakes whoever awaits [`JoinSet::join_next`]. So `join_next` polls only the
//! handles whose tasks finished, not all of them (the trick of `FuturesUnordered`; tokio's
//! `JoinSet` keeps an intrusive list of its tasks for the same purpose).

use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use futures_task::{ArcWake, waker};

use crate::scheduler::{AbortHandle, JoinError, JoinHandle};
use crate::util::slab::{Key, Slab};

/// A set of tasks spawned on the current runtime, awaited in the order they finish.
///
/// Dropping the set aborts every task still in it: each is dropped at the next turn of the
/// runtime's loop, without being polled again. Like [`spawn`](crate::spawn), a task need
/// not be `Send`.
///
/// ```
/// use std::time::Duration;
/// use epoll_rt::task::JoinSet;
/// use epoll_rt::time::sleep;
///
/// epoll_rt::block_on(async {
///     let mut set = JoinSet::new();
///     for ms in [30, 10, 20] {
///         set.spawn(async move {
///             sleep(Duration::from_millis(ms)).await;
///             ms
///         });
///     }
///     let mut order = Vec::new();
///     while let Some(finished) = set.join_next().await {
///         order.push(finished.unwrap());
///     }
///     assert_eq!(order, [10, 20, 30]); // the order they finished in
/// });
/// ```
pub struct JoinSet<T> {
    /// The handles of the tasks not yet joined, each with the waker its task's end wakes.
    tasks: Slab<(JoinHandle<T>, Waker)>,
    /// The keys of tasks that may have finished, and the waker of `join_next`.
    ready: Arc<Ready>,
}

/// Tasks of a [`JoinSet`] to look at. Behind a `Mutex`, because the wakers that fill it
/// must be `Send + Sync`; only the set's own thread ever locks it, so it is never
/// contended.
struct Ready {
    /// The list, and the waker of the task awaiting `join_next`.
    inner: Mutex<ReadyList>,
}

/// What [`Ready`] guards.
struct ReadyList {
    /// Keys of tasks that finished (or were just added), oldest first.
    keys: VecDeque<Key>,
    /// The task awaiting `join_next`, if one waits.
    waker: Option<Waker>,
}

impl Ready {
    /// Locks the list. Nothing panics while holding it (wakers are woken and dropped after
    /// it is released), so poisoning carries no information.
    fn lock(&self) -> MutexGuard<'_, ReadyList> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds `key` to the list, and returns the waker of `join_next` to wake.
    fn push(&self, key: Key) -> Option<Waker> {
        let mut list = self.lock();
        list.keys.push_back(key);
        list.waker.take()
    }
}

/// The waker of one task's handle: the task's end puts its key on the list.
struct Entry {
    /// The task's key in the set's slab.
    key: Key,
    /// The set's list.
    ready: Arc<Ready>,
}

impl ArcWake for Entry {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        // Woken with the list's lock released: the waker may run any code.
        if let Some(waker) = arc_self.ready.push(arc_self.key) {
            waker.wake();
        }
    }
}

impl<T: 'static> JoinSet<T> {
    /// An empty set.
    pub fn new() -> Self {
        Self {
            tasks: Slab::new(),
            ready: Arc::new(Ready {
                inner: Mutex::new(ReadyList {
                    keys: VecDeque::new(),
                    waker: None,
                }),
            }),
        }
    }

    /// Spawns `future` on the current runtime as a task of this set, and returns an
    /// [`AbortHandle`] on it.
    ///
    /// # Panics
    ///
    /// If no runtime is running on this thread, like [`spawn`](crate::spawn).
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        self.insert(crate::spawn(future))
    }

    /// Adds the task of `handle` to the set.
    fn insert(&mut self, handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        let ready = self.ready.clone();
        let key = self
            .tasks
            .insert_with(|key| (handle, waker(Arc::new(Entry { key, ready }))));
        // Looked at by the next `join_next`, which polls the handle once with its own
        // waker: from then on, the task's end puts it on the list.
        drop(self.ready.push(key));
        abort
    }

    /// Waits for one of the tasks to finish, and returns its outcome, or `None` if the
    /// set is empty. The task leaves the set.
    ///
    /// Cancel-safe: dropped before it returns, it loses no outcome; the next call finds it.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// [`join_next`](Self::join_next) as a poll function.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        if self.tasks.len() == 0 {
            return Poll::Ready(None);
        }
        loop {
            // The next key, or, if there is none, the waker to wake when one arrives: both
            // under one lock, so that a task ending in between is not missed.
            let key = {
                let mut list = self.ready.lock();
                match list.keys.pop_front() {
                    Some(key) => key,
                    None => {
                        let replaced = match &list.waker {
                            Some(waker) if waker.will_wake(cx.waker()) => None,
                            _ => list.waker.replace(cx.waker().clone()),
                        };
                        drop(list);
                        drop(replaced);
                        return Poll::Pending;
                    }
                }
            };
            // A key may be stale (the task was joined since); a task not finished is
            // polled for nothing, which registers its waker again.
            let Some((handle, waker)) = self.tasks.get_mut(key) else {
                continue;
            };
            if let Poll::Ready(outcome) = Pin::new(handle).poll(&mut Context::from_waker(waker)) {
                drop(self.tasks.remove(key));
                return Poll::Ready(Some(outcome));
            }
        }
    }

    /// Aborts every task of the set. They stay in it: [`join_next`](Self::join_next)
    /// returns their outcomes, a cancelled [`JoinError`] for each task that had not
    /// finished.
    ///
    /// ```
    /// use std::future::pending;
    /// use epoll_rt::task::JoinSet;
    ///
    /// epoll_rt::block_on(async {
    ///     let mut set = JoinSet::new();
    ///     set.spawn(pending::<()>());
    ///     set.spawn(pending::<()>());
    ///     set.abort_all();
    ///     assert_eq!(set.len(), 2);
    ///     while let Some(outcome) = set.join_next().await {
    ///         assert!(outcome.unwrap_err().is_cancelled());
    ///     }
    /// });
    /// ```
    pub fn abort_all(&mut self) {
        for (handle, _) in self.tasks.iter() {
            handle.abort();
        }
    }

    /// Aborts every task and waits until each has left the set.
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }
}

impl<T> JoinSet<T> {
    /// Number of tasks in the set: spawned, and not yet returned by `join_next`.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.tasks.len() == 0
    }
}

impl<T: 'static> Default for JoinSet<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        // Aborted, then detached by the handles' drop: each task is dropped at the next
        // turn of its runtime's loop.
        for (handle, _) in self.tasks.iter() {
            handle.abort();
        }
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len()).finish()
    }
}
