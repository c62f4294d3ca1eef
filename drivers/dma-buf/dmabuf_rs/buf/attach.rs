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
use crate::sys::{self, err_ptr, is_err, ptr_err};
use core::mem::size_of;
use core::ptr::{self, addr_of_mut};
use kernel::bindings::{
    self, device, dma_buf, dma_buf_attach_ops, dma_buf_attachment, dma_buf_ops, dma_resv, sg_table,
};
use kernel::ffi::{c_int, c_long, c_ulong, c_void};

use super::lock::ResvGuard;

#[path = "attach/map.rs"]
mod map;

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

/// `dma_resv_assert_held()`: a lockdep splat unless the current task holds
/// the lock of `obj` (nothing without lockdep).
///
/// # Safety
///
/// `obj` must be an initialised reservation object.
pub(crate) unsafe fn assert_held(obj: *mut dma_resv) {
    // SAFETY: `obj` is initialised (caller's promise).
    unsafe { crate::resv::assert_held(obj) };
}

/// `might_lock(&obj->lock.base)`: tells lockdep that the caller may take the
/// lock of `obj`, so that calling with it held is reported on every call,
/// not only on those that end up taking it.
///
/// # Safety
///
/// `obj` must be an initialised reservation object.
#[inline]
pub(crate) unsafe fn might_lock(obj: *mut dma_resv) {
    #[cfg(CONFIG_LOCKDEP)]
    // SAFETY: `obj` is initialised (caller's promise), so is its lockdep map.
    unsafe {
        bindings::dmabuf_rs_might_lock_resv(obj)
    };
    // Without lockdep the C macro is empty: no call at all.
    #[cfg(not(CONFIG_LOCKDEP))]
    let _ = obj;
}

/// The exporter's operations of `dmabuf`.
///
/// # Safety
///
/// `dmabuf` must be a live dma-buf: made by `dma_buf_export()`, which sets
/// its ops to a table that outlives it and is never written.
pub(crate) unsafe fn ops<'a>(dmabuf: *mut dma_buf) -> &'a dma_buf_ops {
    // SAFETY: The ops of a live dma-buf are valid and immutable (caller).
    unsafe { &*(*dmabuf).ops }
}

/// `dma_buf_is_dynamic()`: whether the exporter has a `pin` op, and so may
/// move the buffer while it is not pinned.
///
/// # Safety
///
/// `dmabuf` must be a live dma-buf.
pub(crate) unsafe fn is_dynamic(dmabuf: *mut dma_buf) -> bool {
    // SAFETY: The caller's promise is `ops`'s.
    unsafe { ops(dmabuf) }.pin.is_some()
}

/// `dma_buf_attachment_is_dynamic()`: whether the importer attached with
/// importer ops.
///
/// # Safety
///
/// `attach` must be a live attachment.
unsafe fn attachment_is_dynamic(attach: *mut dma_buf_attachment) -> bool {
    // SAFETY: The attachment is live (caller).
    !unsafe { (*attach).importer_ops }.is_null()
}

/// Which sides of `attach` are dynamic.
///
/// # Safety
///
/// `attach` must be a live attachment of a live dma-buf.
unsafe fn sides(attach: *mut dma_buf_attachment) -> Sides {
    // SAFETY: The attachment and its dma-buf are live (caller).
    unsafe {
        Sides {
            importer_dynamic: attachment_is_dynamic(attach),
            exporter_dynamic: is_dynamic((*attach).dmabuf),
        }
    }
}

/// The errno `err` as a pointer, as C's `ERR_PTR(-EINVAL)`.
fn errno_ptr<T>(err: Errno) -> *mut T {
    err_ptr(err.to_neg() as c_long)
}

/// Calls the exporter's `pin` for `attach`.
///
/// `dma_buf_export()` refuses `pin` without `unpin` and the other way
/// round, and callers only pin for dynamic exporters, which have `pin` by
/// definition; a missing op is a broken invariant: it warns and fails with
/// -EINVAL instead of jumping to NULL as C would.
///
/// # Safety
///
/// `attach` must be a live attachment of a live dma-buf, whose reservation
/// lock the caller holds.
#[track_caller]
unsafe fn pin_op(attach: *mut dma_buf_attachment) -> c_int {
    // SAFETY: The attachment and its dma-buf are live (caller).
    match unsafe { ops((*attach).dmabuf) }.pin {
        // SAFETY: `pin` takes a live attachment, with the lock held (caller).
        Some(pin) => unsafe { pin(attach) },
        None => {
            sys::warn();
            EINVAL.to_neg()
        }
    }
}

