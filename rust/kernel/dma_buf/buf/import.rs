// SPDX-License-Identifier: GPL-2.0

//! The importer's side: attachments and their DMA mappings.

use super::DmaBuf;
use crate::{
    alloc::{flags::GFP_KERNEL, KBox},
    bindings,
    device::Device,
    dma::DataDirection,
    dma_buf::resv::ResvGuard,
    error::{code::*, from_err_ptr, Result},
    scatterlist::SgTableRef,
    types::ARef,
};
use core::{cell::UnsafeCell, marker::PhantomData, ops::Deref, ptr::NonNull};

/// A static attachment (`dma_buf_attach`): the exporter keeps the buffer in
/// place (pinned) while it is mapped. Detaches when dropped.
///
/// # Invariants
///
/// `attach` is a live attachment of `buf`, owned by this value.
pub struct StaticAttachment {
    buf: ARef<DmaBuf>,
    attach: NonNull<bindings::dma_buf_attachment>,
}

// SAFETY: The attachment may be used and detached from any thread.
unsafe impl Send for StaticAttachment {}
// SAFETY: Mapping and unmapping through `&self` are serialised by the core
// (reservation lock).
unsafe impl Sync for StaticAttachment {}

impl DmaBuf {
    /// Attaches `dev` to the buffer as a static importer.
    pub fn attach(&self, dev: &Device) -> Result<StaticAttachment> {
        // SAFETY: Both objects are live; the core takes its own references.
        let attach =
            from_err_ptr(unsafe { bindings::dma_buf_attach(self.as_raw(), dev.as_raw()) })?;
        Ok(StaticAttachment {
            buf: self.into(),
            // SAFETY: Not an error pointer, so not null.
            attach: unsafe { NonNull::new_unchecked(attach) },
        })
    }

    /// Attaches `dev` as a dynamic importer (`dma_buf_dynamic_attach`): the
    /// buffer may move while attached; the API then drops the attachment's
    /// cached mapping and calls `importer`'s [`Importer::move_notify`], and
    /// the next [`DynamicAttachment::map`] maps again.
    pub fn attach_dynamic<I: Importer>(
        &self,
        dev: &Device,
        importer: I,
    ) -> Result<DynamicAttachment<I>> {
        let inner = KBox::new(
            DynInner {
                importer,
                mapping: UnsafeCell::new(None),
            },
            GFP_KERNEL,
        )?;
        let priv_ = (&*inner as *const DynInner<I>).cast_mut().cast();
        // SAFETY: Both objects are live; `inner` stays at its address until
        // after detach (it is dropped after `attach` in `DynamicAttachment`).
        let attach = from_err_ptr(unsafe {
            bindings::dma_buf_dynamic_attach(
                self.as_raw(),
                dev.as_raw(),
                &ImportAdapter::<I>::OPS,
                priv_,
            )
        })?;
        Ok(DynamicAttachment {
            // SAFETY: Not an error pointer.
            attach: unsafe { NonNull::new_unchecked(attach) },
            buf: self.into(),
            inner,
        })
    }
}

impl StaticAttachment {
    /// Returns the attached buffer.
    pub fn buf(&self) -> &DmaBuf {
        &self.buf
    }

    /// Maps the buffer for the device (`dma_buf_map_attachment_unlocked`,
    /// which takes the reservation lock and waits for kernel fences): the
    /// mapping unmaps when dropped.
    pub fn map(&self, dir: DataDirection) -> Result<Mapping<'_>> {
        // SAFETY: The attachment is live (type invariant).
        let sgt = from_err_ptr(unsafe {
            bindings::dma_buf_map_attachment_unlocked(self.attach.as_ptr(), dir.as_raw())
        })?;
        Ok(Mapping {
            attach: self,
            // SAFETY: Not an error pointer.
            sgt: unsafe { NonNull::new_unchecked(sgt) },
            dir,
        })
    }
}

impl Drop for StaticAttachment {
    fn drop(&mut self) {
        // SAFETY: The attachment is ours and no mapping of it is left (each
        // borrows `self`).
        unsafe { bindings::dma_buf_detach(self.buf.as_raw(), self.attach.as_ptr()) };
    }
}

/// A mapping of a static attachment; derefs to the DMA-mapped sg table.
pub struct Mapping<'a> {
    attach: &'a StaticAttachment,
    sgt: NonNull<bindings::sg_table>,
    dir: DataDirection,
}

impl Deref for Mapping<'_> {
    type Target = SgTableRef;

    fn deref(&self) -> &SgTableRef {
        // SAFETY: The table stays mapped until `drop`.
        unsafe { SgTableRef::from_raw(self.sgt.as_ptr()) }
    }
}

impl Drop for Mapping<'_> {
    fn drop(&mut self) {
        // SAFETY: The table came from mapping this attachment in `dir`.
        unsafe {
            bindings::dma_buf_unmap_attachment_unlocked(
                self.attach.attach.as_ptr(),
                self.sgt.as_ptr(),
                self.dir.as_raw(),
            )
        };
    }
}

/// A dynamic importer's reaction to a buffer move.
pub trait Importer: Send + Sync + 'static {
    /// The buffer is moving (called with its reservation lock held, after
    /// the API dropped the attachment's mapping): forget DMA addresses taken
    /// from the old mapping. Work already submitted is covered by its fence
    /// in the reservation object, which the exporter waits for.
    fn move_notify(&self) {}
}

