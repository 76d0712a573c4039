//! Chapter 3 of the guide (`docs/guide/03-futures-and-wakers.md`, "Pin and wakers in
//! depth"): what an `async fn`'s future holds, what pinning costs, what a `Waker` is made
//! of, how `join` and `select` poll their children, and why a spawned task is `'static`.
//!
//! 1. `size_of_val` of `async fn` futures: what lives across an `.await` is in the future,
//!    and an `async fn` keeps its arguments twice, where an `async move` block keeps them
//!    once.
//! 2. `pin!` pins on the stack, `Box::pin` on the heap: counted by a global allocator.
//! 3. `Waker::from(Arc<impl Wake>)`: the waker's data pointer is the `Arc`'s, its vtable
//!    one per type, and a clone is a reference count.
//! 4. A two-child `join` polls every unfinished child at each of its polls, whichever the
//!    wake was for; a `select` drops the loser, whose `Drop` runs at once, synchronously:
//!    there is no async drop.
//! 5. A task outlives the function that spawned it: why `spawn` wants `'static`.
//!
//! ```text
//! cargo run --example guide_ch03_pin
//! ```
//!
//! Exits with status 0 if every claim held, 1 otherwise.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

// ---------------------------------------------------------------------------------------
// An allocator that counts allocations, to see which pinning allocates.

/// The system allocator, counting every allocation.
struct Counting;

/// Allocations made so far by the whole program.
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above, that is, from the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

// ---------------------------------------------------------------------------------------
// 1. What an async fn's future holds.

/// Awaits once, holding nothing across the `.await`.
async fn holds_nothing() {
    epoll_rt::yield_now().await;
}

/// Holds a 1 KiB array across the `.await`: the array is part of the future.
async fn holds_a_buffer() -> u8 {
    let buf = [7u8; 1024];
    epoll_rt::yield_now().await;
    buf[1023]
}

/// Uses a 1 KiB array, but drops it before the `.await`: the future need not keep it.
async fn uses_a_buffer_before() -> u8 {
    let last = {
        let buf = [7u8; 1024];
        buf[1023]
    };
    epoll_rt::yield_now().await;
    last
}

/// Takes a 1 KiB array as its argument and uses it after the `.await`.
async fn takes_a_buffer(buf: [u8; 1024]) -> u8 {
    epoll_rt::yield_now().await;
    buf[1023]
}

/// The same, as a plain `fn` returning an `async move` block, which captures the
/// argument and uses it where it is.
#[expect(
    clippy::manual_async_fn,
    reason = "the point: an `async fn` keeps `buf` twice"
)]
fn takes_a_buffer_moved(buf: [u8; 1024]) -> impl Future<Output = u8> {
    async move {
        epoll_rt::yield_now().await;
        buf[1023]
    }
}

// ---------------------------------------------------------------------------------------
// 3. A waker built from an Arc.

/// A `Wake` implementation that counts its wakes.
struct CountingWake {
    /// Wakes so far.
    wakes: AtomicUsize,
}

impl Wake for CountingWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::Relaxed);
    }
}

// ---------------------------------------------------------------------------------------
// 4. join and select, by hand.

/// A future that is `Pending` the first `pendings` times it is polled (waking itself each
/// time), then `Ready(name)`; it counts its polls, and says when it is dropped.
struct Child {
    /// Its name, returned when ready.
    name: &'static str,
    /// `Pending`s still to return.
    pendings: u32,
    /// How many times it was polled.
    polls: Rc<Cell<u32>>,
    /// Set when it is dropped.
    dropped: Rc<Cell<bool>>,
}

impl Future for Child {
    type Output = &'static str;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        self.polls.set(self.polls.get() + 1);
        if self.pendings == 0 {
            return Poll::Ready(self.name);
        }
        self.pendings -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        // Whatever cleanup there is happens here, now, without awaiting anything.
        self.dropped.set(true);
    }
}

/// A child and the counters it shares with the caller.
fn child(name: &'static str, pendings: u32) -> (Child, Rc<Cell<u32>>, Rc<Cell<bool>>) {
    let (polls, dropped) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(false)));
    let child = Child {
        name,
        pendings,
        polls: polls.clone(),
        dropped: dropped.clone(),
    };
    (child, polls, dropped)
}

