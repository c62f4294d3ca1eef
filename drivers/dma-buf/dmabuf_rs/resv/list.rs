// SPDX-License-Identifier: GPL-2.0-only

//! The fence list of a reservation object (`struct dma_resv_list`).
//!
//! A reservation object points to one list of fence slots. Writers hold the
//! reservation lock; readers may instead hold only the RCU read lock, so the
//! list is never changed in ways a reader could trip over:
//!
//! - a slot is overwritten with a single store, and the list only grows by
//!   writing the new slot first and the count after it;
//! - a list that must grow is replaced by a copy, published with a release
//!   store, and the old one is freed only after a grace period (`kfree_rcu`);
//! - fences are freed only after a grace period too (`dma_fence_free`), so a
//!   reader may look at a fence it has found in a slot and then try to take a
//!   reference to it with `dma_fence_get_rcu`.
//!
//! Each slot holds a fence address with the fence's usage in its two low bits;
//! the packing rule is [`crate::logic::usage::pack`]/[`unpack`](usage::unpack).

use crate::logic::usage::{self, Usage};
use core::mem::{offset_of, size_of};
use core::ptr::{self, addr_of_mut};
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering};
use kernel::bindings::{self, dma_fence, dma_resv};

/// `struct dma_resv_list`: private to the core in C as well, so the layout
/// only has to agree with itself; it is kept identical to the C one anyway.
///
/// # Invariants
///
/// `max_fences` slots follow the header in one kmalloc'ed block (fewer are
/// counted after `dma_resv_reset_max_fences()` lowers the count for debugging);
/// `num_fences <= max_fences`, and slots `0..num_fences` each hold a fence
/// reference owned by the list, tagged with its usage.
#[repr(C)]
pub(crate) struct ResvList {
    /// The RCU callback head with which the list is freed after a grace period.
    rcu: bindings::callback_head,
    /// Slots in use; RCU readers load it, so it is only accessed atomically.
    num_fences: u32,
    /// Slots that may be used; only accessed under the reservation lock.
    max_fences: u32,
    /// The slots (`struct dma_fence __rcu *table[]`), each read and written
    /// atomically as a tagged fence address.
    table: [usize; 0],
}

/// The `fences` pointer of `obj`, as the atomic that RCU treats it as.
///
/// # Safety
///
/// `obj` must point to a reservation object that stays allocated for `'a`.
unsafe fn list_slot<'a>(obj: *mut dma_resv) -> &'a AtomicPtr<bindings::dma_resv_list> {
    // SAFETY: The field is a valid, aligned pointer for `'a` (caller's
    // promise); the core only accesses it atomically once `obj` is shared.
    unsafe { AtomicPtr::from_ptr(addr_of_mut!((*obj).fences)) }
}

/// Returns the current fence list of `obj` (`dma_resv_fences_list`), or NULL.
///
/// # Safety
///
/// `obj` must point to an initialised reservation object, and the caller must
/// hold its lock or the RCU read lock for as long as it uses the returned
/// list (an owner tearing `obj` down uses [`owned_fences_list`]).
pub(crate) unsafe fn fences_list(obj: *mut dma_resv) -> *mut ResvList {
    // With PROVE_RCU, C's `rcu_dereference_check(obj->fences,
    // dma_resv_held(obj))` complains unless the caller is an RCU reader or
    // holds the lock; the same check runs here.
    #[cfg(CONFIG_PROVE_RCU)]
    // SAFETY: `obj` is initialised (caller's promise).
    unsafe {
        bindings::dmabuf_rs_resv_fences_read_check(obj)
    };
    // SAFETY: `obj` is initialised (caller's promise).
    unsafe { owned_fences_list(obj) }
}

/// As [`fences_list`], for the one caller that needs neither lock: the owner
/// of an object no one else can reach any more (C's
/// `rcu_dereference_protected(obj->fences, true)` in `dma_resv_fini`).
///
/// # Safety
///
/// `obj` must point to an initialised reservation object; the caller must
/// hold its lock or the RCU read lock, or own it outright.
pub(crate) unsafe fn owned_fences_list(obj: *mut dma_resv) -> *mut ResvList {
    // SAFETY: `obj` is initialised (caller's promise). Acquire stands in for
    // `rcu_dereference`'s dependency ordering: the list's contents as they
    // were published by `publish` are visible.
    unsafe { list_slot(obj) }.load(Ordering::Acquire).cast()
}

