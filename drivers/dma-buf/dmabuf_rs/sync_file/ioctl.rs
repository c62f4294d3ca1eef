// SPDX-License-Identifier: GPL-2.0-only

//! The ioctls of a sync_file: `SYNC_IOC_MERGE`, `SYNC_IOC_FILE_INFO` and
//! `SYNC_IOC_SET_DEADLINE`; anything else is `ENOTTY`.
//!
//! Each copies its argument struct in from userspace, checks it with the pure
//! rules of [`crate::logic::sync_file`], acts, and copies results back out. Errors are the
//! C core's, in the C core's order: `EFAULT` for an unreadable or unwritable
//! argument, `EINVAL` for non-zero flags or padding and for a fence-info array
//! that is too small, `ENOENT` for a second fd that is not a sync_file,
//! `ENOMEM`, or the error of `get_unused_fd_flags`.
//!
//! C: [`include/uapi/linux/sync_file.h`](srctree/include/uapi/linux/sync_file.h).

use super::{name, sync_file_fdget, sync_file_merge, SyncFile};
use crate::fence::unwrap::for_each_unwrapped;
use crate::fence::{get_status, set_deadline, Fence, FenceCore};
use crate::logic::errno::{Errno, ENOENT, ENOMEM};
use crate::logic::sync_file::{self as rules, InfoPlan, INFO_STATUS_START};
use crate::sys;
use crate::uaccess::{
    copy_from_user, copy_from_user_into, copy_one_to_user, copy_to_user, UnusedFd,
};
use kernel::bindings::{self, file, ktime_t};
use kernel::ffi::{c_int, c_long, c_uint, c_ulong};
use kernel::ioctl::{_IOW, _IOWR};
use kernel::uapi::{
    sync_fence_info, sync_file_info, sync_merge_data, sync_set_deadline, SYNC_IOC_MAGIC,
};

/// `SYNC_IOC_MERGE`: merge the sync_file with another into a new one.
const SYNC_IOC_MERGE: u32 = _IOWR::<sync_merge_data>(SYNC_IOC_MAGIC as u32, 3);
/// `SYNC_IOC_FILE_INFO`: the name and status of the sync_file and its fences.
const SYNC_IOC_FILE_INFO: u32 = _IOWR::<sync_file_info>(SYNC_IOC_MAGIC as u32, 4);
/// `SYNC_IOC_SET_DEADLINE`: pass a deadline hint on to the fence.
const SYNC_IOC_SET_DEADLINE: u32 = _IOW::<sync_set_deadline>(SYNC_IOC_MAGIC as u32, 5);

/// The C return value of an ioctl that gives 0 or an error.
fn to_ret(result: Result<(), Errno>) -> c_long {
    match result {
        Ok(()) => 0,
        Err(errno) => errno.to_neg() as c_long,
    }
}

/// `unlocked_ioctl` (and, through `compat_ptr_ioctl`, `compat_ioctl`) of a
/// sync_file.
///
/// # Safety
///
/// Called by the VFS only, on an open sync_file.
pub(super) unsafe extern "C" fn sync_file_ioctl(
    file: *mut file,
    cmd: c_uint,
    arg: c_ulong,
) -> c_long {
    // SAFETY: `file` is an open sync_file's (only sync_files use these ops),
    // whose private data it is; the VFS keeps it open during the call.
    let sync_file = unsafe { SyncFile::from_raw((*file).private_data.cast()) };
    match cmd {
        SYNC_IOC_MERGE => ioctl_merge(sync_file, arg),
        SYNC_IOC_FILE_INFO => to_ret(ioctl_fence_info(sync_file, arg)),
        SYNC_IOC_SET_DEADLINE => to_ret(ioctl_set_deadline(sync_file, arg)),
        _ => -(bindings::ENOTTY as c_long),
    }
}

/// `SYNC_IOC_MERGE`: creates a sync_file whose fence signals once both this
/// sync_file's and `fd2`'s have, installs it at a new close-on-exec fd and
/// returns that fd in `fence`.
///
/// The fd is reserved first, so its allocation error comes before anything
/// else; on every error it is given back and the new sync_file, if any,
/// released.
fn ioctl_merge(sync_file: &SyncFile, arg: c_ulong) -> c_long {
    let fd = match UnusedFd::new(bindings::O_CLOEXEC) {
        Ok(fd) => fd,
        Err(ret) => return ret as c_long,
    };
    to_ret(merge_into(sync_file, arg, fd))
}

