// SPDX-License-Identifier: GPL-2.0-only

//! The core's safe interface to a fence.
//!
//! A fence is the driver API's [`Fence`] (`repr(transparent)` over the
//! kernel's `struct dma_fence`, initialised and alive for as long as it is
//! borrowed), with the operations the core makes on it as the methods of
//! [`FenceCore`]. Holding a fence's lock is a value: [`FenceCore::lock`]
//! returns a guard, [`FenceLock`], that unlocks on drop and hands out
//! [`Locked`], the proof that the `_locked` operations ask for. A C caller
//! that holds the lock itself gets that proof from [`Locked::assume`], once,
//! in the `extern "C"` adapter, under its contract from the C header.
//!
//! The `unsafe` of the fence's state lives here, next to the invariant that
//! makes it sound; the functions of the C ABI convert their pointer once
//! ([`Fence::from_raw`]) and call these.

use super::{trace, ENABLE_SIGNAL, SIGNALED, TIMESTAMP};
use crate::sys::{self, CStrPtr, SpinLock};
use core::ptr::addr_of_mut;
use core::sync::atomic::AtomicUsize;
use kernel::bindings::{self, dma_fence, dma_fence_cb, ktime_t};
use kernel::ffi::{c_char, c_int, c_ulong};

pub(crate) use kernel::dma_buf::fence::Fence;

/// What the core does with a fence (the C core's `dma_fence_*` internals and
/// the header inlines that reach into the struct).
pub(crate) trait FenceCore {
    /// The C pointer, for the C API and the callbacks.
    fn raw(&self) -> *mut dma_fence;

    /// The flags word: `SIGNALED`, `TIMESTAMP`, `ENABLE_SIGNAL` and the
    /// driver's own bits, used only through bitops.
    fn flags(&self) -> &AtomicUsize;

    /// The fence's operations (`fence->ops`).
    fn ops(&self) -> &bindings::dma_fence_ops;

    /// Whether the `SIGNALED` flag is set, without asking the exporter.
    #[inline]
    fn signaled_flag(&self) -> bool {
        sys::test_bit(self.flags(), SIGNALED)
    }

    /// `kref_read(&fence->refcount)`: the number of references now, a hint
    /// that only the holder of the last one can rely on.
    #[inline]
    fn kref_read(&self) -> i32 {
        // SAFETY: The fence is live for the borrow; its refcount is only ever
        // accessed atomically, in Rust and in C.
        unsafe {
            core::sync::atomic::AtomicI32::from_ptr(addr_of_mut!(
                (*self.raw()).refcount.refcount.refs.counter
            ))
        }
        .load(core::sync::atomic::Ordering::Relaxed)
    }

    /// Takes the fence's lock (`spin_lock_irqsave(fence->lock)`).
    fn lock(&self) -> FenceLock<'_>;

    /// Whether the fence has signalled: `Some(true)` if its flag says so,
    /// `Some(false)` if it is pending, `None` if the exporter says it is done
    /// but it still has to be signalled (by the caller, with or without the
    /// lock as it holds it).
    fn signaled_state(&self) -> Option<bool>;

    /// `dma_fence_is_signaled` (a header inline): the flag, then the
    /// exporter, signalling the fence (taking its lock) if the exporter says
    /// it is done. The lock must not be held.
    ///
    /// (Not `is_signaled`: the driver API's `Fence::is_signaled`, an inherent
    /// method, would win the name and go through the C helper.)
    #[inline]
    fn query_signaled(&self) -> bool {
        self.signaled_state().unwrap_or_else(|| {
            self.signal();
            true
        })
    }

    /// `fence->ops->get_driver_name(fence)`: see [`name`].
    fn driver_name(&self) -> CStrPtr<'_>;

    /// `fence->ops->get_timeline_name(fence)`: see [`name`].
    fn timeline_name(&self) -> CStrPtr<'_>;

