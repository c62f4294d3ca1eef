// SPDX-License-Identifier: GPL-2.0-only

//! dma-fence-unwrap: the C ABI of `drivers/dma-buf/dma-fence-unwrap.c`.
//!
//! Iterates over the fences inside containers (a chain of arrays at most, as
//! containers never nest otherwise) and merges sets of fences into one. The
//! merge rule itself (which fences survive, in which order) is pure logic in
//! [`crate::logic::merge`], tested on the host.
//!
//! C header: [`include/linux/dma-fence-unwrap.h`](srctree/include/linux/dma-fence-unwrap.h).

use super::{array, chain, Fence, FenceCore, FenceEntry};
use crate::logic::{
    merge::{self, Merged},
    seqno::SeqnoWidth,
    view::FenceView,
};
use core::ptr::null_mut;
use kernel::bindings::{self, dma_fence, dma_fence_unwrap};
use kernel::ffi::c_uint;
use kernel::types::ARef;

/// An unwrap cursor before its first step (every field is set by it); a
/// constant, where the bindgen `Default` would be a call into another crate.
pub(crate) const CURSOR_START: Cursor = Cursor(dma_fence_unwrap {
    chain: null_mut(),
    array: null_mut(),
    index: 0,
});

/// An unwrap cursor (`struct dma_fence_unwrap`): where a walk over the
/// fences inside a container is.
///
/// # Invariants
///
/// Once [`Cursor::first`] has run: `chain` is NULL (the walk is over) or
/// the current link of the chain, to which the cursor holds a reference;
/// `array` is the fence the link contains (`dma_fence_chain_contained`,
/// NULL with `chain`), live as long as the link; `index` the position in
/// it.
#[repr(transparent)]
pub(crate) struct Cursor(dma_fence_unwrap);

impl Cursor {
    /// The fence of the current link (the link itself, or its contained
    /// fence), or `None` once the walk is over.
    #[inline]
    fn array(&self) -> Option<&Fence> {
        // SAFETY: NULL or live as long as the link the cursor holds (type
        // invariant), which the borrow of the cursor keeps.
        unsafe { self.0.array.as_ref().map(|_| Fence::from_raw(self.0.array)) }
    }

    /// Starts the array level of the cursor on its current chain link
    /// (`__dma_fence_unwrap_array`).
    #[inline]
    fn enter_link(&mut self) -> Option<&Fence> {
        // SAFETY: NULL, or the link the cursor holds a reference to (type
        // invariant).
        let link = unsafe { self.0.chain.as_ref().map(|_| Fence::from_raw(self.0.chain)) };
        self.0.array = link.map_or(null_mut(), |link| chain::contained_of(link).raw());
        self.0.index = 0;
        self.array().and_then(array::first)
    }

    /// Starts the walk over the fences inside `head`; returns the first.
    ///
    /// The cursor takes a reference to the current chain link, dropped as
    /// the walk moves on (and by the last step, which returns `None`).
    #[inline]
    pub(crate) fn first(&mut self, head: Option<&Fence>) -> Option<&Fence> {
        // INVARIANT: The reference taken here is the cursor's.
        self.0.chain = head.map_or(null_mut(), |head| {
            ARef::into_raw(ARef::from(head)).as_ptr().cast()
        });
        self.enter_link()
    }

