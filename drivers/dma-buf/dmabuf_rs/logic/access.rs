// SPDX-License-Identifier: GPL-2.0-only

//! CPU access rules of a dma-buf: the fences a CPU access waits for, the
//! bounds of an importer's mmap, and the reference count of the kernel vmap.
//!
//! C: `__dma_buf_begin_cpu_access()`, `dma_buf_mmap()`, `dma_buf_vmap()` and
//! `dma_buf_vunmap()` in
//! [`drivers/dma-buf/dma-buf.c`](srctree/drivers/dma-buf/dma-buf.c);
//! `vma_pages()` in [`include/linux/mm.h`](srctree/include/linux/mm.h); the
//! `iosys_map` tests in
//! [`include/linux/iosys-map.h`](srctree/include/linux/iosys-map.h).
//!
//! Subtle points of the C, kept here:
//!
//! - a CPU access is a write unless its direction is `DMA_FROM_DEVICE` (or
//!   `DMA_NONE`, or not a direction at all): `DMA_BIDIRECTIONAL` and
//!   `DMA_TO_DEVICE` count as writes, so they wait for readers too;
//! - the mmap checks are in `unsigned long` arithmetic: first a wrap-around
//!   of `pgoff + pages` (`EOVERFLOW`), then the end against the buffer's size
//!   in whole pages, rounded down (`EINVAL`), so a tail smaller than a page
//!   can never be mapped;
//! - an `iosys_map` is NULL when the pointer of its kind is NULL; two maps are
//!   equal when they are of the same kind and hold the same pointer;
//! - the exporter's `vmap` runs only for the first vmap and its `vunmap` only
//!   for the last vunmap; the checks that the count and the stored map agree
//!   are `BUG_ON`s in C, returned here as [`VmapBug`] for the caller to act on.

use super::attach::{DMA_BIDIRECTIONAL, DMA_TO_DEVICE};
use super::errno::{Errno, EINVAL, EOVERFLOW};
use super::usage::Usage;

/// Returns whether a CPU access in `direction` writes, as
/// `__dma_buf_begin_cpu_access()` decides it.
pub const fn cpu_access_writes(direction: u32) -> bool {
    direction == DMA_BIDIRECTIONAL || direction == DMA_TO_DEVICE
}

/// Returns the usage of the fences a CPU access in `direction` waits for.
pub const fn cpu_access_usage(direction: u32) -> Usage {
    Usage::rw(cpu_access_writes(direction))
}

/// Returns the number of pages of a VMA from `start` to `end`, as `vma_pages()`.
pub const fn vma_pages(start: usize, end: usize, page_shift: u32) -> usize {
    end.wrapping_sub(start) >> page_shift
}

/// Checks that `pages` pages from page `pgoff` lie within a buffer of `size`
/// bytes, as `dma_buf_mmap()` does.
///
/// Returns [`EOVERFLOW`] when the end wraps around, [`EINVAL`] when it lies
/// beyond the last whole page of the buffer.
///
/// # Examples
///
/// ```
/// use dmabuf_rs_logic::access::mmap_range;
/// use dmabuf_rs_logic::errno::{EINVAL, EOVERFLOW};
///
/// assert_eq!(mmap_range(1, 3, 4 << 12, 12), Ok(()));
/// assert_eq!(mmap_range(2, 3, 4 << 12, 12), Err(EINVAL));
/// assert_eq!(mmap_range(usize::MAX, 1, 4 << 12, 12), Err(EOVERFLOW));
/// ```
pub const fn mmap_range(
    pgoff: usize,
    pages: usize,
    size: usize,
    page_shift: u32,
) -> Result<(), Errno> {
    let Some(end) = pgoff.checked_add(pages) else {
        return Err(EOVERFLOW);
    };
    if end > size >> page_shift {
        return Err(EINVAL);
    }
    Ok(())
}

/// The value of a `struct iosys_map`: whether it points to I/O memory, and
/// the address (`vaddr_iomem` or `vaddr`, which share their storage).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IosysMap {
    /// `is_iomem`.
    pub is_iomem: bool,
    /// The pointer, as an address.
    pub addr: usize,
}

impl IosysMap {
    /// Returns whether the map points nowhere, as `iosys_map_is_null()`.
    pub const fn is_null(self) -> bool {
        self.addr == 0
    }

