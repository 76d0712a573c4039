//! An echo client: sends a few messages, checks that each comes back unchanged.
//!
//! It shows the client side of the runtime: a non-blocking `connect` under a
//! [`timeout`](epoll_rt::time::timeout), so a server that does not answer gives a clear
//! error instead of a hang, then `write_all` and `read_exact` in turn.
//!
//! Start `echo_server` (or `seed_server`), then:
//!
//! ```text
//! cargo run --example echo_client                      # 5 messages to 127.0.0.1:33445
//! cargo run --example echo_client 127.0.0.1:33445 100  # 100 messages
//! ```
//!
//! Exits with status 0 if every message came back, 1 otherwise.

use std::process::ExitCode;
use std::time::Duration;

use epoll_rt::AsyncTcpStream;
use epoll_rt::time::timeout;

/// How long to wait for the connection, and then for each echo.
const PATIENCE: Duration = Duration::from_secs(5);

/// Connects to `addr`, sends `count` messages and checks each echo.
async fn run(addr: &str, count: usize) -> Result<(), String> {
    // A refused connection fails at once; a host that drops our packets would leave
    // `connect` waiting for minutes (the kernel's SYN retries). The timeout caps that.
    let mut stream = match timeout(PATIENCE, AsyncTcpStream::connect(addr)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            return Err(format!(
                "cannot connect to {addr}: {e} (is a server running?)"
            ));
        }
        Err(_) => return Err(format!("no answer from {addr} within {PATIENCE:?}")),
    };
    // Small messages, each waiting for its reply: send them at once rather than letting
    // Nagle's algorithm hold them back.
    stream.set_nodelay(true).map_err(|e| e.to_string())?;

    // One reply buffer, reused for every message.
    let mut reply = Vec::new();
    for i in 1..=count {
        let message = format!("message {i} of {count}\n");
        stream
            .write_all(message.as_bytes())
            .await
            .map_err(|e| format!("sending message {i}: {e}"))?;

        // The echo may arrive in pieces; `read_exact` waits for all of it.
        reply.resize(message.len(), 0);
        match timeout(PATIENCE, stream.read_exact(&mut reply)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(format!("reading echo {i}: {e}")),
            Err(_) => return Err(format!("no echo for message {i} within {PATIENCE:?}")),
        }
        if reply != message.as_bytes() {
            return Err(format!(
                "echo {i} differs: sent {message:?}, got {:?}",
                String::from_utf8_lossy(&reply)
            ));
        }
        print!("echoed: {message}");
    }
    println!("all {count} messages echoed");
    Ok(())
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:33445".into());
    let count = match args.next().map(|s| s.parse::<usize>()) {
        None => 5,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("usage: echo_client [ADDRESS] [COUNT]: bad count: {e}");
            return ExitCode::FAILURE;
        }
    };

    let result = epoll_rt::block_on(run(&addr, count));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("echo_client: {message}");
            ExitCode::FAILURE
        }
    }
}