    /// The time the fence signalled at (`dma_fence_timestamp`, a header
    /// inline).
    ///
    /// A fence that has not signalled is a caller bug: it warns and returns
    /// the current time, as C does. A fence that has signals its timestamp
    /// right after the flag, on the signalling CPU, so the wait is short. The
    /// acquire read of the timestamp flag pairs with the release that set it
    /// in [`Locked::signal`], so the timestamp read after it is the one
    /// written (C's plain `test_bit` leaves that ordering to the
    /// architecture; Rust's memory model needs it stated).
    fn timestamp(&self) -> ktime_t;

    /// `dma_fence_signal`: signals the fence now, taking its lock, inside a
    /// signalling critical section for lockdep. `-EINVAL` if it had already
    /// signalled.
    fn signal(&self) -> c_int;
}

impl FenceCore for Fence {
    #[inline]
    fn driver_name(&self) -> CStrPtr<'_> {
        name(self, self.ops().get_driver_name)
    }

    #[inline]
    fn timeline_name(&self) -> CStrPtr<'_> {
        name(self, self.ops().get_timeline_name)
    }

    fn timestamp(&self) -> ktime_t {
        let flags = self.flags();
        if !sys::test_bit(flags, SIGNALED) {
            sys::warn();
            return ktime_get();
        }
        while !sys::test_bit_acquire(flags, TIMESTAMP) {
            core::hint::spin_loop();
        }
        // SAFETY: The fence is live; with the timestamp flag set, the union
        // holds the timestamp, written before the flag and never again.
        unsafe { (*self.raw()).__bindgen_anon_1.timestamp }
    }

    #[inline]
    fn raw(&self) -> *mut dma_fence {
        // `Fence` is `repr(transparent)` over `Opaque<dma_fence>`, itself
        // over `UnsafeCell<MaybeUninit<dma_fence>>`: the same address, with
        // the interior mutability that C's writes need.
        core::ptr::from_ref(self).cast_mut().cast()
    }

    #[inline]
    fn flags(&self) -> &AtomicUsize {
        // SAFETY: The fence is live for the borrow (`Fence`'s invariant), and
        // its flags word is only ever accessed atomically, in Rust and in C
        // (`unsigned long`, the size and alignment of `usize`: see `sys`).
        unsafe { AtomicUsize::from_ptr(addr_of_mut!((*self.raw()).flags).cast()) }
    }

    #[inline]
    fn ops(&self) -> &bindings::dma_fence_ops {
        // SAFETY: An initialised fence has valid ops that outlive it
        // (`dma_fence_init`'s contract, which refuses NULL ops).
        unsafe { &*(*self.raw()).ops }
    }

    #[inline]
    fn lock(&self) -> FenceLock<'_> {
        let flags = spinlock(self).raw_lock_irqsave();
        // INVARIANT: The lock was just taken, with the saved flags.
        FenceLock {
            locked: Locked { fence: self },
            flags,
        }
    }

    #[inline]
    fn signaled_state(&self) -> Option<bool> {
        if self.signaled_flag() {
            return Some(true);
        }
        let Some(signaled) = self.ops().signaled else {
            return Some(false);
        };
        // SAFETY: `signaled` may be called on a live fence of its ops, with or
        // without the lock.
        if unsafe { signaled(self.raw()) } {
            None
        } else {
            Some(false)
        }
    }

    /// Out of line, as in C: the body is that of
    /// [`dma_fence_signal`](super::dma_fence_signal), see [`signal_body`].
    #[inline]
    fn signal(&self) -> c_int {
        signal_out_of_line(self)
    }
}

/// The fence's lock (`fence->lock`).
#[inline]
fn spinlock(fence: &Fence) -> &SpinLock {
    // SAFETY: An initialised fence's lock is an initialised spinlock that
    // lives as long as the fence (`dma_fence_init`'s contract), and
    // `fence->lock` does not change after it.
    unsafe { &*(*fence.raw()).lock.cast::<SpinLock>() }
}

/// [`signal_body`] for the core's callers: a call, as C's callers of
/// `dma_fence_signal` make, while the C entry point keeps the body inlined.
#[inline(never)]
fn signal_out_of_line(fence: &Fence) -> c_int {
    signal_body(fence)
}

