// SPDX-License-Identifier: GPL-2.0

//! Scatter-gather tables built from pages, and their DMA mappings.
//!
//! - [`SgTable`] is an owned `struct sg_table` describing pages (CPU side).
//! - [`DmaSgTable`] is an [`SgTable`] mapped for DMA by one device; it is unmapped and freed
//!   when dropped, and can be handed to C and back (dma-buf `map_dma_buf`/`unmap_dma_buf`).
//! - [`SgTableRef`] is a borrowed view of any mapped table, for example one that C code gave to
//!   a dma-buf importer, to walk its DMA segments.
//!
//! C headers: [`include/linux/scatterlist.h`](srctree/include/linux/scatterlist.h),
//! [`include/linux/dma-mapping.h`](srctree/include/linux/dma-mapping.h).

use crate::{
    alloc::Flags,
    bindings,
    device::Device,
    dma::DataDirection,
    error::{to_result, Result},
    mm::PageRefs,
    page::{Page, PAGE_SIZE},
    prelude::*,
    types::{ARef, Opaque},
};
use core::{marker::PhantomData, ops::Deref};

/// A DMA address as seen by a device (`dma_addr_t`).
pub type DmaAddr = bindings::dma_addr_t;

/// The allocation behind [`SgTable`] and [`DmaSgTable`].
///
/// `#[repr(C)]` with the `sg_table` first, so a pointer to the table is a pointer to this.
#[repr(C)]
struct Inner {
    table: Opaque<bindings::sg_table>,
    /// The pages described by the table.
    pages: PageRefs,
    /// The device and direction of the DMA mapping, if mapped.
    mapping: Option<(ARef<Device>, DataDirection)>,
}

impl Inner {
    fn raw(&self) -> *mut bindings::sg_table {
        self.table.get()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some((dev, dir)) = &self.mapping {
            // SAFETY: The table was mapped for `dev` in direction `dir` with no attributes and
            // not unmapped since (invariants of `DmaSgTable`).
            unsafe { bindings::dma_unmap_sgtable(dev.as_raw(), self.raw(), dir.as_raw(), 0) };
        }
        // SAFETY: The table was allocated by `sg_alloc_table_from_pages_segment` (invariant of
        // `SgTable`) and is not used after this. The page references go after, with `pages`.
        unsafe { bindings::sg_free_table(self.raw()) };
    }
}

/// An owned scatter-gather table (`struct sg_table`) describing pages.
///
/// The table holds a reference on each of its pages, so they stay allocated while it exists,
/// even if their [`Page`] owners are dropped first. Its address is stable (it is on the heap).
///
/// # Examples
///
/// ```
/// use kernel::page::{Page, PAGE_SIZE};
/// use kernel::scatterlist::SgTable;
///
/// let pages = [Page::alloc_page(GFP_KERNEL)?, Page::alloc_page(GFP_KERNEL)?];
/// // One and a half pages.
/// let sgt = SgTable::from_pages(&pages, PAGE_SIZE + PAGE_SIZE / 2, GFP_KERNEL)?;
/// // Pages that happen to be contiguous are merged into one entry.
/// assert!(sgt.orig_nents() == 1 || sgt.orig_nents() == 2);
/// assert_eq!(sgt.segment_lengths().count(), sgt.orig_nents());
/// assert_eq!(sgt.segment_lengths().map(|l| l as usize).sum::<usize>(), PAGE_SIZE * 3 / 2);
///
/// // More bytes than the pages hold, or none, are refused.
/// assert!(SgTable::from_pages(&pages, 2 * PAGE_SIZE + 1, GFP_KERNEL).is_err());
/// assert!(SgTable::from_pages(&pages, 0, GFP_KERNEL).is_err());
/// # Ok::<(), Error>(())
/// ```
///
/// # Invariants
///
/// `0.table` was allocated by `sg_alloc_table_from_pages_segment` for the pages in `0.pages`,
/// and `0.mapping` is `None`.
pub struct SgTable(KBox<Inner>);

// SAFETY: The table is owned; it and its page references can be used and freed on any thread.
unsafe impl Send for SgTable {}

