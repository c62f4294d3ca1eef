// SPDX-License-Identifier: GPL-2.0-only

//! The attachment as a type: [`Attachment`] (`repr(transparent)` over the
//! kernel's `struct dma_buf_attachment`), and [`AttachLocked`], the
//! attachment with its buffer's reservation lock held, through which the
//! exporter's locked ops are called and the cached mapping is read and set.
//!
//! The `extern "C"` functions of [`super`] and [`super::map`] convert their
//! pointers once and call these.

use super::super::methods::{DmaBuf, DmaBufCore};
use super::Importer;
use crate::buf::lock::ResvGuard;
use crate::logic::attach::Sides;
use crate::logic::errno::Errno;
use crate::resv::Held;
use crate::sys;
use core::marker::PhantomData;
use core::mem::{size_of, ManuallyDrop};
use core::ops::Deref;
use core::ptr::{self, addr_of_mut, NonNull};
use kernel::bindings::{
    self, dma_buf_attach_ops, dma_buf_attachment, dma_data_direction, sg_table,
};
use kernel::ffi::{c_int, c_long};
use kernel::types::Opaque;

/// An attachment of a dma-buf.
///
/// # Invariants
///
/// The attachment was made by `dma_buf_dynamic_attach()` and is live for
/// the borrow: its `dmabuf`, `dev` and `importer_ops` are set once there
/// and never change, its dma-buf is live, and its importer ops (if any) are
/// valid. Its `sgt` and `dir` (the cached mapping) change only under the
/// buffer's reservation lock; `sgt` is NULL or a mapping that the exporter
/// made for the attachment with direction `dir`.
#[repr(transparent)]
pub(crate) struct Attachment(Opaque<dma_buf_attachment>);

/// The attachments of a dma-buf, in list order (newest first), while its
/// reservation lock is held: [`attachments`].
pub(crate) struct Attachments<'h>(sys::Entries<'h>);

/// The attachments of `dmabuf`, whose list only changes under its
/// reservation lock, which `held` proves held; `None` if `held` is the proof
/// for another reservation object.
#[inline]
pub(crate) fn attachments<'h>(dmabuf: &'h DmaBuf, held: &'h Held<'_>) -> Option<Attachments<'h>> {
    if !core::ptr::eq(held.resv(), dmabuf.resv()) {
        return None;
    }
    // SAFETY: The dma-buf is live for `'h`, its attachment list initialised
    // at export; the list only changes under the reservation lock, which
    // `held` proves held for as long as it is borrowed (`'h`).
    let entries =
        unsafe { sys::Entries::new(core::ptr::addr_of_mut!((*dmabuf.raw()).attachments)) };
    Some(Attachments(entries))
}

impl<'h> Iterator for Attachments<'h> {
    type Item = &'h Attachment;

    #[inline]
    fn next(&mut self) -> Option<&'h Attachment> {
        let node = self.0.next()?;
        // SAFETY: Every node on the list is the `node` of a live attachment
        // (linked at attach, unlinked at detach, both under the reservation
        // lock, which is held for `'h`).
        Some(unsafe {
            Attachment::from_raw(
                kernel::container_of!(node.as_ptr(), dma_buf_attachment, node).cast_mut(),
            )
        })
    }
}

impl Attachment {
    /// Borrows an attachment of a C caller.
    ///
    /// # Safety
    ///
    /// `attach` must be an attachment made by `dma_buf_dynamic_attach()`,
    /// live for `'a`, whose dma-buf is live.
    #[inline]
    pub(crate) unsafe fn from_raw<'a>(attach: *mut dma_buf_attachment) -> &'a Self {
        // SAFETY: `repr(transparent)`; live for `'a` (caller's promise).
        unsafe { &*attach.cast() }
    }

    /// The C pointer, for the exporter's and importer's ops.
    #[inline]
    pub(crate) fn raw(&self) -> *mut dma_buf_attachment {
        self.0.get()
    }

    /// The dma-buf the attachment belongs to.
    #[inline]
    pub(crate) fn dmabuf(&self) -> &DmaBuf {
        // SAFETY: The field is set at attach and never changes, and the
        // dma-buf is live (type invariant).
        unsafe { DmaBuf::from_raw((*self.raw()).dmabuf) }
    }

    /// The importer's ops, if it attached with some (a dynamic importer).
    #[inline]
    pub(crate) fn importer_ops(&self) -> Option<&dma_buf_attach_ops> {
        // SAFETY: Set at attach, valid while the attachment lives (type
        // invariant).
        unsafe { (*self.raw()).importer_ops.as_ref() }
    }

    /// `dma_buf_attachment_is_dynamic()`: whether the importer attached
    /// with importer ops.
    #[inline]
    pub(crate) fn importer_dynamic(&self) -> bool {
        self.importer_ops().is_some()
    }

