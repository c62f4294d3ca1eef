// SPDX-License-Identifier: GPL-2.0-only

//! [`FenceEntry`]: an owned fence reference laid out as a `struct dma_fence *`,
//! for the kmalloc'ed arrays of fence pointers that the C API hands around
//! (`dma_resv_get_fences()`'s result, a fence array's member list).

use super::Fence;
use core::ptr::NonNull;
use kernel::bindings::dma_fence;
use kernel::types::ARef;

/// A fence reference in an array of fence pointers.
///
/// # Invariants
///
/// The pointer is a live fence this value holds a reference to.
///
/// Transparent over a non-NULL fence pointer, so that a `KVec` of them is a
/// kmalloc'ed array of `struct dma_fence *` that C takes over as it is
/// (references included), as a fence array does with its members.
#[repr(transparent)]
pub(crate) struct FenceEntry(NonNull<dma_fence>);

impl FenceEntry {
    /// Takes over the reference `fence`.
    #[inline]
    pub(crate) fn new(fence: ARef<Fence>) -> Self {
        // INVARIANT: The reference given up here.
        Self(ARef::into_raw(fence).cast())
    }

    /// A new reference to `fence`.
    #[inline]
    pub(crate) fn get(fence: &Fence) -> Self {
        Self::new(ARef::from(fence))
    }

    /// The fence, live while the entry holds it.
    #[inline]
    pub(crate) fn fence(&self) -> &Fence {
        // SAFETY: By the type invariant the fence is live while we hold it.
        unsafe { Fence::from_raw(self.0.as_ptr()) }
    }

    /// The reference, as an `ARef`.
    #[inline]
    pub(crate) fn into_ref(self) -> ARef<Fence> {
        let fence = core::mem::ManuallyDrop::new(self).0;
        // SAFETY: The entry's reference (type invariant), given up here.
        unsafe { Fence::from_raw_owned(fence) }
    }
}

impl Drop for FenceEntry {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: By the type invariant we hold a reference.
        unsafe { super::put(self.0.as_ptr()) };
    }
}
