//! Child processes where pidfds are refused: a seccomp filter answers `ENOSYS` to
//! `pidfd_open`, as a kernel older than 5.3 would (or `EPERM`, as an older container
//! runtime's profile would). `Child::wait` must wait on the blocking pool instead.
//!
//! A file of its own, so that valgrind, which has no `seccomp`, can skip it
//! (`.ci/sanitize.sh`).

mod util;

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use epoll_rt::process::Command;
use epoll_rt::time::timeout;

#[test]
fn without_pidfds_the_blocking_pool_waits_for_the_child() {
    // The filter binds the test's thread, and the pool threads and children it starts.
    util::watchdog(util::LIMIT, || {
        util::seccomp::deny(libc::SYS_pidfd_open, libc::ENOSYS)
            .expect("install a seccomp filter on this thread");
        // SAFETY: pidfd_open takes plain integers; refused before it runs.
        let rc = unsafe { libc::syscall(libc::SYS_pidfd_open, std::process::id(), 0) };
        assert_eq!(rc, -1);
        assert_eq!(
            io::Error::last_os_error().raw_os_error(),
            Some(libc::ENOSYS)
        );

        epoll_rt::block_on(async {
            let output = Command::new("sh")
                .arg("-c")
                .arg("echo hi; exit 3")
                .output()
                .await?;
            assert_eq!(output.stdout, b"hi\n");
            assert_eq!(output.status.code(), Some(3));

            // A wait cancelled while the pool waits, then a kill: by number, safely,
            // since nothing has reaped the child.
            let mut child = Command::new("sleep").arg("30").spawn()?;
            let waited = timeout(Duration::from_millis(20), child.wait()).await;
            assert!(waited.is_err(), "sleep 30 ended early");
            assert_eq!(child.try_wait()?, None);
            child.kill().await?;
            assert_eq!(
                child.try_wait()?.and_then(|s| s.signal()),
                Some(libc::SIGKILL)
            );
            assert_eq!(child.id(), None);
            Ok::<(), io::Error>(())
        })
        .expect("the children ran");
    });
}
