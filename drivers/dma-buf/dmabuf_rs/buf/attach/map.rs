// SPDX-License-Identifier: GPL-2.0-only

//! Mapping an attachment into its device's DMA address space.
//!
//! The exporter's `map_dma_buf` op makes the scatterlist; the rules of
//! [`crate::logic::attach`] say when a mapping is cached, pinned, or
//! followed by a wait for the buffer's kernel fences. With
//! CONFIG_DMABUF_DEBUG, the page pointers of a mapping are scrambled while
//! the importer has it, so that an importer that reaches for the pages
//! behind the DMA addresses (which it must not) crashes early instead of
//! corrupting memory later.

use super::MAX_SCHEDULE_TIMEOUT;
use super::{assert_held, err_ptr, errno_ptr, is_dynamic, is_err, ops, pin_op, unpin_op};
use crate::buf::lock::ResvGuard;
use crate::logic::attach::{new_mapping, reuse_cached, unmap_plan, UnmapPlan};
use crate::logic::errno::{EINVAL, ENOMEM};
use crate::sys;
use kernel::bindings::{self, dma_buf, dma_buf_attachment, dma_data_direction, sg_table};
use kernel::ffi::c_long;

/// Whether CONFIG_DMABUF_MOVE_NOTIFY trusts dynamic importers with moves of
/// mapped buffers (else each mapping of a dynamic exporter pins it).
const MOVE_NOTIFY: bool = cfg!(CONFIG_DMABUF_MOVE_NOTIFY);

/// Flips the bits of every entry's `page_link` above its low byte (which
/// holds the scatterlist's own flags), as `mangle_sg_table()`; a second call
/// undoes the first. Only with CONFIG_DMABUF_DEBUG.
///
/// # Safety
///
/// `sgt` must be a valid scatterlist table with `orig_nents` entries that
/// nobody else uses during the call.
#[cfg(CONFIG_DMABUF_DEBUG)]
unsafe fn mangle(sgt: *mut sg_table) {
    // SAFETY: The table is valid with `orig_nents` entries (caller), walked
    // as `for_each_sgtable_sg()`: `sg_next` follows chain entries, which are
    // never visited themselves, so only page entries change.
    unsafe {
        let mut sg = (*sgt).sgl;
        for _ in 0..(*sgt).orig_nents {
            (*sg).page_link ^= !0xff;
            sg = bindings::sg_next(sg);
        }
    }
}

/// Does nothing without CONFIG_DMABUF_DEBUG.
///
/// # Safety
///
/// None needed; `unsafe` so that both versions have one signature.
#[cfg(not(CONFIG_DMABUF_DEBUG))]
unsafe fn mangle(_sgt: *mut sg_table) {}

/// `__map_dma_buf`: asks the exporter for a mapping of `attach`.
///
/// A static importer then waits (interruptibly) for the buffer's kernel
/// fences, such as a move the exporter started: should that fail, the
/// mapping is given back and the error returned.
///
/// Returns the mapping (mangled with CONFIG_DMABUF_DEBUG), NULL, or an
/// error pointer, as the exporter or the wait decided.
///
/// # Safety
///
/// `attach` must be a live attachment of a live dma-buf, whose reservation
/// lock the caller holds.
pub(super) unsafe fn map_dma_buf(
    attach: *mut dma_buf_attachment,
    direction: dma_data_direction,
) -> *mut sg_table {
    // SAFETY: The attachment is live (caller).
    let dmabuf = unsafe { (*attach).dmabuf };
    // SAFETY: The dma-buf is live (caller).
    let ops = unsafe { ops(dmabuf) };
    // `dma_buf_export()` refuses exporters without `map_dma_buf` and
    // `unmap_dma_buf`; a missing one is a broken invariant.
    let (Some(map), Some(unmap)) = (ops.map_dma_buf, ops.unmap_dma_buf) else {
        sys::warn();
        return errno_ptr(EINVAL);
    };

    // SAFETY: A live attachment, with the lock held (caller).
    let sgt = unsafe { map(attach, direction) };
    if sgt.is_null() || is_err(sgt) {
        return sgt;
    }

    // SAFETY: The attachment and its dma-buf are live (caller).
    if unsafe { super::sides(attach) }.waits_after_map() {
        // SAFETY: The dma-buf is live, so is its reservation object; the
        // wait takes no lock.
        let ret = unsafe {
            crate::resv::dma_resv_wait_timeout(
                (*dmabuf).resv,
                bindings::dma_resv_usage_DMA_RESV_USAGE_KERNEL,
                true,
                MAX_SCHEDULE_TIMEOUT,
            )
        };
        if ret < 0 {
            // SAFETY: The mapping was just made for this attachment and
            // direction, and is not mangled yet.
            unsafe { unmap(attach, sgt, direction) };
            return err_ptr(ret);
        }
    }

    // SAFETY: The mapping is new, and the importer has not got it yet.
    unsafe { mangle(sgt) };
    sgt
}