/// Makes `new` the fence list of `obj` and returns the list it replaces
/// (`rcu_assign_pointer`/`rcu_replace_pointer`).
///
/// # Safety
///
/// `obj` must point to an initialised reservation object whose lock the caller
/// holds; `new` must be NULL or a fully written list whose references now
/// belong to `obj`. The old list stays reachable by RCU readers until a grace
/// period has passed.
pub(crate) unsafe fn publish(obj: *mut dma_resv, new: *mut ResvList) -> *mut ResvList {
    // C's `rcu_replace_pointer(.., dma_resv_held(obj))`: with PROVE_RCU, a
    // writer without the lock is reported.
    #[cfg(CONFIG_PROVE_RCU)]
    // SAFETY: `obj` is initialised (caller's promise).
    unsafe {
        bindings::dmabuf_rs_resv_fences_write_check(obj)
    };
    // SAFETY: `obj` is initialised (caller's promise). Release orders the
    // list's contents before the pointer, as `rcu_assign_pointer` does.
    unsafe { list_slot(obj) }
        .swap(new.cast(), Ordering::Release)
        .cast()
}

/// The `num_fences` field of `list`, as an atomic.
///
/// # Safety
///
/// `list` must point to a list that stays allocated for `'a`.
unsafe fn num_slot<'a>(list: *mut ResvList) -> &'a AtomicU32 {
    // SAFETY: The field is valid and aligned for `'a` (caller's promise) and
    // only ever accessed atomically.
    unsafe { AtomicU32::from_ptr(addr_of_mut!((*list).num_fences)) }
}

/// Returns the number of slots in use.
///
/// Acquire pairs with [`set_num_fences`]: every slot below the count read is
/// visible with the fence that was stored in it before the count grew.
///
/// # Safety
///
/// `list` must point to a live list (under the reservation lock or RCU).
pub(crate) unsafe fn num_fences(list: *mut ResvList) -> u32 {
    // SAFETY: The list is live (caller's promise).
    unsafe { num_slot(list) }.load(Ordering::Acquire)
}

/// The number of slots in use, read with the reservation lock held.
///
/// Only the lock holder changes the count, so under the lock a plain read
/// sees the last store; unlike the acquire load of [`num_fences`], the
/// compiler can fold it into a compare, as C's plain
/// `cursor->fences->num_fences` is (one instruction per locked walk).
///
/// # Safety
///
/// `list` must be live, and the reservation lock of its object held.
pub(crate) unsafe fn num_fences_locked(list: *mut ResvList) -> u32 {
    // SAFETY: The list is live (caller's promise); with the lock held no
    // one writes the count, so this read races with no write.
    unsafe { ptr::addr_of!((*list).num_fences).read() }
}

/// Sets the number of slots in use, after the slots themselves were written
/// (the release store is the C core's `smp_wmb()` before the count).
///
/// # Safety
///
/// `list` must be live and not yet published, or published with its
/// reservation lock held; `num <= max_fences`, and slots `0..num` hold fences.
pub(crate) unsafe fn set_num_fences(list: *mut ResvList, num: u32) {
    // SAFETY: The list is live (caller's promise).
    unsafe { num_slot(list) }.store(num, Ordering::Release)
}

/// Returns the number of slots that may be used.
///
/// # Safety
///
/// `list` must be live and either unpublished or published with its
/// reservation lock held (the only context that touches `max_fences`).
pub(crate) unsafe fn max_fences(list: *mut ResvList) -> u32 {
    // SAFETY: Only lock holders and the owner of an unpublished list access
    // the field (caller's promise), so this plain read races with nothing.
    unsafe { (*list).max_fences }
}

/// Lowers the number of slots that may be used (`dma_resv_reset_max_fences`).
///
/// # Safety
///
/// As [`max_fences`], and `max` must not be below `num_fences` nor above the
/// current `max_fences`.
#[cfg(CONFIG_DEBUG_MUTEXES)]
pub(crate) unsafe fn set_max_fences(list: *mut ResvList, max: u32) {
    // SAFETY: As in `max_fences`; the caller keeps the field's invariant.
    unsafe { (*list).max_fences = max };
}

/// Slot `index` of `list`, as an atomic tagged fence address.
///
/// # Safety
///
/// `list` must point to a list that stays allocated for `'a`, with `index`
/// below the number of slots allocated for it.
unsafe fn slot<'a>(list: *mut ResvList, index: u32) -> &'a AtomicUsize {
    // SAFETY: `index` is within the allocation (caller's promise); slots are
    // aligned `usize`s that the core only accesses atomically.
    unsafe {
        let table = addr_of_mut!((*list).table).cast::<usize>();
        AtomicUsize::from_ptr(table.add(index as usize))
    }
}

