// SPDX-License-Identifier: GPL-2.0

//! CPU access to a dma-buf from the kernel.

use super::DmaBuf;
use crate::{
    bindings,
    dma::DataDirection,
    error::{code::*, to_result, Result},
};

/// A kernel mapping of a whole dma-buf (`dma_buf_vmap_unlocked`), unmapped
/// when dropped; reads through it are bounds-checked.
///
/// Only system memory is supported: an exporter that maps I/O memory gets
/// `ENOTSUPP` (reading it would need `memcpy_fromio`). Devices may write the
/// buffer while it is mapped; read inside a [`CpuAccess`] bracket (which
/// waits for writers first) to see their results.
pub struct Vmap<'a> {
    buf: &'a DmaBuf,
    map: bindings::iosys_map,
}

impl DmaBuf {
    /// Maps the buffer into the kernel's address space.
    pub fn vmap(&self) -> Result<Vmap<'_>> {
        // SAFETY: An all-zero map is the empty map the call fills.
        let mut map: bindings::iosys_map = unsafe { core::mem::zeroed() };
        // SAFETY: The buffer is live.
        to_result(unsafe { bindings::dma_buf_vmap_unlocked(self.as_raw(), &mut map) })?;
        if map.is_iomem {
            // SAFETY: The map was just made.
            unsafe { bindings::dma_buf_vunmap_unlocked(self.as_raw(), &mut map) };
            return Err(ENOTSUPP);
        }
        Ok(Vmap { buf: self, map })
    }
}

impl Vmap<'_> {
    /// Returns the mapped length: the buffer's size.
    pub fn len(&self) -> usize {
        self.buf.size()
    }

    /// Returns whether the mapping is empty (never: buffers are not).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies `out.len()` bytes at `offset` out of the buffer; a range past
    /// the end is `EINVAL`.
    pub fn read(&self, offset: usize, out: &mut [u8]) -> Result {
        let end = offset.checked_add(out.len()).ok_or(EINVAL)?;
        if end > self.len() {
            return Err(EINVAL);
        }
        // SAFETY: A system-memory map (checked in `vmap`) uses `vaddr`.
        let base = unsafe { self.map.__bindgen_anon_1.vaddr }
            .cast_const()
            .cast::<u8>();
        // SAFETY: `[offset, end)` lies inside the mapping (checked), which lives
        // until `self` is dropped. What a device writes concurrently is
        // outside Rust's memory model, like any DMA.
        unsafe { core::ptr::copy_nonoverlapping(base.add(offset), out.as_mut_ptr(), out.len()) };
        Ok(())
    }
}

impl Drop for Vmap<'_> {
    fn drop(&mut self) {
        // SAFETY: The map came from `dma_buf_vmap_unlocked` on this buffer.
        unsafe { bindings::dma_buf_vunmap_unlocked(self.buf.as_raw(), &mut self.map) };
    }
}

/// A CPU access bracket (`dma_buf_begin_cpu_access` to
/// `dma_buf_end_cpu_access`), ended when dropped.
///
/// Reads go through a [`Vmap`] of the buffer, made on first use and dropped
/// before the bracket ends; they are bounds-checked.
/// [`CpuAccess::read_page`] reads one page by its number, the page-wise
/// access that `dma_buf_kmap` once gave.
pub struct CpuAccess<'a> {
    buf: &'a DmaBuf,
    dir: DataDirection,
    vmap: Option<Vmap<'a>>,
}

impl<'a> CpuAccess<'a> {
    pub(super) fn new(buf: &'a DmaBuf, dir: DataDirection) -> Self {
        Self {
            buf,
            dir,
            vmap: None,
        }
    }

    /// Copies `out.len()` bytes at `offset` out of the buffer.
    pub fn read(&mut self, offset: usize, out: &mut [u8]) -> Result {
        if self.vmap.is_none() {
            self.vmap = Some(self.buf.vmap()?);
        }
        self.vmap.as_ref().ok_or(EINVAL)?.read(offset, out)
    }

    /// Copies up to a page from page `page` of the buffer, starting at its
    /// first byte; `out` may be shorter than a page, not longer.
    pub fn read_page(&mut self, page: usize, out: &mut [u8]) -> Result {
        let page_size = bindings::PAGE_SIZE;
        if out.len() > page_size {
            return Err(EINVAL);
        }
        let offset = page.checked_mul(page_size).ok_or(EINVAL)?;
        self.read(offset, out)
    }

    /// Returns the number of pages of the buffer.
    pub fn page_count(&self) -> usize {
        self.buf.size().div_ceil(bindings::PAGE_SIZE)
    }
}

impl Drop for CpuAccess<'_> {
    fn drop(&mut self) {
        // The kernel mapping goes first, inside the bracket.
        drop(self.vmap.take());
        // SAFETY: Begun in `begin_cpu_access` with this direction. An error
        // here (exporter-specific) has no one to go to.
        unsafe { bindings::dma_buf_end_cpu_access(self.buf.as_raw(), self.dir.as_raw()) };
    }
}
