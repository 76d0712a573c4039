//! A runtime closes every descriptor it opened: its epoll instance, its eventfd, the
//! sockets of tasks still pending when it is dropped, and the pidfds and pipes of child
//! processes.
//!
//! The test counts `/proc/self/fd`, which is process-wide, so this file holds a single
//! test: another test running alongside would open and close descriptors of its own.

mod util;

use std::future::pending;
use std::io;
use std::time::Duration;

use epoll_rt::process::{Command, Stdio};
use epoll_rt::time::{interval, sleep, timeout};
use epoll_rt::{AsyncTcpListener, AsyncTcpStream, Runtime, spawn};

/// Clients in each scenario.
const CLIENTS: usize = 50;

/// Echoes everything `stream` sends until it closes: the echo loop of
/// `examples/echo_server.rs`.
async fn echo(mut stream: AsyncTcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}

/// Accepts clients forever, one echo task each.
async fn echo_server(listener: AsyncTcpListener) -> io::Result<()> {
    loop {
        let (stream, _peer) = listener.accept().await?;
        spawn(echo(stream));
    }
}

/// A task that binds a listener and waits on it forever: still pending, holding a
/// registered socket, when its runtime is dropped.
async fn parked_listener() -> io::Result<()> {
    let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    listener.accept().await?;
    pending().await
}

/// An echo server and `CLIENTS` clients that connect, echo and close, with timers around
/// them, and a connect that is refused. Leaves the accept loop and a long sleep pending.
async fn scenario() -> io::Result<()> {
    let closed = AsyncTcpListener::bind("127.0.0.1:0")?.local_addr()?;
    assert!(AsyncTcpStream::connect(closed).await.is_err());

    let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    spawn(echo_server(listener));
    spawn(sleep(Duration::from_secs(3600)));

    sleep(Duration::from_millis(1)).await;
    assert!(
        timeout(Duration::from_millis(1), pending::<()>())
            .await
            .is_err()
    );
    let mut ticks = interval(Duration::from_millis(1));
    for _ in 0..3 {
        ticks.tick().await;
    }

    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            spawn(async move {
                let mut stream = AsyncTcpStream::connect(addr).await?;
                let message = format!("client {i}");
                stream.write_all(message.as_bytes()).await?;
                let mut echoed = vec![0u8; message.len()];
                stream.read_exact(&mut echoed).await?;
                assert_eq!(echoed, message.as_bytes());
                Ok::<_, io::Error>(())
            })
        })
        .collect();
    for client in clients {
        client.await??;
    }
    Ok(())
}

#[test]
fn runtimes_close_every_descriptor_they_open() -> io::Result<()> {
    util::watchdog(util::LIMIT, || {
        let before = util::open_fds();

        // Failing to register outside a runtime closes the socket made for it.
        assert!(AsyncTcpListener::bind("127.0.0.1:0").is_err());
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let std_stream = std::net::TcpStream::connect(std_listener.local_addr()?)?;
        drop(std_listener);
        assert!(AsyncTcpStream::from_std(std_stream).is_err());
        assert_eq!(util::open_fds(), before, "leaked outside a runtime");

        // A `Runtime` kept, then dropped with tasks still pending.
        let rt = Runtime::new()?;
        rt.spawn(parked_listener());
        rt.block_on(scenario())?;
        drop(rt);
        assert_eq!(util::open_fds(), before, "leaked by a dropped Runtime");

        // `block_on`, which drops its runtime on return.
        epoll_rt::block_on(async {
            spawn(parked_listener());
            scenario().await
        })?;
        assert_eq!(util::open_fds(), before, "leaked by block_on");

        // Child processes: a dropped `Child` closes its pidfd and the pipes it still
        // holds, and one awaited to its end closes them too. (The killed child is left a
        // zombie until this test ends: nothing reaps a dropped `Child`, as with std.)
        epoll_rt::block_on(async {
            let inside = util::open_fds();
            let mut child = Command::new("sleep")
                .arg("10")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()?;
            let pidfd = usize::from(util::pidfds_available());
            assert_eq!(
                util::open_fds(),
                inside + 3 + pidfd,
                "three pipes, and a pidfd where the kernel gives them"
            );
            child.start_kill()?;
            drop(child);
            assert_eq!(util::open_fds(), inside, "leaked by a dropped Child");
            let output = Command::new("echo").arg("hi").output().await?;
            assert_eq!(output.stdout, b"hi\n");
            assert_eq!(util::open_fds(), inside, "leaked by a child run to its end");
            Ok::<_, io::Error>(())
        })?;
        assert_eq!(
            util::open_fds(),
            before,
            "leaked by a runtime that spawned children"
        );

        // An I/O object that outlives its runtime keeps the epoll instance open until it
        // is dropped itself.
        let rt = Runtime::new()?;
        let listener = rt.block_on(async { AsyncTcpListener::bind("127.0.0.1:0") })?;
        drop(rt);
        assert!(util::open_fds() > before);
        drop(listener);
        assert_eq!(
            util::open_fds(),
            before,
            "leaked by a listener that outlived its runtime"
        );
        Ok(())
    })
}