/// The body of [`FenceCore::signal`], inlined into the C ABI function and
/// [`signal_out_of_line`].
#[inline(always)]
pub(super) fn signal_body(fence: &Fence) -> c_int {
    let cookie = super::lockdep::begin_signalling();
    let ret = fence.lock().signal(ktime_get());
    super::lockdep::end_signalling(cookie);
    ret
}

/// One of a fence's two name callbacks: the string it returns.
///
/// `dma_fence_init` refuses fences without either name callback, so a missing
/// one is a bug; it warns and reads as the empty string instead of jumping to
/// NULL. The callbacks return a string (their contract, which C does not
/// check either: its `strscpy` of a NULL name oopses). One helper for every
/// caller (release warning, describe, sync_file).
#[track_caller]
#[inline]
fn name<'a>(
    fence: &'a Fence,
    callback: Option<unsafe extern "C" fn(*mut dma_fence) -> *const c_char>,
) -> CStrPtr<'a> {
    match callback {
        // SAFETY: The name callbacks take any live fence of their ops and
        // return a string that lives, unchanged, as long as the fence.
        Some(callback) => unsafe { CStrPtr::from_ptr(callback(fence.raw())) },
        None => {
            sys::warn();
            c"".into()
        }
    }
}

/// `ktime_get()`: the monotonic clock now.
#[inline]
pub(crate) fn ktime_get() -> ktime_t {
    // SAFETY: No preconditions.
    unsafe { bindings::ktime_get() }
}

/// Proof that a fence's lock is held, for as long as this value lives: what
/// the C core's `_locked` functions ask of their caller.
///
/// # Invariants
///
/// The lock of `fence` is held for the lifetime of the value.
pub(crate) struct Locked<'a> {
    fence: &'a Fence,
}

impl<'a> Locked<'a> {
    /// The proof for a lock the caller holds itself (a C caller of a
    /// `_locked` function). Lockdep checks the claim where it can.
    ///
    /// # Safety
    ///
    /// The caller holds `fence`'s lock for `'a`.
    #[inline]
    pub(crate) unsafe fn assume(fence: &'a Fence) -> Self {
        spinlock(fence).assert_held();
        // INVARIANT: The caller holds the lock for `'a`.
        Self { fence }
    }

    /// The callback list of the unsignalled fence (a union with the
    /// timestamp), which the lock protects.
    #[inline]
    pub(crate) fn cb_list(&self) -> *mut bindings::list_head {
        // SAFETY: The fence is live; taking a field's address reads nothing.
        unsafe { addr_of_mut!((*self.fence.raw()).__bindgen_anon_1.cb_list) }
    }

    /// The fence's error (`fence->error`), which the lock keeps stable.
    #[inline]
    pub(crate) fn error(&self) -> c_int {
        // SAFETY: The fence is live; its error is only written under the lock
        // (`dma_fence_set_error` before signalling), which we hold.
        unsafe { (*self.fence.raw()).error }
    }

    /// `dma_fence_is_signaled_locked` (a header inline): the flag, then the
    /// exporter, signalling the fence if the exporter says it is done.
    #[inline]
    pub(crate) fn is_signaled(&self) -> bool {
        self.fence.signaled_state().unwrap_or_else(|| {
            self.signal(ktime_get());
            true
        })
    }

    /// `__dma_fence_enable_signaling`: asks the exporter, once, to signal the
    /// fence when done (`ops->enable_signaling`); if it answers that it
    /// cannot, the fence signals now.
    ///
    /// Returns false if the fence has signalled (possibly just now, because
    /// the exporter reported it done), true if callbacks can still be added.
    #[inline]
    pub(crate) fn enable_signaling(&self) -> bool {
        let flags = self.fence.flags();
        let was_set = sys::test_and_set_bit(flags, ENABLE_SIGNAL);
        if sys::test_bit(flags, SIGNALED) {
            return false;
        }
        if was_set {
            return true;
        }
        if let Some(enable) = self.fence.ops().enable_signaling {
            trace!(enable_signal, self.fence.raw());
            // SAFETY: `enable_signaling` is called on a live fence of its ops,
            // under the lock, as documented.
            if !unsafe { enable(self.fence.raw()) } {
                self.signal(ktime_get());
                return false;
            }
        }
        true
    }

