// SPDX-License-Identifier: GPL-2.0

//! Fence containers: arrays, chains, and walking or merging their fences.
//!
//! C headers: [`include/linux/dma-fence-array.h`](srctree/include/linux/dma-fence-array.h),
//! [`include/linux/dma-fence-chain.h`](srctree/include/linux/dma-fence-chain.h),
//! [`include/linux/dma-fence-unwrap.h`](srctree/include/linux/dma-fence-unwrap.h).

use super::Fence;
use crate::{
    alloc::{flags::GFP_KERNEL, KVec},
    bindings,
    error::{code::*, Result},
    types::ARef,
};
use core::ptr::NonNull;

/// Iterator over the plain fences inside a fence (see [`Fence::unwrapped`]).
///
/// Yields a new reference per fence, because walking a chain may drop the
/// links already passed.
pub struct Unwrapped {
    cursor: bindings::dma_fence_unwrap,
    next: *mut bindings::dma_fence,
}

impl Unwrapped {
    pub(super) fn new(head: &Fence) -> Self {
        // SAFETY: An all-zero cursor is a valid starting state; `first` fills it.
        let mut cursor: bindings::dma_fence_unwrap = unsafe { core::mem::zeroed() };
        // SAFETY: `head` is a live fence; the cursor takes its own reference
        // on it (released by walking to the end, or by `drop`).
        let next = unsafe { bindings::dma_fence_unwrap_first(head.as_raw(), &mut cursor) };
        Self { cursor, next }
    }
}

impl Iterator for Unwrapped {
    type Item = ARef<Fence>;

    fn next(&mut self) -> Option<ARef<Fence>> {
        let cur = NonNull::new(self.next)?;
        // SAFETY: `cur` is kept alive by the cursor's reference on its chain;
        // take our own before moving on.
        let item: ARef<Fence> = unsafe { Fence::from_raw(cur.as_ptr()) }.into();
        // SAFETY: The cursor was started by `dma_fence_unwrap_first`.
        self.next = unsafe { bindings::dma_fence_unwrap_next(&mut self.cursor) };
        Some(item)
    }
}

impl Drop for Unwrapped {
    fn drop(&mut self) {
        // A walk that stopped early still holds the current chain link
        // (`dma_fence_put` accepts `NULL`, where a finished walk ends).
        // SAFETY: The cursor owns this reference.
        unsafe { super::refs::put(self.cursor.chain) };
    }
}

/// Merges fences into one that signals when all of them have: containers
/// are flattened, signalled fences dropped, and of several fences on one
/// context only the latest kept (`dma_fence_unwrap_merge`). Merging nothing,
/// or only signalled fences, gives a signalled fence.
///
/// # Examples
///
/// ```
/// use kernel::dma_buf::fence::{self, Fence};
///
/// let a = Fence::stub();
/// let merged = fence::merge(&[&a, &a])?;
/// assert!(merged.is_signaled());
/// # Ok::<(), Error>(())
/// ```
pub fn merge(fences: &[&Fence]) -> Result<ARef<Fence>> {
    let n = fences.len();
    let mut ptrs = KVec::with_capacity(n, GFP_KERNEL)?;
    let mut cursors = KVec::with_capacity(n, GFP_KERNEL)?;
    for f in fences {
        ptrs.push(f.as_raw(), GFP_KERNEL)?;
        // SAFETY: An all-zero cursor is valid scratch space for the merge.
        cursors.push(
            unsafe { core::mem::zeroed::<bindings::dma_fence_unwrap>() },
            GFP_KERNEL,
        )?;
    }
    // SAFETY: `ptrs` holds `n` live fences (borrowed for the call; the merge
    // takes its own references) and `cursors` `n` scratch cursors.
    let merged = unsafe {
        bindings::__dma_fence_unwrap_merge(n as u32, ptrs.as_mut_ptr(), cursors.as_mut_ptr())
    };
    let merged = NonNull::new(merged).ok_or(ENOMEM)?;
    // SAFETY: The merge returns a new reference.
    Ok(unsafe { Fence::from_raw_owned(merged) })
}

/// Builds a fence array (`dma_fence_array_create`) on `context` at `seqno`
/// that signals when all of `fences` have (or the first one, if `any`).
///
/// # Examples
///
/// ```
/// use kernel::dma_buf::fence::{self, Fence};
///
/// let mut list = KVec::new();
/// list.push(Fence::stub(), GFP_KERNEL)?;
/// list.push(Fence::stub(), GFP_KERNEL)?;
/// let ctx = fence::context_alloc(core::num::NonZeroU32::MIN);
/// let all = fence::array(list, ctx, 1, false)?;
/// assert!(all.is_container());
/// assert_eq!(all.unwrapped().count(), 2);
/// # Ok::<(), Error>(())
/// ```
pub fn array(
    fences: KVec<ARef<Fence>>,
    context: u64,
    seqno: u32,
    any: bool,
) -> Result<ARef<Fence>> {
    if fences.is_empty() {
        return Err(EINVAL);
    }
    let n = fences.len();
    let mut ptrs = KVec::with_capacity(n, GFP_KERNEL)?;
    for f in fences {
        // The array takes over each reference.
        ptrs.push(
            ARef::into_raw(f).as_ptr().cast::<bindings::dma_fence>(),
            GFP_KERNEL,
        )?;
    }
    let (raw, len, cap) = ptrs.into_raw_parts();
    // SAFETY: `raw` is a kmalloc'ed array of `len` fence references; on
    // success the array owns it and them, and frees it with `kfree`.
    let array = unsafe { bindings::dma_fence_array_create(len as i32, raw, context, seqno, any) };
    match NonNull::new(array) {
        // SAFETY: `base` is the array's fence, with the one reference created.
        Some(a) => Ok(unsafe { Fence::from_raw_owned(NonNull::from(&mut (*a.as_ptr()).base)) }),
        None => {
            // SAFETY: On failure the list and the references in it are still
            // ours: `raw`, `len`, `cap` came from `into_raw_parts`.
            let ptrs = unsafe { KVec::from_raw_parts(raw, len, cap) };
            for p in ptrs {
                // SAFETY: Each entry is a reference we own.
                unsafe { super::refs::put(p) };
            }
            Err(ENOMEM)
        }
    }
}

/// Appends `fence` to the chain ending in `prev` as point `seqno`
/// (`dma_fence_chain_init`), returning the new chain link.
///
/// # Examples
///
/// ```
/// use kernel::dma_buf::fence::{self, Fence};
///
/// let link = fence::chain(Fence::stub(), Fence::stub(), 1)?;
/// let link = fence::chain(link, Fence::stub(), 2)?;
/// assert!(link.is_container());
/// assert_eq!(link.seqno(), 2);
/// # Ok::<(), Error>(())
/// ```
pub fn chain(prev: ARef<Fence>, fence: ARef<Fence>, seqno: u64) -> Result<ARef<Fence>> {
    // SAFETY: `dma_fence_chain_alloc` has no preconditions.
    let link = NonNull::new(unsafe { bindings::dma_fence_chain_alloc() }).ok_or(ENOMEM)?;
    let prev = ARef::into_raw(prev).as_ptr().cast();
    let fence = ARef::into_raw(fence).as_ptr().cast();
    // SAFETY: `link` is fresh memory for a chain node; the init takes over the
    // references to `prev` and `fence`.
    unsafe { bindings::dma_fence_chain_init(link.as_ptr(), prev, fence, seqno) };
    // SAFETY: `base` is the link's fence, with the one reference created.
    Ok(unsafe { Fence::from_raw_owned(NonNull::from(&mut (*link.as_ptr()).base)) })
}
