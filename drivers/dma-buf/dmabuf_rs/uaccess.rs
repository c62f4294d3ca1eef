// SPDX-License-Identifier: GPL-2.0-only

//! What the ioctls of the core's files need from userspace: copies of their
//! argument structs in and out, and a reserved file descriptor for the new
//! file some of them return.
//!
//! Shared by the dma-buf file ([`crate::buf`]) and the sync_file
//! (`crate::sync_file`, with CONFIG_SYNC_FILE).

use crate::logic::errno::{Errno, EFAULT};
use core::mem::size_of;
use kernel::bindings;
use kernel::ffi::{c_int, c_uint, c_void};
use kernel::uapi::dma_buf_sync;
#[cfg(CONFIG_SYNC_FILE)]
use kernel::uapi::{
    dma_buf_export_sync_file, dma_buf_import_sync_file, sync_fence_info, sync_file_info,
    sync_merge_data, sync_set_deadline,
};

/// A uapi struct copied whole between the kernel and userspace.
///
/// # Safety
///
/// Implementers are `#[repr(C)]` structs of integers and integer arrays with
/// no padding: every bit pattern is a valid value, and copying one out
/// discloses nothing but its fields.
pub(crate) unsafe trait UserData: Default {}

// SAFETY: One u64: 8 bytes, no padding.
unsafe impl UserData for dma_buf_sync {}
// SAFETY: A u32 and an s32: 8 bytes, no padding.
#[cfg(CONFIG_SYNC_FILE)]
unsafe impl UserData for dma_buf_export_sync_file {}
// SAFETY: A u32 and an s32: 8 bytes, no padding.
#[cfg(CONFIG_SYNC_FILE)]
unsafe impl UserData for dma_buf_import_sync_file {}
// SAFETY: `char name[32]` and four 32-bit integers: 48 bytes, no padding.
#[cfg(CONFIG_SYNC_FILE)]
unsafe impl UserData for sync_merge_data {}
// SAFETY: `char name[32]`, four 32-bit integers and a u64 at offset 48: 56
// bytes, no padding.
#[cfg(CONFIG_SYNC_FILE)]
unsafe impl UserData for sync_file_info {}
// SAFETY: Two `char[32]`, two 32-bit integers and a u64 at offset 72: 80
// bytes, no padding.
#[cfg(CONFIG_SYNC_FILE)]
unsafe impl UserData for sync_fence_info {}
// SAFETY: Two u64: 16 bytes, no padding.
#[cfg(CONFIG_SYNC_FILE)]
unsafe impl UserData for sync_set_deadline {}

// The sizes the no-padding claims above add up to.
const _: () = assert!(size_of::<dma_buf_sync>() == 8);
#[cfg(CONFIG_SYNC_FILE)]
const _: () = assert!(
    size_of::<dma_buf_export_sync_file>() == 8
        && size_of::<dma_buf_import_sync_file>() == 8
        && size_of::<sync_merge_data>() == 48
        && size_of::<sync_file_info>() == 56
        && size_of::<sync_fence_info>() == 80
        && size_of::<sync_set_deadline>() == 16
);

/// The user address an ioctl argument or a `__u64` pointer field names
/// (`(void __user *)arg`, `u64_to_user_ptr`).
pub(crate) fn user_ptr(addr: usize) -> *mut c_void {
    addr as *mut c_void
}

/// `copy_from_user` of one `T` at the user address `from`; [`EFAULT`] if any
/// byte cannot be read.
///
/// For the small argument structs (up to two registers); a larger one is
/// read in place with [`copy_from_user_into`], since LLVM builds a large
/// `Result<T, _>` in a temporary and copies it out (a `rep movs`).
#[inline]
pub(crate) fn copy_from_user<T: UserData>(from: usize) -> Result<T, Errno> {
    let mut val = T::default();
    copy_from_user_into(from, &mut val)?;
    Ok(val)
}