// SAFETY: `&SgTable` only reads the table.
unsafe impl Sync for SgTable {}

impl SgTable {
    /// Builds a table for the first `len_bytes` bytes of `pages`, in order.
    ///
    /// Physically contiguous runs of pages become one entry. Fails with `EINVAL` if `len_bytes`
    /// is zero or more than the pages hold, and `ENOMEM` when out of memory.
    pub fn from_pages(pages: &[Page], len_bytes: usize, flags: Flags) -> Result<SgTable> {
        if len_bytes == 0 || len_bytes > pages.len().checked_mul(PAGE_SIZE).ok_or(EINVAL)? {
            return Err(EINVAL);
        }
        let n_pages = len_bytes.div_ceil(PAGE_SIZE);
        let inner = KBox::new(
            Inner {
                // SAFETY: All zeros is a valid, empty `sg_table`.
                table: Opaque::new(unsafe { core::mem::zeroed() }),
                pages: PageRefs::new(&pages[..n_pages], flags)?,
                mapping: None,
            },
            flags,
        )?;
        // SAFETY: `table` is a valid table to fill in; `pages` holds `n_pages` valid pages;
        // `len_bytes` fits in them. `u32::MAX` is "no segment size limit" (rounded down to
        // pages by the callee).
        let ret = unsafe {
            bindings::sg_alloc_table_from_pages_segment(
                inner.raw(),
                inner.pages.as_ptr(),
                u32::try_from(n_pages)?,
                0,
                len_bytes,
                u32::MAX,
                flags.as_raw(),
            )
        };
        // On failure the table is left zeroed, which `sg_free_table` (in the drop of `inner`)
        // ignores.
        to_result(ret)?;
        // INVARIANT: The table was just allocated for `pages`; it is not mapped.
        Ok(SgTable(inner))
    }

    /// Returns the raw `struct sg_table`, valid while `self` lives.
    pub fn as_raw(&self) -> *mut bindings::sg_table {
        self.0.raw()
    }

    /// Returns the number of CPU-side entries (`orig_nents`).
    pub fn orig_nents(&self) -> usize {
        // SAFETY: The table is valid (type invariant).
        unsafe { (*self.as_raw()).orig_nents as usize }
    }

    /// Returns an iterator over the byte lengths of the CPU-side entries.
    pub fn segment_lengths(&self) -> impl Iterator<Item = u32> + '_ {
        // SAFETY: The table is valid with `orig_nents` entries (type invariant), for `'_`.
        unsafe { SgIter::new(self.as_raw(), (*self.as_raw()).orig_nents) }
            // SAFETY: `sg` is a valid entry of the table.
            .map(|sg| unsafe { (*sg).length })
    }

    /// Maps the table for DMA by `dev` in direction `dir` (`dma_map_sgtable`).
    ///
    /// The result is unmapped (`dma_unmap_sgtable`) and freed when dropped. Entries may be
    /// merged by an IOMMU, so the mapped table can have fewer DMA segments than CPU entries.
    /// Fails with the error of `dma_map_sgtable` (`EINVAL`, `ENOMEM`, `EIO`); the table is
    /// freed then.
    pub fn dma_map(self, dev: &Device, dir: DataDirection) -> Result<DmaSgTable> {
        // SAFETY: `dev` is a valid device and the table is valid and not mapped (type
        // invariant).
        let ret =
            unsafe { bindings::dma_map_sgtable(dev.as_raw(), self.as_raw(), dir.as_raw(), 0) };
        to_result(ret)?;
        let mut inner = self.0;
        // INVARIANT: The table was just mapped for `dev` in direction `dir`.
        inner.mapping = Some((dev.into(), dir));
        Ok(DmaSgTable(inner))
    }
}

