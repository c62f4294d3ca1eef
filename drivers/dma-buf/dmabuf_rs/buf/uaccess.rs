// SPDX-License-Identifier: GPL-2.0-only

//! Copies of ioctl arguments between userspace and the kernel, and a
//! reserved file descriptor, for the dma-buf ioctls.
//!
//! The same helpers as the sync_file ioctls'; these are built without
//! CONFIG_SYNC_FILE too (`DMA_BUF_IOCTL_SYNC` needs them).

use crate::logic::errno::{Errno, EFAULT};
use core::mem::size_of;
use core::ptr::addr_of_mut;
use kernel::bindings;
use kernel::ffi::c_void;
use kernel::uapi::dma_buf_sync;
#[cfg(CONFIG_SYNC_FILE)]
use {
    kernel::bindings::file,
    kernel::ffi::{c_int, c_uint},
    kernel::uapi::{dma_buf_export_sync_file, dma_buf_import_sync_file},
};

/// A uapi struct copied whole between the kernel and userspace.
///
/// # Safety
///
/// Implementers are `#[repr(C)]` structs of integers with no padding: every
/// bit pattern is a valid value, and copying one out discloses nothing but
/// its fields.
pub(super) unsafe trait UserData: Default {}

// SAFETY: One u64: 8 bytes, no padding.
unsafe impl UserData for dma_buf_sync {}
// SAFETY: A u32 and an s32: 8 bytes, no padding.
#[cfg(CONFIG_SYNC_FILE)]
unsafe impl UserData for dma_buf_export_sync_file {}
// SAFETY: A u32 and an s32: 8 bytes, no padding.
#[cfg(CONFIG_SYNC_FILE)]
unsafe impl UserData for dma_buf_import_sync_file {}

// The sizes the no-padding claims above add up to.
const _: () = assert!(size_of::<dma_buf_sync>() == 8);
#[cfg(CONFIG_SYNC_FILE)]
const _: () = assert!(
    size_of::<dma_buf_export_sync_file>() == 8 && size_of::<dma_buf_import_sync_file>() == 8
);

/// The user address an ioctl argument names (`(void __user *)arg`).
pub(super) fn user_ptr(addr: usize) -> *mut c_void {
    addr as *mut c_void
}

/// `copy_from_user` of one `T` at the user address `from`; [`EFAULT`] if any
/// byte cannot be read.
pub(super) fn copy_from_user<T: UserData>(from: usize) -> Result<T, Errno> {
    let mut val = T::default();
    // SAFETY: `val` is valid for writes of its size, and any bytes are a valid
    // `T` (`UserData`); the user address is checked by `copy_from_user`.
    let left = unsafe {
        bindings::copy_from_user(
            addr_of_mut!(val).cast(),
            user_ptr(from).cast_const(),
            size_of::<T>(),
        )
    };
    if left != 0 {
        return Err(EFAULT);
    }
    Ok(val)
}

/// `copy_to_user` of `val` to the user address `to`; [`EFAULT`] if any byte
/// cannot be written.
#[cfg(CONFIG_SYNC_FILE)]
pub(super) fn copy_to_user<T: UserData>(to: usize, val: &T) -> Result<(), Errno> {
    // SAFETY: `val` is valid for reads of its size, all of it field bytes
    // (`UserData`: no padding); the user address is checked by `copy_to_user`.
    let left = unsafe {
        bindings::copy_to_user(
            user_ptr(to),
            core::ptr::from_ref(val).cast(),
            size_of::<T>(),
        )
    };
    if left != 0 {
        return Err(EFAULT);
    }
    Ok(())
}

/// A reserved, not yet installed file descriptor of the current task, given
/// back on drop (`put_unused_fd`).
///
/// # Invariants
///
/// The number was returned by `get_unused_fd_flags` and is neither installed
/// nor put.
#[cfg(CONFIG_SYNC_FILE)]
pub(super) struct UnusedFd(c_int);

#[cfg(CONFIG_SYNC_FILE)]
impl UnusedFd {
    /// `get_unused_fd_flags(flags)`: reserves the lowest free descriptor, or
    /// returns its (negative) error.
    pub(super) fn new(flags: c_uint) -> Result<Self, c_int> {
        // SAFETY: No preconditions.
        let fd = unsafe { bindings::get_unused_fd_flags(flags) };
        if fd < 0 {
            return Err(fd);
        }
        // INVARIANT: `fd` was just reserved.
        Ok(Self(fd))
    }

    /// The descriptor's number, for userspace.
    pub(super) fn number(&self) -> c_int {
        self.0
    }

    /// Installs `file` at this descriptor (`fd_install`), which takes over
    /// the caller's reference to it.
    ///
    /// # Safety
    ///
    /// `file` must be a file the caller holds a reference to, and gives up.
    pub(super) unsafe fn install(self, file: *mut file) {
        // SAFETY: By the type invariants the fd is reserved and free (a
        // non-negative int converts losslessly); the reference is given to us.
        unsafe { bindings::fd_install(self.0 as c_uint, file) };
        core::mem::forget(self);
    }
}

#[cfg(CONFIG_SYNC_FILE)]
impl Drop for UnusedFd {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the fd is reserved and not installed.
        unsafe { bindings::put_unused_fd(self.0 as c_uint) };
    }
}