/// Calls the exporter's `unpin` for `attach`; see [`pin_op`] for a missing op
/// (it warns, and does nothing).
///
/// # Safety
///
/// As [`pin_op`].
#[track_caller]
unsafe fn unpin_op(attach: *mut dma_buf_attachment) {
    // SAFETY: The attachment and its dma-buf are live (caller).
    match unsafe { ops((*attach).dmabuf) }.unpin {
        // SAFETY: `unpin` takes a live attachment, with the lock held (caller).
        Some(unpin) => unsafe { unpin(attach) },
        None => sys::warn(),
    }
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
    if dmabuf.is_null() || dev.is_null() {
        sys::warn();
        return errno_ptr(EINVAL);
    }
    // SAFETY: Non-NULL importer ops are valid (caller's promise).
    if !importer_ops.is_null() && unsafe { (*importer_ops).move_notify.is_none() } {
        sys::warn();
        return errno_ptr(EINVAL);
    }

    // Attaching happens in process context.
    let attach: *mut dma_buf_attachment =
        sys::kzalloc_fixed::<_, { size_of::<dma_buf_attachment>() }>();
    if attach.is_null() {
        return errno_ptr(ENOMEM);
    }
    // SAFETY: The attachment is ours and zeroed; non-NULL importer ops are
    // valid (caller).
    unsafe {
        (*attach).dev = dev;
        (*attach).dmabuf = dmabuf;
        if !importer_ops.is_null() {
            (*attach).peer2peer = (*importer_ops).allow_peer2peer;
        }
        (*attach).importer_ops = importer_ops;
        (*attach).importer_priv = importer_priv;
    }

    // SAFETY: `dmabuf` is live (caller).
    if let Some(attach_op) = unsafe { ops(dmabuf) }.attach {
        // SAFETY: The exporter gets its buffer and the new attachment, with
        // the reservation lock not held.
        let ret = unsafe { attach_op(dmabuf, attach) };
        if ret != 0 {
            // SAFETY: The attachment is unpublished and ours to free.
            unsafe { bindings::kfree(attach.cast()) };
            return err_ptr(ret as c_long);
        }
    }

    // SAFETY: `dmabuf` is live, so is its reservation object; the caller
    // does not hold its lock (locking convention).
    let resv = unsafe { (*dmabuf).resv };
    {
        // SAFETY: As above.
        let _lock = unsafe { ResvGuard::lock(resv) };
        // SAFETY: The list of attachments changes only under the lock we hold.
        unsafe {
            crate::sys::list_add(
                addr_of_mut!((*attach).node),
                addr_of_mut!((*dmabuf).attachments),
            )
        };
    }

    // SAFETY: The attachment and its dma-buf are live.
    let sides = unsafe { sides(attach) };
    if sides.maps_at_attach() {
        // One side cannot handle mappings under the reservation lock (or
        // their moves): map once here, and keep the mapping until detach.
        // SAFETY: As for the lock above.
        let lock = unsafe { ResvGuard::lock(resv) };
        // SAFETY: The attachment is live and we hold the lock.
        let mapped = unsafe { map_at_attach(attach, sides) };
        drop(lock);
        match mapped {
            // SAFETY: The attachment is live; only its importer (our caller,
            // who has not got it yet) uses these fields.
            Ok(sgt) => unsafe {
                (*attach).sgt = sgt;
                (*attach).dir = ATTACH_DIRECTION;
            },
            Err(ret) => {
                // SAFETY: The attachment is on the list and has no cached
                // mapping (and holds no pin): detach undoes the rest.
                unsafe { dma_buf_detach(dmabuf, attach) };
                return err_ptr(ret);
            }
        }
    }
    attach
}

