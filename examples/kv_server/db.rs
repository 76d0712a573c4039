//! The key space: a hash map from keys to values, some of which expire.
//!
//! Expiry works as in Redis, in two ways at once:
//!
//! - **Lazily**: every entry with a time to live stores its deadline, and every access
//!   checks it. An expired key is removed when it is next touched, and behaves as missing.
//! - **Actively**: keys that expire but are never touched again would otherwise stay in
//!   memory for good. So a periodic sweep (the task `sweep_expired` in `main.rs`, driven
//!   by `epoll_rt::time::interval`) samples keys that have a deadline at random, a small
//!   batch at a time, and removes those that have passed it; as long as more than a
//!   quarter of a sample had expired, there are probably many more, so it samples again.
//!
//! The sweep needs to pick a key with a deadline at random without walking the whole map.
//! So those keys are also listed in a vector, `expiring`, and each such entry knows its
//! place in it, which keeps adding and removing O(1) (`swap_remove`, then fix the index of
//! the key that moved). Redis keeps a second hash map and samples its buckets; a vector
//! gives a uniform sample with one random number per key.

use std::collections::HashMap;
use std::rc::Rc;
use std::time::Instant;

/// A stored value, with its deadline if it has one.
#[derive(Debug)]
pub struct Entry {
    /// The value: bytes, as every Redis string.
    pub value: Vec<u8>,
    /// When the entry expires, and where its key sits in [`Db::expiring`].
    expiry: Option<Expiry>,
}

/// The deadline of an entry.
#[derive(Debug, Clone, Copy)]
struct Expiry {
    /// When the entry stops existing.
    at: Instant,
    /// The index of the entry's key in [`Db::expiring`].
    slot: usize,
}

impl Entry {
    /// Whether the entry has expired at `now`.
    fn is_expired(&self, now: Instant) -> bool {
        self.expiry.is_some_and(|e| e.at <= now)
    }

    /// When the entry expires, if it does.
    pub fn deadline(&self) -> Option<Instant> {
        self.expiry.map(|e| e.at)
    }
}

/// The key space.
#[derive(Debug)]
pub struct Db {
    /// Every key, live or expired but not yet removed. A key is an `Rc<[u8]>` so that
    /// [`expiring`](Self::expiring) can hold it too without a second copy.
    map: HashMap<Rc<[u8]>, Entry>,
    /// The keys that have a deadline, in no particular order. Invariant: `map[expiring[i]]`
    /// exists and its `expiry.slot` is `i`, for every `i`.
    expiring: Vec<Rc<[u8]>>,
    /// The state of the sweep's random number generator (xorshift64; never 0).
    rng: u64,
}

impl Default for Db {
    fn default() -> Self {
        Self {
            map: HashMap::new(),
            expiring: Vec::new(),
            rng: 0x9E37_79B9_7F4A_7C15,
        }
    }
}

impl Db {
    /// The live entry at `key`. An expired one is removed here (lazy expiry).
    pub fn get(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.remove_if_expired(key);
        self.map.get_mut(key)
    }

