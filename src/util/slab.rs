//! A slab: a `Vec` of slots reused through a free list, addressed by generational keys.
//!
//! Both the reactor (one slot per registered descriptor) and the scheduler (one slot per
//! spawned task) need "store this, give me a small key, find it again in O(1)". A key
//! carries the slot's *generation*, bumped each time the slot is freed, so a stale key (an
//! epoll event for a descriptor deregistered earlier in the same batch, a waker of a task
//! that finished) finds nothing instead of finding the slot's next occupant.

/// A key returned by [`Slab::insert`]: slot index plus the slot's generation at insertion.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Key {
    /// Position in the slab's vector.
    index: u32,
    /// Generation of the slot when this key was made.
    generation: u32,
}

impl Key {
    /// A key that no slab hands out (index 2^32 - 1 is never reached), for an entry kept
    /// outside any slab: the future passed to `block_on`.
    pub(crate) const RESERVED: Key = Key {
        index: u32::MAX,
        generation: u32::MAX,
    };

    /// The slot index: small and stable while the value lives, handy in traces.
    pub(crate) fn index(self) -> u32 {
        self.index
    }

    /// Packs the key into 64 bits (an epoll token).
    pub(crate) fn to_u64(self) -> u64 {
        (u64::from(self.generation) << 32) | u64::from(self.index)
    }

    /// Unpacks a key made by [`to_u64`](Self::to_u64).
    pub(crate) fn from_u64(bits: u64) -> Self {
        Self {
            index: bits as u32,
            generation: (bits >> 32) as u32,
        }
    }
}

/// One slot: its current generation and its value, if occupied.
struct Slot<T> {
    /// Bumped when the slot is vacated, so keys to the old value stop matching.
    generation: u32,
    /// The stored value; `None` while the slot sits on the free list.
    value: Option<T>,
}

/// A growable store of `T` with stable, generation-checked keys.
pub(crate) struct Slab<T> {
    /// All slots ever allocated; never shrinks.
    slots: Vec<Slot<T>>,
    /// Indices of vacant slots, reused last-in first-out (the warmest cache lines first).
    free: Vec<u32>,
    /// Number of occupied slots.
    len: usize,
}

impl<T> Slab<T> {
    /// Bytes of one slot, what each stored value costs in the slab's vector (the memory
    /// tests add it up per connection).
    #[cfg(test)]
    pub(crate) const SLOT_SIZE: usize = std::mem::size_of::<Slot<T>>();

