// SPDX-License-Identifier: GPL-2.0-only

//! The file operations of a dma-buf file, and the simplest of them: release,
//! mmap and llseek.
//!
//! A file is a dma-buf exactly when its `f_op` is [`table()`]; the other
//! operations live beside this file ([`super::poll`], [`super::ioctl`],
//! [`super::fdinfo`]).

use super::methods::DmaBufCore;
use super::{dmabuf_of_file, fdinfo, ioctl, is_dma_buf_file, list, poll, private_dmabuf};
use crate::logic::dma_buf::mmap_fits;
use crate::logic::llseek::llseek;
use crate::sys;
use crate::vfs::{File, Table, Vma, COMPAT_IOCTL};
use kernel::bindings::{self, file, file_operations, inode, loff_t, vm_area_struct};
use kernel::ffi::c_int;

/// The file operations of every dma-buf file (`dma_buf_fops`).
///
/// `owner` is NULL, which is what `THIS_MODULE` is in built-in code.
// INVARIANT: Only NULL and function pointers, in an immutable static.
static DMA_BUF_FOPS: Table<file_operations> = Table(file_operations {
    release: Some(dma_buf_file_release),
    mmap: Some(dma_buf_mmap_internal),
    llseek: Some(dma_buf_llseek),
    poll: Some(poll::dma_buf_poll),
    unlocked_ioctl: Some(ioctl::dma_buf_ioctl),
    compat_ioctl: COMPAT_IOCTL,
    show_fdinfo: Some(fdinfo::dma_buf_show_fdinfo),
    // The other members are optional callbacks, the owner and flags; all-zero
    // leaves them NULL and 0, as the C core's designated initialiser.
    ..crate::sys::zeroed()
});

/// The dma-buf file operations.
pub(super) fn table() -> *const file_operations {
    &DMA_BUF_FOPS.0
}

/// `release` of a dma-buf file: takes the dma-buf off the debugfs list.
///
/// The dma-buf itself is freed right after, when the VFS drops the dentry
/// ([`super::fs`]). A file whose export failed has no dma-buf yet.
///
/// # Safety
///
/// Called by the VFS only, once, for a file with these operations.
unsafe extern "C" fn dma_buf_file_release(_inode: *mut inode, file: *mut file) -> c_int {
    // SAFETY: The VFS releases a valid file.
    let file = unsafe { &*file.cast::<File>() };
    if !is_dma_buf_file(file) {
        return sys::neg(bindings::EINVAL);
    }
    // SAFETY: The private data of a dma-buf file is NULL or its dma-buf,
    // still live (the dentry, which frees it, goes after the file).
    unsafe { list::debugfs_list_del(private_dmabuf(file)) };
    0
}

/// `mmap` of a dma-buf file: maps the buffer into userspace through the
/// exporter's `mmap`, if it has one and the range fits the buffer.
///
/// # Safety
///
/// Called by the VFS only, with the mmap lock held, for an open file with
/// these operations and a new VMA.
unsafe extern "C" fn dma_buf_mmap_internal(file: *mut file, vma: *mut vm_area_struct) -> c_int {
    // SAFETY: The file is open, and the VMA being set up under the mmap
    // lock with its bounds set (VFS); `File` and `Vma` are transparent over
    // them.
    let (file, vma) = unsafe { (&*file.cast::<File>(), &*vma.cast::<Vma>()) };
    mmap_file(file, vma)
}

/// The body of [`dma_buf_mmap_internal`].
#[inline(always)]
fn mmap_file(file: &File, vma: &Vma) -> c_int {
    let Some(dmabuf) = dmabuf_of_file(file) else {
        return sys::neg(bindings::EINVAL);
    };

    let Some(mmap) = dmabuf.ops().mmap else {
        return sys::neg(bindings::EINVAL);
    };

    let (start, end, pgoff) = vma.bounds();
    if !mmap_fits(
        pgoff,
        start,
        end,
        dmabuf.size(),
        kernel::page::PAGE_SHIFT as u32,
    ) {
        return sys::neg(bindings::EINVAL);
    }

    // SAFETY: The exporter's `mmap` takes its live dma-buf and the VMA being
    // set up under the mmap lock (VFS).
    unsafe { mmap(dmabuf.raw(), vma.as_ptr()) }
}

/// `llseek` of a dma-buf file: only `SEEK_END` and `SEEK_SET` with offset 0,
/// to learn the buffer's size ([`crate::logic::llseek`]); the file position
/// is not moved.
///
/// # Safety
///
/// Called by the VFS only, for an open file with these operations.
unsafe extern "C" fn dma_buf_llseek(file: *mut file, offset: loff_t, whence: c_int) -> loff_t {
    // SAFETY: The file is open (VFS), from a descriptor, so its export
    // succeeded.
    let Some(dmabuf) = dmabuf_of_file(unsafe { &*file.cast::<File>() }) else {
        return sys::neg(bindings::EBADF).into();
    };
    match llseek(dmabuf.size(), offset, whence) {
        Ok(pos) => pos,
        Err(errno) => errno.to_neg().into(),
    }
}
