//! What an idle connection costs in memory, piece by piece: the bytes the runtime keeps
//! for one connection of the echo server (`examples/echo_server.rs`, whose task per
//! connection is detached: `spawn_detached`), its 4 KiB buffer aside. Sizes are fixed at compile time, so the test is exact and instant; it pins each
//! piece, so that a change to any of them shows here, with its cost.
//!
//! ```text
//!   heap, one allocation each               slab vectors, one slot each
//!   ┌───────────────────────────────┐       ┌─────────────────────────────┐
//!   │ Box<Detached<handler future>> │       │ scheduler: Task             │
//!   │ Arc<Header>                   │       │ reactor: Rc<IoState>        │
//!   │ Rc<IoState> (waiters inline)  │       └─────────────────────────────┘
//!   └───────────────────────────────┘
//! ```
//!
//! A heap allocation costs what glibc's malloc takes for it: the size plus its 8-byte
//! header, rounded up to 16, and at least 32.

use std::io;

use crate::AsyncTcpStream;

/// The echo loop of `examples/echo_server.rs`, without its race with the server's stop,
/// written as it is there: a `fn` returning an `async move` block, its buffer a boxed slice.
#[expect(
    clippy::manual_async_fn,
    reason = "an `async fn` keeps its argument twice"
)]
fn echo(mut stream: AsyncTcpStream) -> impl Future<Output = io::Result<()>> {
    async move {
        stream.set_nodelay(true)?;
        let mut buf = vec![0u8; 4096].into_boxed_slice();
        loop {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            stream.write_all(&buf[..n]).await?;
        }
    }
}

/// The scheduler's pieces for a detached task running the future `handler` returns
/// (never called).
fn task_sizes<A, F: Future>(_handler: fn(A) -> F) -> [(&'static str, usize); 3] {
    crate::scheduler::detached_task_sizes::<F>()
}

/// The same for a task spawned with a `JoinHandle`: its join state added.
fn joinable_task_sizes<A, F: Future>(_handler: fn(A) -> F) -> [(&'static str, usize); 4] {
    crate::scheduler::task_sizes::<F>()
}

/// What glibc's malloc takes for an allocation of `size` bytes.
fn malloc_chunk(size: usize) -> usize {
    (size + 8).next_multiple_of(16).max(32)
}

/// Each piece with its bytes, the heap's as malloc counts them; the slots as they are.
#[test]
fn an_idle_echo_connection_costs_these_bytes() {
    let [future, header, task_slot] = task_sizes(echo);
    let [state, source_slot] = crate::driver::registration_sizes();
    let heap = [future, header, state].map(|(piece, size)| (piece, malloc_chunk(size)));
    let pieces: Vec<_> = heap.into_iter().chain([task_slot, source_slot]).collect();
    // The future: the stream (32), the buffer's boxed slice (16), the `read` or
    // `write_all` in progress (32) and `n` (8): 88. A task spawned with a `JoinHandle`
    // (dropped or not) also has a join state (a 64-byte chunk) and the future its `Rc`
    // (8 bytes more, a 112-byte chunk): 336 bytes in all. (Written as an `async fn`, the
    // future would keep the stream twice, as the argument and as the variable it
    // becomes.) The header's payload is pinned by `scheduler/join.rs`'s test, the
    // descriptor state's by `driver/tests.rs`'s.
    let expected = [
        ("task future (Box<Detached<F>>)", 96),
        ("task header (Arc<Header>)", 48),
        ("descriptor state (Rc<IoState>)", 64),
        ("scheduler slab slot", 32),
        ("reactor slab slot", 16),
    ];
    assert_eq!(pieces, expected);
    let total: usize = pieces.iter().map(|&(_, bytes)| bytes).sum();
    assert_eq!(total, 256, "bytes per idle connection, its buffer aside");
}

/// The same connection spawned with `spawn`, its `JoinHandle` dropped: the join state, and
/// the future's pointer to it, cost 80 bytes more.
#[test]
fn a_joinable_task_costs_its_join_state_more() {
    let [future, header, join, task_slot] = joinable_task_sizes(echo);
    let heap = [future, header, join].map(|(piece, size)| (piece, malloc_chunk(size)));
    let pieces: Vec<_> = heap.into_iter().chain([task_slot]).collect();
    let expected = [
        ("task future (Box<Spawned<F>>)", 112),
        ("task header (Arc<Header>)", 48),
        ("join state (Rc<JoinState>)", 64),
        ("scheduler slab slot", 32),
    ];
    assert_eq!(pieces, expected);
    let [_, detached_header, detached_slot] = task_sizes(echo);
    assert_eq!((detached_header, detached_slot), (header, task_slot));
}