    /// Returns whether the map points somewhere, as `iosys_map_is_set()`.
    pub const fn is_set(self) -> bool {
        !self.is_null()
    }

    /// Returns whether both maps are of the same kind and point to the same
    /// address, as `iosys_map_is_equal()`.
    pub const fn is_equal(self, other: IosysMap) -> bool {
        self.is_iomem == other.is_iomem && self.addr == other.addr
    }
}

/// A broken vmap invariant, which C reports with `BUG_ON`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmapBug {
    /// There are vmaps, but no stored map (`dma_buf_vmap`, `dma_buf_vunmap`).
    CountedButNull,
    /// There are no vmaps, but a stored map (`dma_buf_vmap`).
    UncountedButSet,
    /// `dma_buf_vunmap` without any vmap.
    NoVmap,
    /// `dma_buf_vunmap` of a map that is not the stored one.
    NotTheVmap,
}

/// Decides a vmap of a buffer that is already vmapped `count` (non-zero)
/// times, with `stored` its stored map: the stored map is handed out again
/// and the count becomes the value returned.
///
/// The count wraps at `u32::MAX` as C's `unsigned` increment does. The two
/// cases of `dma_buf_vmap()` are two rules, [`vmap_again`] and
/// [`vmap_first`], chosen by the caller on the count: one rule returning
/// either made LLVM encode its answer in a register and decode it again, on
/// every vmap.
pub const fn vmap_again(count: u32, stored: IosysMap) -> Result<u32, VmapBug> {
    if stored.is_null() {
        return Err(VmapBug::CountedButNull);
    }
    Ok(count.wrapping_add(1))
}

/// Checks a buffer that is not vmapped before its first vmap (the exporter's
/// `vmap`, whose map is stored with a count of 1): it must have no stored
/// map either.
pub const fn vmap_first(stored: IosysMap) -> Result<(), VmapBug> {
    if stored.is_set() {
        return Err(VmapBug::UncountedButSet);
    }
    Ok(())
}

/// What `dma_buf_vunmap()` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vunmap {
    /// Other vmaps remain; the count becomes the value held.
    Keep(u32),
    /// The last vmap is gone: call the exporter's `vunmap` (if it has one),
    /// clear the stored map; the count becomes 0.
    Last,
}

/// Decides a vunmap of `map` from the buffer's vmap `count` and `stored` map,
/// checking them in C's order.
pub const fn vunmap(count: u32, stored: IosysMap, map: IosysMap) -> Result<Vunmap, VmapBug> {
    if stored.is_null() {
        return Err(VmapBug::CountedButNull);
    }
    if count == 0 {
        return Err(VmapBug::NoVmap);
    }
    if !stored.is_equal(map) {
        return Err(VmapBug::NotTheVmap);
    }
    if count == 1 {
        Ok(Vunmap::Last)
    } else {
        Ok(Vunmap::Keep(count - 1))
    }
}

#[cfg(test)]
mod tests {
    use super::super::attach::{DMA_FROM_DEVICE, DMA_NONE};
    use super::*;

    const SHIFT: u32 = 12;

    #[test]
    fn cpu_access_directions() {
        assert_eq!(cpu_access_usage(DMA_BIDIRECTIONAL), Usage::Read);
        assert_eq!(cpu_access_usage(DMA_TO_DEVICE), Usage::Read);
        assert_eq!(cpu_access_usage(DMA_FROM_DEVICE), Usage::Write);
        assert_eq!(cpu_access_usage(DMA_NONE), Usage::Write);
        assert_eq!(cpu_access_usage(u32::MAX), Usage::Write);
    }

    #[test]
    fn vma_pages_rounds_down() {
        assert_eq!(vma_pages(0x1000, 0x1000, SHIFT), 0);
        assert_eq!(vma_pages(0x1000, 0x3000, SHIFT), 2);
        assert_eq!(vma_pages(0x1000, 0x3fff, SHIFT), 2);
    }

    /// The C checks, in u128 so that nothing wraps in the reference.
    fn reference(pgoff: usize, pages: usize, size: usize) -> Result<(), Errno> {
        let end = pgoff as u128 + pages as u128;
        if end > usize::MAX as u128 {
            Err(EOVERFLOW)
        } else if end > (size >> SHIFT) as u128 {
            Err(EINVAL)
        } else {
            Ok(())
        }
    }

