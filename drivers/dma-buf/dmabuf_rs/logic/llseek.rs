// SPDX-License-Identifier: GPL-2.0-only

//! The `llseek` rule of a dma-buf file, as `dma_buf_llseek()`.
//!
//! C: `dma_buf_llseek()` in
//! [`drivers/dma-buf/dma-buf.c`](srctree/drivers/dma-buf/dma-buf.c). A dma-buf
//! file only lets userspace discover the buffer's size, with
//! `lseek(fd, 0, SEEK_END)`; `lseek(fd, 0, SEEK_SET)` is allowed too and returns 0.
//! Everything else fails with `EINVAL`.
//!
//! Subtle points of the C, kept here:
//!
//! - `whence` is checked before `offset`, though both checks give `EINVAL`;
//! - `SEEK_CUR` is refused even with offset 0, although the C comment speaks of
//!   an idiomatic `SEEK_CUR(0)`; so are `SEEK_DATA`, `SEEK_HOLE` and unknown values;
//! - the function returns the position but never stores it: the file position
//!   (`file->f_pos`) stays where it was, so a later `read` (which dma-buf files
//!   do not have anyway) would not see the seek;
//! - the `-EBADF` for a file that is not a dma-buf comes before all of this and is
//!   the kernel side's check, not this module's.

use super::errno::{Errno, EINVAL};

/// `lseek` whence: the offset is from the start of the file.
pub const SEEK_SET: i32 = 0;
/// `lseek` whence: the offset is from the current position.
pub const SEEK_CUR: i32 = 1;
/// `lseek` whence: the offset is from the end of the file.
pub const SEEK_END: i32 = 2;
/// `lseek` whence: the next data at or after the offset.
pub const SEEK_DATA: i32 = 3;
/// `lseek` whence: the next hole at or after the offset.
pub const SEEK_HOLE: i32 = 4;

/// Returns the position that `lseek(fd, offset, whence)` on a dma-buf of `size` bytes yields.
///
/// `size` is the dma-buf's size (`dmabuf->size`). The result is the buffer size
/// for `SEEK_END`, 0 for `SEEK_SET`, and [`EINVAL`] for any other `whence` or
/// for a non-zero `offset`. As in C, the size is converted to `loff_t` as it is;
/// a dma-buf is never near 2^63 bytes.
///
/// # Examples
///
/// ```
/// use dmabuf_rs_logic::errno::EINVAL;
/// use dmabuf_rs_logic::llseek::{llseek, SEEK_CUR, SEEK_END};
///
/// assert_eq!(llseek(4096, 0, SEEK_END), Ok(4096));
/// assert_eq!(llseek(4096, 0, SEEK_CUR), Err(EINVAL));
/// ```
pub const fn llseek(size: usize, offset: i64, whence: i32) -> Result<i64, Errno> {
    let base = match whence {
        SEEK_END => size as i64,
        SEEK_SET => 0,
        _ => return Err(EINVAL),
    };
    if offset != 0 {
        return Err(EINVAL);
    }
    Ok(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHENCES: [i32; 9] = [
        i32::MIN,
        -1,
        SEEK_SET,
        SEEK_CUR,
        SEEK_END,
        SEEK_DATA,
        SEEK_HOLE,
        5,
        i32::MAX,
    ];
    const OFFSETS: [i64; 7] = [i64::MIN, -4096, -1, 0, 1, 4096, i64::MAX];
    const SIZES: [usize; 4] = [0, 1, 4096, 1 << 40];

    #[test]
    fn full_matrix() {
        for &size in &SIZES {
            for &offset in &OFFSETS {
                for &whence in &WHENCES {
                    let expected = match (whence, offset) {
                        (SEEK_END, 0) => Ok(i64::try_from(size).unwrap()),
                        (SEEK_SET, 0) => Ok(0),
                        _ => Err(EINVAL),
                    };
                    assert_eq!(
                        llseek(size, offset, whence),
                        expected,
                        "size {size} offset {offset} whence {whence}"
                    );
                }
            }
        }
    }

    #[test]
    fn whence_values_are_the_uapi_ones() {
        // include/uapi/linux/fs.h
        assert_eq!(
            [SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE],
            [0, 1, 2, 3, 4]
        );
    }
}
