//! The reactor's timers: deadlines ordered in time, each with the waker of the task that
//! waits for it.
//!
//! Two structures share the work:
//!
//! - a slab of live timers, keyed by [`TimerKey`], holding each timer's waker: adding,
//!   updating and cancelling a timer are O(1) there;
//! - a binary min-heap of `(deadline, sequence number, key)`: the nearest deadline (which
//!   bounds the `epoll_wait` timeout) is its top, and firing pops from it.
//!
//! Cancelling (a `Sleep` dropped before its deadline, the common fate of a timeout) only
//! empties the slab slot; the heap entry goes *stale* and is discarded when it reaches the
//! top, or in a sweep once stale entries outnumber live ones, so the heap never holds more
//! than about twice the live timers. This "lazy deletion" keeps cancellation O(1) instead
//! of O(log n) with a search. The sequence number breaks ties between equal deadlines in
//! insertion order.
//!
//! A waker leaves the queue only by being handed back to the caller (replaced, cancelled,
//! or fired into the wake list), never dropped or woken in here: the reactor drops or wakes
//! it once the queue is no longer borrowed. The last clone of a waker can own a task, and
//! the task a `Sleep`, whose drop cancels its own timer in this very queue.
//!
//! tokio uses a hierarchical timing wheel with 1 ms slots: O(1) per operation, at the cost
//! of rounding every deadline to the millisecond. A heap keeps each deadline exact, which
//! is what lets a `sleep` wake within microseconds of its deadline; `benches/timers.rs`
//! measures it with a million pending timers.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::mem;
use std::task::Waker;
use std::time::Instant;

use crate::util::slab::{Key, Slab};

/// Identifies one pending timer.
pub(crate) type TimerKey = Key;

/// A heap entry: when, in which order among equal deadlines, and which timer.
type Entry = Reverse<(Instant, u64, u64)>;

/// Stale entries tolerated before a sweep, whatever the number of live timers.
const MIN_SWEEP: usize = 1024;

/// The answer of [`TimerQueue::update_waker`] for a timer that has already fired.
#[derive(Debug)]
pub(crate) struct Fired;

/// All pending timers of one reactor.
#[derive(Default)]
pub(crate) struct TimerQueue {
    /// Live timers and their wakers.
    live: Slab<Waker>,
    /// Deadlines, nearest on top; may hold entries of timers cancelled since.
    heap: BinaryHeap<Entry>,
    /// Heap entries whose timer was cancelled.
    stale: usize,
    /// Sequence number for the next timer.
    next_seq: u64,
}

impl TimerQueue {
    /// Adds a timer that wakes `waker` at `deadline`.
    pub(crate) fn insert(&mut self, deadline: Instant, waker: Waker) -> TimerKey {
        let key = self.live.insert(waker);
        self.heap
            .push(Reverse((deadline, self.next_seq, key.to_u64())));
        self.next_seq += 1;
        key
    }

    /// Replaces the waker of a pending timer, unless it would wake the same task anyway,
    /// and returns the waker replaced, if any, for the caller to drop once the queue is
    /// released (see the module docs). `Err` if the timer has already fired.
    #[must_use = "drop the replaced waker only once the queue is released"]
    pub(crate) fn update_waker(
        &mut self,
        key: TimerKey,
        waker: &Waker,
    ) -> Result<Option<Waker>, Fired> {
        let stored = self.live.get_mut(key).ok_or(Fired)?;
        if stored.will_wake(waker) {
            return Ok(None);
        }
        Ok(Some(mem::replace(stored, waker.clone())))
    }

    /// Moves a pending timer to `deadline`, keeping its waker, and returns its new key;
    /// `None` if it has already fired. A deadline already past fires at the next
    /// [`fire_expired`](Self::fire_expired).
    pub(crate) fn reset(&mut self, key: TimerKey, deadline: Instant) -> Option<TimerKey> {
        // The old heap entry goes stale, as for a cancel; the waker moves to a new slot.
        let waker = self.remove(key)?;
        Some(self.insert(deadline, waker))
    }

    /// Cancels a timer, fired or not, and returns its waker if it had not fired, for the
    /// caller to drop once the queue is released (see the module docs).
    #[must_use = "drop the waker only once the queue is released"]
    pub(crate) fn remove(&mut self, key: TimerKey) -> Option<Waker> {
        let waker = self.live.remove(key)?;
        self.stale += 1;
        // Sweep once stale entries outnumber live timers: amortised O(1) per cancel, and
        // the heap stays within about twice the live count.
        if self.stale > MIN_SWEEP && self.stale > self.live.len() {
            let live = &self.live;
            self.heap
                .retain(|Reverse((_, _, key))| live.get(Key::from_u64(*key)).is_some());
            self.stale = 0;
        }
        Some(waker)
    }

    /// The nearest deadline, if any timer is pending.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        self.drop_stale_top();
        self.heap.peek().map(|Reverse((deadline, _, _))| *deadline)
    }

    /// Number of pending timers.
    pub(crate) fn len(&self) -> usize {
        self.live.len()
    }

    /// Removes every timer due at `now` and moves its waker into `wake_list`.
    pub(crate) fn fire_expired(&mut self, now: Instant, wake_list: &mut Vec<Waker>) {
        while let Some(Reverse((deadline, _, key))) = self.heap.peek() {
            if *deadline > now {
                break;
            }
            let key = Key::from_u64(*key);
            self.heap.pop();
            match self.live.remove(key) {
                Some(waker) => wake_list.push(waker),
                None => self.stale -= 1,
            }
        }
    }

    /// Pops entries of cancelled timers off the top of the heap.
    fn drop_stale_top(&mut self) {
        while let Some(Reverse((_, _, key))) = self.heap.peek() {
            if self.live.get(Key::from_u64(*key)).is_some() {
                break;
            }
            self.heap.pop();
            self.stale -= 1;
        }
    }
}

impl std::fmt::Debug for TimerQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimerQueue")
            .field("live", &self.live.len())
            .field("stale", &self.stale)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn cancelled_timers_are_swept_and_never_fire() {
        let mut queue = TimerQueue::default();
        let now = Instant::now();
        let far = now + Duration::from_secs(60);
        let keys: Vec<_> = (0..10_000)
            .map(|_| queue.insert(far, futures_task::noop_waker()))
            .collect();
        let kept = queue.insert(now, futures_task::noop_waker());
        for key in keys {
            assert!(queue.remove(key).is_some());
        }
        // The sweep kept the heap near the live count (1 live timer here).
        assert!(
            queue.heap.len() <= MIN_SWEEP + 1,
            "heap holds {} entries",
            queue.heap.len()
        );
        assert_eq!(queue.len(), 1);
        assert_eq!(queue.next_deadline(), Some(now));
        let mut woken = Vec::new();
        queue.fire_expired(far, &mut woken);
        assert_eq!(woken.len(), 1, "only the kept timer fires");
        assert!(
            queue
                .update_waker(kept, &futures_task::noop_waker())
                .is_err(),
            "it fired"
        );
        assert_eq!(queue.next_deadline(), None);
        assert_eq!(queue.stale, 0);
    }
}
