//! What an idle connection costs in memory, in the parts the runtime decides.
//!
//! A server keeps one task per connection, and the task keeps its future for as long as
//! the connection lives. The future of the canonical echo handler (a stream, a buffer, a
//! `read` or a `write_all` in progress) is mostly made of the runtime's own futures, so
//! their size is part of every connection's cost. These are sizes, fixed at compile time:
//! the test is exact and instant. One more test counts heap bytes (a counting global
//! allocator): a detached task frees its join state. The runtime's per-task and per-descriptor allocations
//! are pinned by unit tests next to their types (`src/scheduler/join.rs`, `src/driver/tests.rs`),
//! and `src/net/memory.rs` adds up every piece of an idle echo connection.

mod server;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::pending;
use std::io;

use epoll_rt::net::AsyncUnixStream;

/// The system allocator, counting the bytes each thread allocated and has not yet freed
/// (per thread, so that the test harness's other threads do not disturb a count).
struct Counting;

thread_local! {
    /// Bytes this thread has live on the heap, as requested (malloc's overhead not
    /// counted). A `const` cell: no lazy initialisation, no destructor, so the allocator
    /// may use it at any time.
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

/// Adds `bytes` to this thread's count (`try_with`: a thread being torn down has none).
fn count(bytes: isize) {
    let _ = LIVE.try_with(|live| live.set(live.get() + bytes));
}

// SAFETY: forwards every call to `System` unchanged; the counter is only arithmetic.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        // SAFETY: the caller's contract for `alloc` is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        // SAFETY: `ptr` came from `alloc` above with this `layout`, so from `System`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// An echo handler over a Unix stream, with `read_exact` as well.
async fn echo_unix(mut stream: AsyncUnixStream) -> io::Result<()> {
    let mut buf = vec![0u8; 4096];
    loop {
        stream.read_exact(&mut buf[..4]).await?;
        let n = stream.read(&mut buf).await?;
        stream.write_all(&buf[..n]).await?;
    }
}

/// Size of the future `f` would return, without running it (nothing here is polled, so no
/// runtime and no socket is needed: `f` is never called).
fn future_size<A, F: Future>(_: fn(A) -> F) -> usize {
    std::mem::size_of::<F>()
}

#[test]
fn echo_handler_future_stays_small() {
    // 40 (the stream: registration, budget handle, socket) + 24 (buffer) + the I/O
    // future in progress (32 for `read` and `write_all`: stream reference, waiter ticket,
    // buffer slice; 40 for `read_exact`) + 8 (`n`). `echo_unix` is an `async fn`, which
    // keeps its argument twice (as the argument and as the variable it becomes: 40 more).
    // The same handler built on nested `async fn`s took 256 bytes.
    let tcp = future_size(server::echo); // the echo loop of `examples/echo_server.rs`
    assert!(tcp <= 104, "echo handler future: {tcp} bytes");
    let unix = future_size(echo_unix);
    assert!(unix <= 152, "Unix echo handler future: {unix} bytes");
}

/// Heap bytes per task, with `tasks` pending tasks spawned, each polled once, and their
/// handles kept or dropped at once (as a server does for its connections).
fn heap_per_task(tasks: usize, keep_handles: bool) -> usize {
    epoll_rt::block_on(async move {
        let mut handles = Vec::with_capacity(if keep_handles { tasks } else { 0 });
        let before = LIVE.with(Cell::get);
        for _ in 0..tasks {
            let handle = epoll_rt::spawn(pending::<()>());
            if keep_handles {
                handles.push(handle);
            }
        }
        epoll_rt::yield_now().await; // every task polled once, and pending
        let bytes = LIVE.with(Cell::get) - before;
        for handle in &handles {
            handle.abort();
        }
        usize::try_from(bytes).expect("tasks take memory") / tasks
    })
}

/// A task whose `JoinHandle` is dropped frees the state it shared with the handle at its
/// first pending poll, so an idle connection's task does not keep it. Kept handles keep
/// it: 48 bytes requested for a `()` output (the `Rc`'s counts, the output slot, the
/// joiner's waker), 64 with malloc's overhead. (The vector of handles is allocated before
/// the count starts.) Without the freeing, both figures were 136 bytes.
#[test]
fn a_detached_task_keeps_no_join_state() {
    let kept = heap_per_task(1000, true);
    let dropped = heap_per_task(1000, false);
    assert!(
        kept >= dropped + 48,
        "per task: {kept} bytes with handles, {dropped} without"
    );
}