    /// `dma_fence_signal_timestamp_locked`: signals the fence with the given
    /// timestamp; `-EINVAL` if it had already signalled. Otherwise the
    /// callbacks run, in the order they were added, each with its node
    /// re-initialised first so that it may be re-added or freed from within.
    ///
    /// Out of line, as in C: the body is that of
    /// [`dma_fence_signal_timestamp_locked`](super::dma_fence_signal_timestamp_locked),
    /// which every signalling path calls.
    #[inline]
    pub(crate) fn signal(&self, timestamp: ktime_t) -> c_int {
        // INVARIANT: A copy of this proof, used only during the call.
        Locked { fence: self.fence }.signal_out_of_line(timestamp)
    }

    /// [`Locked::signal_body`] for the core's callers: a call, as C's
    /// callers of `dma_fence_signal_timestamp_locked` make, while the C
    /// entry point keeps the body inlined. Takes the proof by value, so that
    /// it travels in a register.
    #[inline(never)]
    fn signal_out_of_line(self, timestamp: ktime_t) -> c_int {
        self.signal_body(timestamp)
    }

    /// The body of [`Locked::signal`], inlined into the C ABI function and
    /// [`Locked::signal_out_of_line`].
    #[inline(always)]
    pub(super) fn signal_body(&self, timestamp: ktime_t) -> c_int {
        let fence = self.fence.raw();
        let flags = self.fence.flags();
        if sys::test_and_set_bit(flags, SIGNALED) {
            return sys::neg(bindings::EINVAL);
        }

        // Stash the callbacks: the timestamp shares their storage.
        let mut stash = sys::LIST_HEAD_UNLINKED;
        let stash_ptr = addr_of_mut!(stash);
        // SAFETY: The list is valid under the held lock; `stash` stays in
        // place (it is only used through `stash_ptr` from here on). The
        // callbacks are stashed before the timestamp overwrites them.
        unsafe {
            sys::list_replace(self.cb_list(), stash_ptr);
            (*fence).__bindgen_anon_1.timestamp = timestamp;
        }
        // Release: whoever sees the bit with an acquire load (FILE_INFO, the
        // unwrap timestamp) also sees the timestamp written above.
        sys::set_bit_release(flags, TIMESTAMP);
        trace!(signaled, fence);

        // SAFETY: Every node on the stashed list is the `node` of a live
        // `dma_fence_cb` whose owner waits for this call (or for removal,
        // which needs the lock we hold). `next` is read before the callback
        // may free it.
        unsafe {
            let mut cur = (*stash_ptr).next;
            while cur != stash_ptr {
                let next = (*cur).next;
                let cb = kernel::container_of!(cur, dma_fence_cb, node).cast_mut();
                sys::init_list_head(cur);
                if let Some(func) = (*cb).func {
                    func(fence, cb);
                }
                cur = next;
            }
        }
        0
    }
}

/// A fence's lock, held: `spin_lock_irqsave(fence->lock, flags)`, released
/// on drop; it derefs to the [`Locked`] proof.
///
/// The guard keeps the fence rather than the lock, and reads `fence->lock`
/// again to unlock, as C's `spin_unlock_irqrestore(fence->lock, flags)`
/// does: the fence is needed under the lock anyway, so one pointer fewer
/// stays live across the section (on x86-64 a saved register fewer, and with
/// rustc's 16-byte stack alignment sometimes an alignment push fewer).
///
/// # Invariants
///
/// The fence's lock is held by this guard, taken with interrupts saved in
/// `flags`; `fence->lock`, set by `dma_fence_init`, does not change while the
/// fence lives.
pub(crate) struct FenceLock<'a> {
    locked: Locked<'a>,
    flags: c_ulong,
}

impl<'a> core::ops::Deref for FenceLock<'a> {
    type Target = Locked<'a>;

    #[inline]
    fn deref(&self) -> &Locked<'a> {
        &self.locked
    }
}

impl Drop for FenceLock<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: By the type invariant the lock is held by us, with `flags`.
        unsafe { spinlock(self.locked.fence).unlock_irqrestore(self.flags) };
    }
}