/// Both outputs, once both children are ready. Each poll polls every child not yet done:
/// the simple join (`futures::join!` does the same), which cannot tell which child a wake
/// was for.
async fn join2<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut out_a, mut out_b) = (None, None);
    poll_fn(move |cx| {
        if out_a.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                out_a = Some(v);
            }
        }
        if out_b.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                out_b = Some(v);
            }
        }
        if out_a.is_some() && out_b.is_some() {
            Poll::Ready((out_a.take().expect("set"), out_b.take().expect("set")))
        } else {
            Poll::Pending
        }
    })
    .await
}

/// The first output, `a` polled first; the other child is dropped when this returns.
async fn select2<T>(a: impl Future<Output = T>, b: impl Future<Output = T>) -> T {
    let (mut a, mut b) = (pin!(a), pin!(b));
    poll_fn(move |cx| {
        if let Poll::Ready(v) = a.as_mut().poll(cx) {
            return Poll::Ready(v);
        }
        b.as_mut().poll(cx)
    })
    .await
}

// ---------------------------------------------------------------------------------------
// 5. A task outlives its spawner.

/// Spawns a task and returns at once. The task can hold only what it owns: this
/// function's locals are gone before it runs.
fn spawn_and_return(log: Rc<Cell<u32>>) -> epoll_rt::JoinHandle<()> {
    let local = 41; // copied into the task: `move`
    epoll_rt::spawn(async move {
        epoll_rt::yield_now().await;
        log.set(local + 1);
    })
}