/// `__unmap_dma_buf`: gives a mapping of `attach` back to the exporter,
/// unmangled first.
///
/// # Safety
///
/// `attach` must be a live attachment of a live dma-buf, whose reservation
/// lock the caller holds; `sgt` a mapping made for it by [`map_dma_buf`] with
/// `direction`, which nobody uses any more.
pub(super) unsafe fn unmap_dma_buf(
    attach: *mut dma_buf_attachment,
    sgt: *mut sg_table,
    direction: dma_data_direction,
) {
    // SAFETY: The mapping is ours to change (caller); flipping the bits
    // again restores them.
    unsafe { mangle(sgt) };
    // SAFETY: The attachment and its dma-buf are live (caller).
    match unsafe { ops((*attach).dmabuf) }.unmap_dma_buf {
        // SAFETY: The exporter's own mapping, with the lock held (caller).
        Some(unmap) => unsafe { unmap(attach, sgt, direction) },
        // Refused by `dma_buf_export()`, see `map_dma_buf`.
        None => sys::warn(),
    }
}

/// With CONFIG_DMA_API_DEBUG, logs (`pr_debug`) each entry of a new mapping
/// whose DMA address or length is not page aligned.
///
/// # Safety
///
/// `sgt` must be a valid scatterlist table with `nents` DMA entries.
#[cfg(CONFIG_DMA_API_DEBUG)]
unsafe fn check_alignment(sgt: *mut sg_table) {
    const PAGE_MASK: u64 = (1 << bindings::PAGE_SHIFT) - 1;
    // SAFETY: The table is valid with `nents` DMA entries (caller), walked
    // as `for_each_sgtable_dma_sg()`.
    unsafe {
        let mut sg = (*sgt).sgl;
        for _ in 0..(*sgt).nents {
            let addr = (*sg).dma_address;
            // `sg_dma_len()`, read into an `int` as C does.
            #[cfg(CONFIG_NEED_SG_DMA_LENGTH)]
            let len = (*sg).dma_length as kernel::ffi::c_int;
            #[cfg(not(CONFIG_NEED_SG_DMA_LENGTH))]
            let len = (*sg).length as kernel::ffi::c_int;
            if addr & PAGE_MASK != 0 || (len as u64) & PAGE_MASK != 0 {
                bindings::dmabuf_rs_map_debug_unaligned(addr, len);
            }
            sg = bindings::sg_next(sg);
        }
    }
}