/// Returns the fence in slot `index` and its usage (`dma_resv_list_entry`).
///
/// The fence is borrowed from the list: under the reservation lock it stays
/// live while the lock is held; under RCU only its memory is guaranteed, and a
/// reference must be taken with `dma_fence_get_rcu` before use.
///
/// # Safety
///
/// `list` must be live (under the reservation lock or RCU), and `index` below
/// the count of slots in use that the caller read from it, or a slot that the
/// caller itself wrote with [`set`].
pub(crate) unsafe fn entry(list: *mut ResvList, index: u32) -> (*mut dma_fence, Usage) {
    // SAFETY: The slot is in use, hence allocated (caller's promise). Acquire
    // stands in for `rcu_dereference`: the fence as the writer saw it is
    // visible.
    let raw = unsafe { slot(list, index) }.load(Ordering::Acquire);
    let (fence, usage) = usage::unpack(raw);
    (fence as *mut dma_fence, usage)
}

/// Stores `fence` with `usage` in slot `index` (`dma_resv_list_set`).
///
/// The slot's previous fence, if any, is not released; the reference to
/// `fence` moves into the list.
///
/// # Safety
///
/// `list` must be live and unpublished, or published with its reservation
/// lock held; `index` must be below `max_fences`; `fence` must be a live
/// fence whose reference the caller gives to the list.
pub(crate) unsafe fn set(list: *mut ResvList, index: u32, fence: *mut dma_fence, usage: Usage) {
    // SAFETY: The slot is allocated (caller's promise). Release is stronger
    // than C's `RCU_INIT_POINTER` (and free on x86): a reader that finds the
    // fence also sees it initialised.
    unsafe { slot(list, index) }.store(usage::pack(fence as usize, usage), Ordering::Release);
}

/// Allocates a list with room for at least `max_fences` fences and none in use
/// (`dma_resv_list_alloc`).
///
/// The allocation is rounded up to its kmalloc bucket, and every slot that
/// fits is counted in `max_fences`. Returns NULL if out of memory or if the
/// size does not fit. Allocates with GFP_KERNEL, so it may sleep.
pub(crate) fn alloc(max_fences: u32) -> *mut ResvList {
    let header = offset_of!(ResvList, table);
    let slot_size = size_of::<usize>();
    let Some(size) = (max_fences as usize)
        .checked_mul(slot_size)
        .and_then(|table| table.checked_add(header))
    else {
        return ptr::null_mut();
    };
    // SAFETY: No preconditions; the answer is never below `size`.
    let size = unsafe { bindings::kmalloc_size_roundup(size) };
    // GFP_KERNEL: the callers run in process context.
    let list: *mut ResvList = crate::sys::kmalloc(size, bindings::GFP_KERNEL);
    if list.is_null() {
        return list;
    }
    let slots = size.saturating_sub(header) / slot_size;
    // INVARIANT: `slots` slots fit in the block; counting fewer (if the count
    // did not fit in `u32`) is harmless. None are in use yet.
    // SAFETY: The new block is ours, large enough for the header.
    unsafe {
        (*list).max_fences = u32::try_from(slots).unwrap_or(u32::MAX);
        (*list).num_fences = 0;
    }
    list
}

/// Frees `list` after an RCU grace period, without touching its fences.
///
/// # Safety
///
/// `list` must come from [`alloc`] and be unreachable for new readers (never
/// published, or replaced in its reservation object).
pub(crate) unsafe fn kfree_rcu(list: *mut ResvList) {
    // SAFETY: The list was kmalloc'ed, its header holds the RCU head, and
    // no new reader can find it (caller's promise): `kfree_rcu(list, rcu)`.
    unsafe { crate::sys::kvfree_rcu(addr_of_mut!((*list).rcu), list.cast()) };
}

/// Releases the fences in use in `list`, then frees it after an RCU grace
/// period (`dma_resv_list_free`). Does nothing for NULL.
///
/// # Safety
///
/// `list` must be NULL, or come from [`alloc`] and be unreachable for new
/// readers, its fence references owned by the caller.
pub(crate) unsafe fn free(list: *mut ResvList) {
    if list.is_null() {
        return;
    }
    // SAFETY: The list and its references are the caller's; `i` stays below
    // the count of slots in use.
    unsafe {
        for i in 0..num_fences(list) {
            let (fence, _) = entry(list, i);
            crate::fence::put(fence);
        }
        kfree_rcu(list);
    }
}