struct DynInner<I: Importer> {
    importer: I,
    /// The cached mapping and its direction; guarded by the buffer's
    /// reservation lock.
    mapping: UnsafeCell<Option<(NonNull<bindings::sg_table>, DataDirection)>>,
}

struct ImportAdapter<I: Importer>(PhantomData<I>);

impl<I: Importer> ImportAdapter<I> {
    const OPS: bindings::dma_buf_attach_ops = bindings::dma_buf_attach_ops {
        allow_peer2peer: false,
        move_notify: Some(Self::move_notify),
    };

    unsafe extern "C" fn move_notify(attach: *mut bindings::dma_buf_attachment) {
        // SAFETY: `importer_priv` is the `DynInner<I>` of a live attachment;
        // the core calls us with the reservation lock held, which guards the
        // cached mapping.
        unsafe {
            let inner = &*(*attach).importer_priv.cast::<DynInner<I>>();
            if let Some((sgt, dir)) = (*inner.mapping.get()).take() {
                bindings::dma_buf_unmap_attachment(attach, sgt.as_ptr(), dir.as_raw());
            }
            inner.importer.move_notify();
        }
    }
}

/// A dynamic attachment: the buffer may move while attached. It keeps one
/// cached mapping, made and used under the reservation lock; detaches (and
/// unmaps, taking the lock) when dropped.
///
/// # Invariants
///
/// `attach` is a live dynamic attachment of `buf` whose `importer_priv` is
/// `inner`.
pub struct DynamicAttachment<I: Importer> {
    attach: NonNull<bindings::dma_buf_attachment>,
    buf: ARef<DmaBuf>,
    inner: KBox<DynInner<I>>,
}

// SAFETY: The cached mapping is only touched under the reservation lock; the
// rest is thread-safe.
unsafe impl<I: Importer> Send for DynamicAttachment<I> {}
// SAFETY: As above.
unsafe impl<I: Importer> Sync for DynamicAttachment<I> {}

impl<I: Importer> DynamicAttachment<I> {
    /// Returns the attached buffer.
    pub fn buf(&self) -> &DmaBuf {
        &self.buf
    }

    /// Returns the importer's data.
    pub fn importer(&self) -> &I {
        &self.inner.importer
    }

    fn check(&self, guard: &ResvGuard<'_>) -> Result {
        if guard.resv().as_raw() != self.buf.resv().as_raw() {
            return Err(EINVAL);
        }
        Ok(())
    }

    /// Returns the attachment's mapping in direction `dir`, mapping now
    /// (`dma_buf_map_attachment`) if there is none, it was dropped by a move,
    /// or it was for another direction. `guard` must be the buffer's own
    /// reservation lock (else `EINVAL`); the table is valid while it is held.
    /// The flag says whether a new mapping was made.
    pub fn map<'g>(
        &'g self,
        guard: &'g mut ResvGuard<'_>,
        dir: DataDirection,
    ) -> Result<(&'g SgTableRef, bool)> {
        self.check(guard)?;
        // SAFETY: The reservation lock is held (checked above), which guards
        // the cache.
        let cache = unsafe { &mut *self.inner.mapping.get() };
        let mut fresh = false;
        match cache {
            Some((_, d)) if *d == dir => {}
            _ => {
                if let Some((sgt, d)) = cache.take() {
                    // SAFETY: The lock is held; the table came from this attachment.
                    unsafe {
                        bindings::dma_buf_unmap_attachment(
                            self.attach.as_ptr(),
                            sgt.as_ptr(),
                            d.as_raw(),
                        )
                    };
                }
                // SAFETY: The attachment is live and the lock is held.
                let sgt = from_err_ptr(unsafe {
                    bindings::dma_buf_map_attachment(self.attach.as_ptr(), dir.as_raw())
                })?;
                // SAFETY: Not an error pointer.
                *cache = Some((unsafe { NonNull::new_unchecked(sgt) }, dir));
                fresh = true;
            }
        }
        let (sgt, _) = cache.as_ref().ok_or(EINVAL)?;
        // SAFETY: The mapping stays until unmapped under the lock, which the
        // returned borrow of the guard keeps held.
        Ok((unsafe { SgTableRef::from_raw(sgt.as_ptr()) }, fresh))
    }

    /// Drops the cached mapping, if any (`dma_buf_unmap_attachment`).
    pub fn unmap(&self, guard: &mut ResvGuard<'_>) -> Result {
        self.check(guard)?;
        // SAFETY: The lock is held (checked), guarding the cache.
        if let Some((sgt, d)) = unsafe { (*self.inner.mapping.get()).take() } {
            // SAFETY: The table came from this attachment.
            unsafe {
                bindings::dma_buf_unmap_attachment(self.attach.as_ptr(), sgt.as_ptr(), d.as_raw())
            };
        }
        Ok(())
    }
}

impl<I: Importer> Drop for DynamicAttachment<I> {
    fn drop(&mut self) {
        {
            let mut guard = self.buf.resv().lock();
            let _ = self.unmap(&mut guard);
        }
        // SAFETY: The attachment is ours and unmapped; `inner` outlives this.
        unsafe { bindings::dma_buf_detach(self.buf.as_raw(), self.attach.as_ptr()) };
    }
}
