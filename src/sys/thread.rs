//! The calling thread's kernel id (`gettid`), as `strace -f`, `/proc/PID/task/` and
//! trace viewers name threads.

/// The kernel's id of the calling thread (its `tid`; the process id on the main thread).
pub(crate) fn id() -> u32 {
    // SAFETY: gettid takes no argument, cannot fail, and only returns a number.
    let tid = unsafe { libc::gettid() };
    tid as u32
}
