// SPDX-License-Identifier: GPL-2.0-only

//! dma-buf: the C ABI of `drivers/dma-buf/dma-buf.c`.
//!
//! A dma-buf is a buffer that one driver (the exporter) shares with others
//! (the importers) and with userspace, as a file. The struct is the kernel's
//! own `struct dma_buf`, because the exporters and importers, C drivers, reach
//! into its fields. Its life is its file's: `dma_buf_export()` allocates both,
//! references are file references (`dma_buf_get` is `fget`, `dma_buf_put` is
//! `fput`), and the last `fput` releases the dentry of the dmabuf
//! pseudo-filesystem, whose `d_release` calls the exporter's `release` and
//! frees the struct.
//!
//! The sub-modules, in `buf/`:
//!
//! - [`export`]: `dma_buf_export()`, `dma_buf_fd()`, `dma_buf_get()`,
//!   `dma_buf_put()`;
//! - [`fs`]: the dmabuf pseudo-filesystem, its mount and the dentry whose
//!   release frees a dma-buf;
//! - [`file_ops`]: the file operations, with release, mmap and llseek;
//!   [`poll`], [`ioctl`] (`DMA_BUF_IOCTL_SYNC`, `DMA_BUF_SET_NAME`),
//!   [`sync_file`] (`DMA_BUF_IOCTL_EXPORT_SYNC_FILE` and `_IMPORT_`, with
//!   CONFIG_SYNC_FILE) and [`fdinfo`] hold the others;
//! - [`attach`] (and `attach/map.rs`): the importer API, attach and detach,
//!   pin, map and unmap, `dma_buf_move_notify()`;
//! - [`access`]: CPU access from the kernel (the begin/end brackets,
//!   `dma_buf_mmap()`, vmap);
//! - [`lock`]: the reservation lock and `name_lock` as guards;
//! - [`list`] and [`debugfs`]: the list of every dma-buf and debugfs
//!   `dma_buf/bufinfo`.
//!
//! This file holds what they share, and `dma_buf_init()` (as
//! [`dmabuf_rs_buf_init`], which the core's subsys_initcall calls).
//!
//! C header: [`include/linux/dma-buf.h`](srctree/include/linux/dma-buf.h);
//! ioctls: [`include/uapi/linux/dma-buf.h`](srctree/include/uapi/linux/dma-buf.h).

use crate::vfs::File;
use core::cell::UnsafeCell;
use core::ptr;
use kernel::bindings::{self, dma_buf, dma_resv};
use kernel::ffi::c_int;

#[path = "buf/attach.rs"]
mod attach;

#[path = "buf/access.rs"]
mod access;

#[path = "buf/methods.rs"]
mod methods;

#[path = "buf/lock.rs"]
pub(crate) mod lock;

#[path = "buf/fs.rs"]
mod fs;

#[path = "buf/export.rs"]
mod export;

#[path = "buf/file_ops.rs"]
mod file_ops;

#[path = "buf/poll.rs"]
mod poll;

#[path = "buf/ioctl.rs"]
mod ioctl;

#[cfg(CONFIG_SYNC_FILE)]
#[path = "buf/sync_file.rs"]
mod sync_file;

#[path = "buf/fdinfo.rs"]
mod fdinfo;

#[path = "buf/list.rs"]
mod list;

#[cfg(CONFIG_DEBUG_FS)]
#[path = "buf/debugfs.rs"]
mod debugfs;

/// A C object in a `static` that the kernel updates under its own locks (the
/// superblock list and lockdep keys of a `struct file_system_type`).
///
/// # Invariants
///
/// Rust only builds it and hands its address to C; it never reads or writes
/// it afterwards, so the interior mutability is all C's.
#[repr(transparent)]
struct KernelOwned<T>(UnsafeCell<T>);

// SAFETY: By the type invariant Rust never accesses the contents after the
// constant initialiser; C serialises its own accesses.
unsafe impl<T> Sync for KernelOwned<T> {}

impl<T> KernelOwned<T> {
    /// Wraps the initial value.
    const fn new(value: T) -> Self {
        Self(UnsafeCell::new(value))
    }

    /// The address to hand to C.
    fn get(&self) -> *mut T {
        self.0.get()
    }
}

/// The reservation object embedded right after `dmabuf`'s struct when the
/// exporter brings none (`(struct dma_resv *)&dmabuf[1]`).
///
/// Only the address: it is a reservation object only when the export
/// allocated one there, which is what comparing `dmabuf->resv` to it tells.
fn embedded_resv(dmabuf: *mut dma_buf) -> *mut dma_resv {
    dmabuf.wrapping_add(1).cast()
}

/// The dma-buf of a file, whatever its file operations (its private data):
/// for a dma-buf file, NULL if its export failed, or its dma-buf, which
/// lives as long as the file.
fn private_dmabuf(file: &File) -> *mut dma_buf {
    file.private_data().cast()
}

/// Whether `file` is a dma-buf file (`is_dma_buf_file()`): its operations
/// are the dma-buf ones.
fn is_dma_buf_file(file: &File) -> bool {
    ptr::eq(file.f_op(), file_ops::table())
}

/// The dma-buf of `file`, or `None` if it is not a dma-buf file or one whose
/// export failed (and has no dma-buf).
fn dmabuf_of_file(file: &File) -> Option<&methods::DmaBuf> {
    if !is_dma_buf_file(file) {
        return None;
    }
    let dmabuf = private_dmabuf(file);
    // SAFETY: The private data of a dma-buf file is NULL or its exported
    // dma-buf, which the file's dentry frees only after the file is gone:
    // it lives as long as the file is borrowed.
    (!dmabuf.is_null()).then(|| unsafe { methods::DmaBuf::from_raw(dmabuf) })
}

/// `dma_buf_init()`: sets up the sysfs statistics, mounts the dmabuf
/// pseudo-filesystem and creates debugfs `dma_buf/bufinfo`.
///
/// Returns 0, or the error of the statistics or the mount; a debugfs failure
/// is not an error, as in C. Called once, at subsys_initcall level, from
/// `dmabuf_rs_buf_shims.c`, before any dma-buf can be exported.
#[no_mangle]
pub(crate) extern "C" fn dmabuf_rs_buf_init() -> c_int {
    // SAFETY: No preconditions; called once at boot.
    let ret = unsafe { bindings::dmabuf_rs_buf_init_sysfs_statistics() };
    if ret != 0 {
        return ret;
    }
    if let Err(err) = fs::mount() {
        return err.to_errno();
    }
    // As in C, a kernel without debugfs `bufinfo` works all the same.
    #[cfg(CONFIG_DEBUG_FS)]
    let _ = debugfs::init();
    0
}

c_abi!(dmabuf_rs_buf_init);
