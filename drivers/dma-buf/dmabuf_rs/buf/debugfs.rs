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

use super::list::ListGuard;
use super::lock::{NameGuard, ResvGuard};
use crate::sys;
use crate::vfs::Table;
use core::ptr;
use kernel::bindings::{self, dma_buf, dma_buf_attachment, file, file_operations, inode, seq_file};
use kernel::dma_buf::buf::DmaBuf;
use kernel::dma_buf::resv::Resv;
use kernel::ffi::{c_char, c_int, c_void};

/// `seq_puts`: `s`, as it is.
///
/// # Safety
///
/// `s` must be a seq_file being shown.
unsafe fn seq_puts(s: *mut seq_file, text: &core::ffi::CStr) {
    // SAFETY: `s` is being shown (caller); `text` is a string. (The header's
    // inline only picks `seq_putc` for one-character constants: same bytes.)
    unsafe { bindings::__seq_puts(s, text.as_ptr().cast()) };
}

/// Prints one dma-buf's lines: its own, its fences, its attached devices.
///
/// Returns `-EINTR` (nothing printed) if a signal interrupts the wait for
/// its reservation lock.
///
/// # Safety
///
/// `s` must be a seq_file being shown; `buf_obj` a dma-buf on the list, held
/// by the caller (so it cannot be released).
unsafe fn show_one(s: *mut seq_file, buf_obj: *mut dma_buf) -> Result<(), c_int> {
    // SAFETY: The dma-buf is live and exported (caller); we do not hold its
    // reservation lock.
    let resv = ResvGuard::lock_interruptible(unsafe { Resv::from_raw((*buf_obj).resv) })?;

    {
        // SAFETY: As above.
        let name = NameGuard::lock(unsafe { DmaBuf::from_raw(buf_obj) });
        let shown: *const c_char = if name.name().is_null() {
            c"<none>".as_ptr().cast()
        } else {
            name.name()
        };
        // SAFETY: The dma-buf and its file are live; each conversion matches
        // its argument (`%zu` size_t, `%x` unsigned int, `%ld` long, `%s`
        // string or NULL, `%lu` unsigned long).
        unsafe {
            let file: *mut file = (*buf_obj).file;
            bindings::seq_printf(
                s,
                c"%08zu\t%08x\t%08x\t%08ld\t%s\t%08lu\t%s\n".as_ptr().cast(),
                (*buf_obj).size,
                (*file).f_flags,
                (*file).f_mode,
                bindings::dmabuf_rs_buf_file_count(file),
                (*buf_obj).exp_name,
                (*(*file).f_inode).i_ino,
                shown,
            );
        }
    }

    // SAFETY: We hold the reservation lock; `s` is being shown.
    unsafe { crate::resv::dma_resv_describe((*buf_obj).resv, s) };

    // SAFETY: `s` is being shown.
    unsafe { seq_puts(s, c"\tAttached Devices:\n") };
    let mut attach_count: c_int = 0;
    // SAFETY: The attachment list only changes under the reservation lock,
    // which we hold; its entries are live attachments, linked by `node`.
    unsafe {
        let head = ptr::addr_of_mut!((*buf_obj).attachments);
        let mut pos = (*head).next;
        while pos != head {
            let attach = kernel::container_of!(pos, dma_buf_attachment, node);
            let dev_name = bindings::dmabuf_rs_buf_dev_name((*attach).dev);
            bindings::seq_printf(s, c"\t%s\n".as_ptr().cast(), dev_name);
            attach_count = attach_count.wrapping_add(1);
            pos = (*pos).next;
        }
    }
    drop(resv);

    // SAFETY: `s` is being shown; `%d` takes an int.
    unsafe {
        bindings::seq_printf(
            s,
            c"Total %d devices attached\n\n".as_ptr().cast(),
            attach_count,
        )
    };
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
    let list = match ListGuard::lock_interruptible() {
        Ok(list) => list,
        Err(ret) => return ret,
    };

    // SAFETY: `s` is being shown (seq_file core); the `%s` conversions take
    // strings.
    unsafe {
        seq_puts(s, c"\nDma-buf Objects:\n");
        bindings::seq_printf(
            s,
            c"%-8s\t%-8s\t%-8s\t%-8s\texp_name\t%-8s\tname\n"
                .as_ptr()
                .cast(),
            c"size".as_ptr(),
            c"flags".as_ptr(),
            c"mode".as_ptr(),
            c"count".as_ptr(),
            c"ino".as_ptr(),
        );
    }

    let mut count: c_int = 0;
    let mut size: usize = 0;
    let head = list.head();
    // SAFETY: We hold the list's mutex: its entries are the `list_node`s of
    // live dma-bufs, which cannot leave it (their file release waits for the
    // mutex) until we are done.
    unsafe {
        let mut pos = (*head).next;
        while pos != head {
            let buf_obj = kernel::container_of!(pos, dma_buf, list_node).cast_mut();
            if let Err(ret) = show_one(s, buf_obj) {
                return ret;
            }
            // C's int and size_t arithmetic.
            count = count.wrapping_add(1);
            size = size.wrapping_add((*buf_obj).size);
            pos = (*pos).next;
        }
    }

    // SAFETY: `s` is being shown; `%d` takes an int, `%zu` a size_t.
    unsafe {
        bindings::seq_printf(
            s,
            c"\nTotal %d objects, %zu bytes\n".as_ptr().cast(),
            count,
            size,
        )
    };
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
    // SAFETY: The other members are optional callbacks, the owner and flags;
    // all-zero leaves them NULL and 0, as the C macro's initialiser.
    ..unsafe { core::mem::zeroed() }
});

/// Creates debugfs `dma_buf/bufinfo` (`dma_buf_init_debugfs()`).
///
/// Returns 0 or the error; the caller ignores it, as C does: a kernel
/// without the file works all the same. If the file cannot be created, the
/// directory is removed again.
pub(super) fn init() -> c_int {
    // SAFETY: The name is a string; NULL is the debugfs root.
    let dir = unsafe { bindings::debugfs_create_dir(c"dma_buf".as_ptr().cast(), ptr::null_mut()) };
    // SAFETY: `IS_ERR`/`PTR_ERR` only look at the pointer's value.
    if sys::is_err(dir) {
        // SAFETY: As above. An errno fits in an int.
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
    // SAFETY: As above.
    if sys::is_err(d) {
        // SAFETY: No preconditions (the C core's debug message); the
        // directory is ours to remove (`debugfs_remove_recursive`).
        unsafe {
            bindings::dmabuf_rs_buf_debugfs_bufinfo_failed();
            bindings::debugfs_remove(dir);
        }
        // SAFETY: As above.
        return sys::ptr_err(d) as c_int;
    }
    0
}
