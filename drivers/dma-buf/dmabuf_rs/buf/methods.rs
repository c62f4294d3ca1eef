// SPDX-License-Identifier: GPL-2.0-only

//! The core's safe interface to a dma-buf and its exporter.
//!
//! A dma-buf is the driver API's [`DmaBuf`] (`repr(transparent)` over the
//! kernel's `struct dma_buf`, made by `dma_buf_export()` and alive for as long
//! as it is borrowed), with what the core does with it as the methods of
//! [`DmaBufCore`]: its exporter's operations, called under the locking
//! convention of [`super::attach`], and the vmap state that the reservation
//! lock protects. The `extern "C"` functions convert their pointer once
//! ([`checked`]) and call these.

use crate::logic::access::IosysMap;
use crate::resv::Held;
use crate::sys::CStrPtr;
use crate::vfs::File;
use core::marker::PhantomData;
use core::ptr::addr_of_mut;
use kernel::bindings::{dma_buf, dma_buf_ops, dma_data_direction, iosys_map};
use kernel::ffi::c_int;

pub(crate) use kernel::dma_buf::buf::DmaBuf;

/// Borrows the dma-buf of a C caller, or returns `None` for NULL (which the
/// C API warns about).
///
/// # Safety
///
/// `dmabuf` must be NULL or a live dma-buf that stays live for `'a`.
#[inline]
pub(crate) unsafe fn checked<'a>(dmabuf: *mut dma_buf) -> Option<&'a DmaBuf> {
    if dmabuf.is_null() {
        return None;
    }
    // SAFETY: Live for `'a` (caller's promise).
    Some(unsafe { DmaBuf::from_raw(dmabuf) })
}

/// What the core does with a dma-buf.
pub(crate) trait DmaBufCore {
    /// The C pointer, for the exporter's operations and C callers.
    fn raw(&self) -> *mut dma_buf;

    /// The exporter's operations.
    fn ops(&self) -> &dma_buf_ops;

    /// The buffer's file, which lives as long as the buffer.
    fn file(&self) -> &File;

    /// The exporter's name (`exp_name`), `(null)` if it gave none.
    fn exp_name(&self) -> CStrPtr<'_>;

    /// `file_count(dmabuf->file)`: the references to the buffer's file.
    fn file_count(&self) -> kernel::ffi::c_long;

    /// `dma_buf_is_dynamic()`: whether the exporter has a `pin` op, and so
    /// may move the buffer while it is not pinned.
    #[inline]
    fn exporter_dynamic(&self) -> bool {
        self.ops().pin.is_some()
    }

    /// `might_lock()` of the reservation lock: lockdep reports a caller that
    /// holds it on every call, not only on those that end up taking it.
    fn might_lock(&self);

    /// The exporter's `begin_cpu_access` (0 if it has none); called without
    /// the reservation lock.
    fn begin_cpu_access_op(&self, direction: dma_data_direction) -> c_int;

    /// The exporter's `end_cpu_access` (0 if it has none); called without
    /// the reservation lock.
    fn end_cpu_access_op(&self, direction: dma_data_direction) -> c_int;

    /// The vmap count and stored mapping, which the reservation lock
    /// protects: `held` proves it held, or `None` if it is the proof for
    /// another reservation object.
    fn vmap_state<'h>(&'h self, held: Held<'h>) -> Option<VmapState<'h>>;
}

impl DmaBufCore for DmaBuf {
    #[inline]
    fn raw(&self) -> *mut dma_buf {
        self.as_raw()
    }

    #[inline]
    fn ops(&self) -> &dma_buf_ops {
        // SAFETY: `dma_buf_export()` set the ops to a table that outlives
        // the buffer and is never written.
        unsafe { &*(*self.raw()).ops }
    }

    #[inline]
    fn file(&self) -> &File {
        // SAFETY: The buffer is live; `file` is set at export, never changes,
        // and stays valid as long as the buffer (the file's release is what
        // frees it).
        unsafe { &*(*self.raw()).file.cast::<File>() }
    }

    fn exp_name(&self) -> CStrPtr<'_> {
        // SAFETY: The buffer is live; `exp_name`, set at export and never
        // changed, is NULL or a string that outlives the buffer (the
        // exporter's, usually its module name).
        unsafe { CStrPtr::from_ptr_or_null((*self.raw()).exp_name) }
    }

    fn file_count(&self) -> kernel::ffi::c_long {
        self.file().count()
    }

    #[inline]
    fn might_lock(&self) {
        super::attach::might_lock(self.resv());
    }

    #[inline]
    fn begin_cpu_access_op(&self, direction: dma_data_direction) -> c_int {
        match self.ops().begin_cpu_access {
            // SAFETY: The exporter's own, live buffer, without the
            // reservation lock, as the convention has it.
            Some(begin) => unsafe { begin(self.raw(), direction) },
            None => 0,
        }
    }

    #[inline]
    fn end_cpu_access_op(&self, direction: dma_data_direction) -> c_int {
        match self.ops().end_cpu_access {
            // SAFETY: As for `begin_cpu_access_op`.
            Some(end) => unsafe { end(self.raw(), direction) },
            None => 0,
        }
    }

    #[inline]
    fn vmap_state<'h>(&'h self, held: Held<'h>) -> Option<VmapState<'h>> {
        // Folded away when the proof was made from `self.resv()`.
        if !core::ptr::eq(held.resv(), self.resv()) {
            return None;
        }
        // INVARIANT: `held` proves the lock of the buffer's reservation
        // object held for `'h`. Only its lifetime is kept.
        let _ = held;
        Some(VmapState {
            dmabuf: self,
            _held: PhantomData,
        })
    }
}

