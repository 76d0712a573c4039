//! The reactor's timers: deadlines ordered in time, each with the waker of the task that
//! waits for it.
//!
//! A `BTreeMap` keyed by `(deadline, sequence number)` gives everything the reactor needs in
//! O(log n): the nearest deadline (the first key, which bounds the `epoll_wait` timeout),
//! firing everything due (pop from the front), and removing a timer whose `Sleep` was
//! dropped early (remove by key). The sequence number makes keys unique when deadlines tie.
//!
//! tokio uses a hierarchical timing wheel with 1 ms slots: O(1) per operation, at the cost
//! of rounding every deadline to the millisecond. A tree keeps each deadline exact, which is
//! what lets a `sleep` wake within microseconds of its deadline, and stays fast enough for
//! a million pending timers (see `benches/`).

use std::collections::BTreeMap;
use std::task::Waker;
use std::time::Instant;

/// Identifies one pending timer: its deadline and a tie-breaking sequence number.
pub(crate) type TimerKey = (Instant, u64);

/// All pending timers of one reactor.
#[derive(Debug, Default)]
pub(crate) struct TimerQueue {
    /// Pending timers, nearest deadline first.
    timers: BTreeMap<TimerKey, Waker>,
    /// Sequence number for the next timer.
    next_seq: u64,
}

impl TimerQueue {
    /// Adds a timer that wakes `waker` at `deadline`.
    pub(crate) fn insert(&mut self, deadline: Instant, waker: Waker) -> TimerKey {
        let key = (deadline, self.next_seq);
        self.next_seq += 1;
        self.timers.insert(key, waker);
        key
    }

    /// Replaces the waker of a pending timer, unless it would wake the same task anyway.
    /// Returns `false` if the timer has already fired.
    pub(crate) fn update_waker(&mut self, key: TimerKey, waker: &Waker) -> bool {
        match self.timers.get_mut(&key) {
            Some(stored) => {
                if !stored.will_wake(waker) {
                    stored.clone_from(waker);
                }
                true
            }
            None => false,
        }
    }

    /// Removes a timer, fired or not.
    pub(crate) fn remove(&mut self, key: TimerKey) {
        self.timers.remove(&key);
    }

    /// The nearest deadline, if any timer is pending.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.timers
            .first_key_value()
            .map(|(&(deadline, _), _)| deadline)
    }

    /// Number of pending timers.
    pub(crate) fn len(&self) -> usize {
        self.timers.len()
    }

    /// Removes every timer due at `now` and moves its waker into `wake_list`.
    pub(crate) fn fire_expired(&mut self, now: Instant, wake_list: &mut Vec<Waker>) {
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            wake_list.push(entry.remove());
        }
    }
}
