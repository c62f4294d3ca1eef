// SPDX-License-Identifier: GPL-2.0

//! sync_file: a fence handed to userspace as a file descriptor.
//!
//! C header: [`include/linux/sync_file.h`](srctree/include/linux/sync_file.h).

use super::fence::Fence;
use crate::{
    bindings,
    error::{code::*, Error, Result},
    types::ARef,
};
use core::ptr::NonNull;

/// A file descriptor number reserved in the current task's table but not
/// yet pointing to a file (`get_unused_fd_flags`).
///
/// Reserve the number first, copy it to userspace, and install the file only
/// when nothing can fail any more: a failed copy then leaves no stray fd
/// behind. Dropping an unused reservation releases the number
/// (`put_unused_fd`).
///
/// # Invariants
///
/// `fd` is a reserved, unused slot of the current task's fd table.
pub struct FdReservation {
    fd: u32,
    _not_send: core::marker::PhantomData<*mut ()>,
}

impl FdReservation {
    /// Reserves a descriptor; `cloexec` sets `O_CLOEXEC` on it.
    pub fn new(cloexec: bool) -> Result<Self> {
        let flags = if cloexec { bindings::O_CLOEXEC } else { 0 };
        // SAFETY: `get_unused_fd_flags` may be called from process context
        // with any flags.
        let fd = unsafe { bindings::get_unused_fd_flags(flags) };
        if fd < 0 {
            return Err(Error::from_errno(fd));
        }
        Ok(Self {
            fd: fd as u32,
            _not_send: core::marker::PhantomData,
        })
    }

    /// Returns the reserved number.
    pub fn fd(&self) -> i32 {
        self.fd as i32
    }

    /// Points the descriptor at `file`, handing over one reference to it.
    ///
    /// # Safety
    ///
    /// `file` is a live file on which the caller owns a reference.
    pub(crate) unsafe fn install(self, file: *mut bindings::file) -> i32 {
        let fd = self.fd;
        core::mem::forget(self);
        // SAFETY: `fd` is reserved (type invariant); the reference is ours.
        unsafe { bindings::fd_install(fd, file) };
        fd as i32
    }
}

impl Drop for FdReservation {
    fn drop(&mut self) {
        // SAFETY: The slot is reserved and unused (type invariant).
        unsafe { bindings::put_unused_fd(self.fd) };
    }
}

/// A sync_file (`struct sync_file`), owned until installed as an fd.
///
/// # Invariants
///
/// `ptr` is a sync_file made by `sync_file_create`, whose file reference we
/// own.
pub struct SyncFile {
    ptr: NonNull<bindings::sync_file>,
}

// SAFETY: The owned file reference may be dropped from any thread.
unsafe impl Send for SyncFile {}

impl SyncFile {
    /// Makes a sync_file for `fence` (`sync_file_create`, which takes its own
    /// reference to the fence).
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::dma_buf::{fence::Fence, sync_file::SyncFile};
    ///
    /// let file = SyncFile::new(&Fence::stub())?;
    /// assert!(file.fence().is_signaled());
    /// # Ok::<(), Error>(())
    /// ```
    pub fn new(fence: &Fence) -> Result<Self> {
        // SAFETY: `fence` is live; the call takes its own reference.
        let ptr = unsafe { bindings::sync_file_create(fence.as_raw()) };
        Ok(Self {
            ptr: NonNull::new(ptr).ok_or(ENOMEM)?,
        })
    }

    /// Returns the sync_file's fence.
    pub fn fence(&self) -> &Fence {
        // SAFETY: The sync_file holds a reference to its fence for its life.
        unsafe { Fence::from_raw((*self.ptr.as_ptr()).fence) }
    }

    /// Installs the sync_file as the reserved descriptor and returns its
    /// number: userspace owns it from now on.
    pub fn install(self, fd: FdReservation) -> i32 {
        // SAFETY: The file reference is ours (type invariant) and goes to the
        // fd table.
        let file = unsafe { (*self.ptr.as_ptr()).file };
        core::mem::forget(self);
        // SAFETY: See above.
        unsafe { fd.install(file) }
    }
}

impl Drop for SyncFile {
    fn drop(&mut self) {
        // SAFETY: The file reference is ours (type invariant); dropping the
        // last one releases the sync_file and its fence.
        unsafe { bindings::fput((*self.ptr.as_ptr()).file) };
    }
}

/// Returns the fence of the sync_file behind `fd` (`sync_file_get_fence`):
/// `EINVAL` if `fd` is not an open sync_file.
pub fn fence_from_fd(fd: i32) -> Result<ARef<Fence>> {
    // SAFETY: `sync_file_get_fence` checks the descriptor itself.
    let f = unsafe { bindings::sync_file_get_fence(fd) };
    let f = NonNull::new(f).ok_or(EINVAL)?;
    // SAFETY: The call returned a new reference.
    Ok(unsafe { Fence::from_raw_owned(f) })
}
