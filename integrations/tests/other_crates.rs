//! The examples of `docs/other-crates.md`: crates written for other runtimes, on epoll-rt.
//!
//! - futures-io crates: `futures-util`'s `BufReader` and `lines()` on a TCP stream;
//! - tokio-trait crates through `tokio_util::compat`: a `Framed` line codec;
//! - channels: tokio's `mpsc`, fed from another thread;
//! - `select!` (futures-util's);
//! - tracing spans on tasks;
//! - and what does not work: a tokio timer, which needs tokio's runtime, panics.
//!
//! Every test runs under `epoll_rt::time::timeout`, so a lost wake-up fails it.

use std::future::Future;
use std::io;
use std::time::Duration;

use epoll_rt::time::timeout;
use epoll_rt::{AsyncTcpListener, AsyncTcpStream};

/// Longest a test may take.
const LIMIT: Duration = Duration::from_secs(20);

/// Runs `test` on a new runtime, under [`LIMIT`].
fn run<F: Future<Output = io::Result<()>>>(test: F) {
    epoll_rt::block_on(async { timeout(LIMIT, test).await.expect("the test timed out") }).unwrap();
}

/// A connected pair of streams.
async fn pair() -> io::Result<(AsyncTcpStream, AsyncTcpStream)> {
    let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    let client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    Ok((client, listener.accept().await?.0))
}

/// futures-io: with the feature `futures-io`, the streams are `futures_io::AsyncRead` and
/// `AsyncWrite`, and everything built on those works on them as is.
#[test]
fn futures_io_buf_reader_lines() {
    use futures_util::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use futures_util::stream::TryStreamExt;

    run(async {
        let (mut client, server) = pair().await?;
        client.write_all(b"one\ntwo\n").await?;
        client.close().await?; // shuts down the writing side: the reader sees the end
        let lines: Vec<String> = BufReader::new(server).lines().try_collect().await?;
        assert_eq!(lines, ["one", "two"]);
        Ok(())
    });
}

/// tokio's I/O traits: `tokio_util::compat` turns a futures-io stream into a tokio one,
/// for codecs and other crates written against tokio's traits.
#[test]
fn tokio_codec_through_compat() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_util::codec::{Framed, LinesCodec};
    use tokio_util::compat::FuturesAsyncReadCompatExt;

    run(async {
        let (client, server) = pair().await?;
        let mut client = Framed::new(client.compat(), LinesCodec::new());
        let mut server = Framed::new(server.compat(), LinesCodec::new());
        client.send("ping").await.map_err(io::Error::other)?;
        let line = server
            .next()
            .await
            .expect("a line")
            .map_err(io::Error::other)?;
        assert_eq!(line, "ping");
        server.send("pong").await.map_err(io::Error::other)?;
        let line = client
            .next()
            .await
            .expect("a line")
            .map_err(io::Error::other)?;
        assert_eq!(line, "pong");
        Ok(())
    });
}

/// Channels need no runtime: tokio's `mpsc`, fed by a plain thread, wakes the task
/// through its `Waker` (a remote wake: the runtime's eventfd).
#[test]
fn tokio_channel_fed_from_another_thread() {
    run(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let feeder = std::thread::spawn(move || {
            for i in 0..100 {
                tx.blocking_send(i).expect("the receiver is alive");
            }
        });
        let mut sum = 0;
        while let Some(i) = rx.recv().await {
            sum += i;
        }
        feeder.join().expect("the feeder thread");
        assert_eq!(sum, (0..100).sum::<i32>());
        Ok(())
    });
}

/// `select!`: futures-util's works on any runtime (it only polls futures).
#[test]
fn select_a_read_against_a_sleep() {
    use futures_util::{FutureExt, select};

    run(async {
        let (mut client, _server) = pair().await?;
        let mut buf = [0; 16];
        let which = select! {
            _ = client.read(&mut buf).fuse() => "read",
            _ = epoll_rt::time::sleep(Duration::from_millis(10)).fuse() => "sleep",
        };
        assert_eq!(which, "sleep", "nothing was sent");
        Ok(())
    });
}

/// tracing: a span attached with `Instrument::instrument` is entered at every poll of the
/// task, whichever executor polls it.
#[test]
fn a_tracing_span_follows_its_task() {
    use tracing::Instrument;

    tracing::subscriber::with_default(tracing_subscriber::registry(), || {
        run(async {
            let span = tracing::info_span!("connection", id = 7);
            let task = epoll_rt::spawn(
                async {
                    epoll_rt::yield_now().await; // entered again at the second poll
                    tracing::Span::current().metadata().map(|m| m.name())
                }
                .instrument(span),
            );
            assert_eq!(task.await.unwrap(), Some("connection"));
            assert!(tracing::Span::current().is_none(), "left outside the task");
            Ok(())
        })
    });
}

/// What does not work: anything that calls into tokio's runtime (its timers, its sockets,
/// `tokio::spawn`) panics at run time, with tokio's "no reactor running" message, since
/// no tokio runtime is there. The crate compiles; the first poll panics.
#[test]
fn a_tokio_timer_panics_without_a_tokio_runtime() {
    let panic = std::panic::catch_unwind(|| {
        epoll_rt::block_on(tokio::time::sleep(Duration::from_millis(1)));
    })
    .expect_err("tokio's sleep needs tokio's runtime");
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    assert!(
        message.contains("must be called from the context of a Tokio 1.x runtime"),
        "{message}"
    );
}
