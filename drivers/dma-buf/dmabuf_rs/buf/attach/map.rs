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

use super::errno_ptr;
use super::object::{AttachLocked, Attachment, Mapped};
use super::MAX_SCHEDULE_TIMEOUT;
use crate::buf::methods::DmaBufCore;
use crate::logic::attach::{new_mapping, reuse_cached, unmap_plan, UnmapPlan};
use crate::logic::errno::{EINVAL, ENOMEM};
use crate::resv::Held;
use crate::sys;
use kernel::bindings::{self, dma_buf_attachment, dma_data_direction, sg_table};
use kernel::ffi::c_long;

/// Whether CONFIG_DMABUF_MOVE_NOTIFY trusts dynamic importers with moves of
/// mapped buffers (else each mapping of a dynamic exporter pins it).
const MOVE_NOTIFY: bool = cfg!(CONFIG_DMABUF_MOVE_NOTIFY);

/// A mapping that nobody else uses while the value lives: one the exporter
/// has just made, before anyone else has it, or one on its way back to the
/// exporter, which nobody uses any more.
///
/// # Invariants
///
/// `self.0` is a valid scatterlist table (not NULL, not an error pointer)
/// that nobody else reads or writes while the value lives.
struct Exclusive(Mapped);

impl Exclusive {
    /// Flips the bits of every entry's `page_link` above its low byte (which
    /// holds the scatterlist's own flags), as `mangle_sg_table()`; a second
    /// call undoes the first. Only with CONFIG_DMABUF_DEBUG (nothing
    /// otherwise).
    #[inline]
    fn mangle(&mut self) {
        #[cfg(CONFIG_DMABUF_DEBUG)]
        // SAFETY: The table is valid, with `orig_nents` entries, and ours
        // alone (type invariant); walked as `for_each_sgtable_sg()`:
        // `sg_next` follows chain entries, which are never visited
        // themselves, so only page entries change.
        unsafe {
            let sgt = self.0.as_ptr();
            let mut sg = (*sgt).sgl;
            for _ in 0..(*sgt).orig_nents {
                (*sg).page_link ^= !0xff;
                sg = bindings::sg_next(sg);
            }
        }
    }

