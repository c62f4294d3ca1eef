// SPDX-License-Identifier: GPL-2.0

//! DMA fences: completion events shared between drivers.
//!
//! C header: [`include/linux/dma-fence.h`](srctree/include/linux/dma-fence.h).

use crate::{
    bindings,
    types::{ARef, AlwaysRefCounted, Opaque},
};
use core::{num::NonZeroU32, ptr::NonNull};

/// Allocates `num` consecutive fence contexts (timelines) and returns the first.
///
/// Contexts are unique for the life of the system. Asking for none is a bug in
/// C (it warns); here the type rules it out.
pub fn context_alloc(num: NonZeroU32) -> u64 {
    // SAFETY: `dma_fence_context_alloc` may be called from any context with any
    // non-zero count.
    unsafe { bindings::dma_fence_context_alloc(num.get()) }
}

/// A reference-counted DMA fence (`struct dma_fence`).
///
/// # Invariants
///
/// The inner `struct dma_fence` is initialised (by `dma_fence_init`) and its
/// reference count is non-zero for as long as a reference to it exists.
#[repr(transparent)]
pub struct Fence(Opaque<bindings::dma_fence>);

// SAFETY: A fence is reference counted by the C core, which allows any thread to
// take and drop references and to query it.
unsafe impl Send for Fence {}

// SAFETY: All methods of `Fence` that take `&self` are safe to call concurrently;
// the C core serialises state changes with the fence's own lock.
unsafe impl Sync for Fence {}

// SAFETY: The C functions `dma_fence_get` and `dma_fence_put` take and drop a
// reference, and the fence is freed only when the last one is dropped.
unsafe impl AlwaysRefCounted for Fence {
    fn inc_ref(&self) {
        // SAFETY: By the type invariant the refcount is non-zero.
        unsafe { bindings::dma_fence_get(self.0.get()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller owns the reference being dropped, and `Fence` is
        // `repr(transparent)` over `struct dma_fence`.
        unsafe { bindings::dma_fence_put(obj.cast().as_ptr()) };
    }
}

impl Fence {
    /// Returns the always-signalled stub fence of the core.
    pub fn stub() -> ARef<Self> {
        // SAFETY: `dma_fence_get_stub` has no preconditions.
        let ptr = unsafe { bindings::dma_fence_get_stub() };
        // SAFETY: `dma_fence_get_stub` returns a new reference to an initialised
        // fence that it never fails to provide.
        unsafe { ARef::from_raw(NonNull::new_unchecked(ptr.cast())) }
    }

    /// Returns the fence's context (its timeline).
    pub fn context(&self) -> u64 {
        // SAFETY: By the type invariant the fence is initialised, and `context`
        // does not change after `dma_fence_init`.
        unsafe { (*self.0.get()).context }
    }

    /// Returns the fence's sequence number on its context.
    pub fn seqno(&self) -> u64 {
        // SAFETY: By the type invariant the fence is initialised, and `seqno`
        // does not change after `dma_fence_init`.
        unsafe { (*self.0.get()).seqno }
    }

    /// Returns whether the fence has signalled, signalling it first if its
    /// exporter reports that the work is done.
    pub fn is_signaled(&self) -> bool {
        // SAFETY: By the type invariant the fence is valid.
        unsafe { bindings::dma_fence_is_signaled(self.0.get()) }
    }
}
