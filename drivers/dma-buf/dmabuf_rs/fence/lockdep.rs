// SPDX-License-Identifier: GPL-2.0-only

//! Lockdep annotations of fence signalling, as in the C core.
//!
//! Signalling a fence may be what some waiter is blocked on, so code that must
//! eventually signal (a "signalling critical section") must never wait for a
//! fence or take a lock that is held around such a wait. Lockdep checks this
//! with one pseudo-lock, `dma_fence_map`: signalling sections take it for
//! reading (recursively), waiters take it for writing. The map keeps the C
//! core's name so existing lockdep reports keep their meaning.

#[cfg(CONFIG_LOCKDEP)]
use kernel::ffi::c_ulong;
#[cfg(CONFIG_LOCKDEP)]
use kernel::{bindings, types::Opaque};

/// The `dma_fence_map` lockdep map.
#[cfg(CONFIG_LOCKDEP)]
struct LockdepMap(Opaque<bindings::lockdep_map>);

// SAFETY: Lockdep serialises all access to its maps internally.
#[cfg(CONFIG_LOCKDEP)]
unsafe impl Sync for LockdepMap {}

#[cfg(CONFIG_LOCKDEP)]
static DMA_FENCE_MAP: LockdepMap = LockdepMap(Opaque::new(bindings::lockdep_map {
    name: c"dma_fence_map".as_ptr().cast(),
    // An all-zero lockdep_map with a name is the static initialiser the C core
    // uses (`{ .name = "dma_fence_map" }`).
    ..crate::sys::zeroed()
}));

#[cfg(CONFIG_LOCKDEP)]
fn map() -> *mut bindings::lockdep_map {
    DMA_FENCE_MAP.0.get()
}

/// Whether the current task is inside a signalling critical section.
#[cfg(CONFIG_LOCKDEP)]
fn held_for_read() -> bool {
    // SAFETY: The map is static and valid.
    unsafe { bindings::lock_is_held_type(map(), 1) != 0 }
}

/// Takes the map for reading (`read == 1`) or writing (`read == 0`).
#[cfg(CONFIG_LOCKDEP)]
fn acquire(read: i32, ip: c_ulong) {
    // SAFETY: The map is static and valid; no nest lock.
    unsafe { bindings::lock_acquire(map(), 0, 0, read, 1, core::ptr::null_mut(), ip) };
}

#[cfg(CONFIG_LOCKDEP)]
fn release(ip: c_ulong) {
    // SAFETY: The map is static and valid, and held by this task.
    unsafe { bindings::lock_release(map(), ip) };
}

/// Begins a signalling critical section for the caller at `ip`; returns the
/// cookie for [`dmabuf_rs_fence_end_signalling`]. Nested sections and atomic
/// context (where might_sleep already catches waits) need no annotation and
/// return true. `dma_fence_begin_signalling()` is its C wrapper (shims).
#[cfg(CONFIG_LOCKDEP)]
#[no_mangle]
pub(crate) extern "C" fn dmabuf_rs_fence_begin_signalling(ip: c_ulong) -> bool {
    if held_for_read() {
        return true;
    }
    // SAFETY: No preconditions.
    if unsafe { bindings::dmabuf_rs_in_atomic() } {
        return true;
    }
    acquire(1, ip);
    false
}

/// Ends a signalling critical section begun by [`dmabuf_rs_fence_begin_signalling`].
#[cfg(CONFIG_LOCKDEP)]
#[no_mangle]
pub(crate) extern "C" fn dmabuf_rs_fence_end_signalling(cookie: bool, ip: c_ulong) {
    if !cookie {
        release(ip);
    }
}

/// Tells lockdep the caller may wait for a fence (dma-resv uses it too).
#[cfg(CONFIG_LOCKDEP)]
#[no_mangle]
pub(crate) extern "C" fn __dma_fence_might_wait() {
    let ip = __dma_fence_might_wait as *const () as usize as c_ulong;
    let in_signalling = held_for_read();
    if in_signalling {
        release(ip);
    }
    acquire(0, ip);
    release(ip);
    if in_signalling {
        acquire(1, ip);
    }
}

#[cfg(CONFIG_LOCKDEP)]
c_abi!(
    dmabuf_rs_fence_begin_signalling,
    dmabuf_rs_fence_end_signalling,
    __dma_fence_might_wait
);

/// The address lockdep records for the core's own signalling sections.
#[cfg(CONFIG_LOCKDEP)]
fn own_ip() -> c_ulong {
    begin_signalling as *const () as usize as c_ulong
}

/// [`dmabuf_rs_fence_begin_signalling`] for the core's own use, on any config.
pub(crate) fn begin_signalling() -> bool {
    #[cfg(CONFIG_LOCKDEP)]
    return dmabuf_rs_fence_begin_signalling(own_ip());
    #[cfg(not(CONFIG_LOCKDEP))]
    return true;
}

/// [`dmabuf_rs_fence_end_signalling`] for the core's own use, on any config.
pub(crate) fn end_signalling(cookie: bool) {
    #[cfg(CONFIG_LOCKDEP)]
    dmabuf_rs_fence_end_signalling(cookie, own_ip());
    #[cfg(not(CONFIG_LOCKDEP))]
    let _ = cookie;
}

/// `__dma_fence_might_wait` for the core's own use, on any config.
pub(crate) fn might_wait() {
    #[cfg(CONFIG_LOCKDEP)]
    __dma_fence_might_wait();
}
