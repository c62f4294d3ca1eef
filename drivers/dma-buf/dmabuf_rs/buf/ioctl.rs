// SPDX-License-Identifier: GPL-2.0-only

//! The ioctls of a dma-buf file: `DMA_BUF_IOCTL_SYNC`, `DMA_BUF_SET_NAME`
//! (both encodings), and with CONFIG_SYNC_FILE `DMA_BUF_IOCTL_EXPORT_SYNC_FILE`
//! and `DMA_BUF_IOCTL_IMPORT_SYNC_FILE` ([`super::sync_file`]); anything else
//! is `ENOTTY`.
//!
//! The argument rules are pure logic in [`crate::logic::dma_buf`]; errors are
//! the C core's, in its order.
//!
//! C: [`include/uapi/linux/dma-buf.h`](srctree/include/uapi/linux/dma-buf.h).

use super::lock::NameGuard;
use super::methods::DmaBuf;
use crate::logic::dma_buf::{self as rules, sync_args};
use crate::sys::{self, KString};
use crate::uaccess::{copy_from_user, user_ptr};
use crate::vfs::File;
use kernel::bindings::{self, file};
use kernel::ffi::{c_char, c_long, c_uint, c_ulong};
use kernel::ioctl::_IOW;
use kernel::uapi::{
    dma_buf_sync, DMA_BUF_BASE, DMA_BUF_NAME_LEN, DMA_BUF_SYNC_END, DMA_BUF_SYNC_READ,
    DMA_BUF_SYNC_START, DMA_BUF_SYNC_VALID_FLAGS_MASK, DMA_BUF_SYNC_WRITE,
};

/// `DMA_BUF_IOCTL_SYNC`: bracket a CPU access to the buffer.
const DMA_BUF_IOCTL_SYNC: u32 = _IOW::<dma_buf_sync>(DMA_BUF_BASE as u32, 0);
/// `DMA_BUF_SET_NAME_A`: name the dma-buf (the size field encodes a `u32`,
/// as 32-bit Android userspace has it).
const DMA_BUF_SET_NAME_A: u32 = _IOW::<u32>(DMA_BUF_BASE as u32, 1);
/// `DMA_BUF_SET_NAME_B`: the same with a `u64` in the size field.
const DMA_BUF_SET_NAME_B: u32 = _IOW::<u64>(DMA_BUF_BASE as u32, 1);

// The flags of the pure rules are the uapi header's.
const _: () = assert!(
    rules::SYNC_READ == DMA_BUF_SYNC_READ as u64
        && rules::SYNC_WRITE == DMA_BUF_SYNC_WRITE as u64
        && rules::SYNC_START == DMA_BUF_SYNC_START as u64
        && rules::SYNC_END == DMA_BUF_SYNC_END as u64
        && rules::SYNC_VALID_FLAGS_MASK == DMA_BUF_SYNC_VALID_FLAGS_MASK as u64
);

/// `unlocked_ioctl` (and, through `compat_ptr_ioctl`, `compat_ioctl`) of a
/// dma-buf file.
///
/// # Safety
///
/// Called by the VFS only, for an open file with the dma-buf operations.
pub(super) unsafe extern "C" fn dma_buf_ioctl(
    file: *mut file,
    cmd: c_uint,
    arg: c_ulong,
) -> c_long {
    // SAFETY: The file is open (VFS); a dma-buf file in a descriptor table
    // was fully exported, and keeps its dma-buf alive.
    let dmabuf = unsafe { DmaBuf::from_raw(super::private_dmabuf(&*file.cast::<File>())) };
    match cmd {
        DMA_BUF_IOCTL_SYNC => ioctl_sync(dmabuf, arg),
        DMA_BUF_SET_NAME_A | DMA_BUF_SET_NAME_B => set_name(dmabuf, arg),
        #[cfg(CONFIG_SYNC_FILE)]
        super::sync_file::DMA_BUF_IOCTL_EXPORT_SYNC_FILE => {
            super::sync_file::export_sync_file(dmabuf, arg)
        }
        #[cfg(CONFIG_SYNC_FILE)]
        super::sync_file::DMA_BUF_IOCTL_IMPORT_SYNC_FILE => {
            super::sync_file::import_sync_file(dmabuf, arg)
        }
        _ => sys::neg(bindings::ENOTTY) as c_long,
    }
}

/// `DMA_BUF_IOCTL_SYNC`: begins (`DMA_BUF_SYNC_START`) or ends
/// (`DMA_BUF_SYNC_END`) a CPU access in the direction the flags give, through
/// `dma_buf_begin_cpu_access`/`dma_buf_end_cpu_access`, whose result it returns.
fn ioctl_sync(dmabuf: &DmaBuf, arg: c_ulong) -> c_long {
    let sync: dma_buf_sync = match copy_from_user(arg) {
        Ok(sync) => sync,
        Err(errno) => return errno.to_neg() as c_long,
    };
    let sync = match sync_args(sync.flags) {
        Ok(sync) => sync,
        Err(errno) => return errno.to_neg() as c_long,
    };
    let direction = sync.direction.as_raw();
    let ret = if sync.end {
        super::access::end_cpu_access(dmabuf, direction)
    } else {
        super::access::begin_cpu_access(dmabuf, direction)
    };
    ret as c_long
}

/// `DMA_BUF_SET_NAME`: replaces the dma-buf's name with the string at the
/// user address `arg` (at most `DMA_BUF_NAME_LEN` bytes with its NUL).
///
/// Returns 0, or `-EFAULT` for an unreadable string, `-EINVAL` for one that
/// is too long, `-ENOMEM` (the errors of `strndup_user`). Renaming is allowed
/// at any time, attached or not.
fn set_name(dmabuf: &DmaBuf, arg: c_ulong) -> c_long {
    let name = match KString::strndup_user(
        user_ptr(arg).cast::<c_char>().cast_const(),
        DMA_BUF_NAME_LEN as c_long,
    ) {
        Ok(name) => name,
        Err(err) => return err,
    };
    NameGuard::lock(dmabuf).replace_name(name);
    0
}
