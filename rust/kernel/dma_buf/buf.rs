// SPDX-License-Identifier: GPL-2.0

//! dma-buf: buffers shared between drivers and with userspace.
//!
//! An exporter implements [`Exporter`] and calls [`DmaBuf::export`]; the
//! buffer then lives as long as references to it ([`ARef<DmaBuf>`], fds,
//! attachments) do, and the exporter's data is dropped with the last one.
//! An importer gets a buffer from an fd ([`DmaBuf::from_fd`]), attaches its
//! device ([`DmaBuf::attach`] or [`DmaBuf::attach_dynamic`]) and maps the
//! attachment for DMA; CPU access goes through [`DmaBuf::begin_cpu_access`].
//! Every step that must be undone is a value whose drop undoes it.
//!
//! C header: [`include/linux/dma-buf.h`](srctree/include/linux/dma-buf.h).

use super::{resv::Resv, resv::ResvGuard, sync_file::FdReservation};
use crate::{
    bindings,
    dma::DataDirection,
    error::{code::*, from_err_ptr, to_result, Result},
    types::{ARef, AlwaysRefCounted, Opaque},
};
use core::ptr::NonNull;

mod cpu;
mod export;
mod import;

pub use cpu::{CpuAccess, Vmap};
pub use export::{Attachment, Exporter};
pub use import::{DynamicAttachment, Importer, Mapping, StaticAttachment};

/// A dma-buf (`struct dma_buf`), reference counted through its file.
///
/// # Invariants
///
/// The inner `struct dma_buf` was made by `dma_buf_export` and its file
/// holds a reference for as long as a `&DmaBuf` exists.
#[repr(transparent)]
pub struct DmaBuf(Opaque<bindings::dma_buf>);

// SAFETY: The C object is reference counted and locked internally; any thread
// may use and drop references.
unsafe impl Send for DmaBuf {}
// SAFETY: As above.
unsafe impl Sync for DmaBuf {}

// SAFETY: `get_dma_buf` takes a file reference and `dma_buf_put` drops one;
// the buffer is released with the last.
unsafe impl AlwaysRefCounted for DmaBuf {
    fn inc_ref(&self) {
        // SAFETY: The buffer is live (type invariant).
        unsafe { bindings::get_dma_buf(self.as_raw()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller owns the reference being dropped.
        unsafe { bindings::dma_buf_put(obj.cast().as_ptr()) };
    }
}

impl DmaBuf {
    /// Borrows a buffer from a pointer.
    ///
    /// # Safety
    ///
    /// `ptr` is a live dma-buf kept alive for `'a`.
    #[inline]
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::dma_buf) -> &'a Self {
        // SAFETY: `repr(transparent)`; the caller vouches for the lifetime.
        unsafe { &*ptr.cast() }
    }

    /// Returns the C pointer.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::dma_buf {
        self.0.get()
    }

    /// Gets the buffer behind a file descriptor (`dma_buf_get`): `EBADF` if
    /// `fd` is not open, `EINVAL` if it is not a dma-buf.
    pub fn from_fd(fd: i32) -> Result<ARef<Self>> {
        // SAFETY: `dma_buf_get` checks the descriptor itself.
        let ptr = from_err_ptr(unsafe { bindings::dma_buf_get(fd) })?;
        // SAFETY: A successful `dma_buf_get` returns a new reference.
        Ok(unsafe { ARef::from_raw(NonNull::new_unchecked(ptr.cast())) })
    }

    /// Installs the buffer as the reserved descriptor, which takes over this
    /// reference, and returns its number.
    pub fn install(this: ARef<Self>, fd: FdReservation) -> i32 {
        let raw = ARef::into_raw(this).as_ptr().cast::<bindings::dma_buf>();
        // SAFETY: The reference we owned is a reference on the buffer's file,
        // which goes to the fd table.
        unsafe { fd.install((*raw).file) }
    }

    /// Returns the size in bytes (fixed at export).
    #[inline]
    pub fn size(&self) -> usize {
        // SAFETY: The buffer is live and `size` never changes.
        unsafe { (*self.as_raw()).size }
    }

    /// Returns the buffer's reservation object.
    #[inline]
    pub fn resv(&self) -> &Resv {
        // SAFETY: The reservation object lives as long as the buffer.
        unsafe { Resv::from_raw((*self.as_raw()).resv) }
    }

    /// Returns whether the exporter can move the buffer (it implements pin).
    pub fn is_dynamic(&self) -> bool {
        // SAFETY: The buffer is live.
        unsafe { bindings::dma_buf_is_dynamic(self.as_raw()) }
    }

    /// Tells dynamic importers that the buffer is moving
    /// (`dma_buf_move_notify`): their mappings are dropped and made again on
    /// next use. Takes the buffer's reservation lock as proof that it is
    /// held; a guard of another object is `EINVAL`.
    pub fn move_notify(&self, guard: &ResvGuard<'_>) -> Result {
        if guard.resv().as_raw() != self.resv().as_raw() {
            return Err(EINVAL);
        }
        // SAFETY: The buffer is live and its reservation lock is held.
        unsafe { bindings::dma_buf_move_notify(self.as_raw()) };
        Ok(())
    }

    /// Returns how many kernel mappings (vmaps) of the buffer are live; the
    /// count is stable while the reservation lock, proven by `guard`, is held.
    pub fn vmap_count(&self, guard: &ResvGuard<'_>) -> Result<usize> {
        if guard.resv().as_raw() != self.resv().as_raw() {
            return Err(EINVAL);
        }
        // SAFETY: The core changes the counter only under the reservation
        // lock, which is held.
        Ok(unsafe { (*self.as_raw()).vmapping_counter } as usize)
    }

    /// Removes every CPU mapping of the buffer from userspace page tables
    /// (`unmap_mapping_range` on the buffer's file), so that the next access
    /// faults and maps the current pages: for exporters that move a buffer
    /// mapped with a fault handler.
    pub fn zap_cpu_mappings(&self) {
        // SAFETY: The buffer's file and its mapping live as long as the buffer.
        unsafe { bindings::unmap_mapping_range((*(*self.as_raw()).file).f_mapping, 0, 0, 1) };
    }

    /// Brackets CPU access in direction `dir` (`dma_buf_begin_cpu_access`,
    /// which waits for the fences that conflict): the returned guard ends it.
    pub fn begin_cpu_access(&self, dir: DataDirection) -> Result<CpuAccess<'_>> {
        // SAFETY: The buffer is live.
        to_result(unsafe { bindings::dma_buf_begin_cpu_access(self.as_raw(), dir.as_raw()) })?;
        Ok(CpuAccess::new(self, dir))
    }
}
