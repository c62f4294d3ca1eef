// SPDX-License-Identifier: GPL-2.0-only

//! Small building blocks over the C kernel the core is written against: the
//! fence lock as a guard, atomic flag bits, intrusive list operations and
//! warnings. Each wraps a C shim (`include/linux/dmabuf-rs.h`) or a plain
//! memory operation, so the modules above read like the C core they replace.

use core::ptr::addr_of_mut;
use core::sync::atomic::{AtomicUsize, Ordering};
use kernel::bindings;
use kernel::ffi::c_ulong;

/// An interrupt-disabling hold on a `spinlock_t`, released on drop.
///
/// # Invariants
///
/// `lock` is held by this guard, taken with interrupts saved in `flags`.
pub(crate) struct IrqSaveGuard {
    lock: *mut bindings::spinlock_t,
    flags: c_ulong,
}

impl IrqSaveGuard {
    /// Takes `lock` with `spin_lock_irqsave`.
    ///
    /// # Safety
    ///
    /// `lock` must point to an initialised spinlock that outlives the guard.
    pub(crate) unsafe fn new(lock: *mut bindings::spinlock_t) -> Self {
        // SAFETY: The caller guarantees `lock` is a valid, initialised spinlock.
        let flags = unsafe { bindings::dmabuf_rs_spin_lock_irqsave(lock) };
        // INVARIANT: The lock was just taken, with the saved flags.
        Self { lock, flags }
    }
}

impl Drop for IrqSaveGuard {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the lock is held by us, with `flags`.
        unsafe { bindings::dmabuf_rs_spin_unlock_irqrestore(self.lock, self.flags) };
    }
}

/// The atomic `unsigned long` flags word at `word`, as the kernel's bitops use it.
///
/// # Safety
///
/// `word` must be valid for the returned lifetime and only ever accessed
/// atomically (as the C core does with `test_bit`/`set_bit`).
pub(crate) unsafe fn flags<'a>(word: *mut c_ulong) -> &'a AtomicUsize {
    // `unsigned long` and `usize` have the same size and alignment on every
    // architecture Linux runs Rust on.
    const _: () = assert!(core::mem::size_of::<c_ulong>() == core::mem::size_of::<usize>());
    // SAFETY: The caller guarantees validity and atomic-only access; the size
    // and alignment match as asserted above.
    unsafe { AtomicUsize::from_ptr(word.cast()) }
}

/// `test_bit`: a relaxed read of one bit.
pub(crate) fn test_bit(word: &AtomicUsize, bit: u32) -> bool {
    word.load(Ordering::Relaxed) & (1 << bit) != 0
}

/// `set_bit`: an atomic, unordered set of one bit.
pub(crate) fn set_bit(word: &AtomicUsize, bit: u32) {
    word.fetch_or(1 << bit, Ordering::Relaxed);
}

/// `test_and_set_bit`: a fully ordered atomic set that returns the old bit.
pub(crate) fn test_and_set_bit(word: &AtomicUsize, bit: u32) -> bool {
    word.fetch_or(1 << bit, Ordering::SeqCst) & (1 << bit) != 0
}

/// `INIT_LIST_HEAD`: makes `list` an empty list.
///
/// # Safety
///
/// `list` must be valid for writes.
pub(crate) unsafe fn init_list_head(list: *mut bindings::list_head) {
    // SAFETY: The caller guarantees `list` is writable. Volatile, like the
    // WRITE_ONCEs of the C inline, as lockless readers may look at it.
    unsafe {
        addr_of_mut!((*list).next).write_volatile(list);
        addr_of_mut!((*list).prev).write_volatile(list);
    }
}

/// `list_empty`: whether `list` has no entries.
///
/// # Safety
///
/// `list` must be valid for reads.
pub(crate) unsafe fn list_empty(list: *mut bindings::list_head) -> bool {
    // SAFETY: The caller guarantees `list` is readable; READ_ONCE as in C.
    unsafe { addr_of_mut!((*list).next).read_volatile() == list }
}

/// Warns (`WARN_ON(1)`), naming the Rust call site: the splat's own location
/// is the C shim, so the message carries the `file:line` that C would show.
#[track_caller]
pub(crate) fn warn() {
    let at = core::panic::Location::caller();
    let file = at.file();
    // SAFETY: `file` is valid for `len` bytes (printed with `%.*s`, so it needs
    // no NUL); `dmabuf_rs_warn` has no other preconditions.
    unsafe {
        bindings::dmabuf_rs_warn(
            file.len().min(i32::MAX as usize) as i32,
            file.as_ptr(),
            at.line(),
        )
    };
}

/// `kzalloc(size, GFP_KERNEL)`: zeroed memory from the slab allocator, or
/// NULL without memory. May sleep: process context only, as every caller of
/// the C core's allocating functions is. Freed with `kfree` (or `kfree_rcu`).
pub(crate) fn kzalloc<T>(size: usize) -> *mut T {
    // SAFETY: krealloc of NULL is kmalloc, and __GFP_ZERO zeroes it; any size
    // is accepted (too large fails with NULL).
    unsafe {
        bindings::krealloc(
            core::ptr::null(),
            size,
            bindings::GFP_KERNEL | bindings::__GFP_ZERO,
        )
    }
    .cast()
}

/// `might_sleep()`: complains under DEBUG_ATOMIC_SLEEP if called in atomic context.
pub(crate) fn might_sleep() {
    // SAFETY: No preconditions.
    unsafe { bindings::dmabuf_rs_might_sleep() };
}

/// The running task (`current`).
pub(crate) fn current() -> *mut bindings::task_struct {
    // SAFETY: No preconditions; the current task is always valid.
    unsafe { bindings::get_current() }
}

/// `signal_pending(current)`.
pub(crate) fn signal_pending() -> bool {
    // SAFETY: The current task is valid for as long as it runs this code.
    unsafe { bindings::signal_pending(current()) != 0 }
}

/// `set_current_state` (with the barrier) or `__set_current_state` (without).
pub(crate) fn set_current_state(state: u32, barrier: bool) {
    if barrier {
        // SAFETY: No preconditions.
        unsafe { bindings::dmabuf_rs_set_current_state(state) };
    } else {
        // SAFETY: No preconditions.
        unsafe { bindings::dmabuf_rs___set_current_state(state) };
    }
}

/// The negative errno as the `int` C returns.
pub(crate) const fn neg(errno: u32) -> kernel::ffi::c_int {
    -(errno as kernel::ffi::c_int)
}