/// The vmap count and stored mapping of a dma-buf, with the reservation lock
/// held.
///
/// Accessed through raw pointers rather than references: the exporter's ops,
/// called in between, may look at the buffer too, and `map` arguments of C
/// callers may even be the stored mapping.
///
/// # Invariants
///
/// The reservation lock of `dmabuf` is held while the value lives.
pub(crate) struct VmapState<'h> {
    dmabuf: &'h DmaBuf,
    _held: PhantomData<Held<'h>>,
}

impl VmapState<'_> {
    /// The number of vmaps of the buffer.
    #[inline]
    pub(crate) fn count(&self) -> u32 {
        // SAFETY: The buffer is live; the field changes only under the lock,
        // which is held (type invariant).
        unsafe { (*self.dmabuf.raw()).vmapping_counter }
    }

    /// Sets the number of vmaps of the buffer.
    #[inline]
    pub(crate) fn set_count(&self, count: u32) {
        // SAFETY: As in `count`; we hold the lock, so the write races with
        // nothing.
        unsafe { (*self.dmabuf.raw()).vmapping_counter = count };
    }

    /// The stored mapping (`vmap_ptr`), a copy.
    #[inline]
    pub(crate) fn stored(&self) -> iosys_map {
        // SAFETY: The buffer is live; the field changes only under the lock,
        // which is held (type invariant).
        unsafe { addr_of_mut!((*self.dmabuf.raw()).vmap_ptr).read() }
    }

    /// The value of the stored mapping, for the rules of
    /// [`crate::logic::access`].
    #[inline]
    pub(crate) fn stored_value(&self) -> IosysMap {
        // SAFETY: As in `stored`. Read in place, member by member, as C's
        // helpers do (a copy of the whole map first costs an instruction in
        // the compare of `is_iomem` that `vunmap` makes).
        super::access::iosys_map_value(unsafe { &*addr_of_mut!((*self.dmabuf.raw()).vmap_ptr) })
    }

    /// Sets the stored mapping.
    #[inline]
    pub(crate) fn set_stored(&self, map: iosys_map) {
        // SAFETY: As in `stored`; we hold the lock, so the write races with
        // nothing.
        unsafe { addr_of_mut!((*self.dmabuf.raw()).vmap_ptr).write(map) };
    }

    /// Calls the exporter's `vmap` (`-EINVAL` if it has none) to fill `map`.
    #[inline]
    pub(crate) fn vmap_op(&self, map: &mut iosys_map) -> Option<c_int> {
        let vmap = self.dmabuf.ops().vmap?;
        // SAFETY: The exporter's own, live buffer, with the lock held (type
        // invariant); `map` is ours for it to fill.
        Some(unsafe { vmap(self.dmabuf.raw(), map) })
    }

    /// Calls the exporter's `vunmap`, if any, on `map`.
    #[inline]
    pub(crate) fn vunmap_op(&self, map: MapArg<'_>) {
        if let Some(vunmap) = self.dmabuf.ops().vunmap {
            // SAFETY: The exporter's own, live buffer, with the lock held
            // (type invariant); `map` is readable (type invariant of
            // `MapArg`), and the op only reads it.
            unsafe { vunmap(self.dmabuf.raw(), map.ptr.cast_mut()) };
        }
    }
}

/// A C caller's `struct iosys_map` argument to unmap.
///
/// A pointer rather than a reference: it may be the buffer's stored mapping
/// itself, which the core then clears while the argument is still in scope.
///
/// # Invariants
///
/// `ptr` is valid for reads for `'a`, and written only by the core, only
/// after its last read through this value.
#[derive(Clone, Copy)]
pub(crate) struct MapArg<'a> {
    ptr: *const iosys_map,
    _map: PhantomData<&'a iosys_map>,
}

impl MapArg<'_> {
    /// Wraps a caller's map.
    ///
    /// # Safety
    ///
    /// `ptr` must be valid for reads while the value lives.
    #[inline]
    pub(crate) unsafe fn new(ptr: *const iosys_map) -> Self {
        // INVARIANT: Readable (caller's promise).
        Self {
            ptr,
            _map: PhantomData,
        }
    }

    /// The map's value now.
    #[inline]
    pub(crate) fn value(self) -> IosysMap {
        // SAFETY: Readable (type invariant); the reference lives only for
        // the call.
        super::access::iosys_map_value(unsafe { &*self.ptr })
    }
}