fn main() -> ExitCode {
    let mut ok = true;
    let mut check = |claim: bool, what: &str| {
        if !claim {
            eprintln!("NOT AS THE GUIDE SAYS: {what}");
            ok = false;
        }
    };

    // 1. Sizes.
    let nothing = std::mem::size_of_val(&holds_nothing());
    let buffer = std::mem::size_of_val(&holds_a_buffer());
    let before = std::mem::size_of_val(&uses_a_buffer_before());
    println!("1. size_of_val of the future of an async fn that");
    println!("   holds nothing across its .await:          {nothing} bytes");
    println!("   holds a [u8; 1024] across its .await:     {buffer} bytes");
    println!("   drops its [u8; 1024] before its .await:   {before} bytes");
    let argument = std::mem::size_of_val(&takes_a_buffer([7; 1024]));
    let moved = std::mem::size_of_val(&takes_a_buffer_moved([7; 1024]));
    println!("   takes a [u8; 1024] argument, used after:  {argument} bytes");
    println!("   the same, as a fn returning async move:   {moved} bytes");
    check(argument >= 2 * 1024, "an async fn keeps its argument twice");
    check(moved < 2 * 1024, "an async move block keeps it once");
    check(
        buffer >= 1024 + nothing,
        "a buffer held across .await is in the future",
    );
    check(before < 1024, "a buffer dropped before .await is not");

    // 2. Pinning: on the stack, or on the heap.
    let start = ALLOCATIONS.load(Ordering::Relaxed);
    let on_stack = pin!(holds_a_buffer());
    let stack_allocs = ALLOCATIONS.load(Ordering::Relaxed) - start;
    let start = ALLOCATIONS.load(Ordering::Relaxed);
    let on_heap: Pin<Box<dyn Future<Output = u8>>> = Box::pin(holds_a_buffer());
    let heap_allocs = ALLOCATIONS.load(Ordering::Relaxed) - start;
    println!(
        "2. pin!: {stack_allocs} allocation(s), a Pin<&mut _> of {} bytes; \
         Box::pin: {heap_allocs} allocation(s), a Pin<Box<dyn Future>> of {} bytes",
        std::mem::size_of_val(&on_stack),
        std::mem::size_of_val(&on_heap)
    );
    check(
        stack_allocs == 0 && heap_allocs == 1,
        "pin! allocates nothing, Box::pin once",
    );
    drop((on_stack, on_heap));

    // 3. A waker from an Arc: its data pointer is the Arc's, and it counts references.
    let wake = Arc::new(CountingWake {
        wakes: AtomicUsize::new(0),
    });
    let waker = Waker::from(wake.clone());
    let same_data = std::ptr::eq(waker.data(), Arc::as_ptr(&wake).cast::<()>());
    let other = Waker::from(Arc::new(CountingWake {
        wakes: AtomicUsize::new(0),
    }));
    let same_vtable = waker.vtable() == other.vtable();
    let before_clone = Arc::strong_count(&wake);
    let clone = waker.clone();
    let after_clone = Arc::strong_count(&wake);
    clone.wake(); // consumes the clone: Wake::wake, then one reference fewer
    waker.wake_by_ref();
    println!(
        "3. Waker::from(Arc): data pointer = the Arc's: {same_data}; one vtable per type: \
         {same_vtable}; strong count {before_clone} -> clone -> {after_clone} -> wake -> {}; \
         wakes counted: {}",
        Arc::strong_count(&wake),
        wake.wakes.load(Ordering::Relaxed)
    );
    check(
        same_data && same_vtable,
        "a waker is the Arc's pointer and the type's vtable",
    );
    check(
        after_clone == before_clone + 1 && Arc::strong_count(&wake) == before_clone,
        "cloning a waker clones the Arc, waking by value drops the clone",
    );
    check(
        wake.wakes.load(Ordering::Relaxed) == 2,
        "both wakes reached Wake",
    );

    // 4. join polls every child at every wake; select drops the loser, synchronously.
    // `a` wakes itself three times; `b` waits for a flag that `a` sets (and wakes it) as
    // it finishes: woken once, `b` is still polled at every one of the join's polls.
    let flag = Rc::new(Cell::new(false));
    let parked: Rc<Cell<Option<Waker>>> = Rc::default();
    let (b_polls, b_wakes) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    let (a, a_polls, _) = child("a", 3);
    let a = {
        let (flag, parked, b_wakes) = (flag.clone(), parked.clone(), b_wakes.clone());
        async move {
            let out = a.await;
            flag.set(true);
            if let Some(waker) = parked.take() {
                b_wakes.set(b_wakes.get() + 1);
                waker.wake();
            }
            out
        }
    };
    let b = {
        let b_polls = b_polls.clone();
        poll_fn(move |cx| {
            b_polls.set(b_polls.get() + 1);
            if flag.get() {
                return Poll::Ready("b");
            }
            parked.set(Some(cx.waker().clone()));
            Poll::Pending
        })
    };
    let joined = epoll_rt::block_on(join2(a, b));
    println!(
        "4. join2(a, b) = {joined:?}: a was polled {} times, b {} times, though woken {} time",
        a_polls.get(),
        b_polls.get(),
        b_wakes.get()
    );
    check(
        a_polls.get() == 4 && b_polls.get() == 4 && b_wakes.get() == 1,
        "join polls every child at each of its polls, whichever the wake was for",
    );
    let (fast, _, _) = child("fast", 1);
    let (slow, slow_polls, slow_dropped) = child("slow", 3);
    let dropped_when_select_returned = Rc::new(Cell::new(false));
    let winner = epoll_rt::block_on({
        let seen = dropped_when_select_returned.clone();
        let slow_dropped = slow_dropped.clone();
        async move {
            let winner = select2(fast, slow).await;
            seen.set(slow_dropped.get());
            winner
        }
    });
    println!(
        "   select2(fast, slow) = {winner:?}; slow was polled {} times, then dropped before \
         select2 returned: {}",
        slow_polls.get(),
        dropped_when_select_returned.get()
    );
    check(
        winner == "fast" && dropped_when_select_returned.get(),
        "select drops the loser before it returns",
    );

    // 5. A spawned task outlives its spawner's stack frame.
    let log = Rc::new(Cell::new(0));
    let ran_after_return = epoll_rt::block_on({
        let log = log.clone();
        async move {
            let handle = spawn_and_return(log.clone());
            let before = log.get(); // spawn_and_return has returned; the task has not run
            handle.await.is_ok() && before == 0 && log.get() == 42
        }
    });
    println!("5. the task ran after spawn_and_return had returned: {ran_after_return}");
    check(ran_after_return, "a task runs after its spawner returned");

    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