    /// Whether `key` holds a live value.
    pub fn contains(&mut self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// Stores `value` at `key`, with a deadline or none.
    ///
    /// The old value's allocation is reused when it is large enough, so overwriting a
    /// key (the common case in benchmarks and caches) allocates nothing.
    pub fn set(&mut self, key: &[u8], value: &[u8], deadline: Option<Instant>) {
        if let Some(entry) = self.map.get_mut(key) {
            entry.value.clear();
            entry.value.extend_from_slice(value);
            if entry.expiry.is_none() && deadline.is_none() {
                return; // the common case: nothing to change in `expiring`
            }
        } else {
            let entry = Entry {
                value: value.to_vec(),
                expiry: None,
            };
            self.map.insert(key.into(), entry);
            if deadline.is_none() {
                return;
            }
        }
        self.set_deadline(key, deadline);
    }

    /// Gives the (existing) entry at `key` a new deadline, or none.
    pub fn set_deadline(&mut self, key: &[u8], deadline: Option<Instant>) {
        let Some((key, entry)) = self.map.get_key_value(key) else {
            return;
        };
        let (key, old) = (key.clone(), entry.expiry);
        match (old, deadline) {
            (None, None) => {}
            (Some(old), None) => {
                self.entry_mut(&key).expiry = None;
                self.unlist(old.slot);
            }
            (None, Some(at)) => {
                let slot = self.expiring.len();
                self.expiring.push(key.clone());
                self.entry_mut(&key).expiry = Some(Expiry { at, slot });
            }
            (Some(Expiry { slot, .. }), Some(at)) => {
                self.entry_mut(&key).expiry = Some(Expiry { at, slot });
            }
        }
    }

    /// Removes `key`. Returns whether it held a live value (an expired key is removed
    /// too, but counts as missing).
    pub fn remove(&mut self, key: &[u8]) -> bool {
        self.take(key)
            .is_some_and(|entry| entry.deadline().is_none_or(|at| at > Instant::now()))
    }

    /// Removes the entry at `key`, live or expired, and returns it.
    fn take(&mut self, key: &[u8]) -> Option<Entry> {
        let entry = self.map.remove(key)?;
        if let Some(expiry) = entry.expiry {
            self.unlist(expiry.slot);
        }
        Some(entry)
    }

    /// How many keys there are, counting expired keys not yet removed (as Redis's
    /// `DBSIZE` does).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Examines `sample` keys that have a deadline, picked at random (fewer if fewer
    /// have one), and removes those that have expired at `now`. Returns how many keys
    /// were examined and how many of them removed.
    pub fn sweep(&mut self, now: Instant, sample: usize) -> (usize, usize) {
        let sample = sample.min(self.expiring.len());
        let mut removed = 0;
        for _ in 0..sample {
            let slot = self.random_below(self.expiring.len());
            let key = &self.expiring[slot];
            if self.map[key].is_expired(now) {
                let key = key.clone();
                self.take(&key);
                removed += 1;
            }
        }
        (sample, removed)
    }

    /// Gives back the memory of a key space that shrank a lot (after a mass expiry, say):
    /// a hash map keeps its largest capacity otherwise. Rehashing costs time in
    /// proportion to the keys left, so only when they are few next to the capacity.
    pub fn shrink(&mut self) {
        if self.map.capacity() > 1024 && self.map.capacity() > 8 * self.map.len() {
            self.map.shrink_to(2 * self.map.len());
        }
        if self.expiring.capacity() > 1024 && self.expiring.capacity() > 8 * self.expiring.len() {
            self.expiring.shrink_to(2 * self.expiring.len());
        }
    }

    /// A random number below `n` (which is not 0): xorshift64, then Lemire's
    /// multiply-shift instead of a division. Not for cryptography; uniform enough here.
    fn random_below(&mut self, n: usize) -> usize {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        ((u128::from(x) * n as u128) >> 64) as usize
    }

    /// Removes the entry at `key` if it has expired.
    fn remove_if_expired(&mut self, key: &[u8]) {
        // Only entries with a deadline read the clock.
        let expired = self
            .map
            .get(key)
            .is_some_and(|e| e.expiry.is_some() && e.is_expired(Instant::now()));
        if expired {
            self.remove(key);
        }
    }

    /// Removes `expiring[slot]`, moving the last key into its place and telling that key's
    /// entry its new slot (the invariant on [`expiring`](Self::expiring)).
    fn unlist(&mut self, slot: usize) {
        self.expiring.swap_remove(slot);
        if let Some(moved) = self.expiring.get(slot).cloned() {
            if let Some(expiry) = &mut self.entry_mut(&moved).expiry {
                expiry.slot = slot;
            }
        }
    }

    /// The entry at `key`, which the invariants say exists.
    fn entry_mut(&mut self, key: &[u8]) -> &mut Entry {
        self.map
            .get_mut(key)
            .expect("every key in `expiring` or just looked up is in the map")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Checks the invariant on `expiring`.
    fn check(db: &Db) {
        for (i, key) in db.expiring.iter().enumerate() {
            assert_eq!(db.map[key].expiry.map(|e| e.slot), Some(i));
        }
        let with_deadline = db.map.values().filter(|e| e.expiry.is_some()).count();
        assert_eq!(with_deadline, db.expiring.len());
    }

    #[test]
    fn set_get_remove() {
        let mut db = Db::default();
        db.set(b"k", b"v", None);
        assert_eq!(db.get(b"k").map(|e| e.value.clone()), Some(b"v".to_vec()));
        db.set(b"k", b"longer value", None);
        assert_eq!(db.get(b"k").map(|e| e.value.len()), Some(12));
        assert!(db.remove(b"k"));
        assert!(!db.remove(b"k"));
        assert!(db.get(b"k").is_none());
    }

    #[test]
    fn expired_keys_are_missing_and_removed_on_access() {
        let mut db = Db::default();
        let past = Instant::now() - Duration::from_millis(1);
        db.set(b"gone", b"v", Some(past));
        db.set(
            b"kept",
            b"v",
            Some(Instant::now() + Duration::from_secs(60)),
        );
        check(&db);
        assert_eq!(db.len(), 2);
        assert!(!db.contains(b"gone"));
        assert_eq!(db.len(), 1);
        assert!(db.contains(b"kept"));
        check(&db);
    }

    #[test]
    fn removing_an_expired_key_does_not_count() {
        let mut db = Db::default();
        db.set(b"k", b"v", Some(Instant::now() - Duration::from_millis(1)));
        assert!(!db.remove(b"k"));
        assert_eq!(db.len(), 0);
        check(&db);
    }

    #[test]
    fn deadlines_can_change_and_go() {
        let mut db = Db::default();
        let later = Instant::now() + Duration::from_secs(60);
        for key in [&b"a"[..], b"b", b"c"] {
            db.set(key, b"v", Some(later));
        }
        db.set(b"a", b"v", None); // a plain SET clears the deadline
        db.set_deadline(b"b", Some(later + Duration::from_secs(1)));
        check(&db);
        assert_eq!(db.expiring.len(), 2);
        assert_eq!(db.get(b"a").and_then(|e| e.deadline()), None);
        assert!(db.remove(b"c"));
        check(&db);
        assert_eq!(db.expiring.len(), 1);
    }

    #[test]
    fn sweep_removes_expired_keys_in_batches() {
        let mut db = Db::default();
        let now = Instant::now();
        for i in 0..100u32 {
            // Every other key has expired; the rest expire in a minute or never.
            let deadline = match i % 4 {
                0 | 2 => Some(now - Duration::from_millis(1)),
                1 => Some(now + Duration::from_secs(60)),
                _ => None,
            };
            db.set(&i.to_be_bytes(), b"v", deadline);
        }
        assert_eq!(db.expiring.len(), 75);
        // Random samples of 10 find every expired key within a bounded number of rounds.
        let mut removed = 0;
        for _ in 0..200 {
            let (examined, gone) = db.sweep(now, 10);
            assert!(examined <= 10);
            removed += gone;
            check(&db);
        }
        assert_eq!(removed, 50);
        assert_eq!(db.len(), 50);
        assert_eq!(db.expiring.len(), 25);
        assert_eq!(db.sweep(now, 100), (25, 0));
    }
}
