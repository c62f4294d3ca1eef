// SPDX-License-Identifier: GPL-2.0-only

//! dma-fence-unwrap: the C ABI of `drivers/dma-buf/dma-fence-unwrap.c`.
//!
//! Iterates over the fences inside containers (a chain of arrays at most, as
//! containers never nest otherwise) and merges sets of fences into one. The
//! merge rule itself (which fences survive, in which order) is pure logic in
//! [`crate::logic::merge`], tested on the host.
//!
//! C header: [`include/linux/dma-fence-unwrap.h`](srctree/include/linux/dma-fence-unwrap.h).

use super::{chain, Fence, FenceCore};
use crate::logic::{
    merge::{self, Merged},
    seqno::SeqnoWidth,
    view::FenceView,
};
use kernel::alloc::KVec;
use kernel::bindings::{self, dma_fence, dma_fence_unwrap};
use kernel::ffi::c_uint;

/// An unwrap cursor before its first step (every field is set by it); a
/// constant, where the bindgen `Default` would be a call into another crate.
pub(crate) const CURSOR_START: dma_fence_unwrap = dma_fence_unwrap {
    chain: core::ptr::null_mut(),
    array: core::ptr::null_mut(),
    index: 0,
};

/// Starts the array level of the cursor on its current chain link.
///
/// # Safety
///
/// `cursor` must be valid; its `chain` NULL or a live fence it holds a reference to.
unsafe fn unwrap_array(cursor: *mut dma_fence_unwrap) -> *mut dma_fence {
    // SAFETY: The caller guarantees the cursor and its chain fence.
    unsafe {
        (*cursor).array = chain::contained((*cursor).chain);
        (*cursor).index = 0;
        bindings::dma_fence_array_first((*cursor).array)
    }
}

/// Starts iterating over the fences inside `head`; returns the first, or NULL.
///
/// The cursor holds a reference to the current chain link, dropped as the
/// iteration moves on (and by the last call, which returns NULL).
///
/// # Safety
///
/// `head` must be NULL or a live fence; `cursor` valid for writes.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_fence_unwrap_first(
    head: *mut dma_fence,
    cursor: *mut dma_fence_unwrap,
) -> *mut dma_fence {
    // SAFETY: `head` is NULL or live (dma_fence_get passes NULL through); the
    // cursor is valid for writes.
    unsafe {
        (*cursor).chain = crate::fence::get(head);
        unwrap_array(cursor)
    }
}

/// Returns the next fence of the iteration started by [`dma_fence_unwrap_first`], or NULL.
///
/// # Safety
///
/// `cursor` must have been set up by [`dma_fence_unwrap_first`] and not have
/// reached the end.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_fence_unwrap_next(
    cursor: *mut dma_fence_unwrap,
) -> *mut dma_fence {
    // SAFETY: The cursor is valid and holds a reference to its chain link.
    unsafe {
        (*cursor).index += 1;
        let next = bindings::dma_fence_array_next((*cursor).array, (*cursor).index);
        if !next.is_null() {
            return next;
        }
        (*cursor).chain = bindings::dma_fence_chain_walk((*cursor).chain);
        unwrap_array(cursor)
    }
}

/// One fence found while unwrapping, with the reference the merge holds.
///
/// # Invariants
///
/// The pointer is a live fence this value holds a reference to.
///
/// Transparent, so that a vector of them is an array of fence pointers that
/// can become a fence array's list (see [`into_array`]).
#[repr(transparent)]
struct Held(*mut dma_fence);

impl Held {
    /// Takes a reference to `fence`.
    ///
    /// # Safety
    ///
    /// `fence` must be live.
    unsafe fn get(fence: *mut dma_fence) -> Self {
        // SAFETY: The fence is live.
        Self(unsafe { crate::fence::get(fence) })
    }

    /// Gives the reference to the caller.
    fn into_raw(self) -> *mut dma_fence {
        let fence = self.0;
        core::mem::forget(self);
        fence
    }

    /// The fence.
    #[inline]
    fn fence(&self) -> &Fence {
        // SAFETY: By the type invariant the fence is live while we hold it.
        unsafe { Fence::from_raw(self.0) }
    }

    /// The signal timestamp of a signalled fence (`dma_fence_timestamp`).
    fn timestamp(&self) -> bindings::ktime_t {
        self.fence().timestamp()
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we hold a reference.
        unsafe { crate::fence::put(self.0) };
    }
}

impl FenceView for Held {
    #[inline]
    fn id(&self) -> usize {
        self.fence().id()
    }

    #[inline]
    fn context(&self) -> u64 {
        FenceView::context(self.fence())
    }

    #[inline]
    fn seqno(&self) -> u64 {
        FenceView::seqno(self.fence())
    }

    #[inline]
    fn seqno_width(&self) -> SeqnoWidth {
        self.fence().seqno_width()
    }

    #[inline]
    fn is_signaled(&self) -> bool {
        FenceView::is_signaled(self.fence())
    }
}

/// Calls `f` on every fence inside `head`, unwrapping containers, with
/// `cursor` as the cursor (`dma_fence_unwrap_for_each`).
///
/// Walking to the end drops the reference the cursor holds.
///
/// # Safety
///
/// `head` must be NULL or a live fence; `cursor` valid for writes.
unsafe fn walk(
    head: *mut dma_fence,
    cursor: *mut dma_fence_unwrap,
    f: &mut impl FnMut(*mut dma_fence),
) {
    // SAFETY: The caller guarantees the head and the cursor; each step is
    // given the cursor the previous one left.
    unsafe {
        let mut fence = dma_fence_unwrap_first(head, cursor);
        while !fence.is_null() {
            f(fence);
            fence = dma_fence_unwrap_next(cursor);
        }
    }
}