/// The checks every map and unmap call opens with: `might_sleep()`, then
/// `WARN_ON(!attach || !attach->dmabuf || no_table)`, where `no_table` is the
/// unmap calls' `!sg_table` (`false` for the map calls).
///
/// Returns the attachment's dma-buf, or `None` after the warning.
///
/// # Safety
///
/// `attach` must be NULL or a live attachment.
#[track_caller]
unsafe fn checked_dmabuf(attach: *mut dma_buf_attachment, no_table: bool) -> Option<*mut dma_buf> {
    sys::might_sleep();

    // SAFETY: A non-NULL attachment is live (caller).
    if attach.is_null() || unsafe { (*attach).dmabuf }.is_null() || no_table {
        sys::warn();
        return None;
    }
    // SAFETY: As above.
    Some(unsafe { (*attach).dmabuf })
}

/// Maps an attachment into its device's DMA address space, for `direction`.
///
/// A mapping cached in the attachment (made at attach time, or the first
/// one of an exporter with `cache_sgt_mapping`) is returned again if its
/// direction is `direction` or bidirectional; with another direction the
/// call fails with -EBUSY. Otherwise the exporter maps the buffer, pinned
/// first if the exporter is dynamic (unless CONFIG_DMABUF_MOVE_NOTIFY); a
/// static importer's mapping also waits for the buffer's kernel fences,
/// while a dynamic importer must wait for them itself. The DMA addresses and
/// lengths of the scatterlist are page aligned.
///
/// The mapping pins the backing storage until [`dma_buf_unmap_attachment`],
/// so importers should not keep it longer than needed. The caller holds the
/// reservation lock; may sleep.
///
/// Returns the scatterlist table, or an error pointer: -EINVAL (with a
/// warning) for a NULL attachment or one without a dma-buf, -EBUSY, -ENOMEM
/// when the exporter returned NULL, the error of the exporter's `pin` or
/// `map_dma_buf`, or -ERESTARTSYS when the wait was interrupted.
///
/// # Safety
///
/// `attach` must be NULL or a live attachment, whose dma-buf (if any) is live.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_buf_map_attachment(
    attach: *mut dma_buf_attachment,
    direction: dma_data_direction,
) -> *mut sg_table {
    // SAFETY: NULL or live (caller).
    let Some(dmabuf) = (unsafe { checked_dmabuf(attach, false) }) else {
        return errno_ptr(EINVAL);
    };
    // SAFETY: The dma-buf is live, so is its reservation object.
    unsafe { assert_held((*dmabuf).resv) };

    // SAFETY: The attachment is live and its cached mapping changes only
    // under the lock we hold.
    let (cached_sgt, cached_dir) = unsafe { ((*attach).sgt, (*attach).dir) };
    if !cached_sgt.is_null() {
        return match reuse_cached(cached_dir, direction) {
            Ok(()) => cached_sgt,
            Err(err) => errno_ptr(err),
        };
    }
    // SAFETY: The dma-buf is live.
    let plan = unsafe {
        new_mapping(
            is_dynamic(dmabuf),
            MOVE_NOTIFY,
            ops(dmabuf).cache_sgt_mapping,
        )
    };

    if plan.pin {
        // SAFETY: A live attachment, with the lock held.
        let ret = unsafe { pin_op(attach) };
        if ret != 0 {
            return err_ptr(ret as c_long);
        }
    }

    // SAFETY: A live attachment, with the lock held.
    let mut sgt = unsafe { map_dma_buf(attach, direction) };
    if sgt.is_null() {
        sgt = errno_ptr(ENOMEM);
    }
    if is_err(sgt) {
        if plan.pin {
            // SAFETY: As above; we pinned above.
            unsafe { unpin_op(attach) };
        }
        return sgt;
    }

    if plan.cache {
        // SAFETY: The attachment is live, and we hold the lock.
        unsafe {
            (*attach).sgt = sgt;
            (*attach).dir = direction;
        }
    }
    #[cfg(CONFIG_DMA_API_DEBUG)]
    {
        // SAFETY: The exporter made the table for this attachment.
        unsafe { check_alignment(sgt) };
    }
    sgt
}

