//! The reactor's timers: deadlines ordered in time, each with the waker of the task that
//! waits for it.
//!
//! Two structures share the work:
//!
//! - a slab of live timers, keyed by [`TimerKey`], holding each timer's waker and the
//!   sequence number of its current heap entry: adding, updating and cancelling a timer
//!   are O(1) there;
//! - a binary min-heap of `(deadline, sequence number, key)`: the nearest deadline (which
//!   bounds the `epoll_wait` timeout) is its top, and firing pops from it.
//!
//! Cancelling (a `Sleep` dropped before its deadline, the common fate of a timeout) only
//! empties the slab slot; the heap entry goes *stale* and is discarded when it reaches the
//! top, or in a sweep once stale entries outnumber live ones, so the heap never holds more
//! than about twice the live timers. This "lazy deletion" keeps cancellation O(1) instead
//! of O(log n) with a search. The sequence number breaks ties between equal deadlines in
//! insertion order, and tells a timer's current heap entry from the stale ones a reset
//! leaves behind: a reset pushes a new entry and keeps the timer's key, so that a `Sleep`
//! reset on another thread, which cannot learn a new key, still names its timer.
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

/// A change to a timer asked for on another thread than its runtime's: it travels on the
/// runtime's remote queue, and the runtime applies it at its next turn.
#[derive(Clone, Copy, Debug)]
pub(crate) enum TimerOp {
    /// Remove the timer (its `Sleep` was dropped).
    Cancel(TimerKey),
    /// Move the timer to this deadline (its `Sleep` was reset).
    Reset(TimerKey, Instant),
}

/// One live timer.
struct Timer {
    /// The sequence number of its current heap entry; entries with another are stale.
    seq: u64,
    /// Woken when the timer fires.
    waker: Waker,
}

/// All pending timers of one reactor.
#[derive(Default)]
pub(crate) struct TimerQueue {
    /// Live timers and their wakers.
    live: Slab<Timer>,
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
        let seq = self.next_seq;
        self.next_seq += 1;
        let key = self.live.insert(Timer { seq, waker });
        self.heap.push(Reverse((deadline, seq, key.to_u64())));
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
        let stored = &mut self.live.get_mut(key).ok_or(Fired)?.waker;
        if stored.will_wake(waker) {
            return Ok(None);
        }
        Ok(Some(mem::replace(stored, waker.clone())))
    }

    /// Moves a pending timer to `deadline`, keeping its key and its waker; `false` if it
    /// has already fired. A deadline already past fires at the next
    /// [`fire_expired`](Self::fire_expired).
    pub(crate) fn reset(&mut self, key: TimerKey, deadline: Instant) -> bool {
        let seq = self.next_seq;
        let Some(timer) = self.live.get_mut(key) else {
            return false;
        };
        // The old heap entry goes stale, as for a cancel: its sequence number is no
        // longer the timer's.
        timer.seq = seq;
        self.next_seq += 1;
        self.heap.push(Reverse((deadline, seq, key.to_u64())));
        self.one_more_stale();
        true
    }

    /// Cancels a timer, fired or not, and returns its waker if it had not fired, for the
    /// caller to drop once the queue is released (see the module docs).
    #[must_use = "drop the waker only once the queue is released"]
    pub(crate) fn remove(&mut self, key: TimerKey) -> Option<Waker> {
        let timer = self.live.remove(key)?;
        self.one_more_stale();
        Some(timer.waker)
    }

    /// Counts a heap entry gone stale, and sweeps once stale entries outnumber live
    /// timers: amortised O(1) per cancel, and the heap stays within about twice the live
    /// count.
    fn one_more_stale(&mut self) {
        self.stale += 1;
        if self.stale > MIN_SWEEP && self.stale > self.live.len() {
            let live = &self.live;
            self.heap
                .retain(|Reverse((_, seq, key))| is_current(live, *seq, *key));
            self.stale = 0;
        }
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
    ///
    /// Inlined into the reactor's turn, which calls it once per turn and usually finds no
    /// timer due: a call of its own cost the turn about 25 instructions (callgrind,
    /// `KIND=http bench/instructions.sh`), where the inlined check costs a few.
    #[inline(always)]
    pub(crate) fn fire_expired(&mut self, now: Instant, wake_list: &mut Vec<Waker>) {
        while let Some(Reverse((deadline, seq, key))) = self.heap.peek() {
            if *deadline > now {
                break;
            }
            let (seq, key) = (*seq, Key::from_u64(*key));
            self.heap.pop();
            if self.live.get(key).is_some_and(|timer| timer.seq == seq) {
                let timer = self.live.remove(key).expect("just found live");
                wake_list.push(timer.waker);
            } else {
                self.stale -= 1;
            }
        }
    }

    /// Pops entries of cancelled timers off the top of the heap.
    fn drop_stale_top(&mut self) {
        while let Some(Reverse((_, seq, key))) = self.heap.peek() {
            if is_current(&self.live, *seq, *key) {
                break;
            }
            self.heap.pop();
            self.stale -= 1;
        }
    }
}

/// Whether the heap entry `(seq, key)` is its timer's current one: the timer is live and
/// has not been reset since the entry was pushed.
fn is_current(live: &Slab<Timer>, seq: u64, key: u64) -> bool {
    live.get(Key::from_u64(key))
        .is_some_and(|timer| timer.seq == seq)
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

    #[test]
    fn a_reset_timer_keeps_its_key_and_fires_once_at_its_new_deadline() {
        let mut queue = TimerQueue::default();
        let now = Instant::now();
        let key = queue.insert(now, futures_task::noop_waker());
        assert!(queue.reset(key, now + Duration::from_secs(2)));
        assert!(queue.reset(key, now + Duration::from_secs(1)));
        assert_eq!(queue.next_deadline(), Some(now + Duration::from_secs(1)));

        // The two entries it left behind are stale: nothing fires at `now`.
        let mut woken = Vec::new();
        queue.fire_expired(now, &mut woken);
        assert!(woken.is_empty());
        queue.fire_expired(now + Duration::from_secs(3), &mut woken);
        assert_eq!(woken.len(), 1, "fired once, under its one key");
        assert!(!queue.reset(key, now), "a fired timer cannot be reset");
        assert_eq!((queue.len(), queue.heap.len(), queue.stale), (0, 0, 0));
    }
}