/// Calls `f` on every fence inside `head`, unwrapping containers
/// (`dma_fence_unwrap_for_each` with a cursor of its own).
///
/// For the sync_file ioctls of sync_files and dma-bufs, which are built only
/// with CONFIG_SYNC_FILE.
///
/// Each fence is live during its call.
#[cfg(CONFIG_SYNC_FILE)]
pub(crate) fn for_each_unwrapped(head: &Fence, mut f: impl FnMut(&Fence)) {
    let mut cursor = CURSOR_START;
    // SAFETY: `head` is live and the cursor ours; the walk holds a reference
    // to the container of each fence it yields, which keeps it live.
    unsafe {
        walk(head.raw(), &mut cursor, &mut |fence| {
            f(Fence::from_raw(fence))
        })
    };
}

/// Calls `f` on every fence inside each of the `fences` (unwrapping
/// containers), the `i`-th walked with the `i`-th cursor of `iter`.
///
/// # Safety
///
/// `fences` must point to `num` live fences, and `iter` to `num` cursors.
unsafe fn for_each_unwrapped_in(
    num: c_uint,
    fences: *mut *mut dma_fence,
    iter: *mut dma_fence_unwrap,
    mut f: impl FnMut(*mut dma_fence),
) {
    for i in 0..num as usize {
        // SAFETY: `i < num`; the caller guarantees the fences and cursors.
        unsafe { walk(*fences.add(i), iter.add(i), &mut f) };
    }
}

/// Merges `num_fences` fences (and whatever they contain) into one fence that
/// signals when all of them have (the `dma_fence_unwrap_merge()` macro).
///
/// Returns a new reference: to a private, already signalled stub (carrying the
/// latest signal timestamp) when nothing is pending, to the one pending fence
/// when only one is left, or to a new `dma_fence_array` of the latest pending
/// fence of each context. NULL without memory.
///
/// # Safety
///
/// `fences` must point to `num_fences` live fences and `iter` to as many cursors.
#[no_mangle]
pub(crate) unsafe extern "C" fn __dma_fence_unwrap_merge(
    num_fences: c_uint,
    fences: *mut *mut dma_fence,
    iter: *mut dma_fence_unwrap,
) -> *mut dma_fence {
    // Count first, so that collecting cannot need to allocate mid-walk.
    let mut total = 0usize;
    // SAFETY: The caller guarantees the fences and cursors.
    unsafe { for_each_unwrapped_in(num_fences, fences, iter, |_| total += 1) };

    let Some(mut held) = crate::sys::kvec_with_capacity::<Held>(total) else {
        return core::ptr::null_mut();
    };
    let mut overflow = false;
    // SAFETY: As above. Containers only ever lose signalled links while we
    // walk them, so the second walk finds no more fences than the first.
    unsafe {
        for_each_unwrapped_in(num_fences, fences, iter, |fence| {
            // The capacity is `total`, so a fence beyond it is an overflow (the
            // reference taken for it is dropped with the refused value).
            overflow |= held.len() == total
                || crate::sys::push_within_capacity(&mut held, Held::get(fence)).is_err();
        })
    };
    if overflow {
        // A fence appeared between the walks: dropping it would let the merged
        // fence signal early, so fail instead.
        crate::sys::warn();
        return core::ptr::null_mut();
    }

    match merge::merge(&mut held[..]) {
        Merged::Stub => {
            // Every fence has signalled: a stub with the latest of their times.
            let stamp = merge::stub_timestamp(held.iter().map(Held::timestamp));
            crate::sys::kvec_free(held);
            // SAFETY: No preconditions.
            unsafe { bindings::dma_fence_allocate_private_stub(stamp) }
        }
        Merged::Single => {
            // The survivor is at the front; the others' references drop here.
            let mut rest = held.into_iter();
            rest.next().map_or(core::ptr::null_mut(), Held::into_raw)
        }
        Merged::Array(n) => into_array(held, n),
    }
}

/// Makes a `dma_fence_array` (on a new context, seqno 1, signalling when all
/// have) that takes over the references of the first `n` fences in `held`
/// (the others are dropped); NULL without memory.
fn into_array(mut held: KVec<Held>, n: usize) -> *mut dma_fence {
    let Ok(count) = i32::try_from(n) else {
        return core::ptr::null_mut();
    };
    let len = held.len();
    if n > len {
        return core::ptr::null_mut();
    }
    // SAFETY: `n <= len`: the vector keeps its first `n` fences, and the
    // references of the others, no longer counted, are dropped in place.
    unsafe {
        let tail = core::ptr::slice_from_raw_parts_mut(held.as_mut_ptr().add(n), len - n);
        held.set_len(n);
        core::ptr::drop_in_place(tail);
    }
    // The array owns a kmalloc'ed array of fence pointers and kfree's it:
    // the vector's own buffer is one (`KVec` allocates with kmalloc, and
    // `Held` is a transparent fence pointer), so it is handed over as it is,
    // references included, without a second allocation.
    let (list, len, capacity) = held.into_raw_parts();
    let context = super::dma_fence_context_alloc(1);
    // SAFETY: `list` holds `n` fence references, kmalloc'ed, now the array's.
    let array = unsafe { bindings::dma_fence_array_create(count, list.cast(), context, 1, false) };
    if array.is_null() {
        // SAFETY: The array was not created: the buffer and its references
        // are still ours, exactly as `into_raw_parts` gave them.
        drop(unsafe { KVec::from_raw_parts(list, len, capacity) });
        return core::ptr::null_mut();
    }
    // SAFETY: `array` is a live dma_fence_array; its fence is its first field.
    unsafe { core::ptr::addr_of_mut!((*array).base) }
}

c_abi!(
    dma_fence_unwrap_first,
    dma_fence_unwrap_next,
    __dma_fence_unwrap_merge
);
