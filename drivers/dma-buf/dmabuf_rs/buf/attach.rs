// SPDX-License-Identifier: GPL-2.0-only

//! dma-buf attachments: the importer's side of `drivers/dma-buf/dma-buf.c`.
//!
//! A device that wants to use a dma-buf attaches to it
//! ([`dma_buf_attach`], [`dma_buf_dynamic_attach`]), maps the attachment to
//! get the buffer's scatterlist in the device's DMA address space
//! (`dma_buf_map_attachment()`, in [`map`]), unmaps it, and finally detaches
//! ([`dma_buf_detach`]). The attachment is the kernel's own `struct
//! dma_buf_attachment`, on the dma-buf's `attachments` list, which changes
//! only under the buffer's reservation lock.
//!
//! Importers and exporters are static or dynamic (see
//! [`crate::logic::attach`], which holds the rules of when to map, pin and
//! cache). A dynamic exporter may move the buffer when it is not pinned,
//! and tells its dynamic importers with [`dma_buf_move_notify`].
//!
//! # Locking convention
//!
//! Everything here follows the dma-buf locking convention of Linux 6.12,
//! which exists so that exporters and importers cannot deadlock on the
//! reservation lock:
//!
//! - importers hold the reservation lock for [`dma_buf_pin`],
//!   [`dma_buf_unpin`], `dma_buf_map_attachment()`,
//!   `dma_buf_unmap_attachment()`, `dma_buf_vmap()` and `dma_buf_vunmap()`
//!   (asserted with lockdep);
//! - importers do not hold it for attach, detach, the `_unlocked` variants,
//!   `dma_buf_mmap()` and the CPU access brackets, which take it themselves
//!   where they need it;
//! - the exporter's `attach`, `detach`, `begin_cpu_access`, `end_cpu_access`
//!   and `mmap` ops are called without the lock (and may take it); `pin`,
//!   `unpin`, `map_dma_buf`, `unmap_dma_buf`, `vmap` and `vunmap` with it
//!   held;
//! - exporters hold it for [`dma_buf_move_notify`].
//!
//! C header: [`include/linux/dma-buf.h`](srctree/include/linux/dma-buf.h).

use crate::logic::attach::{detach_unpins, Sides, ATTACH_DIRECTION};
use crate::logic::attach::{DMA_BIDIRECTIONAL, DMA_FROM_DEVICE, DMA_NONE, DMA_TO_DEVICE};
use crate::logic::errno::{Errno, EINVAL, ENOMEM};
use crate::sys::{self, err_ptr, ptr_err};
use core::ptr::{self, NonNull};
use kernel::bindings::{self, device, dma_buf, dma_buf_attach_ops, dma_buf_attachment};
use kernel::dma_buf::resv::Resv;
use kernel::ffi::{c_int, c_long, c_ulong, c_void};

use super::methods::{checked, DmaBuf, DmaBufCore};
use crate::resv::Held;

#[path = "attach/map.rs"]
mod map;
#[path = "attach/object.rs"]
mod object;

pub(super) use object::attachments;
use object::{AttachLocked, AttachRef, Attachment, Mapped, Unlisted};

/// `MAX_SCHEDULE_TIMEOUT`: a wait without a timeout.
pub(crate) const MAX_SCHEDULE_TIMEOUT: c_ulong = c_long::MAX as c_ulong;

// The directions of the pure rules (and so of `logic::dma_buf::Direction`)
// are the kernel's `enum dma_data_direction`.
const _: () = assert!(
    DMA_BIDIRECTIONAL == bindings::dma_data_direction_DMA_BIDIRECTIONAL
        && DMA_TO_DEVICE == bindings::dma_data_direction_DMA_TO_DEVICE
        && DMA_FROM_DEVICE == bindings::dma_data_direction_DMA_FROM_DEVICE
        && DMA_NONE == bindings::dma_data_direction_DMA_NONE
);

