//! Chapter 10 of the guide (`docs/guide/10-watching-the-loop.md`): one echo exchange,
//! server and client in one runtime, and the runtime's counters afterwards.
//!
//! The server task is the echo server's echo loop; the client task sends one line, reads
//! the echo and closes. Run it with `EPOLL_RT_TRACE=1` to see every step of the loop on
//! standard error, or with `EPOLL_RT_TRACE=trace.json` to get a file for Perfetto
//! (ui.perfetto.dev) or `chrome://tracing`.
//!
//! ```text
//! cargo run --example guide_ch10_one_client
//! EPOLL_RT_TRACE=1 cargo run --example guide_ch10_one_client
//! EPOLL_RT_TRACE=trace.json cargo run --example guide_ch10_one_client
//! ```
//!
//! Exits with status 0 if the echo came back and the counters add up, 1 otherwise.

use std::io;
use std::process::ExitCode;

use epoll_rt::task::Builder;
use epoll_rt::{AsyncTcpListener, AsyncTcpStream, Runtime};

/// The echo loop of `examples/echo_server.rs`: echo until the client closes.
async fn echo(mut stream: AsyncTcpStream) -> io::Result<()> {
    let mut buf = vec![0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}

/// Accepts one client and serves it; connects a client that sends one line.
async fn one_exchange() -> io::Result<Vec<u8>> {
    let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let server = Builder::new().name("server").spawn(async move {
        let (stream, _peer) = listener.accept().await?;
        echo(stream).await
    });
    let client = Builder::new().name("client").spawn(async move {
        let mut stream = AsyncTcpStream::connect(addr).await?;
        stream.write_all(b"hello\n").await?;
        let mut reply = vec![0u8; 6];
        stream.read_exact(&mut reply).await?;
        Ok::<Vec<u8>, io::Error>(reply) // dropping the stream closes it
    });
    let reply = client.await??;
    server.await??;
    Ok(reply)
}

fn main() -> ExitCode {
    let runtime = match Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot create a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let reply = runtime.block_on(one_exchange());
    let stats = runtime.stats();
    println!("echo: {:?}", reply.as_deref().map(String::from_utf8_lossy));
    println!("{stats:#?}");
    match reply {
        // Two tasks spawned and finished; every task poll is counted, as is every wait.
        Ok(bytes) if bytes == b"hello\n" => {
            if stats.tasks_spawned == 2 && stats.tasks_finished == 2 && stats.epoll_waits > 0 {
                ExitCode::SUCCESS
            } else {
                eprintln!("unexpected counters");
                ExitCode::FAILURE
            }
        }
        Ok(bytes) => {
            eprintln!("unexpected echo {bytes:?}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