/// [`dma_buf_map_attachment`] for callers that do not hold the reservation
/// lock: takes it around the call.
///
/// Returns what [`dma_buf_map_attachment`] returns; -EINVAL (with a warning)
/// for a NULL attachment or one without a dma-buf. May sleep.
///
/// # Safety
///
/// `attach` must be NULL or a live attachment, whose dma-buf (if any) is live.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_buf_map_attachment_unlocked(
    attach: *mut dma_buf_attachment,
    direction: dma_data_direction,
) -> *mut sg_table {
    // SAFETY: NULL or live (caller).
    let Some(dmabuf) = (unsafe { checked_dmabuf(attach, false) }) else {
        return errno_ptr(EINVAL);
    };
    // SAFETY: The dma-buf is live, so is its reservation object; the caller
    // does not hold its lock (locking convention).
    let _lock = unsafe { ResvGuard::lock((*dmabuf).resv) };
    // SAFETY: As the caller promised; we hold the lock.
    unsafe { dma_buf_map_attachment(attach, direction) }
}

/// Unmaps a mapping made by [`dma_buf_map_attachment`].
///
/// The attachment's cached mapping is left alone (detach releases it);
/// another mapping goes back to the exporter, and the pin taken for it is
/// dropped. Warns and does nothing for a NULL attachment, one without a
/// dma-buf, or a NULL table. The caller holds the reservation lock; may sleep.
///
/// # Safety
///
/// `attach` must be NULL or a live attachment, whose dma-buf (if any) is
/// live; `sg_table` NULL or a mapping that `dma_buf_map_attachment` returned
/// for it with `direction`, which the caller no longer uses.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_buf_unmap_attachment(
    attach: *mut dma_buf_attachment,
    sg_table: *mut sg_table,
    direction: dma_data_direction,
) {
    // SAFETY: NULL or live (caller).
    let Some(dmabuf) = (unsafe { checked_dmabuf(attach, sg_table.is_null()) }) else {
        return;
    };
    // SAFETY: The dma-buf is live, so is its reservation object.
    unsafe { assert_held((*dmabuf).resv) };

    // SAFETY: The attachment is live, its cached mapping only changes under
    // the lock we hold; the dma-buf is live.
    let (is_cached, exporter_dynamic) = unsafe { ((*attach).sgt == sg_table, is_dynamic(dmabuf)) };
    match unmap_plan(is_cached, exporter_dynamic, MOVE_NOTIFY) {
        UnmapPlan::Keep => {}
        UnmapPlan::Unmap { unpin } => {
            // SAFETY: The caller gives back a mapping of this attachment,
            // with the lock held.
            unsafe { unmap_dma_buf(attach, sg_table, direction) };
            if unpin {
                // SAFETY: As above; the map call pinned.
                unsafe { super::dma_buf_unpin(attach) };
            }
        }
    }
}

/// [`dma_buf_unmap_attachment`] for callers that do not hold the reservation
/// lock: takes it around the call.
///
/// Warns and does nothing for a NULL attachment, one without a dma-buf, or
/// a NULL table. May sleep.
///
/// # Safety
///
/// As [`dma_buf_unmap_attachment`].
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_buf_unmap_attachment_unlocked(
    attach: *mut dma_buf_attachment,
    sg_table: *mut sg_table,
    direction: dma_data_direction,
) {
    // SAFETY: NULL or live (caller).
    let Some(dmabuf) = (unsafe { checked_dmabuf(attach, sg_table.is_null()) }) else {
        return;
    };
    // SAFETY: The dma-buf is live, so is its reservation object; the caller
    // does not hold its lock (locking convention).
    let _lock = unsafe { ResvGuard::lock((*dmabuf).resv) };
    // SAFETY: As the caller promised; we hold the lock.
    unsafe { dma_buf_unmap_attachment(attach, sg_table, direction) };
}

c_abi!(
    dma_buf_map_attachment,
    dma_buf_map_attachment_unlocked,
    dma_buf_unmap_attachment,
    dma_buf_unmap_attachment_unlocked,
);
