// SPDX-License-Identifier: GPL-2.0-only

//! The argument rules of a dma-buf file, as `drivers/dma-buf/dma-buf.c`.
//!
//! Pure logic: no kernel call, no `unsafe`, `core`, [`super::errno`],
//! [`super::usage`] and the direction values of [`super::attach`] only, so
//! that `cargo test` checks it on the host.
//!
//! Subtle points of the C, kept here:
//!
//! - `DMA_BUF_IOCTL_SYNC` takes a 64-bit `flags`: any bit outside
//!   `DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END` is `EINVAL`, and so is neither
//!   `READ` nor `WRITE`; `DMA_BUF_SYNC_START` is 0, so "not `END`" means start;
//! - the direction is from the device's point of view: a CPU read is
//!   `DMA_FROM_DEVICE`, a CPU write `DMA_TO_DEVICE`, both `DMA_BIDIRECTIONAL`;
//! - `DMA_BUF_IOCTL_EXPORT_SYNC_FILE` and `_IMPORT_SYNC_FILE` take a 32-bit
//!   `flags` that must be `READ`, `WRITE` or both; export waits like
//!   `poll()` (a writer waits for every fence, a reader for writers), import
//!   adds the fence as a write fence if `WRITE` is set, a read fence otherwise;
//! - the mmap bound compares in pages with the C's `unsigned long` arithmetic:
//!   a buffer size that is not page aligned rounds down, so its last partial
//!   page cannot be mapped.

#![forbid(unsafe_code)]

use super::attach::{DMA_BIDIRECTIONAL, DMA_FROM_DEVICE, DMA_TO_DEVICE};
use super::errno::{Errno, EINVAL};
use super::usage::Usage;

/// `DMA_BUF_SYNC_READ` of `include/uapi/linux/dma-buf.h`.
pub const SYNC_READ: u64 = 1;
/// `DMA_BUF_SYNC_WRITE`.
pub const SYNC_WRITE: u64 = 2;
/// `DMA_BUF_SYNC_RW`: read and write.
pub const SYNC_RW: u64 = SYNC_READ | SYNC_WRITE;
/// `DMA_BUF_SYNC_START`: the start of a CPU access (no bit).
pub const SYNC_START: u64 = 0;
/// `DMA_BUF_SYNC_END`: the end of a CPU access.
pub const SYNC_END: u64 = 4;
/// `DMA_BUF_SYNC_VALID_FLAGS_MASK`.
pub const SYNC_VALID_FLAGS_MASK: u64 = SYNC_RW | SYNC_END;

/// `enum dma_data_direction` of a CPU access, from the device's side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// `DMA_BIDIRECTIONAL`: the CPU reads and writes.
    Bidirectional,
    /// `DMA_TO_DEVICE`: the CPU writes.
    ToDevice,
    /// `DMA_FROM_DEVICE`: the CPU reads.
    FromDevice,
}

impl Direction {
    /// The value of `enum dma_data_direction` (`include/linux/dma-direction.h`).
    pub const fn as_raw(self) -> u32 {
        match self {
            Direction::Bidirectional => DMA_BIDIRECTIONAL,
            Direction::ToDevice => DMA_TO_DEVICE,
            Direction::FromDevice => DMA_FROM_DEVICE,
        }
    }
}

/// What a valid `DMA_BUF_IOCTL_SYNC` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sync {
    /// The direction passed to `dma_buf_{begin,end}_cpu_access()`.
    pub direction: Direction,
    /// `true` for `dma_buf_end_cpu_access()`, `false` for `_begin_`.
    pub end: bool,
}

/// Checks the `flags` of `struct dma_buf_sync` and decides the call.
///
/// # Examples
///
/// ```
/// use dmabuf_rs_logic::dma_buf::{sync_args, Direction, Sync, SYNC_END, SYNC_READ};
/// use dmabuf_rs_logic::errno::EINVAL;
///
/// assert_eq!(
///     sync_args(SYNC_READ | SYNC_END),
///     Ok(Sync { direction: Direction::FromDevice, end: true })
/// );
/// assert_eq!(sync_args(SYNC_END), Err(EINVAL));
/// ```
pub const fn sync_args(flags: u64) -> Result<Sync, Errno> {
    if flags & !SYNC_VALID_FLAGS_MASK != 0 {
        return Err(EINVAL);
    }
    let direction = match flags & SYNC_RW {
        SYNC_READ => Direction::FromDevice,
        SYNC_WRITE => Direction::ToDevice,
        SYNC_RW => Direction::Bidirectional,
        _ => return Err(EINVAL),
    };
    Ok(Sync {
        direction,
        end: flags & SYNC_END != 0,
    })
}

/// Checks the `flags` of `struct dma_buf_export_sync_file` or
/// `struct dma_buf_import_sync_file`; returns whether `DMA_BUF_SYNC_WRITE` is set.
pub const fn sync_file_args(flags: u32) -> Result<bool, Errno> {
    let rw = SYNC_RW as u32;
    if flags & !rw != 0 {
        return Err(EINVAL);
    }
    if flags & rw == 0 {
        return Err(EINVAL);
    }
    Ok(flags & SYNC_WRITE as u32 != 0)
}

/// The usage whose fences `DMA_BUF_IOCTL_EXPORT_SYNC_FILE` collects
/// (`dma_resv_usage_rw(flags & DMA_BUF_SYNC_WRITE)`).
pub const fn export_usage(write: bool) -> Usage {
    Usage::rw(write)
}