/// `might_lock(&obj->lock.base)`: tells lockdep that the caller may take the
/// lock of `obj`, so that calling with it held is reported on every call,
/// not only on those that end up taking it.
#[inline]
pub(crate) fn might_lock(obj: &Resv) {
    #[cfg(CONFIG_LOCKDEP)]
    // SAFETY: `obj` is initialised, so is its lockdep map.
    unsafe {
        bindings::dmabuf_rs_might_lock_resv(obj.as_raw())
    };
    // Without lockdep the C macro is empty: no call at all.
    #[cfg(not(CONFIG_LOCKDEP))]
    let _ = obj;
}

/// The errno `err` as a pointer, as C's `ERR_PTR(-EINVAL)`.
fn errno_ptr<T>(err: Errno) -> *mut T {
    err_ptr(err.to_neg() as c_long)
}

/// Adds a device to a dma-buf's attachments, for an importer that may use
/// importer ops (`importer_ops`, with `importer_priv` for their use).
///
/// With importer ops the importer is dynamic: it maps and unmaps with the
/// reservation lock held, waits for the buffer's fences itself, and is told
/// of moves through `importer_ops->move_notify`, which it must have. The
/// exporter's `attach` op, if any, may refuse the device (typically with
/// -EBUSY when the buffer sits where `dev` cannot reach it and cannot move).
/// When one side is static and the other dynamic, the buffer is mapped here
/// (after pinning it, for a dynamic exporter) and the mapping kept until
/// detach.
///
/// Returns the new attachment, to be released with [`dma_buf_detach`], or an
/// error pointer: -EINVAL (with a warning) for a NULL `dmabuf` or `dev` or
/// importer ops without `move_notify`, -ENOMEM, or the error of the
/// exporter's `attach`, `pin` or `map_dma_buf` op (or of the wait for the
/// buffer's kernel fences, -ERESTARTSYS when interrupted). Takes the
/// reservation lock, so the caller must not hold it; may sleep. Takes no
/// reference to the dma-buf: the importer keeps its own.
///
/// # Safety
///
/// `dmabuf` must be NULL or a live dma-buf, `dev` NULL or a device, and
/// `importer_ops` NULL or valid (with `importer_priv`) until detach.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_buf_dynamic_attach(
    dmabuf: *mut dma_buf,
    dev: *mut device,
    importer_ops: *const dma_buf_attach_ops,
    importer_priv: *mut c_void,
) -> *mut dma_buf_attachment {
    // SAFETY: NULL or live (caller's promise), and non-NULL importer ops
    // valid until detach, with `importer_priv`.
    let (dmabuf, importer) = unsafe { (checked(dmabuf), importer_ops.as_ref()) };
    let Some(dmabuf) = dmabuf.filter(|_| !dev.is_null()) else {
        sys::warn();
        return errno_ptr(EINVAL);
    };
    if importer.is_some_and(|ops| ops.move_notify.is_none()) {
        sys::warn();
        return errno_ptr(EINVAL);
    }
    // INVARIANT: The caller's promises, and the checks above.
    match attach(Importer {
        dmabuf,
        dev,
        ops: importer,
        private: importer_priv,
    }) {
        Ok(attach) => attach.into_raw(),
        Err(err) => err_ptr(err),
    }
}

/// An importer's request to attach, checked by [`dma_buf_dynamic_attach`].
///
/// # Invariants
///
/// `dev` is a device; `ops` is `None` or importer ops with a `move_notify`,
/// valid with `private` until the attachment is detached.
struct Importer<'a> {
    dmabuf: &'a DmaBuf,
    dev: *mut device,
    ops: Option<&'a dma_buf_attach_ops>,
    private: *mut c_void,
}

