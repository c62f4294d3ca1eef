// SPDX-License-Identifier: GPL-2.0-only

//! `DMA_BUF_IOCTL_EXPORT_SYNC_FILE` and `DMA_BUF_IOCTL_IMPORT_SYNC_FILE`:
//! the implicit fences of a dma-buf as an explicit sync_file, and back.
//!
//! Export gives userspace a sync_file that signals when the fences a reader
//! (`DMA_BUF_SYNC_READ`) or a writer (`DMA_BUF_SYNC_WRITE`) must wait for have
//! signalled, as poll's `EPOLLIN`/`EPOLLOUT` would; with none, a signalled
//! stub fence. Import adds the fences of a sync_file to the reservation object
//! as write fences (`DMA_BUF_SYNC_WRITE`) or read fences.
//!
//! Only with CONFIG_SYNC_FILE, as in C.

use super::lock::ResvGuard;
use super::methods::DmaBuf;
use crate::fence::unwrap::for_each_unwrapped;
use crate::fence::Fence;
use crate::logic::dma_buf::{export_usage, import_usage, sync_file_args};
use crate::sys;
use crate::uaccess::{copy_from_user, copy_one_to_user, UnusedFd};
use kernel::bindings;
use kernel::ffi::{c_long, c_ulong};
use kernel::ioctl::{_IOW, _IOWR};
use kernel::uapi::{dma_buf_export_sync_file, dma_buf_import_sync_file, DMA_BUF_BASE};

/// `DMA_BUF_IOCTL_EXPORT_SYNC_FILE`.
pub(super) const DMA_BUF_IOCTL_EXPORT_SYNC_FILE: u32 =
    _IOWR::<dma_buf_export_sync_file>(DMA_BUF_BASE as u32, 2);
/// `DMA_BUF_IOCTL_IMPORT_SYNC_FILE`.
pub(super) const DMA_BUF_IOCTL_IMPORT_SYNC_FILE: u32 =
    _IOW::<dma_buf_import_sync_file>(DMA_BUF_BASE as u32, 3);

/// `DMA_BUF_IOCTL_EXPORT_SYNC_FILE`: installs a sync_file of the dma-buf's
/// current fences at a new close-on-exec descriptor, returned in `fd`.
///
/// Errors, in C's order: `EFAULT` (argument unreadable), `EINVAL` (flags),
/// the error of reserving the descriptor, of collecting the fences, `ENOMEM`
/// (the sync_file), `EFAULT` (argument unwritable). On error no descriptor
/// is left behind.
// Out of line, as the other ioctls: inlined, it costs `dma_buf_ioctl` a
// saved register on every ioctl.
#[inline(never)]
pub(super) fn export_sync_file(dmabuf: &DmaBuf, arg: c_ulong) -> c_long {
    let mut data: dma_buf_export_sync_file = match copy_from_user(arg) {
        Ok(data) => data,
        Err(errno) => return errno.to_neg() as c_long,
    };
    let write = match sync_file_args(data.flags) {
        Ok(write) => write,
        Err(errno) => return errno.to_neg() as c_long,
    };

    let fd = match UnusedFd::new(bindings::O_CLOEXEC) {
        Ok(fd) => fd,
        Err(ret) => return ret as c_long,
    };

    let fence = match crate::resv::get_singleton(dmabuf.resv(), export_usage(write).as_raw()) {
        Ok(Some(fence)) => fence,
        // No fence: the signalled stub.
        Ok(None) => Fence::stub(),
        Err(ret) => return ret as c_long,
    };

    // The sync_file takes its own reference, so ours is dropped either way.
    let sync_file = crate::sync_file::create(&fence);
    crate::fence::put_ref(fence);
    let Some(sync_file) = sync_file else {
        return sys::neg(bindings::ENOMEM) as c_long;
    };

    data.fd = fd.number();
    if let Err(errno) = copy_one_to_user(arg, &data) {
        // Dropping our reference frees the sync_file; the descriptor is
        // given back after, as in C.
        drop(sync_file);
        return errno.to_neg() as c_long;
    }

    // The descriptor takes over our reference to the file.
    fd.install(sync_file.into_file());
    0
}

/// `DMA_BUF_IOCTL_IMPORT_SYNC_FILE`: adds the fences of the sync_file `fd`
/// to the dma-buf's reservation object, as write fences with
/// `DMA_BUF_SYNC_WRITE`, read fences otherwise.
///
/// Errors, in C's order: `EFAULT`, `EINVAL` (flags), `EINVAL` (`fd` is not
/// a sync_file), or the error of reserving the fence slots (`ENOMEM`), in
/// which case none is added.
#[inline(never)]
pub(super) fn import_sync_file(dmabuf: &DmaBuf, arg: c_ulong) -> c_long {
    let data: dma_buf_import_sync_file = match copy_from_user(arg) {
        Ok(data) => data,
        Err(errno) => return errno.to_neg() as c_long,
    };
    let write = match sync_file_args(data.flags) {
        Ok(write) => write,
        Err(errno) => return errno.to_neg() as c_long,
    };

    let Some(fence) = crate::sync_file::get_fence(data.fd) else {
        return sys::neg(bindings::EINVAL) as c_long;
    };
    let usage = import_usage(write).as_raw();

    let mut num_fences: u32 = 0;
    // As C's unsigned int, the count wraps; no sync_file holds 2^32 fences.
    for_each_unwrapped(&fence, |_| num_fences = num_fences.wrapping_add(1));

    let mut ret = 0;
    if num_fences > 0 {
        // The ioctl does not hold the lock already.
        let mut lock = ResvGuard::lock(dmabuf.resv());
        ret = crate::resv::reserve(lock.held(), num_fences);
        if ret == 0 {
            // A slot is reserved for each fence the walk yields.
            for_each_unwrapped(&fence, |f| crate::resv::add(lock.held(), f, usage));
        }
    }

    crate::fence::put_ref(fence);
    ret as c_long
}