    /// With CONFIG_DMA_API_DEBUG, logs (`pr_debug`) each entry of the
    /// mapping whose DMA address or length is not page aligned.
    #[cfg(CONFIG_DMA_API_DEBUG)]
    fn check_alignment(&self) {
        const PAGE_MASK: u64 = (1 << bindings::PAGE_SHIFT) - 1;
        // SAFETY: The table is valid, with `nents` DMA entries, and nobody
        // writes it (type invariant); walked as `for_each_sgtable_dma_sg()`.
        unsafe {
            let sgt = self.0.as_ptr();
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
}

/// `__map_dma_buf`: asks the exporter for a mapping of the attachment.
///
/// A static importer then waits (interruptibly) for the buffer's kernel
/// fences, such as a move the exporter started: should that fail, the
/// mapping is given back and the error returned.
///
/// Returns the mapping (mangled with CONFIG_DMABUF_DEBUG), NULL, or an
/// error pointer, as the exporter or the wait decided.
pub(super) fn map_dma_buf(locked: AttachLocked<'_>, direction: dma_data_direction) -> Mapped {
    let attach = locked.attachment();
    // `dma_buf_export()` refuses exporters without `map_dma_buf` and
    // `unmap_dma_buf`; a missing one is a broken invariant.
    let ops = attach.dmabuf().ops();
    if ops.unmap_dma_buf.is_none() {
        sys::warn();
        return Mapped::errno(EINVAL);
    }
    let Some(sgt) = locked.map_op(direction) else {
        sys::warn();
        return Mapped::errno(EINVAL);
    };
    if sgt.is_null() || sgt.is_err() {
        return sgt;
    }

    if attach.sides().waits_after_map() {
        let usage = bindings::dma_resv_usage_DMA_RESV_USAGE_KERNEL;
        let ret =
            crate::resv::wait_timeout(attach.dmabuf().resv(), usage, true, MAX_SCHEDULE_TIMEOUT);
        if ret < 0 {
            // The mapping was just made, and is not mangled yet.
            locked.unmap_op(sgt, direction);
            return Mapped::err(ret);
        }
    }

    // INVARIANT: A table (checked above), new, which the importer has not
    // got yet.
    let mut new = Exclusive(sgt);
    new.mangle();
    new.0
}

/// `__unmap_dma_buf`: gives `sgt`, a mapping of the attachment made by
/// [`map_dma_buf`] with `direction` that nobody uses any more, back to the
/// exporter, unmangled first (flipping the bits again restores them).
fn unmap_dma_buf(locked: AttachLocked<'_>, mut sgt: Exclusive, direction: dma_data_direction) {
    sgt.mangle();
    locked.unmap_op(sgt.0, direction);
}

/// Gives `sgt`, the attachment's cached mapping (not NULL), made with
/// `direction`, back to the exporter at detach.
pub(super) fn unmap_cached(locked: AttachLocked<'_>, sgt: Mapped, direction: dma_data_direction) {
    // INVARIANT: A table (not NULL, and the cache never holds an error);
    // with the attachment being detached, nobody uses it any more.
    unmap_dma_buf(locked, Exclusive(sgt), direction);
}

/// The checks every map and unmap call opens with: `might_sleep()`, then
/// `WARN_ON(!attach || !attach->dmabuf || no_table)`, where `no_table` is the
/// unmap calls' `!sg_table` (`false` for the map calls).
///
/// Returns the attachment, or `None` after the warning.
///
/// # Safety
///
/// `attach` must be NULL or a live attachment, whose dma-buf (if any) is
/// live, for `'a`.
#[track_caller]
#[inline(always)]
unsafe fn checked<'a>(attach: *mut dma_buf_attachment, no_table: bool) -> Option<&'a Attachment> {
    sys::might_sleep();

    // SAFETY: A non-NULL attachment is live, and so is its dma-buf if it
    // has one (caller's promise).
    let attach = unsafe {
        (!attach.is_null() && !(*attach).dmabuf.is_null()).then(|| Attachment::from_raw(attach))
    };
    match attach {
        Some(attach) if !no_table => Some(attach),
        _ => {
            sys::warn();
            None
        }
    }
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
/// `attach` must be NULL or a live attachment, whose dma-buf (if any) is
/// live and locked by the caller.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_buf_map_attachment(
    attach: *mut dma_buf_attachment,
    direction: dma_data_direction,
) -> *mut sg_table {
    // SAFETY: NULL or live (caller's promise); if live, the caller holds the
    // buffer's reservation lock.
    let checked = unsafe {
        checked(attach, false).map(|attach| (attach, Held::assume(attach.dmabuf().resv())))
    };
    let Some((attach, held)) = checked else {
        return errno_ptr(EINVAL);
    };
    match attach.locked(held) {
        Some(locked) => map_attachment(locked, direction).as_ptr(),
        None => errno_ptr(EINVAL),
    }
}

/// The body of [`dma_buf_map_attachment`], with the lock held.
#[inline(always)]
fn map_attachment(locked: AttachLocked<'_>, direction: dma_data_direction) -> Mapped {
    let attach = locked.attachment();
    let (cached, cached_dir) = locked.cached();
    if !cached.is_null() {
        return match reuse_cached(cached_dir, direction) {
            Ok(()) => cached,
            Err(err) => Mapped::errno(err),
        };
    }
    let dmabuf = attach.dmabuf();
    let plan = new_mapping(
        dmabuf.exporter_dynamic(),
        MOVE_NOTIFY,
        dmabuf.ops().cache_sgt_mapping,
    );

    if plan.pin {
        let ret = locked.pin_op();
        if ret != 0 {
            return Mapped::err(ret as c_long);
        }
    }

    let mut sgt = map_dma_buf(locked, direction);
    if sgt.is_null() {
        sgt = Mapped::errno(ENOMEM);
    }
    if sgt.is_err() {
        if plan.pin {
            locked.unpin_op();
        }
        return sgt;
    }

    if plan.cache {
        locked.set_cached(sgt, direction);
    }
    // INVARIANT: A table (checked above), new: the importer has not got it
    // yet, and only the attachment caches it.
    #[cfg(CONFIG_DMA_API_DEBUG)]
    Exclusive(sgt).check_alignment();
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
/// `attach` must be NULL or a live attachment, whose dma-buf (if any) is
/// live and not locked by the caller.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_buf_map_attachment_unlocked(
    attach: *mut dma_buf_attachment,
    direction: dma_data_direction,
) -> *mut sg_table {
    // SAFETY: NULL or live (caller's promise).
    let Some(attach) = (unsafe { checked(attach, false) }) else {
        return errno_ptr(EINVAL);
    };
    let guard = attach.lock();
    map_attachment(guard.locked(), direction).as_ptr()
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
/// live and locked by the caller; `sg_table` NULL or a mapping that
/// `dma_buf_map_attachment` returned for it with `direction`, which the
/// caller no longer uses.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_buf_unmap_attachment(
    attach: *mut dma_buf_attachment,
    sg_table: *mut sg_table,
    direction: dma_data_direction,
) {
    // SAFETY: NULL or live (caller's promise); if live, the caller holds the
    // buffer's reservation lock, and gives back a mapping of the attachment.
    let checked = unsafe {
        checked(attach, sg_table.is_null()).map(|attach| {
            let held = Held::assume(attach.dmabuf().resv());
            (attach, held, Mapped::from_raw(sg_table))
        })
    };
    let Some((attach, held, sgt)) = checked else {
        return;
    };
    if let Some(locked) = attach.locked(held) {
        unmap_attachment(locked, sgt, direction);
    }
}

/// The body of [`dma_buf_unmap_attachment`], with the lock held.
#[inline(always)]
fn unmap_attachment(locked: AttachLocked<'_>, sgt: Mapped, direction: dma_data_direction) {
    let attach = locked.attachment();
    let is_cached = locked.cached().0.as_ptr() == sgt.as_ptr();
    match unmap_plan(is_cached, attach.dmabuf().exporter_dynamic(), MOVE_NOTIFY) {
        UnmapPlan::Keep => {}
        UnmapPlan::Unmap { unpin } => {
            // INVARIANT: Not NULL (the adapters refuse it); not the cached
            // mapping, which the attachment would still hand out; the caller
            // gives it back (adapters' contract), so nobody uses it.
            unmap_dma_buf(locked, Exclusive(sgt), direction);
            if unpin {
                // The map call pinned.
                super::unpin(locked);
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
/// As [`dma_buf_unmap_attachment`], but the caller does not hold the lock.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_buf_unmap_attachment_unlocked(
    attach: *mut dma_buf_attachment,
    sg_table: *mut sg_table,
    direction: dma_data_direction,
) {
    // SAFETY: NULL or live (caller's promise); if live, the caller gives back
    // a mapping of the attachment.
    let checked = unsafe {
        checked(attach, sg_table.is_null()).map(|attach| (attach, Mapped::from_raw(sg_table)))
    };
    let Some((attach, sgt)) = checked else {
        return;
    };
    let guard = attach.lock();
    unmap_attachment(guard.locked(), sgt, direction);
}

c_abi!(
    dma_buf_map_attachment,
    dma_buf_map_attachment_unlocked,
    dma_buf_unmap_attachment,
    dma_buf_unmap_attachment_unlocked,
);
