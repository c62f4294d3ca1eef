// SPDX-License-Identifier: GPL-2.0-only

//! The dmabuf pseudo-filesystem: where dma-buf files live, and where a
//! dma-buf is freed.
//!
//! Every dma-buf file has its own inode and dentry on one internal mount of
//! the filesystem `dmabuf` (magic `DMA_BUF_MAGIC`), made at boot. The inode
//! number is unique among dma-bufs (the sysfs statistics name their
//! directories after it) and the dentry's name shows in `/proc/<pid>/fd` as
//! `/dmabuf:<name>`, the name userspace gave with `DMA_BUF_SET_NAME`. The
//! dentry points to the dma-buf (`d_fsdata`): when the last reference to the
//! file goes, the VFS releases the dentry, and [`dma_buf_release`] releases
//! the exporter's buffer and frees the struct.

use super::lock::NameGuard;
use super::{embedded_resv, file_ops, KernelOwned};
use crate::logic::dma_buf::dname_shows_name;
use crate::sys;
use crate::sys::from_err_ptr;
use crate::vfs::{FileRef, Table};
use core::ptr::{self, addr_of_mut};
use core::sync::atomic::{AtomicI64, AtomicPtr, Ordering};
use kernel::bindings::{self, dentry, dentry_operations, dma_buf, file_system_type, fs_context};
use kernel::dma_buf::buf::DmaBuf;
use kernel::error::{
    code::{ENODEV, ENOMEM},
    Result,
};
use kernel::ffi::{c_char, c_int, c_ulong};
use kernel::uapi::DMA_BUF_NAME_LEN;

/// The dentry operations of every dma-buf file.
// INVARIANT: Only NULL and function pointers, in an immutable static.
static DMA_BUF_DENTRY_OPS: Table<dentry_operations> = Table(dentry_operations {
    d_dname: Some(dmabuffs_dname),
    d_release: Some(dma_buf_release),
    // The other members are optional callbacks; all-zero leaves them NULL, as
    // the C core's designated initialiser.
    ..crate::sys::zeroed()
});

/// The filesystem type: never registered, only mounted internally.
///
/// `owner` is NULL, which is what `THIS_MODULE` is in built-in code.
static DMA_BUF_FS_TYPE: KernelOwned<file_system_type> = KernelOwned::new(file_system_type {
    name: c"dmabuf".as_ptr().cast(),
    init_fs_context: Some(dma_buf_fs_init_context),
    kill_sb: Some(bindings::kill_anon_super),
    // The other members are optional callbacks, flags, list heads and lockdep
    // keys, all valid as zero (the C core's static initialiser).
    ..crate::sys::zeroed()
});

/// The internal mount (`dma_buf_mnt`): NULL until [`mount`] at boot, then
/// never changes.
static DMA_BUF_MNT: AtomicPtr<bindings::vfsmount> = AtomicPtr::new(ptr::null_mut());

/// The last inode number given to a dma-buf file (`dmabuf_inode`).
static DMABUF_INODE: AtomicI64 = AtomicI64::new(0);

/// `init_fs_context` of the filesystem: a pseudo-filesystem whose dentries
/// use [`DMA_BUF_DENTRY_OPS`].
///
/// # Safety
///
/// Called by the VFS only, with a new filesystem context.
unsafe extern "C" fn dma_buf_fs_init_context(fc: *mut fs_context) -> c_int {
    // SAFETY: `fc` is a new context (VFS); the magic fits unsigned long.
    let ctx = unsafe { bindings::init_pseudo(fc, bindings::DMA_BUF_MAGIC as c_ulong) };
    if ctx.is_null() {
        return ENOMEM.to_errno();
    }
    // SAFETY: `init_pseudo` returned the context's pseudo-filesystem part,
    // ours to fill; the operations are a static table.
    unsafe { (*ctx).dops = &DMA_BUF_DENTRY_OPS.0 };
    0
}

/// `d_dname` of a dma-buf dentry: `/<dentry name>:<dma-buf name>` into
/// `buffer`, for `/proc/<pid>/fd` and the like.
///
/// The name is copied under `name_lock`; a name that does not fit in
/// `DMA_BUF_NAME_LEN` bytes (which `DMA_BUF_SET_NAME` never stores, but a
/// driver might) shows as empty, as in C.
///
/// # Safety
///
/// Called by the VFS only, on a dentry of an exported dma-buf's file, with a
/// buffer of `buflen` bytes.
unsafe extern "C" fn dmabuffs_dname(
    dentry: *mut dentry,
    buffer: *mut c_char,
    buflen: c_int,
) -> *mut c_char {
    let mut name = [0 as c_char; DMA_BUF_NAME_LEN as usize];
    // SAFETY: A dentry reachable through an open file of an exported dma-buf
    // points to that live dma-buf.
    let dmabuf = unsafe { DmaBuf::from_raw((*dentry).d_fsdata.cast()) };
    let shown = shown_name(dmabuf, &mut name);
    // SAFETY: `buffer` has `buflen` bytes (VFS); the format takes two strings:
    // the dentry's own name ("dmabuf", set by `alloc_file_pseudo`) and ours.
    unsafe {
        bindings::dynamic_dname(
            buffer,
            buflen,
            c"/%s:%s".as_ptr().cast(),
            (*dentry).d_name.name,
            shown,
        )
    }
}

