//! Child processes: `process::Command`, a child's exit awaited on its pidfd, its piped
//! standard streams, killing it, and the signal mask it starts with.

mod util;

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use epoll_rt::process::{Command, Stdio};
use epoll_rt::signal::{self, SIGTERM};
use epoll_rt::time::timeout;

/// How long a test waits for a child that should end promptly.
const PROMPT: Duration = Duration::from_secs(5);

#[test]
fn output_collects_stdout_and_the_exit_code() -> io::Result<()> {
    util::run(|| async {
        let output = Command::new("sh")
            .arg("-c")
            .arg("echo hi; exit 3")
            .output()
            .await?;
        assert_eq!(output.stdout, b"hi\n");
        assert_eq!(output.stderr, b"");
        assert_eq!(output.status.code(), Some(3));
        Ok(())
    })
}

#[test]
fn output_reads_stdout_and_stderr_at_once() -> io::Result<()> {
    // Far more than a pipe holds on each stream, stderr first: read one after the other,
    // starting with stdout, the child would block on a full stderr pipe forever.
    util::run(|| async {
        let output = Command::new("sh")
            .arg("-c")
            .arg("head -c 1000000 /dev/zero >&2; head -c 700000 /dev/zero")
            .output()
            .await?;
        assert!(output.status.success());
        assert_eq!(output.stderr.len(), 1_000_000);
        assert_eq!(output.stdout.len(), 700_000);
        Ok(())
    })
}

#[test]
fn status_returns_the_exit_code_and_a_missing_program_is_not_found() -> io::Result<()> {
    util::run(|| async {
        let status = Command::new("sh").args(["-c", "exit 42"]).status().await?;
        assert_eq!(status.code(), Some(42));
        let missing = Command::new("/nonexistent/epoll-rt-test").status().await;
        assert_eq!(
            missing.map_err(|e| e.kind()).err(),
            Some(io::ErrorKind::NotFound)
        );
        Ok(())
    })
}

#[test]
fn cat_echoes_a_mebibyte_written_and_read_at_the_same_time() -> io::Result<()> {
    // 1 MiB is sixteen pipe buffers each way: the writer must wait for cat to read, and
    // cat for the reader, so a lost wake-up on either pipe stalls it.
    util::run(|| async {
        let data = util::Rng::new(14).bytes(1 << 20);
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let mut stdin = child.stdin.take().expect("stdin was piped");
        let expected = data.clone();
        let writer = epoll_rt::spawn(async move {
            stdin.write_all(&data).await
            // Dropping stdin here closes the pipe: cat reads end of file and exits.
        });
        let mut echoed = Vec::new();
        let mut stdout = child.stdout.take().expect("stdout was piped");
        assert_eq!(stdout.read_to_end(&mut echoed).await?, 1 << 20);
        writer.await.expect("writer task")?;
        assert!(echoed == expected, "cat echoed other bytes");
        assert!(child.wait().await?.success());
        Ok(())
    })
}

#[test]
fn a_child_starts_with_an_empty_signal_mask() -> io::Result<()> {
    util::run(|| async {
        // The runtime thread blocks SIGTERM to listen for it.
        let _terminate = signal::signal(SIGTERM)?;
        let output = Command::new("grep")
            .args(["SigBlk", "/proc/self/status"])
            .output()
            .await?;
        let line = String::from_utf8_lossy(&output.stdout);
        assert_eq!(line.trim(), "SigBlk:\t0000000000000000", "the child's mask");
        Ok(())
    })
}

#[test]
fn a_child_of_a_runtime_that_listens_for_sigterm_can_be_stopped_with_sigterm() -> io::Result<()> {
    util::run(|| async {
        let _terminate = signal::signal(SIGTERM)?;
        let mut child = Command::new("sleep").arg("30").spawn()?;
        let pid = child.id().expect("not reaped yet").to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().await?;
        assert!(sent.success());
        // With SIGTERM blocked, as its parent's thread has it, sleep would run on.
        let status = timeout(PROMPT, child.wait())
            .await
            .expect("the child did not end at SIGTERM")?;
        assert_eq!(status.signal(), Some(SIGTERM));
        Ok(())
    })
}

#[test]
fn kill_ends_the_child_and_reaps_it() -> io::Result<()> {
    util::run(|| async {
        let mut child = Command::new("sleep").arg("30").spawn()?;
        assert!(child.id().is_some());
        assert_eq!(child.try_wait()?, None);
        child.kill().await?;
        assert_eq!(child.id(), None, "a reaped child has no id");
        let status = child.try_wait()?.expect("reaped by kill");
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        // Killing a reaped child sends nothing (its number may be another's) and succeeds.
        child.kill().await?;
        assert_eq!(child.wait().await?, status);
        Ok(())
    })
}

#[test]
fn a_cancelled_wait_loses_nothing() -> io::Result<()> {
    util::run(|| async {
        let mut child = Command::new("sleep").arg("30").spawn()?;
        let waited = timeout(Duration::from_millis(20), child.wait()).await;
        assert!(waited.is_err(), "sleep 30 ended early");
        child.start_kill()?;
        let status = timeout(PROMPT, child.wait())
            .await
            .expect("wait after a cancelled wait")?;
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        Ok(())
    })
}

#[test]
fn wait_closes_stdin_so_a_child_reading_it_ends() -> io::Result<()> {
    util::run(|| async {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()?;
        assert!(child.stdin.is_some());
        let status = timeout(PROMPT, child.wait())
            .await
            .expect("cat still waits for its input")?;
        assert!(status.success());
        Ok(())
    })
}

#[test]
fn stdout_and_stderr_read_separately() -> io::Result<()> {
    util::run(|| async {
        let mut child = Command::new("sh")
            .args(["-c", "printf out; printf err >&2"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let mut err = [0; 3];
        child
            .stderr
            .as_mut()
            .expect("piped")
            .read_exact(&mut err)
            .await?;
        let mut out = [0; 3];
        child
            .stdout
            .as_mut()
            .expect("piped")
            .read_exact(&mut out)
            .await?;
        assert_eq!((&out, &err), (b"out", b"err"));
        assert!(child.wait().await?.success());
        Ok(())
    })
}
