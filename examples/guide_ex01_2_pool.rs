//! Guide, chapter 1, exercise 2: serve with a fixed pool of 2 threads instead of a thread
//! per client.
//!
//! The accept loop hands each connection to whichever worker is free, through a channel.
//! A pool bounds the number of threads, and with it the problem comes back: two silent
//! clients occupy both workers, and a third client waits until one of them leaves.
//!
//! ```text
//! cargo run --example guide_ex01_2_pool
//! ```

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// Echoes until the client closes.
fn handle(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n])?;
    }
}

fn main() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let (queue, jobs) = mpsc::channel::<TcpStream>();
    let jobs = Arc::new(Mutex::new(jobs));
    for _ in 0..2 {
        let jobs = jobs.clone();
        thread::spawn(move || {
            loop {
                // Hold the lock only to take a job, not while serving it.
                let job = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
                match job {
                    Ok(stream) => drop(handle(stream)),
                    Err(_) => return, // the accept loop is gone
                }
            }
        });
    }
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            if queue.send(stream).is_err() {
                return;
            }
        }
    });

    // Two silent clients take both workers; A leaves after 200 ms.
    let a = TcpStream::connect(addr)?;
    let _b = TcpStream::connect(addr)?;
    let start = Instant::now();
    let mut c = TcpStream::connect(addr)?;
    c.set_read_timeout(Some(Duration::from_secs(5)))?; // the watchdog of this program
    c.write_all(b"hello")?;
    let leaver = thread::spawn(move || {
        thread::sleep(Duration::from_millis(200));
        drop(a);
    });
    let mut buf = [0u8; 5];
    c.read_exact(&mut buf)?;
    let waited = start.elapsed();
    leaver.join().expect("does not panic");
    println!("with 2 workers and 2 silent clients, client C was answered after {waited:?}");
    assert_eq!(&buf, b"hello");
    assert!(
        waited >= Duration::from_millis(200),
        "C waited for a free worker"
    );
    Ok(())
}