/// The body of [`dma_buf_dynamic_attach`]: the new attachment, or the error
/// (negative) of the allocation, the exporter's `attach` or the mapping made
/// at attach time.
fn attach(importer: Importer<'_>) -> Result<AttachRef<'_>, c_long> {
    // Attaching happens in process context.
    let Some(new) = Unlisted::new(&importer) else {
        return Err(ENOMEM.to_neg() as c_long);
    };
    let ret = new.attach_op();
    if ret != 0 {
        // Freed on the way out: it was never listed.
        return Err(ret as c_long);
    }
    let attach = new.publish();

    let sides = attach.sides();
    if sides.maps_at_attach() {
        // One side cannot handle mappings under the reservation lock (or
        // their moves): map once here, and keep the mapping until detach.
        let guard = attach.lock();
        let mapped = map_at_attach(guard.locked(), sides);
        drop(guard);
        if let Err(ret) = mapped {
            // No cached mapping (and no pin): detach undoes the rest.
            detach_failed(attach);
            return Err(ret);
        }
    }
    Ok(attach)
}

/// The mapping made at attach time: pins the buffer first if `sides` says
/// so, and unpins it again if the mapping fails; on success, caches it.
///
/// Returns the error (negative) of the pin or the mapping.
fn map_at_attach(locked: AttachLocked<'_>, sides: Sides) -> Result<(), c_long> {
    if sides.pins_at_attach() {
        let ret = locked.pin_op();
        if ret != 0 {
            return Err(ret as c_long);
        }
    }
    let mut sgt = map::map_dma_buf(locked, ATTACH_DIRECTION);
    if sgt.is_null() {
        sgt = Mapped::errno(ENOMEM);
    }
    if sgt.is_err() {
        if sides.pins_at_attach() {
            // We pinned above.
            locked.unpin_op();
        }
        return Err(ptr_err(sgt.as_ptr()));
    }
    // Only the importer (our caller, who has not got the attachment yet)
    // uses the cached mapping.
    locked.set_cached(sgt, ATTACH_DIRECTION);
    Ok(())
}

/// Adds a device to a dma-buf's attachments, for a static importer:
/// [`dma_buf_dynamic_attach`] without importer ops.
///
/// Returns the attachment or an error pointer, as [`dma_buf_dynamic_attach`];
/// the caller must not hold the reservation lock; may sleep.
///
/// # Safety
///
/// `dmabuf` must be NULL or a live dma-buf, `dev` NULL or a device.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_buf_attach(
    dmabuf: *mut dma_buf,
    dev: *mut device,
) -> *mut dma_buf_attachment {
    // SAFETY: The caller's promises, and no importer ops.
    unsafe { dma_buf_dynamic_attach(dmabuf, dev, ptr::null(), ptr::null_mut()) }
}

/// Removes an attachment from its dma-buf and frees it.
///
/// A mapping kept since attach (or cached for the exporter) is unmapped,
/// and the pin taken for it dropped, under the reservation lock; then the
/// exporter's `detach` op, if any, runs without the lock. Warns and does
/// nothing if `dmabuf` or `attach` is NULL, or `attach` belongs to another
/// buffer. The caller must not hold the reservation lock; may sleep.
///
/// # Safety
///
/// `dmabuf` must be NULL or a live dma-buf, `attach` NULL or a live
/// attachment, which this call frees: the caller must not use it again.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_buf_detach(
    dmabuf: *mut dma_buf,
    attach: *mut dma_buf_attachment,
) {
    // SAFETY: A non-NULL attachment is live and its dma-buf, the non-NULL
    // `dmabuf` (caller's promise), when they match; the caller gives it up.
    let checked = unsafe {
        (!dmabuf.is_null() && !attach.is_null() && dmabuf == (*attach).dmabuf)
            .then(|| AttachRef::from_raw(NonNull::new_unchecked(attach), DmaBuf::from_raw(dmabuf)))
    };
    match checked {
        Some(attach) => detach(attach),
        None => sys::warn(),
    }
}

/// The body of [`dma_buf_detach`]: drops the mapping kept since attach (and
/// its pin) under the reservation lock, takes the attachment off the list,
/// then calls the exporter's `detach` without the lock, and frees it.
///
/// Inlined into the C function (a shared body would cost it a jump and
/// argument moves); [`detach_failed`] is the copy for a failed attach.
#[inline(always)]
fn detach(attach: AttachRef<'_>) {
    let dmabuf = attach.buf();
    let unlisted = attach.unlist(|locked| {
        let (sgt, dir) = locked.cached();
        if !sgt.is_null() {
            map::unmap_cached(locked, sgt, dir);
            if detach_unpins(dmabuf.exporter_dynamic()) {
                locked.unpin_op();
            }
        }
    });
    unlisted.detach_op();
}