/// The usage `DMA_BUF_IOCTL_IMPORT_SYNC_FILE` adds the fences with.
pub const fn import_usage(write: bool) -> Usage {
    if write {
        Usage::Write
    } else {
        Usage::Read
    }
}

/// Whether a mapping of `vm_start..vm_end` (bytes) at page offset `pgoff`
/// fits in a buffer of `size` bytes, with pages of `1 << page_shift` bytes.
///
/// As C: `vm_pgoff + vma_pages(vma) > size >> PAGE_SHIFT` refuses, computed
/// in `unsigned long`, so a sum that wraps is not refused here (the mmap
/// syscall has refused such offsets with `EOVERFLOW` before).
pub const fn mmap_fits(
    pgoff: usize,
    vm_start: usize,
    vm_end: usize,
    size: usize,
    page_shift: u32,
) -> bool {
    let pages = vm_end.wrapping_sub(vm_start) >> page_shift;
    pgoff.wrapping_add(pages) <= size >> page_shift
}

/// Whether the dentry name of a dma-buf shows its name, given what
/// `strscpy()` of the name into a `DMA_BUF_NAME_LEN` buffer returned.
///
/// Only a copy that was neither empty nor truncated (`-E2BIG`) is shown: a
/// name too long for the buffer shows as no name at all, as in C.
pub const fn dname_shows_name(strscpy_ret: isize) -> bool {
    strscpy_ret > 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn values_are_the_uapi_ones() {
        // include/uapi/linux/dma-buf.h
        assert_eq!(
            [SYNC_READ, SYNC_WRITE, SYNC_RW, SYNC_START, SYNC_END],
            [1, 2, 3, 0, 4]
        );
        assert_eq!(SYNC_VALID_FLAGS_MASK, 7);
        // include/linux/dma-direction.h
        assert_eq!(
            [
                Direction::Bidirectional.as_raw(),
                Direction::ToDevice.as_raw(),
                Direction::FromDevice.as_raw()
            ],
            [0, 1, 2]
        );
    }

    #[test]
    fn sync_table() {
        use Direction::*;
        let ok = |direction, end| Ok(Sync { direction, end });
        assert_eq!(sync_args(0), Err(EINVAL));
        assert_eq!(sync_args(SYNC_END), Err(EINVAL));
        assert_eq!(sync_args(SYNC_READ), ok(FromDevice, false));
        assert_eq!(sync_args(SYNC_WRITE), ok(ToDevice, false));
        assert_eq!(sync_args(SYNC_RW), ok(Bidirectional, false));
        assert_eq!(sync_args(SYNC_READ | SYNC_END), ok(FromDevice, true));
        assert_eq!(sync_args(SYNC_WRITE | SYNC_END), ok(ToDevice, true));
        assert_eq!(sync_args(SYNC_RW | SYNC_END), ok(Bidirectional, true));
        assert_eq!(sync_args(SYNC_RW | 8), Err(EINVAL));
        assert_eq!(sync_args(SYNC_RW | (1 << 32)), Err(EINVAL));
        assert_eq!(sync_args(SYNC_RW | (1 << 63)), Err(EINVAL));
        assert_eq!(sync_args(u64::MAX), Err(EINVAL));
    }

    proptest! {
        #[test]
        fn sync_valid_iff_only_known_bits_and_rw(flags: u64) {
            let valid = flags & !SYNC_VALID_FLAGS_MASK == 0 && flags & SYNC_RW != 0;
            prop_assert_eq!(sync_args(flags).is_ok(), valid);
        }

        #[test]
        fn sync_file_valid_iff_rw_only_and_not_empty(flags: u32) {
            let expected = match flags {
                1 => Ok(false),
                2 | 3 => Ok(true),
                _ => Err(EINVAL),
            };
            prop_assert_eq!(sync_file_args(flags), expected);
        }

        #[test]
        fn mmap_bound_in_whole_pages(pgoff in 0usize..1 << 20, pages in 0usize..1 << 20,
                                     size in 0usize..1 << 40) {
            let start = 0x7f00_0000_0000usize;
            let end = start + (pages << 12);
            prop_assert_eq!(mmap_fits(pgoff, start, end, size, 12), pgoff + pages <= size / 4096);
        }
    }

    #[test]
    fn usages() {
        assert_eq!(export_usage(true), Usage::Read);
        assert_eq!(export_usage(false), Usage::Write);
        assert_eq!(import_usage(true), Usage::Write);
        assert_eq!(import_usage(false), Usage::Read);
    }

    #[test]
    fn mmap_edges() {
        let page = 4096;
        // The whole buffer, one page too many, a partial last page.
        assert!(mmap_fits(0, 0, 2 * page, 2 * page, 12));
        assert!(!mmap_fits(0, 0, 3 * page, 2 * page, 12));
        assert!(mmap_fits(1, 0, page, 2 * page, 12));
        assert!(!mmap_fits(2, 0, page, 2 * page, 12));
        assert!(!mmap_fits(0, 0, 2 * page, 2 * page - 1, 12));
        assert!(mmap_fits(0, 0, page, page + 1, 12));
        // A zero-sized buffer refuses any page, accepts an empty range.
        assert!(!mmap_fits(0, 0, page, 0, 12));
        assert!(mmap_fits(0, page, page, 0, 12));
        // The C sum wraps, and then passes this check.
        assert!(mmap_fits(usize::MAX, 0, page, page, 12));
    }

    #[test]
    fn dname() {
        assert!(!dname_shows_name(0));
        assert!(dname_shows_name(1));
        assert!(dname_shows_name(31));
        // -E2BIG
        assert!(!dname_shows_name(-7));
    }
}
