// SPDX-License-Identifier: GPL-2.0-only

//! The argument rules of the sync_file ioctls, as `drivers/dma-buf/sync_file.c`.
//!
//! Pure logic: no kernel call, no `unsafe`, `core` and [`super::errno`]
//! only, so that the module also builds on the host (in `logic`,
//! as the other pure rules are) and `cargo test` checks it.
//!
//! Subtle points of the C, kept here:
//!
//! - `SYNC_IOC_MERGE` and `SYNC_IOC_FILE_INFO` refuse any non-zero `flags` or
//!   `pad` with `EINVAL`; `SYNC_IOC_SET_DEADLINE` has no flags, only `pad`;
//! - `SYNC_IOC_FILE_INFO` with `num_fences == 0` only reports the count (and
//!   the status of the whole sync_file); a non-zero `num_fences` smaller than
//!   the count is `EINVAL`, a larger one is fine and only the count is filled;
//! - the status of a filled query starts at 1 (signalled) and keeps the first
//!   value that is not positive: the first pending fence (0) or the first
//!   error (negative) in unwrap order decides, later fences do not.

#![forbid(unsafe_code)]

use super::errno::{Errno, EINVAL};

/// `SYNC_IOC_MERGE`: `flags` and `pad` of `struct sync_merge_data` must be zero.
pub const fn merge_args(flags: u32, pad: u32) -> Result<(), Errno> {
    if flags != 0 || pad != 0 {
        return Err(EINVAL);
    }
    Ok(())
}

/// `SYNC_IOC_FILE_INFO`: `flags` and `pad` of `struct sync_file_info` must be zero.
pub const fn info_args(flags: u32, pad: u32) -> Result<(), Errno> {
    merge_args(flags, pad)
}

/// `SYNC_IOC_SET_DEADLINE`: `pad` of `struct sync_set_deadline` must be zero.
pub const fn deadline_args(pad: u64) -> Result<(), Errno> {
    if pad != 0 {
        return Err(EINVAL);
    }
    Ok(())
}

/// What `SYNC_IOC_FILE_INFO` does, once the fences have been counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InfoPlan {
    /// Userspace passed `num_fences == 0`: report the count and the status of
    /// the sync_file's fence, fill no `struct sync_fence_info`.
    CountOnly,
    /// Fill one `struct sync_fence_info` per fence, of which there are this many.
    Fill(u32),
}

/// Decides `SYNC_IOC_FILE_INFO` from the `num_fences` userspace passed
/// (`requested`) and the number of fences in the sync_file (`actual`).
///
/// Returns [`EINVAL`] if userspace asked for the fences but left room for
/// fewer than there are.
pub const fn info_plan(requested: u32, actual: u32) -> Result<InfoPlan, Errno> {
    if requested == 0 {
        return Ok(InfoPlan::CountOnly);
    }
    if requested < actual {
        return Err(EINVAL);
    }
    Ok(InfoPlan::Fill(actual))
}

/// The status a filled `SYNC_IOC_FILE_INFO` starts from, before any fence: signalled.
pub const INFO_STATUS_START: i32 = 1;

/// Folds the status of one more fence into the status of a filled query.
///
/// `so_far` is the status of the fences seen before (starting at
/// [`INFO_STATUS_START`]); once it is not positive (pending, or an error) it
/// stays, otherwise the new fence's `status` takes over.
pub const fn fold_status(so_far: i32, status: i32) -> i32 {
    if so_far <= 0 {
        so_far
    } else {
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_pad_must_be_zero() {
        assert_eq!(merge_args(0, 0), Ok(()));
        assert_eq!(merge_args(1, 0), Err(EINVAL));
        assert_eq!(merge_args(0, 1), Err(EINVAL));
        assert_eq!(merge_args(u32::MAX, u32::MAX), Err(EINVAL));
        assert_eq!(info_args(0, 0), Ok(()));
        assert_eq!(info_args(0, 0x8000_0000), Err(EINVAL));
        assert_eq!(deadline_args(0), Ok(()));
        assert_eq!(deadline_args(1 << 63), Err(EINVAL));
    }

    #[test]
    fn plan_matrix() {
        for requested in [0, 1, 2, 3, u32::MAX] {
            for actual in [0, 1, 2, 3, u32::MAX] {
                let expected = if requested == 0 {
                    Ok(InfoPlan::CountOnly)
                } else if requested < actual {
                    Err(EINVAL)
                } else {
                    Ok(InfoPlan::Fill(actual))
                };
                assert_eq!(
                    info_plan(requested, actual),
                    expected,
                    "{requested} {actual}"
                );
            }
        }
    }

    #[test]
    fn first_non_positive_status_wins() {
        let fold = |statuses: &[i32]| {
            statuses
                .iter()
                .fold(INFO_STATUS_START, |a, &s| fold_status(a, s))
        };
        assert_eq!(fold(&[]), 1);
        assert_eq!(fold(&[1, 1, 1]), 1);
        assert_eq!(fold(&[1, 0, 1]), 0);
        assert_eq!(fold(&[1, -5, 0, -22]), -5);
        assert_eq!(fold(&[0, -5]), 0);
        assert_eq!(fold(&[1, 1, -125]), -125);
    }
}
