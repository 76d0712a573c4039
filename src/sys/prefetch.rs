//! A hint to the CPU: start loading a cache line that will be read soon.

/// Asks the CPU to bring the cache line holding `ptr` into its caches, without waiting for
/// it. Any address is allowed: a prefetch never faults and never changes memory, so a
/// stale or dangling pointer costs at most a wasted load.
#[inline(always)]
pub(crate) fn prefetch<T: ?Sized>(ptr: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetcht0` is in every x86-64 CPU (SSE), reads no memory the program can
    // observe and cannot fault, whatever the address.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(ptr.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = ptr;
}