/// The mapping made at attach time: pins the buffer first if `sides` says
/// so, and unpins it again if the mapping fails.
///
/// Returns the mapping, or the error (negative).
///
/// # Safety
///
/// `attach` must be a live attachment of a live dma-buf, whose reservation
/// lock the caller holds.
unsafe fn map_at_attach(
    attach: *mut dma_buf_attachment,
    sides: Sides,
) -> Result<*mut sg_table, c_long> {
    if sides.pins_at_attach() {
        // SAFETY: As the caller promised.
        let ret = unsafe { pin_op(attach) };
        if ret != 0 {
            return Err(ret as c_long);
        }
    }
    // SAFETY: As the caller promised.
    let mut sgt = unsafe { map::map_dma_buf(attach, ATTACH_DIRECTION) };
    if sgt.is_null() {
        sgt = errno_ptr(ENOMEM);
    }
    if is_err(sgt) {
        if sides.pins_at_attach() {
            // SAFETY: As the caller promised; we pinned above.
            unsafe { unpin_op(attach) };
        }
        return Err(ptr_err(sgt));
    }
    Ok(sgt)
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
    // SAFETY: A non-NULL attachment is live (caller).
    if dmabuf.is_null() || attach.is_null() || dmabuf != unsafe { (*attach).dmabuf } {
        sys::warn();
        return;
    }

    {
        // SAFETY: `dmabuf` is live, so is its reservation object; the caller
        // does not hold its lock (locking convention).
        let _lock = unsafe { ResvGuard::lock((*dmabuf).resv) };
        // SAFETY: The attachment is live and we hold the lock, under which
        // its cached mapping and the list of attachments change.
        unsafe {
            let sgt = (*attach).sgt;
            if !sgt.is_null() {
                map::unmap_dma_buf(attach, sgt, (*attach).dir);
                if detach_unpins(is_dynamic(dmabuf)) {
                    unpin_op(attach);
                }
            }
            crate::sys::list_del(addr_of_mut!((*attach).node));
        }
    }

    // SAFETY: `dmabuf` is live (caller).
    if let Some(detach) = unsafe { ops(dmabuf) }.detach {
        // SAFETY: The exporter gets its buffer and the attachment, no longer
        // listed, with the reservation lock not held.
        unsafe { detach(dmabuf, attach) };
    }
    // SAFETY: The attachment is off the list, no one else can reach it, and
    // it was allocated with kmalloc by `dma_buf_dynamic_attach`.
    unsafe { bindings::kfree(attach.cast()) };
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
/// `attach` must be a live attachment of a live dma-buf.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_buf_pin(attach: *mut dma_buf_attachment) -> c_int {
    // SAFETY: The attachment is live (caller).
    let dmabuf = unsafe { (*attach).dmabuf };
    // SAFETY: As above.
    if !unsafe { attachment_is_dynamic(attach) } {
        sys::warn();
    }
    // SAFETY: The dma-buf is live, so is its reservation object.
    unsafe { assert_held((*dmabuf).resv) };

    // SAFETY: The dma-buf is live.
    match unsafe { ops(dmabuf) }.pin {
        // SAFETY: A live attachment, with the lock held (asserted above).
        Some(pin) => unsafe { pin(attach) },
        None => 0,
    }
}

/// Drops a pin taken with [`dma_buf_pin`]: the exporter may move the buffer
/// again, telling the importer through `move_notify`.
///
/// Warns if the importer is static. The caller holds the reservation lock.
///
/// # Safety
///
/// `attach` must be a live attachment of a live dma-buf.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_buf_unpin(attach: *mut dma_buf_attachment) {
    // SAFETY: The attachment is live (caller).
    let dmabuf = unsafe { (*attach).dmabuf };
    // SAFETY: As above.
    if !unsafe { attachment_is_dynamic(attach) } {
        sys::warn();
    }
    // SAFETY: The dma-buf is live, so is its reservation object.
    unsafe { assert_held((*dmabuf).resv) };

    // SAFETY: The dma-buf is live.
    if let Some(unpin) = unsafe { ops(dmabuf) }.unpin {
        // SAFETY: A live attachment, with the lock held (asserted above).
        unsafe { unpin(attach) };
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
/// `dmabuf` must be a live dma-buf.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_buf_move_notify(dmabuf: *mut dma_buf) {
    // SAFETY: The dma-buf is live, so is its reservation object.
    unsafe { assert_held((*dmabuf).resv) };

    // SAFETY: The list of attachments only changes under the lock, which the
    // caller holds; every node on it is the `node` of a live attachment.
    // As C's list walk, the next node is read after the callback returns.
    unsafe {
        let head = addr_of_mut!((*dmabuf).attachments);
        let mut cur = (*head).next;
        while cur != head {
            let attach = kernel::container_of!(cur, dma_buf_attachment, node).cast_mut();
            let importer_ops = (*attach).importer_ops;
            if !importer_ops.is_null() {
                // Attach refuses importer ops without `move_notify`.
                if let Some(move_notify) = (*importer_ops).move_notify {
                    move_notify(attach);
                }
            }
            cur = (*cur).next;
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
