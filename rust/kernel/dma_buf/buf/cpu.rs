// SPDX-License-Identifier: GPL-2.0

//! CPU access to a dma-buf from the kernel.

use super::DmaBuf;
use crate::{
    bindings,
    dma::DataDirection,
    error::{code::*, to_result, Result},
};

/// A CPU access bracket (`dma_buf_begin_cpu_access` to
/// `dma_buf_end_cpu_access`), ended when dropped.
///
/// Reads go through a kernel mapping of the buffer (`dma_buf_vmap`), made on
/// first use and dropped before the bracket ends; they are bounds-checked.
/// [`CpuAccess::read_page`] reads one page by its number, the page-wise
/// access that `dma_buf_kmap` once gave.
pub struct CpuAccess<'a> {
    buf: &'a DmaBuf,
    dir: DataDirection,
    vmap: Option<bindings::iosys_map>,
}

impl<'a> CpuAccess<'a> {
    pub(super) fn new(buf: &'a DmaBuf, dir: DataDirection) -> Self {
        Self {
            buf,
            dir,
            vmap: None,
        }
    }

    fn vaddr(&mut self) -> Result<*const u8> {
        if self.vmap.is_none() {
            // SAFETY: An all-zero map is the empty map the call fills.
            let mut map: bindings::iosys_map = unsafe { core::mem::zeroed() };
            // SAFETY: The buffer is live.
            to_result(unsafe { bindings::dma_buf_vmap_unlocked(self.buf.as_raw(), &mut map) })?;
            if map.is_iomem {
                // SAFETY: The map was just made.
                unsafe { bindings::dma_buf_vunmap_unlocked(self.buf.as_raw(), &mut map) };
                // I/O memory needs `memcpy_fromio`; no exporter here gives it.
                return Err(ENOTSUPP);
            }
            self.vmap = Some(map);
        }
        let map = self.vmap.as_ref().ok_or(EINVAL)?;
        // SAFETY: A system-memory map (checked above) uses `vaddr`.
        Ok(unsafe { map.__bindgen_anon_1.vaddr }.cast_const().cast())
    }

    /// Copies `out.len()` bytes at `offset` out of the buffer.
    pub fn read(&mut self, offset: usize, out: &mut [u8]) -> Result {
        let end = offset.checked_add(out.len()).ok_or(EINVAL)?;
        if end > self.buf.size() {
            return Err(EINVAL);
        }
        let base = self.vaddr()?;
        // SAFETY: `[offset, end)` lies inside the mapped buffer (checked), and
        // the map lives until `self` is dropped. Devices do not write to the
        // buffer inside a CPU access bracket (the core waited for writers).
        unsafe { core::ptr::copy_nonoverlapping(base.add(offset), out.as_mut_ptr(), out.len()) };
        Ok(())
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
        if let Some(mut map) = self.vmap.take() {
            // SAFETY: The map came from `dma_buf_vmap_unlocked` on this buffer.
            unsafe { bindings::dma_buf_vunmap_unlocked(self.buf.as_raw(), &mut map) };
        }
        // SAFETY: Begun in `begin_cpu_access` with this direction. An error
        // here (exporter-specific) has no one to go to.
        unsafe { bindings::dma_buf_end_cpu_access(self.buf.as_raw(), self.dir.as_raw()) };
    }
}