    /// Which sides of the attachment are dynamic.
    #[inline]
    pub(crate) fn sides(&self) -> Sides {
        Sides {
            importer_dynamic: self.importer_dynamic(),
            exporter_dynamic: self.dmabuf().exporter_dynamic(),
        }
    }

    /// The attachment with its buffer's reservation lock held (`held`), or
    /// `None` if `held` is the proof for another reservation object.
    #[inline]
    pub(crate) fn locked<'h>(&'h self, held: Held<'h>) -> Option<AttachLocked<'h>> {
        // Folded away when the proof was made from the buffer's object.
        if !core::ptr::eq(held.resv(), self.dmabuf().resv()) {
            return None;
        }
        // INVARIANT: `held` proves the buffer's lock held for `'h`. Only its
        // lifetime is kept: a pointer fewer to pass around.
        let _ = held;
        Some(AttachLocked {
            attach: self,
            _held: PhantomData,
        })
    }
}

/// An attachment on no list, ours alone: just made by `attach` and not yet
/// on its buffer's list, or just taken off it by [`AttachRef::unlist`].
/// Freed (`kfree`) on drop.
///
/// The buffer is kept beside the attachment (it is the attachment's own):
/// read back from the attachment after each call out, it would cost a load
/// each time.
///
/// # Invariants
///
/// `raw` is a kmalloc'ed attachment whose fields are as [`Attachment`]
/// requires (live while this value lives), on no list, that nothing else
/// can reach; `dmabuf` is its dma-buf.
pub(crate) struct Unlisted<'a> {
    raw: NonNull<dma_buf_attachment>,
    dmabuf: &'a DmaBuf,
}

impl<'a> Unlisted<'a> {
    /// A zeroed attachment of `importer`'s device (with its ops and private
    /// data) to its dma-buf; `None` without memory.
    #[inline]
    pub(crate) fn new(importer: &Importer<'a>) -> Option<Self> {
        let raw = NonNull::new(sys::kzalloc_fixed::<
            dma_buf_attachment,
            { size_of::<dma_buf_attachment>() },
        >())?;
        // SAFETY: Just allocated and zeroed: valid, and ours alone.
        let attach = unsafe { &mut *raw.as_ptr() };
        attach.dev = importer.dev;
        attach.dmabuf = importer.dmabuf.raw();
        attach.peer2peer = importer.ops.is_some_and(|ops| ops.allow_peer2peer);
        attach.importer_ops = importer.ops.map_or(ptr::null(), ptr::from_ref);
        attach.importer_priv = importer.private;
        // INVARIANT: Set from the importer's request, which is as an
        // attachment needs it (invariant of `Importer`); on no list.
        Some(Self {
            raw,
            dmabuf: importer.dmabuf,
        })
    }

    /// Calls the exporter's `attach` op, if it has one (without the
    /// reservation lock): 0, or the error with which it refused the device.
    #[inline]
    pub(crate) fn attach_op(&self) -> c_int {
        match self.dmabuf.ops().attach {
            // SAFETY: The exporter gets its live buffer and the new
            // attachment, with the reservation lock not held.
            Some(attach) => unsafe { attach(self.dmabuf.raw(), self.raw.as_ptr()) },
            None => 0,
        }
    }

    /// Calls the exporter's `detach` op, if it has one (without the
    /// reservation lock), for an attachment taken off the list.
    #[inline]
    pub(crate) fn detach_op(&self) {
        if let Some(detach) = self.dmabuf.ops().detach {
            // SAFETY: The exporter gets its live buffer and the attachment,
            // no longer listed, with the reservation lock not held.
            unsafe { detach(self.dmabuf.raw(), self.raw.as_ptr()) };
        }
    }

    /// Puts the attachment on its buffer's list (under the reservation
    /// lock, taken here): from now on it is the importer's, who detaches it.
    #[inline]
    pub(crate) fn publish(self) -> AttachRef<'a> {
        let this = ManuallyDrop::new(self);
        {
            let _lock = ResvGuard::lock(this.dmabuf.resv());
            // SAFETY: The list of attachments changes only under the lock
            // we hold; the node is this attachment's, on no list (type
            // invariant), and the list its buffer's.
            unsafe {
                sys::list_add(
                    addr_of_mut!((*this.raw.as_ptr()).node),
                    addr_of_mut!((*this.dmabuf.raw()).attachments),
                )
            };
        }
        // INVARIANT: On its buffer's list, and no one else has it yet.
        AttachRef {
            raw: this.raw,
            dmabuf: this.dmabuf,
        }
    }
}

impl Deref for Unlisted<'_> {
    type Target = Attachment;

    #[inline]
    fn deref(&self) -> &Attachment {
        // SAFETY: The fields are as an attachment needs them, live while
        // this value lives (type invariant).
        unsafe { Attachment::from_raw(self.raw.as_ptr()) }
    }
}