/// The name `dmabuffs_dname` shows: the buffer's name, copied into `name`
/// under `name_lock`, or an empty string.
#[inline(always)]
fn shown_name(dmabuf: &DmaBuf, name: &mut [c_char; DMA_BUF_NAME_LEN as usize]) -> *const c_char {
    let copied = {
        let guard = NameGuard::lock(dmabuf);
        guard
            .name()
            .map_or(0, |current| sys::strscpy(name, current))
    };
    if dname_shows_name(copied) {
        name.as_ptr()
    } else {
        c"".as_ptr().cast()
    }
}

/// `d_release` of a dma-buf dentry: the last reference to the dma-buf's file
/// is gone. Releases the exporter's buffer and frees the dma-buf.
///
/// As in C, a dma-buf still vmapped or with a poll callback still armed is a
/// refcount bug that would leave a dangling pointer behind: `BUG()`.
///
/// # Safety
///
/// Called by the VFS only, once, on a dentry of the dmabuf filesystem.
unsafe extern "C" fn dma_buf_release(dentry: *mut dentry) {
    // SAFETY: The dentry is being released (VFS); its `d_fsdata` is the
    // dma-buf it belonged to, or NULL if the export failed before setting it.
    let dmabuf: *mut dma_buf = unsafe { (*dentry).d_fsdata.cast() };
    if dmabuf.is_null() {
        return;
    }

    // SAFETY: Nothing else can reach the dma-buf any more: its file is gone,
    // and with it every reference. It was fully exported: its ops have a
    // `release` (checked at export), its name is NULL or kmalloc'ed, and an
    // embedded reservation object was initialised at export.
    unsafe {
        if (*dmabuf).vmapping_counter != 0 {
            bindings::BUG();
        }
        if (*dmabuf).cb_in.active != 0 || (*dmabuf).cb_out.active != 0 {
            bindings::BUG();
        }

        bindings::dmabuf_rs_buf_stats_teardown(dmabuf);
        if let Some(release) = (*(*dmabuf).ops).release {
            release(dmabuf);
        }

        if (*dmabuf).resv == embedded_resv(dmabuf) {
            crate::resv::dma_resv_fini((*dmabuf).resv);
        }

        if !sys::list_empty(addr_of_mut!((*dmabuf).attachments)) {
            sys::warn();
        }
        bindings::dmabuf_rs_buf_module_put((*dmabuf).owner);
        bindings::kfree((*dmabuf).name.cast());
        bindings::kfree(dmabuf.cast());
    }
}

/// Mounts the dmabuf filesystem (`kern_mount`); called once at boot.
pub(super) fn mount() -> Result {
    // SAFETY: The filesystem type is a static that the VFS may keep and
    // update; its callbacks are ours.
    let mnt = from_err_ptr(unsafe { bindings::kern_mount(DMA_BUF_FS_TYPE.get()) })?;
    DMA_BUF_MNT.store(mnt, Ordering::Release);
    Ok(())
}

/// Creates the file of a new dma-buf of `size` bytes (`dma_buf_getfile()`):
/// a new inode on the dmabuf mount, with a unique number and the buffer's
/// size, and a file on it with the dma-buf file operations, opened with the
/// access mode and `O_NONBLOCK` of `flags` (other flags are ignored).
///
/// The file's private data and dentry's `d_fsdata` are still NULL: the
/// caller sets them, or drops the file without releasing anything.
///
/// Without the mount (an export before the core's subsys_initcall, or after
/// the mount failed), where C would dereference a NULL or error pointer, it
/// warns and fails with `ENODEV`.
pub(super) fn getfile(size: usize, flags: c_int) -> Result<FileRef> {
    let mnt = DMA_BUF_MNT.load(Ordering::Acquire);
    if mnt.is_null() {
        sys::warn();
        return Err(ENODEV);
    }
    // SAFETY: Not NULL, so `mount` stored it: the internal mount, never
    // unmounted.
    let inode = from_err_ptr(unsafe { bindings::alloc_anon_inode((*mnt).mnt_sb) })?;

    // The size as `loff_t`; a buffer is never near 2^63 bytes.
    let bytes = size as bindings::loff_t;
    // SAFETY: The inode is new and ours.
    unsafe {
        (*inode).i_size = bytes;
        bindings::inode_set_bytes(inode, bytes);
    }

    // `get_next_ino()` numbers are not unique, so the sysfs statistics could
    // not name their directories after them: dma-bufs count on their own.
    // (Taken after the size is written, as in C: before, the size would
    // have to be kept on the stack across the atomic.)
    let ino = DMABUF_INODE.fetch_add(1, Ordering::SeqCst).wrapping_add(1);
    // SAFETY: The inode is new and ours; as C, the s64 converts to unsigned long.
    unsafe { (*inode).i_ino = ino as c_ulong };

    let flags = flags & (bindings::O_ACCMODE | bindings::O_NONBLOCK) as c_int;
    // SAFETY: The inode is ours to hand over, the mount lives forever, the
    // name is a string and the operations a static table; the result is an
    // error or a new file whose reference is ours.
    let file = unsafe {
        FileRef::from_new(bindings::alloc_file_pseudo(
            inode,
            mnt,
            c"dmabuf".as_ptr().cast(),
            flags,
            file_ops::table(),
        ))
    };
    file.inspect_err(|_| {
        // SAFETY: The file was not created, so the inode is still ours.
        unsafe { bindings::iput(inode) };
    })
}