/// The part of [`ioctl_merge`] after the fd is reserved.
///
/// The guards drop in the C core's order on errors (the new sync_file, then
/// `fd2`'s, then the fd) and, on success, `fd2`'s reference after the install.
fn merge_into(sync_file: &SyncFile, arg: c_ulong, fd: UnusedFd) -> Result<(), Errno> {
    let mut data = sync_merge_data::default();
    copy_from_user_into(arg, &mut data)?;
    rules::merge_args(data.flags, data.pad)?;

    let other = sync_file_fdget(data.fd2).ok_or(ENOENT)?;

    // The name need not be terminated by userspace.
    if let Some(last) = data.name.last_mut() {
        *last = 0;
    }
    let merged = sync_file_merge(&data.name, sync_file, &other).ok_or(ENOMEM)?;

    data.fence = fd.number();
    copy_one_to_user(arg, &data)?;

    // The descriptor takes over our reference to the file.
    fd.install(merged.into_file());
    drop(other);
    Ok(())
}

/// Fills `info` about one fence and returns its status (0 pending, 1
/// signalled, negative error).
///
/// The timestamp is only read from a signalled fence; it is 0 otherwise.
fn fill_fence_info(fence: &Fence, info: &mut sync_fence_info) -> c_int {
    sys::strscpy(&mut info.obj_name, fence.timeline_name());
    sys::strscpy(&mut info.driver_name, fence.driver_name());
    info.status = get_status(fence);
    // ktime_to_ns() is the identity; the u64 field takes the s64's bits.
    info.timestamp_ns = if fence.query_signaled() {
        fence.timestamp() as u64
    } else {
        0
    };
    info.status
}

/// `SYNC_IOC_FILE_INFO`: reports the sync_file's name, status and number of
/// fences, and, if userspace asks (`num_fences` non-zero and large enough),
/// one `struct sync_fence_info` per fence at `sync_fence_info`.
fn ioctl_fence_info(sync_file: &SyncFile, arg: c_ulong) -> Result<(), Errno> {
    let mut info = sync_file_info::default();
    copy_from_user_into(arg, &mut info)?;
    rules::info_args(info.flags, info.pad)?;

    let fence = sync_file.fence();
    let mut count: u32 = 0;
    // (No sync_file holds 2^32 fences; were it so, the count would wrap, and
    // the fill below, bounded by the array it allocates for that count,
    // would skip the fences beyond it.)
    for_each_unwrapped(fence, |_| count = count.wrapping_add(1));

    let reported = match rules::info_plan(info.num_fences, count)? {
        InfoPlan::CountOnly => {
            info.status = get_status(fence);
            count
        }
        InfoPlan::Fill(count) => {
            let (status, filled) = fill_and_copy_out(fence, count, info.sync_fence_info)?;
            info.status = status;
            filled
        }
    };

    name(sync_file, &mut info.name);
    info.num_fences = reported;
    copy_one_to_user(arg, &info)
}

/// Describes the `count` fences inside `fence` and copies the descriptions to
/// the user address `to`.
///
/// Returns the combined status (see [`rules::fold_status`]) and the number of
/// fences described, which the second walk may find lower than `count` (a
/// chain drops signalled links as it is walked; the remaining entries stay
/// zeroed, as in C).
fn fill_and_copy_out(fence: &Fence, count: u32, to: u64) -> Result<(c_int, u32), Errno> {
    // Zeroed, as C's kcalloc, so that the name bytes after each string's NUL
    // reach userspace as zeroes; u32 -> usize is lossless, and the allocation
    // checks the size in bytes.
    let mut infos = sys::kvec_zeroed::<sync_fence_info>(count as usize).ok_or(ENOMEM)?;

    let mut status = INFO_STATUS_START;
    let mut filled: u32 = 0;
    let mut extra = false;
    for_each_unwrapped(fence, |f| match infos.get_mut(filled as usize) {
        Some(info) => {
            status = rules::fold_status(status, fill_fence_info(f, info));
            // Below `infos.len()`, which is a u32 count: cannot overflow.
            filled += 1;
        }
        // More fences than on the first walk: containers only lose fences,
        // so this cannot be. The entry is skipped (C would write past its
        // array), and the walk goes on to drop its references.
        None => extra = true,
    });
    if extra {
        sys::warn();
    }

    // The C `__u64` holds a user pointer (`u64_to_user_ptr`).
    let copied = copy_to_user(to as usize, &infos[..]);
    sys::kvec_free(infos);
    copied?;
    Ok((status, filled))
}

/// `SYNC_IOC_SET_DEADLINE`: passes a deadline (CLOCK_MONOTONIC nanoseconds)
/// on to the fence.
fn ioctl_set_deadline(sync_file: &SyncFile, arg: c_ulong) -> Result<(), Errno> {
    let ts: sync_set_deadline = copy_from_user(arg)?;
    rules::deadline_args(ts.pad)?;
    // ns_to_ktime(): the u64 converts to ktime_t's s64, bits unchanged.
    set_deadline(sync_file.fence(), ts.deadline_ns as ktime_t);
    Ok(())
}