impl Drop for Unlisted<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: kmalloc'ed, on no list, and nothing else can reach it
        // (type invariant).
        unsafe { bindings::kfree(self.raw.as_ptr().cast()) };
    }
}

/// The importer's attachment: on its buffer's list until the importer
/// detaches it (`dma_buf_detach()`), which consumes this handle. Its buffer
/// is kept beside it, as in [`Unlisted`].
///
/// # Invariants
///
/// `raw` is an attachment made by `attach` (kmalloc'ed, its fields as
/// [`Attachment`] requires), on its buffer's list, `dmabuf`; this handle is
/// the importer's one claim to detach it.
pub(crate) struct AttachRef<'a> {
    raw: NonNull<dma_buf_attachment>,
    dmabuf: &'a DmaBuf,
}

impl<'a> AttachRef<'a> {
    /// The importer's attachment of `dmabuf`, given back by a C caller to
    /// detach it.
    ///
    /// # Safety
    ///
    /// `attach` must be a live attachment of `dmabuf` made by
    /// `dma_buf_dynamic_attach()`, which the caller gives up: nothing uses
    /// it after.
    #[inline]
    pub(crate) unsafe fn from_raw(attach: NonNull<dma_buf_attachment>, dmabuf: &'a DmaBuf) -> Self {
        // INVARIANT: The caller's promise; attached means listed.
        Self {
            raw: attach,
            dmabuf,
        }
    }

    /// The pointer, for the C caller that becomes the importer.
    #[inline]
    pub(crate) fn into_raw(self) -> *mut dma_buf_attachment {
        self.raw.as_ptr()
    }

    /// The attachment's dma-buf.
    #[inline]
    pub(crate) fn buf(&self) -> &'a DmaBuf {
        self.dmabuf
    }

    /// Takes the attachment off its buffer's list under the reservation lock
    /// (taken here), after `last` has run with the lock held; the
    /// attachment is ours alone again.
    #[inline]
    pub(crate) fn unlist(self, last: impl FnOnce(AttachLocked<'_>)) -> Unlisted<'a> {
        {
            // INVARIANT: The guard locks the attachment's buffer.
            let guard = AttachGuard {
                attach: &self,
                _guard: ResvGuard::lock(self.dmabuf.resv()),
            };
            last(guard.locked());
            // SAFETY: The list of attachments changes only under the lock we
            // hold, and the attachment is on it (type invariant).
            unsafe { sys::list_del(addr_of_mut!((*self.raw.as_ptr()).node)) };
        }
        // INVARIANT: Off the list, and this handle, the importer's claim,
        // is consumed.
        Unlisted {
            raw: self.raw,
            dmabuf: self.dmabuf,
        }
    }
}

impl Deref for AttachRef<'_> {
    type Target = Attachment;

    #[inline]
    fn deref(&self) -> &Attachment {
        // SAFETY: Live and as an attachment needs it until detached, which
        // consumes this handle (type invariant).
        unsafe { Attachment::from_raw(self.raw.as_ptr()) }
    }
}

impl Attachment {
    /// Takes the buffer's reservation lock (`dma_resv_lock(.., NULL)`), for
    /// the locked view of the attachment.
    #[inline]
    pub(crate) fn lock(&self) -> AttachGuard<'_> {
        // INVARIANT: The guard locks this attachment's buffer.
        AttachGuard {
            attach: self,
            _guard: ResvGuard::lock(self.dmabuf().resv()),
        }
    }
}

/// The reservation lock of an attachment's buffer, held; released on drop.
///
/// # Invariants
///
/// `_guard` holds the lock of `attach`'s buffer's reservation object.
pub(crate) struct AttachGuard<'a> {
    attach: &'a Attachment,
    _guard: ResvGuard<'a>,
}

impl AttachGuard<'_> {
    /// The attachment, with the lock held while borrowed.
    #[inline]
    pub(crate) fn locked(&self) -> AttachLocked<'_> {
        // INVARIANT: The guard holds the buffer's lock (type invariant).
        AttachLocked {
            attach: self.attach,
            _held: PhantomData,
        }
    }
}

/// An attachment whose buffer's reservation lock is held.
///
/// # Invariants
///
/// The reservation lock of the attachment's dma-buf is held while the value
/// lives.
#[derive(Clone, Copy)]
pub(crate) struct AttachLocked<'h> {
    attach: &'h Attachment,
    _held: PhantomData<Held<'h>>,
}

