//! A seccomp filter that makes one system call fail with a chosen `errno`, for the calling
//! thread only: how a test plays a container whose seccomp profile predates a call (older
//! Docker and containerd profiles answer `EPERM` to any call they do not list).
//!
//! The filter is installed without `SECCOMP_FILTER_FLAG_TSYNC`, so it binds the calling
//! thread and the threads it creates afterwards, never the rest of the test binary, and
//! it lasts until the thread exits. Install it on a thread made for the test, such as the
//! body thread of [`super::watchdog`].

use std::io;

use libc::{
    BPF_ABS, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W, SECCOMP_RET_ALLOW, SECCOMP_RET_DATA,
    SECCOMP_RET_ERRNO, sock_filter, sock_fprog,
};

/// A BPF instruction without a jump.
fn stmt(code: u32, k: u32) -> sock_filter {
    jump(code, k, 0, 0)
}

/// A BPF instruction; `jt` and `jf` are how many instructions to skip if the test holds or
/// fails.
fn jump(code: u32, k: u32, jt: u8, jf: u8) -> sock_filter {
    sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    }
}

/// Makes every later call of system call `nr` on this thread fail with `errno`.
///
/// The filter does not look at `seccomp_data.arch`: a test makes native calls only.
pub fn deny(nr: libc::c_long, errno: i32) -> io::Result<()> {
    let nr_offset = std::mem::offset_of!(libc::seccomp_data, nr) as u32;
    let mut program = [
        // A = the system call's number.
        stmt(BPF_LD | BPF_W | BPF_ABS, nr_offset),
        // If A == nr, go on to the next instruction; otherwise skip it.
        jump(BPF_JMP | BPF_JEQ | BPF_K, nr as u32, 0, 1),
        stmt(
            BPF_RET | BPF_K,
            SECCOMP_RET_ERRNO | (errno as u32 & SECCOMP_RET_DATA),
        ),
        stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    ];
    let prog = sock_fprog {
        len: program.len() as u16,
        filter: program.as_mut_ptr(),
    };
    // An unprivileged thread may install a filter only once it has given up gaining
    // privileges (set-user-ID programs) for good.
    // SAFETY: PR_SET_NO_NEW_PRIVS takes plain integers.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `prog` points to `program`, which lives across the call; the kernel copies
    // the program. No flags: the calling thread only.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0,
            &prog as *const sock_fprog,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
