//! `epoll_rt::hyper` (feature `hyper`): the I/O, executor and timer hyper runs on. Serving
//! and fetching HTTP with hyper itself is tested in the crate `integrations/`, which
//! enables hyper's server and client.
//!
//! ```text
//! cargo test --features hyper --test hyper
//! ```
#![cfg(feature = "hyper")]

mod util;

use std::future::{Future, poll_fn};
use std::io::IoSlice;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::time::{Duration, Instant};

use epoll_rt::hyper::{Io, Timer};
use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
use hyper::rt::{Read, ReadBuf, Timer as _, Write};

/// A connected pair of `Io`s.
async fn pair() -> std::io::Result<(Io, Io)> {
    let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    let client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    Ok((Io::new(client), Io::new(listener.accept().await?.0)))
}

/// A vectored write (a response's head and body) is one `sendmsg`, and the reads fill
/// hyper's uninitialised buffer in place, across several calls when it is smaller.
#[test]
fn a_vectored_write_is_one_sendmsg_and_reads_fill_the_cursor() {
    util::watchdog(util::LIMIT, || {
        let rt = epoll_rt::Runtime::new().unwrap();
        // Write syscalls so far, as the reactor counts them.
        let rt_writes = || rt.stats().write_calls;
        rt.block_on(async {
            let (mut client, mut server) = pair().await?;
            let head = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n";
            let parts = [
                IoSlice::new(head),
                IoSlice::new(b"hel"),
                IoSlice::new(b"lo"),
            ];
            let before = rt_writes();
            let n = poll_fn(|cx| Pin::new(&mut server).poll_write_vectored(cx, &parts)).await?;
            assert_eq!(n, head.len() + 5);
            assert_eq!(rt_writes() - before, 1, "one sendmsg for three slices");

            let mut got = Vec::new();
            while got.len() < n {
                let mut storage = [MaybeUninit::uninit(); 16];
                let mut buf = ReadBuf::uninit(&mut storage);
                poll_fn(|cx| Pin::new(&mut client).poll_read(cx, buf.unfilled())).await?;
                assert!(
                    !buf.filled().is_empty(),
                    "no end of file before the message"
                );
                got.extend_from_slice(buf.filled());
            }
            assert_eq!(&got[..head.len()], head);
            assert_eq!(&got[head.len()..], b"hello");

            // Shutdown: the peer reads end of file (an empty fill).
            poll_fn(|cx| Pin::new(&mut server).poll_shutdown(cx)).await?;
            let mut storage = [MaybeUninit::uninit(); 16];
            let mut buf = ReadBuf::uninit(&mut storage);
            poll_fn(|cx| Pin::new(&mut client).poll_read(cx, buf.unfilled())).await?;
            assert!(buf.filled().is_empty());
            Ok::<(), std::io::Error>(())
        })
        .unwrap();
    });
}

/// `Timer::reset` moves one of our sleeps in place, and replaces a sleep of another
/// timer with one of ours.
#[test]
fn timer_reset_moves_our_sleep_and_replaces_a_foreign_one() {
    util::run(|| async {
        let start = Instant::now();
        let mut nap = Timer.sleep(Duration::from_secs(3600));
        Timer.reset(&mut nap, Instant::now() + Duration::from_millis(2));
        nap.await;

        /// A sleep of some other timer, which never completes.
        struct Never;
        impl Future for Never {
            type Output = ();
            fn poll(self: Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<()> {
                std::task::Poll::Pending
            }
        }
        impl hyper::rt::Sleep for Never {}
        let mut foreign: Pin<Box<dyn hyper::rt::Sleep>> = Box::pin(Never);
        Timer.reset(&mut foreign, Instant::now() + Duration::from_millis(2));
        foreign.await; // one of ours now
        assert!(start.elapsed() < Duration::from_secs(60));
    });
}