impl<'h> AttachLocked<'h> {
    /// The attachment.
    #[inline]
    pub(crate) fn attachment(&self) -> &'h Attachment {
        self.attach
    }

    /// The cached mapping and its direction (`sgt`, `dir`); NULL if none.
    #[inline]
    pub(crate) fn cached(&self) -> (Mapped, dma_data_direction) {
        // INVARIANT of `Mapped`: by the invariant of `Attachment`.
        // SAFETY: The attachment is live; the fields change only under the
        // lock, which is held (type invariant).
        unsafe { (Mapped((*self.attach.raw()).sgt), (*self.attach.raw()).dir) }
    }

    /// Caches `sgt`, a mapping the exporter made for the attachment with
    /// `direction` (see [`Self::map_op`]), or NULL for none.
    #[inline]
    pub(crate) fn set_cached(&self, sgt: Mapped, direction: dma_data_direction) {
        // INVARIANT of `Attachment`: `sgt` is NULL or a mapping made for the
        // attachment with `direction`.
        // SAFETY: As in `cached`; we hold the lock.
        unsafe {
            (*self.attach.raw()).sgt = sgt.0;
            (*self.attach.raw()).dir = direction;
        }
    }

    /// Calls the exporter's `pin`.
    ///
    /// `dma_buf_export()` refuses `pin` without `unpin` and the other way
    /// round, and the core only pins for dynamic exporters, which have `pin`
    /// by definition; a missing op is a broken invariant: it warns and fails
    /// with -EINVAL instead of jumping to NULL as C would.
    #[track_caller]
    pub(crate) fn pin_op(&self) -> c_int {
        match self.attach.dmabuf().ops().pin {
            // SAFETY: `pin` takes a live attachment, with the lock held
            // (type invariant).
            Some(pin) => unsafe { pin(self.attach.raw()) },
            None => {
                sys::warn();
                crate::logic::errno::EINVAL.to_neg()
            }
        }
    }

    /// Calls the exporter's `unpin`; see [`Self::pin_op`] for a missing op
    /// (it warns, and does nothing).
    #[track_caller]
    pub(crate) fn unpin_op(&self) {
        match self.attach.dmabuf().ops().unpin {
            // SAFETY: As in `pin_op`.
            Some(unpin) => unsafe { unpin(self.attach.raw()) },
            None => sys::warn(),
        }
    }

    /// Calls the exporter's `map_dma_buf` (`None` if it has none, which
    /// `dma_buf_export()` refuses). The result is NULL, an error pointer or
    /// a mapping for the attachment with `direction`.
    #[inline]
    pub(crate) fn map_op(&self, direction: dma_data_direction) -> Option<Mapped> {
        let map = self.attach.dmabuf().ops().map_dma_buf?;
        // SAFETY: A live attachment, with the lock held (type invariant).
        Some(Mapped(unsafe { map(self.attach.raw(), direction) }))
    }

    /// Gives `sgt`, a mapping made for the attachment with `direction`, back
    /// to the exporter's `unmap_dma_buf` (it warns if there is none, which
    /// `dma_buf_export()` refuses).
    #[inline]
    pub(crate) fn unmap_op(&self, sgt: Mapped, direction: dma_data_direction) {
        match self.attach.dmabuf().ops().unmap_dma_buf {
            // SAFETY: A live attachment and a mapping made for it (type
            // invariant of `Mapped`), with the lock held.
            Some(unmap) => unsafe { unmap(self.attach.raw(), sgt.0, direction) },
            None => sys::warn(),
        }
    }
}

/// A mapping (`struct sg_table`) made by the exporter for an attachment:
/// what `map_dma_buf` returned, a cached one, or one a C caller gives back.
///
/// # Invariants
///
/// NULL, an error pointer, or a valid table that the exporter made for the
/// attachment it is used with, in the direction it is used with.
#[derive(Clone, Copy)]
pub(crate) struct Mapped(*mut sg_table);

impl Mapped {
    /// A mapping of a C caller.
    ///
    /// # Safety
    ///
    /// `sgt` must be NULL, an error pointer, or a mapping the exporter made
    /// for the attachment it is used with, in the direction it is used with.
    #[inline]
    pub(crate) unsafe fn from_raw(sgt: *mut sg_table) -> Self {
        // INVARIANT: The caller's promise.
        Self(sgt)
    }

    /// The error pointer of `err` (negative), as C's `ERR_PTR(err)`.
    #[inline]
    pub(crate) fn err(err: c_long) -> Self {
        // INVARIANT: An error pointer.
        Self(sys::err_ptr(err))
    }

    /// The error pointer of `errno`.
    #[inline]
    pub(crate) fn errno(errno: Errno) -> Self {
        Self::err(errno.to_neg() as c_long)
    }

    /// The table, for C.
    #[inline]
    pub(crate) fn as_ptr(self) -> *mut sg_table {
        self.0
    }

    /// Whether there is no table (NULL).
    #[inline]
    pub(crate) fn is_null(self) -> bool {
        self.0.is_null()
    }

    /// Whether this is an error pointer.
    #[inline]
    pub(crate) fn is_err(self) -> bool {
        sys::is_err(self.0)
    }
}
