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
use crate::fence::unwrap::for_each_unwrapped;
use crate::logic::dma_buf::{export_usage, import_usage, sync_file_args};
use crate::sys;
use crate::uaccess::{copy_from_user, copy_one_to_user, UnusedFd};
use core::ptr;
use kernel::bindings::{self, dma_buf, dma_fence};
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
///
/// # Safety
///
/// `dmabuf` must be a live, exported dma-buf.
pub(super) unsafe fn export_sync_file(dmabuf: *mut dma_buf, arg: c_ulong) -> c_long {
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

    let mut fence: *mut dma_fence = ptr::null_mut();
    // SAFETY: The dma-buf's reservation object is initialised (caller); the
    // call takes its own references, and gives us one to `fence`, or NULL.
    let ret = unsafe {
        bindings::dma_resv_get_singleton((*dmabuf).resv, export_usage(write).as_raw(), &mut fence)
    };
    if ret != 0 {
        return ret as c_long;
    }
    if fence.is_null() {
        // SAFETY: No preconditions; a new reference to the signalled stub.
        fence = unsafe { bindings::dma_fence_get_stub() };
    }

    // SAFETY: We hold a reference to the live fence; the sync_file takes its
    // own, so ours is dropped either way.
    let sync_file = unsafe {
        let sync_file = bindings::sync_file_create(fence);
        crate::fence::put(fence);
        sync_file
    };
    if sync_file.is_null() {
        return sys::neg(bindings::ENOMEM) as c_long;
    }
    // SAFETY: A new sync_file, whose file reference we own.
    let sync_file_file = unsafe { (*sync_file).file };

    data.fd = fd.number();
    if let Err(errno) = copy_one_to_user(arg, &data) {
        // SAFETY: Our reference; dropping it frees the sync_file. The
        // descriptor is given back after, as in C.
        unsafe { bindings::fput(sync_file_file) };
        return errno.to_neg() as c_long;
    }

    // SAFETY: The descriptor takes over our reference to the file.
    unsafe { fd.install(sync_file_file) };
    0
}

/// `DMA_BUF_IOCTL_IMPORT_SYNC_FILE`: adds the fences of the sync_file `fd`
/// to the dma-buf's reservation object, as write fences with
/// `DMA_BUF_SYNC_WRITE`, read fences otherwise.
///
/// Errors, in C's order: `EFAULT`, `EINVAL` (flags), `EINVAL` (`fd` is not
/// a sync_file), or the error of reserving the fence slots (`ENOMEM`), in
/// which case none is added.
///
/// # Safety
///
/// `dmabuf` must be a live, exported dma-buf.
pub(super) unsafe fn import_sync_file(dmabuf: *mut dma_buf, arg: c_ulong) -> c_long {
    let data: dma_buf_import_sync_file = match copy_from_user(arg) {
        Ok(data) => data,
        Err(errno) => return errno.to_neg() as c_long,
    };
    let write = match sync_file_args(data.flags) {
        Ok(write) => write,
        Err(errno) => return errno.to_neg() as c_long,
    };

    // SAFETY: Any number; a new fence reference, or NULL.
    let fence = unsafe { bindings::sync_file_get_fence(data.fd) };
    if fence.is_null() {
        return sys::neg(bindings::EINVAL) as c_long;
    }
    let usage = import_usage(write).as_raw();

    let mut num_fences: u32 = 0;
    // SAFETY: We hold a reference to the fence. (As C's unsigned int, the
    // count wraps; no sync_file holds 2^32 fences.)
    unsafe { for_each_unwrapped(fence, |_| num_fences = num_fences.wrapping_add(1)) };

    let mut ret = 0;
    if num_fences > 0 {
        // SAFETY: The dma-buf's reservation object is initialised (caller).
        let resv = unsafe { (*dmabuf).resv };
        // SAFETY: As above; the ioctl does not hold it already.
        let _lock = unsafe { ResvGuard::lock(resv) };
        // SAFETY: We hold the lock.
        ret = unsafe { crate::resv::dma_resv_reserve_fences(resv, num_fences) };
        if ret == 0 {
            // SAFETY: We hold the lock, with a slot reserved for each fence
            // the walk yields; they are live while the walk holds the head.
            unsafe {
                for_each_unwrapped(fence, |f| crate::resv::dma_resv_add_fence(resv, f, usage))
            };
        }
    }

    // SAFETY: The reference `sync_file_get_fence` gave us.
    unsafe { crate::fence::put(fence) };
    ret as c_long
}