    /// The next fence of the walk started by [`Cursor::first`], or `None`.
    #[inline]
    pub(crate) fn next(&mut self) -> Option<&Fence> {
        self.0.index = self.0.index.wrapping_add(1);
        let index = self.0.index;
        if let Some(next) = self.array().and_then(|array| array::next(array, index)) {
            // (Re-borrowed, so that the cursor is free to change below.)
            let next = next.raw();
            // SAFETY: A member of the current link, live as long as it.
            return Some(unsafe { Fence::from_raw(next) });
        }
        // The walk consumes the cursor's reference to the link and gives one
        // to the next (or none at the end).
        let link = core::ptr::NonNull::new(self.0.chain)
            // SAFETY: The reference the cursor holds (type invariant).
            .map(|link| unsafe { Fence::from_raw_owned(link) });
        self.0.chain = link
            .and_then(chain::walk)
            .map_or(null_mut(), |next| ARef::into_raw(next).as_ptr().cast());
        self.enter_link()
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
    // SAFETY: `head` is NULL or live, the cursor valid for writes and ours
    // for the call (caller's promise); `first` sets every field.
    let (head, cursor) = unsafe {
        (
            head.as_ref().map(|_| Fence::from_raw(head)),
            &mut *cursor.cast::<Cursor>(),
        )
    };
    cursor.first(head).map_or(null_mut(), Fence::raw)
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
    // SAFETY: A cursor set up by `dma_fence_unwrap_first` (caller's promise),
    // so with the invariants of `Cursor`, ours for the call.
    let cursor = unsafe { &mut *cursor.cast::<Cursor>() };
    cursor.next().map_or(null_mut(), Fence::raw)
}

/// The signal timestamp of a signalled fence (`dma_fence_timestamp`).
fn timestamp(entry: &FenceEntry) -> bindings::ktime_t {
    entry.fence().timestamp()
}

/// One fence found while unwrapping, with the reference the merge holds.
impl FenceView for FenceEntry {
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
/// Walking to the end drops the reference the cursor holds. Each fence is
/// live during its call.
fn walk(head: &Fence, cursor: &mut Cursor, f: &mut impl FnMut(&Fence)) {
    let mut fence = cursor.first(Some(head));
    while let Some(found) = fence {
        f(found);
        fence = cursor.next();
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
    walk(head, &mut cursor, &mut f);
}

/// Calls `f` on every fence inside each of the `fences` (unwrapping
/// containers), the `i`-th walked with the `i`-th of `cursors`.
fn for_each_unwrapped_in(fences: &[&Fence], cursors: &mut [Cursor], mut f: impl FnMut(&Fence)) {
    for (fence, cursor) in fences.iter().zip(cursors) {
        walk(fence, cursor, &mut f);
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
    let num = num_fences as usize;
    // SAFETY: `num` live (so non-NULL) fences, which `&Fence` has the layout
    // of, and `num` cursors, ours for the call (caller's promise); empty
    // slices for none, where the pointers may be anything.
    let (fences, cursors) = unsafe {
        if num == 0 {
            (&[][..], &mut [][..])
        } else {
            (
                core::slice::from_raw_parts(fences.cast::<&Fence>(), num),
                core::slice::from_raw_parts_mut(iter.cast::<Cursor>(), num),
            )
        }
    };
    merge_into(fences, cursors).map_or(null_mut(), |fence| ARef::into_raw(fence).as_ptr().cast())
}

/// [`__dma_fence_unwrap_merge`] for the core's callers: the merged fence,
/// or `None` without memory.
pub(crate) fn merge_into(fences: &[&Fence], cursors: &mut [Cursor]) -> Option<ARef<Fence>> {
    // Count first, so that collecting cannot need to allocate mid-walk.
    let mut total = 0usize;
    for_each_unwrapped_in(fences, cursors, |_| total += 1);

    let mut held = crate::sys::kvec_with_capacity::<FenceEntry>(total)?;
    let mut overflow = false;
    // Containers only ever lose signalled links while we walk them, so the
    // second walk finds no more fences than the first.
    for_each_unwrapped_in(fences, cursors, |fence| {
        // The capacity is `total`, so a fence beyond it is an overflow (the
        // reference taken for it is dropped with the refused value).
        overflow |= held.len() == total
            || crate::sys::push_within_capacity(&mut held, FenceEntry::get(fence)).is_err();
    });
    if overflow {
        // A fence appeared between the walks: dropping it would let the merged
        // fence signal early, so fail instead.
        crate::sys::warn();
        return None;
    }

    match merge::merge(&mut held[..]) {
        Merged::Stub => {
            // Every fence has signalled: a stub with the latest of their times.
            let stamp = merge::stub_timestamp(held.iter().map(timestamp));
            crate::sys::kvec_free(held);
            super::stub::private_stub(stamp)
        }
        Merged::Single => {
            // The survivor is at the front; the others' references drop here.
            crate::sys::kvec_truncate(&mut held, 1);
            let single = crate::sys::kvec_pop(&mut held);
            crate::sys::kvec_free(held);
            single.map(FenceEntry::into_ref)
        }
        Merged::Array(n) => {
            // The array takes the first `n`; the others' references drop.
            crate::sys::kvec_truncate(&mut held, n);
            array::create(held, super::dma_fence_context_alloc(1), 1)
        }
    }
}

c_abi!(
    dma_fence_unwrap_first,
    dma_fence_unwrap_next,
    __dma_fence_unwrap_merge
);
