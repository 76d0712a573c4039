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

/// The traits on the halves of a split Unix stream: an echo with `copy` between owned
/// halves, read back through borrowed halves.
#[test]
fn copy_between_unix_stream_halves() {
    util::run(|| async {
        let (server, mut client) = epoll_rt::net::AsyncUnixStream::pair()?;
        let echo = spawn(async move {
            let (mut rd, mut wr) = server.into_split();
            let copied = copy(&mut rd, &mut wr).await?;
            wr.close().await?;
            Ok::<u64, std::io::Error>(copied)
        });
        let payload = util::Rng::new(13).bytes(100_000);
        // The inherent `split`, named in full: with `AsyncReadExt` in scope, `client.split()`
        // would pick the extension trait's by-value `split` first.
        let (mut rd, mut wr) = epoll_rt::net::AsyncUnixStream::split(&mut client);
        let (written, received) = futures_util::future::join(
            async {
                AsyncWriteExt::write_all(&mut wr, &payload).await?;
                AsyncWriteExt::close(&mut wr).await
            },
            async {
                let mut received = Vec::new();
                AsyncReadExt::read_to_end(&mut rd, &mut received).await?;
                Ok::<_, std::io::Error>(received)
            },
        )
        .await;
        written?;
        assert!(received? == payload, "bytes lost, reordered or corrupted");
        assert_eq!(echo.await??, payload.len() as u64);
        Ok::<(), std::io::Error>(())
    })
    .unwrap();
}

/// A child's pipes: `copy` into `cat`'s standard input, `read_to_end` of its output.
#[test]
fn copy_through_a_child_process() {
    use epoll_rt::process::{Command, Stdio};
    util::run(|| async {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let mut stdin = child.stdin.take().expect("piped");
        let payload = util::Rng::new(13).bytes(300_000);
        let expected = payload.clone();
        let writer = spawn(async move {
            copy(&mut payload.as_slice(), &mut stdin).await?;
            AsyncWriteExt::close(&mut stdin).await
            // stdin dropped here: cat reads end of file
        });
        let mut received = Vec::new();
        let mut stdout = child.stdout.take().expect("piped");
        AsyncReadExt::read_to_end(&mut stdout, &mut received).await?;
        writer.await??;
        assert!(received == expected, "cat echoed other bytes");
        assert!(child.wait().await?.success());
        Ok::<(), std::io::Error>(())
    })
    .unwrap();
}

/// A file through the traits: `copy` into it, seek back, `read_to_end` out of it.
#[test]
fn copy_into_a_file_and_read_it_back() {
    use futures_util::io::AsyncSeekExt;
    let path = std::env::temp_dir().join(format!("epoll-rt-futures-io-{}", std::process::id()));
    let written = path.clone();
    util::run(move || async move {
        let mut file = epoll_rt::fs::File::from_std(
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&written)?,
        );
        let payload = util::Rng::new(17).bytes(3 << 20);
        copy(&mut payload.as_slice(), &mut file).await?;
        AsyncWriteExt::flush(&mut file).await?;
        assert_eq!(
            AsyncSeekExt::seek(&mut file, std::io::SeekFrom::Start(0)).await?,
            0
        );
        let mut back = Vec::new();
        AsyncReadExt::read_to_end(&mut file, &mut back).await?;
        assert!(back == payload, "read back other bytes");
        Ok::<(), std::io::Error>(())
    })
    .unwrap();
    std::fs::remove_file(&path).unwrap();
}