    #[test]
    fn mmap_range_matrix() {
        let values = [
            0,
            1,
            2,
            3,
            4,
            0xfff,
            0x1000,
            0x1001,
            usize::MAX >> SHIFT,
            (usize::MAX >> SHIFT) + 1,
            usize::MAX / 2,
            usize::MAX - 1,
            usize::MAX,
        ];
        for &pgoff in &values {
            for &pages in &values {
                for size in [0, 0xfff, 0x1000, 0x1fff, 0x4000, usize::MAX] {
                    assert_eq!(
                        mmap_range(pgoff, pages, size, SHIFT),
                        reference(pgoff, pages, size),
                        "pgoff {pgoff:#x} pages {pages:#x} size {size:#x}"
                    );
                }
            }
        }
    }

    #[test]
    fn partial_page_tail_is_not_mappable() {
        assert_eq!(mmap_range(0, 1, 0x1fff, SHIFT), Ok(()));
        assert_eq!(mmap_range(0, 2, 0x1fff, SHIFT), Err(EINVAL));
        assert_eq!(mmap_range(0, 0, 0, SHIFT), Ok(()));
    }

    #[test]
    fn iosys_map_tests() {
        let null = IosysMap::default();
        let io_null = IosysMap {
            is_iomem: true,
            addr: 0,
        };
        let sys = IosysMap {
            is_iomem: false,
            addr: 0x1000,
        };
        let io = IosysMap {
            is_iomem: true,
            addr: 0x1000,
        };
        assert!(null.is_null() && io_null.is_null());
        assert!(sys.is_set() && io.is_set());
        assert!(sys.is_equal(sys) && io.is_equal(io));
        assert!(!sys.is_equal(io));
        assert!(!null.is_equal(io_null));
    }

    #[test]
    fn vmap_checks() {
        let null = IosysMap::default();
        let map = IosysMap {
            is_iomem: false,
            addr: 0x1000,
        };
        assert_eq!(vmap_first(null), Ok(()));
        assert_eq!(vmap_first(map), Err(VmapBug::UncountedButSet));
        assert_eq!(vmap_again(1, null), Err(VmapBug::CountedButNull));
        assert_eq!(vmap_again(1, map), Ok(2));
        assert_eq!(vmap_again(u32::MAX, map), Ok(0));

        let other = IosysMap {
            is_iomem: true,
            addr: 0x1000,
        };
        assert_eq!(vunmap(1, null, null), Err(VmapBug::CountedButNull));
        assert_eq!(vunmap(0, map, map), Err(VmapBug::NoVmap));
        assert_eq!(vunmap(1, map, other), Err(VmapBug::NotTheVmap));
        assert_eq!(vunmap(2, map, map), Ok(Vunmap::Keep(1)));
        assert_eq!(vunmap(1, map, map), Ok(Vunmap::Last));
    }

    /// Any interleaving of vmaps and matching vunmaps calls the exporter's
    /// vmap on each 0 -> 1 and its vunmap on each 1 -> 0, and nothing else.
    #[test]
    fn exporter_called_once_per_first_and_last() {
        let exported = IosysMap {
            is_iomem: false,
            addr: 0xdead_0000,
        };
        // Bit i of `pattern` set: step i is a vmap, else a vunmap (skipped
        // when nothing is mapped, as a correct importer would).
        for pattern in 0u32..(1 << 12) {
            let (mut count, mut stored) = (0u32, IosysMap::default());
            let (mut vmaps, mut vunmaps, mut held) = (0, 0, 0);
            for step in 0..12 {
                if pattern & (1 << step) != 0 {
                    if count != 0 {
                        count = vmap_again(count, stored).unwrap();
                    } else {
                        vmap_first(stored).unwrap();
                        vmaps += 1;
                        stored = exported;
                        count = 1;
                    }
                    held += 1;
                } else if held > 0 {
                    match vunmap(count, stored, exported).unwrap() {
                        Vunmap::Keep(n) => count = n,
                        Vunmap::Last => {
                            vunmaps += 1;
                            stored = IosysMap::default();
                            count = 0;
                        }
                    }
                    held -= 1;
                }
                assert_eq!(count, held);
                assert_eq!(stored.is_set(), held > 0);
            }
            assert_eq!(vmaps - vunmaps, u32::from(held > 0));
        }
    }
}