/// A scatter-gather table mapped for DMA by one device.
///
/// Made by [`SgTable::dma_map`]; unmapped (`dma_unmap_sgtable`) and freed (`sg_free_table`) on
/// drop, which also drops the references to the pages and the device. Derefs to
/// [`SgTableRef`] for the DMA segments.
///
/// # Examples
///
/// ```
/// use kernel::device::Device;
/// use kernel::dma::DataDirection;
/// use kernel::page::{Page, PAGE_SIZE};
/// use kernel::scatterlist::SgTable;
///
/// fn map_for_device(dev: &Device, pages: &[Page]) -> Result {
///     let sgt = SgTable::from_pages(pages, pages.len() * PAGE_SIZE, GFP_KERNEL)?
///         .dma_map(dev, DataDirection::ToDevice)?;
///     for (addr, len) in sgt.dma_segments() {
///         pr_info!("segment {addr:#x}+{len:#x}\n");
///     }
///     // ... CPU writes to the pages, then:
///     sgt.sync_for_device();
///     // ... start the device and wait for it; dropping `sgt` unmaps the pages.
///     Ok(())
/// }
/// ```
///
/// # Invariants
///
/// `0` satisfies the invariants of [`SgTable`], except that `0.mapping` is `Some((dev, dir))`
/// and the table is mapped with `dma_map_sgtable` for `dev` in direction `dir`, no attributes.
pub struct DmaSgTable(KBox<Inner>);

// SAFETY: The mapping is not tied to a thread; unmapping may happen on any thread.
unsafe impl Send for DmaSgTable {}

// SAFETY: `&DmaSgTable` reads the table and syncs it; concurrent syncs are allowed by the DMA
// API (they are cache maintenance operations).
unsafe impl Sync for DmaSgTable {}

impl DmaSgTable {
    /// Returns the device the table is mapped for.
    pub fn device(&self) -> &Device {
        &self.mapping().0
    }

    /// Returns the direction of the mapping.
    pub fn direction(&self) -> DataDirection {
        self.mapping().1
    }

    fn mapping(&self) -> &(ARef<Device>, DataDirection) {
        match &self.0.mapping {
            Some(m) => m,
            // The type invariant says it is `Some`.
            None => unreachable!(),
        }
    }

    /// Gives the memory back to the CPU after the device wrote it
    /// (`dma_sync_sgtable_for_cpu`).
    pub fn sync_for_cpu(&self) {
        let (dev, dir) = self.mapping();
        // SAFETY: The table is mapped for `dev` in direction `dir` (type invariant).
        unsafe { bindings::dma_sync_sgtable_for_cpu(dev.as_raw(), self.0.raw(), dir.as_raw()) };
    }

    /// Gives the memory to the device after the CPU wrote it (`dma_sync_sgtable_for_device`).
    pub fn sync_for_device(&self) {
        let (dev, dir) = self.mapping();
        // SAFETY: The table is mapped for `dev` in direction `dir` (type invariant).
        unsafe { bindings::dma_sync_sgtable_for_device(dev.as_raw(), self.0.raw(), dir.as_raw()) };
    }

    /// Gives up ownership, returning the `struct sg_table` (for example to return it from a
    /// dma-buf `map_dma_buf` operation). Take it back with [`DmaSgTable::from_raw`].
    pub fn into_raw(self) -> *mut bindings::sg_table {
        // `Inner` is `#[repr(C)]` with the table first.
        KBox::into_raw(self.0).cast()
    }

    /// Takes back a table given up with [`DmaSgTable::into_raw`].
    ///
    /// # Safety
    ///
    /// `ptr` must come from [`DmaSgTable::into_raw`], and this must be the only `from_raw` for
    /// it. C code may have used the table meanwhile but not changed or freed it.
    pub unsafe fn from_raw(ptr: *mut bindings::sg_table) -> Self {
        // SAFETY: `ptr` is the start of an `Inner` from `KBox::into_raw` (caller, `Inner` is
        // `#[repr(C)]` with the table first); ownership comes back once.
        // INVARIANT: It was a `DmaSgTable` when given up and was not changed (caller).
        DmaSgTable(unsafe { KBox::from_raw(ptr.cast::<Inner>()) })
    }
}

impl Deref for DmaSgTable {
    type Target = SgTableRef;

