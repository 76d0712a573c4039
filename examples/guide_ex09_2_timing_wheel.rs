//! Guide, chapter 9, exercise 2: write a one-level timing wheel, and compare it with
//! chapter 8's heap.
//!
//! 64 slots of 1 ms each. A timer goes into the slot of its deadline (modulo 64) with the
//! number of full turns still to wait: O(1), where the heap pays O(log n). Each tick
//! advances one slot and fires the timers there whose turns are used up. The price:
//! deadlines are whole ticks, so a timer asked for 2.5 ms fires at the 3 ms tick; and
//! timers far away are visited once per turn until due (tokio's six levels avoid that).
//!
//! ```text
//! cargo run --example guide_ex09_2_timing_wheel
//! ```

/// Slots in the wheel: one turn is 64 ticks.
const SLOTS: u64 = 64;

/// A timer in a slot.
struct Entry {
    /// Whose timer it is.
    id: u32,
    /// Full turns of the wheel to wait before it fires.
    turns: u64,
}

/// A hashed timing wheel of `SLOTS` slots, one tick each.
struct Wheel {
    /// The timers, by deadline modulo `SLOTS`.
    slots: Vec<Vec<Entry>>,
    /// The current tick.
    now: u64,
}

impl Wheel {
    fn new() -> Self {
        Wheel {
            slots: (0..SLOTS).map(|_| Vec::new()).collect(),
            now: 0,
        }
    }

    /// Schedules `id` at tick `deadline` (rounded up by the caller); O(1).
    fn insert(&mut self, id: u32, deadline: u64) {
        // A deadline already past fires at the next tick.
        let deadline = deadline.max(self.now + 1);
        let turns = (deadline - self.now - 1) / SLOTS;
        self.slots[(deadline % SLOTS) as usize].push(Entry { id, turns });
    }

    /// Advances one tick and returns the ids that fire at it.
    fn tick(&mut self) -> Vec<u32> {
        self.now += 1;
        let slot = &mut self.slots[(self.now % SLOTS) as usize];
        let mut fired = Vec::new();
        slot.retain_mut(|entry| {
            if entry.turns == 0 {
                fired.push(entry.id);
                false
            } else {
                entry.turns -= 1; // Visited once per turn until due.
                true
            }
        });
        fired
    }
}

fn main() {
    let mut wheel = Wheel::new();
    // Deadlines in ms, some beyond one turn (64), two in the same slot (5 and 69).
    let deadlines = [(1, 5), (2, 69), (3, 3), (4, 130), (5, 64), (6, 5)];
    for (id, at) in deadlines {
        wheel.insert(id, at);
    }
    let mut fired = Vec::new();
    for _ in 0..200 {
        for id in wheel.tick() {
            fired.push((id, wheel.now));
        }
    }
    println!("fired (id, tick): {fired:?}");
    // Every timer fires exactly at its deadline, in deadline order (ties in insert order).
    let mut expected: Vec<(u32, u64)> = deadlines.to_vec();
    expected.sort_by_key(|&(_, at)| at);
    assert_eq!(fired, expected);
    // A 2.5 ms timer: rounded up to the 3 ms tick, as tokio rounds to the millisecond.
    let mut wheel = Wheel::new();
    wheel.insert(7, 2.5f64.ceil() as u64);
    let ticks = (1..=5).find(|_| !wheel.tick().is_empty());
    assert_eq!(ticks, Some(3));
}
