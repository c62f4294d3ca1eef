// SPDX-License-Identifier: GPL-2.0-only

//! debugfs `dma_buf/bufinfo`: every exported dma-buf, in the C core's format.
//!
//! For each buffer on the list ([`super::list`]), newest first: one line with
//! its size, file flags and mode, file reference count, exporter name, inode
//! number and name (`<none>` without one), then the fences of its reservation
//! object (`dma_resv_describe`), then the devices attached to it; at the end,
//! the totals. The lines are formatted by the kernel's `seq_printf` with C's
//! formats, so the bytes are C's.
//!
//! Only with CONFIG_DEBUG_FS, as in C.

use super::attach::attachments;
use super::list::ListGuard;
use super::lock::{NameGuard, ResvGuard};
use super::methods::DmaBufCore;
use crate::sys;
use crate::sys::CStrPtr;
use crate::vfs::{SeqFile, Table};
use core::ptr;
use kernel::bindings::{self, file, file_operations, inode, seq_file};
use kernel::dma_buf::buf::DmaBuf;
use kernel::ffi::{c_int, c_void};

/// Prints one dma-buf's lines: its own, its fences, its attached devices.
///
/// Returns `-EINTR` (nothing printed) if a signal interrupts the wait for
/// its reservation lock.
fn show_one(s: &SeqFile, dmabuf: &DmaBuf) -> Result<(), c_int> {
    let mut resv = ResvGuard::lock_interruptible(dmabuf.resv())?;

    {
        let name = NameGuard::lock(dmabuf);
        let file = dmabuf.file().as_ptr();
        // SAFETY: The dma-buf and its file are live.
        let (flags, mode, ino) =
            unsafe { ((*file).f_flags, (*file).f_mode, (*(*file).f_inode).i_ino) };
        let shown = name.name().unwrap_or(c"<none>".into());
        // C's "%08zu\t%08x\t%08x\t%08ld\t%s\t%08lu\t%s\n".
        s.print(format_args!(
            "{:08}\t{:08x}\t{:08x}\t{:08}\t",
            dmabuf.size(),
            flags,
            mode,
            dmabuf.file_count()
        ));
        s.puts(dmabuf.exp_name());
        s.print(format_args!("\t{:08}\t", ino));
        s.puts(shown);
        s.puts(c"\n");
    }

    crate::resv::describe(&mut resv.held(), s);

    s.puts(c"\tAttached Devices:\n");
    let mut attach_count: c_int = 0;
    for attach in attachments(dmabuf, &resv.held()).into_iter().flatten() {
        // SAFETY: The attachment's device is live while it is attached;
        // `dev_name()` is a string that lives as long as the device.
        let dev_name = unsafe {
            CStrPtr::from_ptr_or_null(bindings::dmabuf_rs_buf_dev_name((*attach.raw()).dev))
        };
        s.puts(c"\t");
        s.puts(dev_name);
        s.puts(c"\n");
        attach_count = attach_count.wrapping_add(1);
    }
    drop(resv);

    s.print(format_args!("Total {} devices attached\n\n", attach_count));
    Ok(())
}

/// The `show` of `bufinfo`: the header, every dma-buf, the totals.
///
/// Returns 0, or `-EINTR` if a signal interrupts a wait for a lock (the
/// output then stops where it was, as in C).
///
/// # Safety
///
/// Called by the seq_file core only, with a seq_file being shown.
unsafe extern "C" fn dma_buf_debug_show(s: *mut seq_file, _unused: *mut c_void) -> c_int {
    // SAFETY: The seq_file is being shown for the call (seq_file core).
    show(unsafe { &*s.cast::<SeqFile>() })
}

/// The body of [`dma_buf_debug_show`].
fn show(s: &SeqFile) -> c_int {
    let list = match ListGuard::lock_interruptible() {
        Ok(list) => list,
        Err(ret) => return ret,
    };

    // C's "%-8s\t%-8s\t%-8s\t%-8s\texp_name\t%-8s\tname\n" of size, flags,
    // mode, count and ino.
    s.puts(c"\nDma-buf Objects:\n");
    s.puts(c"size    \tflags   \tmode    \tcount   \texp_name\tino     \tname\n");

    let mut count: c_int = 0;
    let mut size: usize = 0;
    for dmabuf in list.dmabufs() {
        if let Err(ret) = show_one(s, dmabuf) {
            return ret;
        }
        // C's int and size_t arithmetic.
        count = count.wrapping_add(1);
        size = size.wrapping_add(dmabuf.size());
    }

    s.print(format_args!("\nTotal {} objects, {} bytes\n", count, size));
    drop(list);
    0
}

/// `open` of `bufinfo` (`DEFINE_SHOW_ATTRIBUTE`): a single-record seq_file
/// over [`dma_buf_debug_show`].
///
/// # Safety
///
/// Called by the VFS only, for the debugfs file created in [`init`].
unsafe extern "C" fn dma_buf_debug_open(inode: *mut inode, file: *mut file) -> c_int {
    // SAFETY: The inode and file are being opened (VFS); the show callback
    // is ours and the private data the inode's.
    unsafe { bindings::single_open(file, Some(dma_buf_debug_show), (*inode).i_private) }
}

/// The file operations of `bufinfo` (`dma_buf_debug_fops`).
///
/// `owner` is NULL, which is what `THIS_MODULE` is in built-in code.
// INVARIANT: Only NULL and function pointers, in an immutable static.
static DMA_BUF_DEBUG_FOPS: Table<file_operations> = Table(file_operations {
    open: Some(dma_buf_debug_open),
    read: Some(bindings::seq_read),
    llseek: Some(bindings::seq_lseek),
    release: Some(bindings::single_release),
    // The other members are optional callbacks, the owner and flags; all-zero
    // leaves them NULL and 0, as the C macro's initialiser.
    ..crate::sys::zeroed()
});

/// Creates debugfs `dma_buf/bufinfo` (`dma_buf_init_debugfs()`).
///
/// Returns 0 or the error; the caller ignores it, as C does: a kernel
/// without the file works all the same. If the file cannot be created, the
/// directory is removed again.
pub(super) fn init() -> c_int {
    // SAFETY: The name is a string; NULL is the debugfs root.
    let dir = unsafe { bindings::debugfs_create_dir(c"dma_buf".as_ptr().cast(), ptr::null_mut()) };
    if sys::is_err(dir) {
        // An errno fits in an int.
        return sys::ptr_err(dir) as c_int;
    }

    // SAFETY: The name is a string, the directory was just created, no
    // private data, and the operations are a static table. S_IRUGO fits in
    // umode_t.
    let d = unsafe {
        bindings::debugfs_create_file(
            c"bufinfo".as_ptr().cast(),
            bindings::S_IRUGO as bindings::umode_t,
            dir,
            ptr::null_mut(),
            &DMA_BUF_DEBUG_FOPS.0,
        )
    };
    if sys::is_err(d) {
        // SAFETY: No preconditions (the C core's debug message); the
        // directory is ours to remove (`debugfs_remove_recursive`).
        unsafe {
            bindings::dmabuf_rs_buf_debugfs_bufinfo_failed();
            bindings::debugfs_remove(dir);
        }
        return sys::ptr_err(d) as c_int;
    }
    0
}