    /// An empty slab.
    pub(crate) const fn new() -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }

    /// Number of stored values.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Stores `value` and returns its key.
    ///
    /// `#[inline]`: without it the compiler made it a call in the timer queue's insert
    /// (after an unrelated change elsewhere), and inserting a timer among a million took
    /// 52 ns where it had taken 47 (`cargo bench --bench timers`).
    #[inline]
    pub(crate) fn insert(&mut self, value: T) -> Key {
        self.len += 1;
        if let Some(index) = self.free.pop() {
            let slot = &mut self.slots[index as usize];
            slot.value = Some(value);
            return Key {
                index,
                generation: slot.generation,
            };
        }
        let index = u32::try_from(self.slots.len()).expect("more than 2^32 live slab entries");
        self.slots.push(Slot {
            generation: 0,
            value: Some(value),
        });
        Key {
            index,
            generation: 0,
        }
    }

    /// Stores the value `make` builds from its own key, and returns the key.
    pub(crate) fn insert_with(&mut self, make: impl FnOnce(Key) -> T) -> Key {
        let key = self.next_key();
        let inserted = self.insert(make(key));
        debug_assert_eq!(inserted, key);
        inserted
    }

    /// The key the next [`insert`](Self::insert) will return.
    fn next_key(&self) -> Key {
        match self.free.last() {
            Some(&index) => Key {
                index,
                generation: self.slots[index as usize].generation,
            },
            None => Key {
                index: self.slots.len() as u32,
                generation: 0,
            },
        }
    }

    /// The value stored under `key`, unless it was removed since.
    pub(crate) fn get(&self, key: Key) -> Option<&T> {
        match self.slots.get(key.index as usize) {
            Some(slot) if slot.generation == key.generation => slot.value.as_ref(),
            _ => None,
        }
    }

    /// Asks the CPU to start loading the slot of `key` (see `scheduler/lookahead.rs`).
    #[inline]
    pub(crate) fn prefetch(&self, key: Key) {
        if let Some(slot) = self.slots.get(key.index as usize) {
            crate::sys::prefetch::prefetch(slot);
        }
    }

    /// The value stored under `key`, mutably, unless it was removed since.
    pub(crate) fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        match self.slots.get_mut(key.index as usize) {
            Some(slot) if slot.generation == key.generation => slot.value.as_mut(),
            _ => None,
        }
    }

    /// Takes the value under `key` out, leaving its slot reserved: no insert reuses it,
    /// and `key` stays good for [`put_back`](Self::put_back) and
    /// [`remove`](Self::remove). `None` if `key` is stale or its value is out already.
    ///
    /// The scheduler takes a task out while it polls it, so that the task can spawn
    /// (which inserts here) mid-poll. A slot with its own "taken" state, rather than a slab
    /// of `Option`s, saves the second `Option`'s tag: 8 bytes per task.
    #[inline]
    pub(crate) fn take(&mut self, key: Key) -> Option<T> {
        match self.slots.get_mut(key.index as usize) {
            Some(slot) if slot.generation == key.generation => slot.value.take(),
            _ => None,
        }
    }

    /// Puts `value` back under `key`, whose value [`take`](Self::take) took out.
    #[inline]
    pub(crate) fn put_back(&mut self, key: Key, value: T) {
        match self.slots.get_mut(key.index as usize) {
            Some(slot) if slot.generation == key.generation => {
                debug_assert!(slot.value.is_none(), "put back over a value");
                slot.value = Some(value);
            }
            _ => debug_assert!(false, "put back under a stale key"),
        }
    }

    /// Removes and returns the value under `key`, and frees its slot: the slot's
    /// generation moves on. A slot whose value was taken out is freed too (and `None`
    /// returned): `key` still names it.
    pub(crate) fn remove(&mut self, key: Key) -> Option<T> {
        let slot = self.slots.get_mut(key.index as usize)?;
        if slot.generation != key.generation {
            return None;
        }
        let value = slot.value.take();
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(key.index);
        self.len -= 1;
        value
    }

    /// Every stored value, in slot order (a value taken out is not among them).
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().filter_map(|slot| slot.value.as_ref())
    }

    /// Removes every value, returning them; keys handed out before stop matching. (A
    /// value taken out is not returned, and its slot stays reserved.)
    pub(crate) fn drain(&mut self) -> Vec<T> {
        let mut values = Vec::with_capacity(self.len);
        for (index, slot) in self.slots.iter_mut().enumerate() {
            if let Some(value) = slot.value.take() {
                slot.generation = slot.generation.wrapping_add(1);
                self.free.push(index as u32);
                values.push(value);
            }
        }
        self.len = 0;
        values
    }
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_keys_find_nothing() {
        let mut slab = Slab::new();
        let a = slab.insert("a");
        assert_eq!(slab.remove(a), Some("a"));
        let b = slab.insert("b");
        // Same slot, new generation: the old key must not reach the new value.
        assert_eq!(slab.get(a), None);
        assert_eq!(slab.remove(a), None);
        assert_eq!(slab.get(b), Some(&"b"));
        assert_eq!(slab.iter().collect::<Vec<_>>(), [&"b"]);
        assert_eq!(Key::from_u64(b.to_u64()), b);
        assert_eq!(slab.len(), 1);
        assert_eq!(slab.drain(), vec!["b"]);
        assert_eq!(slab.get(b), None);
        assert_eq!(slab.len(), 0);
    }

    #[test]
    fn a_taken_value_keeps_its_slot_until_put_back_or_removed() {
        let mut slab = Slab::new();
        let a = slab.insert("a");
        assert_eq!(slab.take(a), Some("a"));
        assert_eq!(slab.take(a), None, "already out");
        assert_eq!(slab.get(a), None);
        // Reserved: an insert meanwhile gets another slot.
        let b = slab.insert("b");
        assert_ne!(b.index(), a.index());
        assert_eq!(slab.len(), 2);
        slab.put_back(a, "a again");
        assert_eq!(slab.get(a), Some(&"a again"));
        // Taken out and removed: the slot is freed, and the key goes stale.
        assert_eq!(slab.take(a), Some("a again"));
        assert_eq!(slab.remove(a), None);
        assert_eq!(slab.len(), 1);
        let c = slab.insert("c");
        assert_eq!(c.index(), a.index(), "the freed slot is reused");
        assert_eq!(slab.take(a), None, "a stale key takes nothing");
    }
}
