//! Guide, chapter 8, exercise 2: an echo server that drops a client silent for 100 ms.
//!
//! Each `read` of the handler runs under `timeout`; when it elapses, the handler returns,
//! which drops (closes) the stream, and the client reads end of file. The client here
//! gets one echo, then stays silent; the program checks when the server hangs up.
//!
//! ```text
//! cargo run --example guide_ex08_2_idle_client
//! ```

use std::io;
use std::thread;
use std::time::{Duration, Instant};

use epoll_rt::time::timeout;
use epoll_rt::{AsyncTcpListener, AsyncTcpStream};

/// How long a client may stay silent.
const IDLE: Duration = Duration::from_millis(100);

/// Echoes until the client closes or stays silent for `IDLE`.
async fn handle(mut stream: AsyncTcpStream) -> io::Result<&'static str> {
    let mut buf = vec![0u8; 4096];
    loop {
        // `read` is cancel-safe (chapter 7): a timeout loses no byte.
        let n = match timeout(IDLE, stream.read(&mut buf)).await {
            Ok(n) => n?,
            Err(_elapsed) => return Ok("idle"),
        };
        if n == 0 {
            return Ok("closed");
        }
        stream.write_all(&buf[..n]).await?;
    }
}

fn main() -> io::Result<()> {
    thread::spawn(|| {
        thread::sleep(Duration::from_secs(10));
        eprintln!("watchdog: still running after 10 s, a wake-up was lost");
        std::process::exit(1);
    });
    let (why, silent_for) = epoll_rt::block_on(async {
        let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
        let mut client = AsyncTcpStream::connect(listener.local_addr()?).await?;
        let (stream, _) = listener.accept().await?;
        let server = epoll_rt::spawn(handle(stream));

        // The clock starts before the last message: the server's idle limit, which starts
        // when it has echoed, cannot start earlier.
        let silent_since = Instant::now();
        let mut buf = [0u8; 8];
        client.write_all(b"hi").await?;
        client.read_exact(&mut buf[..2]).await?;
        // Now stay silent, and see when the server hangs up.
        let n = client.read(&mut buf).await?;
        let silent_for = silent_since.elapsed();
        assert_eq!(n, 0, "end of file, no data");
        let why = server.await.expect("the handler does not panic")?;
        Ok::<_, io::Error>((why, silent_for))
    })?;
    println!("the server hung up ({why}) {silent_for:?} after the client's last message");
    assert_eq!(why, "idle");
    assert!(silent_for >= IDLE, "not before the idle limit");
    assert!(silent_for < Duration::from_secs(2), "and not long after it");
    Ok(())
}
