//! The `futures-io` feature: our streams work with the `futures` crate's I/O utilities.
//! Run with `cargo test --features futures-io`.
#![cfg(feature = "futures-io")]

mod util;

use epoll_rt::{AsyncTcpListener, AsyncTcpStream, spawn};
use futures_util::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, copy};

/// An echo server written with `futures::io::copy` on owned halves, driven by a client
/// that reads back lines through `BufReader::lines`.
#[test]
fn copy_and_lines_over_tcp() {
    util::run(|| async {
        let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let server = spawn(async move {
            let (stream, _) = listener.accept().await?;
            let (mut rd, mut wr) = stream.into_split();
            let copied = copy(&mut rd, &mut wr).await?;
            wr.close().await?;
            Ok::<u64, std::io::Error>(copied)
        });

        let client = AsyncTcpStream::connect(addr).await?;
        let (rd, mut wr) = client.into_split();
        let mut text = String::new();
        for i in 0..1000 {
            text.push_str(&format!("line number {i}\n"));
        }
        wr.write_all(text.as_bytes()).await?;
        wr.close().await?; // the server's copy ends at our end of file

        let mut lines = BufReader::new(rd).lines();
        let mut count = 0;
        while let Some(line) = futures_util::StreamExt::next(&mut lines).await {
            assert_eq!(line?, format!("line number {count}"));
            count += 1;
        }
        assert_eq!(count, 1000);
        assert_eq!(server.await??, text.len() as u64);
        Ok::<(), std::io::Error>(())
    })
    .unwrap();
}

/// `read_to_end` and `write_all` from the extension traits on a whole stream.
#[test]
fn read_to_end_on_a_stream() {
    util::run(|| async {
        let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
        let mut client = AsyncTcpStream::connect(listener.local_addr()?).await?;
        let (mut server, _) = listener.accept().await?;
        let payload = util::Rng::new(7).bytes(300_000);
        let expected = payload.clone();
        let writer = spawn(async move {
            AsyncWriteExt::write_all(&mut server, &payload).await?;
            AsyncWriteExt::close(&mut server).await
        });
        let mut received = Vec::new();
        AsyncReadExt::read_to_end(&mut client, &mut received).await?;
        writer.await??;
        assert_eq!(received, expected);
        Ok::<(), std::io::Error>(())
    })
    .unwrap();
}

/// The traits on a Unix stream pair: `copy` from one end into a `Vec`.
#[test]
fn copy_over_a_unix_pair() {
    util::run(|| async {
        let (mut a, mut b) = epoll_rt::net::AsyncUnixStream::pair()?;
        let payload = util::Rng::new(11).bytes(200_000);
        let expected = payload.clone();
        let writer = spawn(async move {
            AsyncWriteExt::write_all(&mut a, &payload).await?;
            AsyncWriteExt::close(&mut a).await
        });
        let mut received = Vec::new();
        copy(&mut b, &mut received).await?;
        writer.await??;
        assert_eq!(received, expected);
        Ok::<(), std::io::Error>(())
    })
    .unwrap();
}

/// The traits' vectored methods are one `sendmsg` / `recvmsg` over all the slices (the
/// traits' defaults would use only the first non-empty one).
#[test]
fn vectored_methods_use_every_slice() {
    use std::io::{IoSlice, IoSliceMut};
    util::run(|| async {
        let (mut a, mut b) = epoll_rt::net::AsyncUnixStream::pair()?;
        let slices = [
            IoSlice::new(b"one "),
            IoSlice::new(b""),
            IoSlice::new(b"call"),
        ];
        assert_eq!(AsyncWriteExt::write_vectored(&mut a, &slices).await?, 8);
        let (mut x, mut y) = ([0u8; 3], [0u8; 8]);
        let mut bufs = [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)];
        // A Unix stream read takes all that one `sendmsg` queued.
        assert_eq!(AsyncReadExt::read_vectored(&mut b, &mut bufs).await?, 8);
        assert_eq!(&x, b"one");
        assert_eq!(&y[..5], b" call");

        let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
        let client = AsyncTcpStream::connect(listener.local_addr()?).await?;
        let (mut server, _) = listener.accept().await?;
        let (mut rd, mut wr) = client.into_split();
        let slices = [IoSlice::new(b"ab"), IoSlice::new(b"cd")];
        assert_eq!(AsyncWriteExt::write_vectored(&mut wr, &slices).await?, 4);
        let mut buf = [0u8; 4];
        AsyncReadExt::read_exact(&mut server, &mut buf).await?;
        assert_eq!(&buf, b"abcd");
        AsyncWriteExt::write_all(&mut server, b"wxyz").await?;
        let (mut x, mut y) = ([0u8; 1], [0u8; 3]);
        // One 4-byte segment, which arrives whole.
        let n = AsyncReadExt::read_vectored(
            &mut rd,
            &mut [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)],
        )
        .await?;
        assert_eq!((n, &x, &y), (4, b"w", b"xyz"));
        Ok::<(), std::io::Error>(())
    })
    .unwrap();
}