/// [`detach`] of an attachment whose mapping at attach time failed.
#[inline(never)]
fn detach_failed(attach: AttachRef<'_>) {
    detach(attach);
}

/// Pins the buffer of a dynamic importer's attachment where it is, so that
/// the exporter does not move it until [`dma_buf_unpin`].
///
/// Meant for long-lived uses such as scanout, not for short pins around each
/// use; userspace must not be able to pin arbitrary amounts of memory
/// through it. Warns if the importer is static (its mappings are pinned
/// already). The caller holds the reservation lock.
///
/// Returns 0, or the error of the exporter's `pin` op (0 without one).
///
/// # Safety
///
/// `attach` must be a live attachment of a live dma-buf, whose reservation
/// lock the caller holds.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_buf_pin(attach: *mut dma_buf_attachment) -> c_int {
    // SAFETY: Live (caller's promise).
    let attach = unsafe { Attachment::from_raw(attach) };
    if !attach.importer_dynamic() {
        sys::warn();
    }
    // SAFETY: The caller holds the buffer's reservation lock.
    let held = unsafe { Held::assume(attach.dmabuf().resv()) };
    match attach.locked(held) {
        Some(locked) if attach.dmabuf().ops().pin.is_some() => locked.pin_op(),
        _ => 0,
    }
}

/// Drops a pin taken with [`dma_buf_pin`]: the exporter may move the buffer
/// again, telling the importer through `move_notify`.
///
/// Warns if the importer is static. The caller holds the reservation lock.
///
/// # Safety
///
/// `attach` must be a live attachment of a live dma-buf, whose reservation
/// lock the caller holds.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_buf_unpin(attach: *mut dma_buf_attachment) {
    // SAFETY: Live (caller's promise).
    let attach = unsafe { Attachment::from_raw(attach) };
    if !attach.importer_dynamic() {
        sys::warn();
    }
    // SAFETY: The caller holds the buffer's reservation lock.
    let held = unsafe { Held::assume(attach.dmabuf().resv()) };
    if let Some(locked) = attach.locked(held) {
        unpin(locked);
    }
}

/// The body of [`dma_buf_unpin`] after its checks: the exporter's `unpin`,
/// if it has one.
pub(super) fn unpin(locked: AttachLocked<'_>) {
    if locked.attachment().dmabuf().ops().unpin.is_some() {
        locked.unpin_op();
    }
}

/// Tells every dynamic importer of `dmabuf` that the buffer is moving, so
/// that they drop their mappings and make new ones.
///
/// Called by dynamic exporters, which hold the reservation lock. Static
/// importers are not told: their mappings keep the buffer pinned.
///
/// # Safety
///
/// `dmabuf` must be a live dma-buf whose reservation lock the caller holds.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_buf_move_notify(dmabuf: *mut dma_buf) {
    // SAFETY: Live, its reservation lock held by the caller (caller's
    // promise).
    let (dmabuf, held) = unsafe {
        let dmabuf = DmaBuf::from_raw(dmabuf);
        (dmabuf, Held::assume(dmabuf.resv()))
    };
    // As C's list walk, the next node is read after the callback returns.
    for attach in object::attachments(dmabuf, &held).into_iter().flatten() {
        // Attach refuses importer ops without `move_notify`.
        if let Some(move_notify) = attach.importer_ops().and_then(|ops| ops.move_notify) {
            // SAFETY: The importer's callback, on its own live attachment,
            // under the reservation lock, as documented.
            unsafe { move_notify(attach.raw()) };
        }
    }
}

c_abi!(
    dma_buf_dynamic_attach,
    dma_buf_attach,
    dma_buf_detach,
    dma_buf_pin,
    dma_buf_unpin,
    dma_buf_move_notify,
);