    fn deref(&self) -> &SgTableRef {
        // SAFETY: The table is valid and DMA-mapped while `self` lives (type invariant).
        unsafe { SgTableRef::from_raw(self.0.raw()) }
    }
}

/// A borrowed, DMA-mapped scatter-gather table owned by someone else (`struct sg_table`).
///
/// For example the table that `dma_buf_map_attachment` returns to an importer.
///
/// # Invariants
///
/// The table is valid and DMA-mapped (its first `nents` entries have DMA addresses and lengths),
/// and is not changed, for the lifetime of a `&SgTableRef`.
#[repr(transparent)]
pub struct SgTableRef(Opaque<bindings::sg_table>);

// SAFETY: `&SgTableRef` only reads the table, which does not change while it is borrowed.
unsafe impl Sync for SgTableRef {}

impl SgTableRef {
    /// Creates a reference to a mapped table from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must be a valid `sg_table` that is DMA-mapped (`dma_map_sgtable` or equivalent)
    /// and stays valid, mapped and unchanged for `'a`.
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::sg_table) -> &'a SgTableRef {
        // SAFETY: `SgTableRef` is a transparent wrapper of `sg_table`; validity for `'a` is the
        // caller's promise.
        // INVARIANT: Ditto.
        unsafe { &*ptr.cast::<SgTableRef>() }
    }

    /// Returns the raw `struct sg_table`.
    pub fn as_raw(&self) -> *mut bindings::sg_table {
        self.0.get()
    }

    /// Returns the number of DMA segments (`nents`).
    pub fn nents(&self) -> usize {
        // SAFETY: The table is valid (type invariant).
        unsafe { (*self.as_raw()).nents as usize }
    }

    /// Returns an iterator over the DMA segments as `(DMA address, length in bytes)`.
    ///
    /// Uses `sg_dma_address` and `sg_dma_len` of the first `nents` entries.
    pub fn dma_segments(&self) -> DmaSegments<'_> {
        // SAFETY: The table is valid and has `nents` mapped entries for `'_` (type invariant).
        DmaSegments(unsafe { SgIter::new(self.as_raw(), (*self.as_raw()).nents) })
    }
}

/// An iterator over the entries of a table.
///
/// # Invariants
///
/// `sg` is null or a valid entry of a table that is valid for `'a`, followed by at least
/// `remaining - 1` more entries (reached with `sg_next`).
struct SgIter<'a> {
    sg: *mut bindings::scatterlist,
    remaining: u32,
    _p: PhantomData<&'a bindings::sg_table>,
}

impl SgIter<'_> {
    /// # Safety
    ///
    /// `table` must be valid, with at least `count` entries, for the lifetime of the iterator.
    unsafe fn new(table: *mut bindings::sg_table, count: u32) -> Self {
        // SAFETY: `table` is valid (caller).
        let sg = unsafe { (*table).sgl };
        // INVARIANT: `sgl` is the first of `count` entries (caller), or null when there are none.
        SgIter {
            sg,
            remaining: if sg.is_null() { 0 } else { count },
            _p: PhantomData,
        }
    }
}

impl Iterator for SgIter<'_> {
    type Item = *mut bindings::scatterlist;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let sg = self.sg;
        self.remaining -= 1;
        if self.remaining > 0 {
            // SAFETY: `sg` is a valid entry followed by more (type invariant).
            // INVARIANT: The next entry is followed by `remaining - 1` more.
            self.sg = unsafe { bindings::sg_next(sg) };
        }
        Some(sg)
    }
}

/// An iterator over the DMA segments of a table: `(DMA address, length in bytes)`.
///
/// Made by [`SgTableRef::dma_segments`].
pub struct DmaSegments<'a>(SgIter<'a>);

impl Iterator for DmaSegments<'_> {
    type Item = (DmaAddr, u32);

    fn next(&mut self) -> Option<Self::Item> {
        let sg = self.0.next()?;
        // SAFETY: `sg` is a valid, DMA-mapped entry (invariant of `SgTableRef`).
        Some(unsafe { (bindings::sg_dma_address(sg), bindings::sg_dma_len(sg)) })
    }
}
