// SPDX-License-Identifier: GPL-2.0

//! Raw fence references: `dma_fence_get`, `dma_fence_get_rcu` and
//! `dma_fence_put`, inline in Rust.
//!
//! Drivers use [`ARef<Fence>`](super::Fence), whose reference counting is
//! these functions; they are public for code that works on raw
//! `struct dma_fence` pointers at the C boundary, such as the Rust dma-buf
//! core itself, so that there is one implementation of the fence refcount.
//!
//! The fence's `struct kref` is a `refcount_t`. In C these are header
//! inlines; from Rust in 6.12 they can only be reached through out-of-line
//! helpers, and the core takes and drops a reference for every fence it
//! visits in an unlocked walk, a merge or a copy. So the three are written
//! here with the operations of `include/linux/refcount.h`, one for one:
//!
//! - get is `__refcount_add(1)`: a relaxed fetch-add;
//! - get_rcu is `__refcount_add_not_zero(1)`: a relaxed compare-exchange loop
//!   that gives up at zero;
//! - put is `__refcount_sub_and_test(1)`: a release fetch-sub, and when it
//!   took the count from one to zero, an acquire fence (the kernel's
//!   `smp_acquire__after_ctrl_dep()`) before `dma_fence_release()` runs, so
//!   that every access made under the other references happens before the
//!   fence is freed.
//!
//! Every other outcome (a count that was zero or negative, or would wrap) is
//! handed to the kernel's own `refcount_warn_saturate()`, which saturates the
//! count and warns exactly as the C inlines do. The orderings are the ones
//! the C inlines ask for (relaxed, release, acquire after the control
//! dependency); Rust's atomics give each of them on every architecture, and
//! the refcount pairing (release on every decrement, acquire before the
//! free) is the one Rust's own `Arc` relies on.
//!
//! C header: [`include/linux/dma-fence.h`](srctree/include/linux/dma-fence.h).

use crate::bindings::{self, dma_fence};
use core::ptr::addr_of_mut;
use core::sync::atomic::{self, AtomicI32, Ordering};

/// The reference count of `fence`, as the atomic that `refcount_t` is.
///
/// # Safety
///
/// `fence` must point to a fence whose memory stays allocated for `'a` (a
/// live fence, or under RCU one that may be on its way to being freed).
#[inline]
unsafe fn refs<'a>(fence: *mut dma_fence) -> &'a AtomicI32 {
    // SAFETY: The field is valid and aligned for `'a` (caller's promise); the
    // kernel only accesses `refcount_t` with atomic operations.
    unsafe { AtomicI32::from_ptr(addr_of_mut!((*fence).refcount.refcount.refs.counter)) }
}

/// Hands a count that left the valid range to the kernel, which saturates it
/// and warns (`refcount_warn_saturate`).
///
/// # Safety
///
/// `fence` must point to a fence whose memory is allocated.
#[cold]
#[inline(never)]
unsafe fn saturate(fence: *mut dma_fence, what: bindings::refcount_saturation_type) {
    // SAFETY: The refcount is valid (caller's promise).
    unsafe { bindings::refcount_warn_saturate(addr_of_mut!((*fence).refcount.refcount), what) };
}

/// `dma_fence_get`: takes a reference to `fence` unless it is NULL, and returns it.
///
/// # Safety
///
/// `fence` must be NULL or a live fence, of which the caller holds a reference
/// (or which it knows is kept live, as under the reservation lock).
#[inline]
pub unsafe fn get(fence: *mut dma_fence) -> *mut dma_fence {
    if !fence.is_null() {
        // SAFETY: The fence is live (caller's promise).
        let old = unsafe { refs(fence) }.fetch_add(1, Ordering::Relaxed);
        if old == 0 {
            // SAFETY: As above.
            unsafe { saturate(fence, bindings::refcount_saturation_type_REFCOUNT_ADD_UAF) };
        } else if old < 0 || old.wrapping_add(1) < 0 {
            // SAFETY: As above.
            unsafe { saturate(fence, bindings::refcount_saturation_type_REFCOUNT_ADD_OVF) };
        }
    }
    fence
}

/// `dma_fence_get_rcu`: takes a reference to `fence` unless its count already
/// dropped to zero; returns the fence, or NULL if it is being released.
///
/// # Safety
///
/// `fence` must point to fence memory that stays allocated while the caller is
/// in an RCU read-side critical section (fences are freed after a grace
/// period), or to a live fence.
#[inline]
pub unsafe fn get_rcu(fence: *mut dma_fence) -> *mut dma_fence {
    // SAFETY: The memory is allocated (caller's promise).
    let refs = unsafe { refs(fence) };
    let mut old = refs.load(Ordering::Relaxed);
    while old != 0 {
        match refs.compare_exchange_weak(
            old,
            old.wrapping_add(1),
            Ordering::Relaxed,
            Ordering::Relaxed,
        ) {
            Ok(_) => break,
            Err(now) => old = now,
        }
    }
    if old < 0 || old.wrapping_add(1) < 0 {
        // SAFETY: As above.
        unsafe {
            saturate(
                fence,
                bindings::refcount_saturation_type_REFCOUNT_ADD_NOT_ZERO_OVF,
            )
        };
    }
    if old == 0 {
        core::ptr::null_mut()
    } else {
        fence
    }
}

/// `dma_fence_put`: drops a reference to `fence` unless it is NULL, releasing
/// the fence when it was the last.
///
/// # Safety
///
/// `fence` must be NULL or a live fence whose reference the caller gives up.
#[inline]
pub unsafe fn put(fence: *mut dma_fence) {
    if fence.is_null() {
        return;
    }
    // SAFETY: The fence is live (caller's promise).
    let old = unsafe { refs(fence) }.fetch_sub(1, Ordering::Release);
    if old == 1 {
        // The kernel's smp_acquire__after_ctrl_dep(): the release function
        // sees everything done under the references dropped before ours.
        atomic::fence(Ordering::Acquire);
        // SAFETY: Ours was the last reference, so the fence is released now,
        // as `kref_put` does.
        unsafe { bindings::dma_fence_release(addr_of_mut!((*fence).refcount)) };
    } else if old <= 0 {
        // SAFETY: As above; the count is left to the kernel's saturation.
        unsafe { saturate(fence, bindings::refcount_saturation_type_REFCOUNT_SUB_UAF) };
    }
}
