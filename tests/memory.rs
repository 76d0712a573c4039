//! What an idle connection costs in memory, in the parts the runtime decides.
//!
//! A server keeps one task per connection, and the task keeps its future for as long as
//! the connection lives. The future of the canonical echo handler (a stream, a buffer, a
//! `read` or a `write_all` in progress) is mostly made of the runtime's own futures, so
//! their size is part of every connection's cost. These are sizes, fixed at compile time:
//! the test is exact and instant. The runtime's per-task and per-descriptor allocations
//! are pinned by unit tests next to their types (`src/scheduler/join.rs`, `src/driver/tests.rs`),
//! and `src/net/memory.rs` adds up every piece of an idle echo connection.

mod server;

use std::io;

use epoll_rt::net::AsyncUnixStream;

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
    // 32 (the stream: registration, socket) + 16 (the buffer, a boxed slice) + the I/O
    // future in progress (32 for `read` and `write_all`: stream reference, waiter ticket,
    // buffer slice; 40 for `read_exact`) + 8 (`n`). `echo_unix` keeps its buffer in a
    // `Vec` (24), and is an `async fn`, which keeps its argument twice (as the argument
    // and as the variable it becomes: 32 more). The same handler built on nested
    // `async fn`s took 256 bytes.
    let tcp = future_size(server::echo); // the echo loop of `examples/echo_server.rs`
    assert_eq!(tcp, 88, "echo handler future");
    let unix = future_size(echo_unix);
    assert_eq!(unix, 136, "Unix echo handler future");
}