/// `copy_from_user` of one `T` at the user address `from` into `val`;
/// [`EFAULT`] if any byte cannot be read (`val` then holds the bytes read,
/// zeroes for the rest).
///
/// The size is a constant, so this calls `_copy_from_user()` directly, as C's
/// inline `copy_from_user()` does for a constant size: its other checks
/// (`check_copy_size()`: the object's size against the copy's, the hardened
/// usercopy check) are made at compile time or skipped for a constant, and
/// here `T` is the object. The kernel crate's helper, a call around that
/// inline, costs a second call on every ioctl.
#[inline]
pub(crate) fn copy_from_user_into<T: UserData>(from: usize, val: &mut T) -> Result<(), Errno> {
    // SAFETY: `val` is valid for writes of its size, and any bytes are a valid
    // `T` (`UserData`); the user address is checked by `_copy_from_user`,
    // which zeroes what it could not copy.
    let left = unsafe {
        bindings::_copy_from_user(
            core::ptr::from_mut(val).cast(),
            user_ptr(from).cast_const(),
            size_of::<T>(),
        )
    };
    if left != 0 {
        return Err(EFAULT);
    }
    Ok(())
}

/// `copy_to_user` of one `T` to the user address `to`; [`EFAULT`] if any byte
/// cannot be written.
///
/// A constant size, so `_copy_to_user()` directly, as for
/// [`copy_from_user`].
#[cfg(CONFIG_SYNC_FILE)]
#[inline]
pub(crate) fn copy_one_to_user<T: UserData>(to: usize, from: &T) -> Result<(), Errno> {
    // SAFETY: `from` is valid for reads of its size, all of it field bytes
    // (`UserData`: no padding); the user address is checked by `_copy_to_user`.
    let left = unsafe {
        bindings::_copy_to_user(
            user_ptr(to),
            core::ptr::from_ref(from).cast(),
            size_of::<T>(),
        )
    };
    if left != 0 {
        return Err(EFAULT);
    }
    Ok(())
}

/// `copy_to_user` of the `T`s in `from` to the user address `to`; [`EFAULT`]
/// if any byte cannot be written.
///
/// The size is known at run time only. C's inline `copy_to_user()` checks
/// it first (`check_copy_size()`): against the kernel object's size, which
/// a slice is by construction; against `INT_MAX`, with a warning; and, with
/// hardened usercopy, against the slab or stack object the bytes are in.
/// Below `INT_MAX` without hardened usercopy nothing is left to check, and
/// this calls `_copy_to_user()` directly; otherwise the kernel crate's
/// helper, a call of the inline with all its checks.
#[cfg(CONFIG_SYNC_FILE)]
pub(crate) fn copy_to_user<T: UserData>(to: usize, from: &[T]) -> Result<(), Errno> {
    let bytes = core::mem::size_of_val(from);
    let direct = cfg!(not(CONFIG_HARDENED_USERCOPY)) && bytes <= i32::MAX as usize;
    // SAFETY: `from` is valid for reads of its size, all of it field bytes
    // (`UserData`: no padding); the user address is checked by the copy.
    let left = unsafe {
        if direct {
            bindings::_copy_to_user(user_ptr(to), from.as_ptr().cast(), bytes)
        } else {
            bindings::copy_to_user(user_ptr(to), from.as_ptr().cast(), bytes)
        }
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
pub(crate) struct UnusedFd(c_int);

impl UnusedFd {
    /// `get_unused_fd_flags(flags)`: reserves the lowest free descriptor, or
    /// returns its (negative) error.
    pub(crate) fn new(flags: c_uint) -> Result<Self, c_int> {
        // SAFETY: No preconditions.
        let fd = unsafe { bindings::get_unused_fd_flags(flags) };
        if fd < 0 {
            return Err(fd);
        }
        // INVARIANT: `fd` was just reserved.
        Ok(Self(fd))
    }

    /// The descriptor's number, for userspace.
    pub(crate) fn number(&self) -> c_int {
        self.0
    }

    /// Installs `file` at this descriptor (`fd_install`), which takes over
    /// the reference.
    pub(crate) fn install(self, file: crate::vfs::FileRef) {
        // SAFETY: By the type invariants the fd is reserved and free (a
        // non-negative int converts losslessly); `fd_install` takes over the
        // file reference that `into_raw` gives up.
        unsafe { bindings::fd_install(self.0 as c_uint, file.into_raw()) };
        core::mem::forget(self);
    }
}

impl Drop for UnusedFd {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the fd is reserved and not installed.
        unsafe { bindings::put_unused_fd(self.0 as c_uint) };
    }
}
