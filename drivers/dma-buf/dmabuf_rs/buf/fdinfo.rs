// SPDX-License-Identifier: GPL-2.0-only

//! `show_fdinfo` of a dma-buf file: what `/proc/<pid>/fdinfo/<fd>` adds
//! about the buffer, with the C core's lines:
//!
//! ```text
//! size:\t<bytes>
//! count:\t<file references, not counting procfs' own>
//! exp_name:\t<exporter name>
//! name:\t<name>            (only if it has one)
//! ```
//!
//! The lines are formatted by the kernel's `seq_printf` with C's formats, so
//! the bytes are C's.

use super::lock::NameGuard;
use super::private_dmabuf;
use kernel::bindings::{self, file, seq_file};
use kernel::dma_buf::buf::DmaBuf;

/// `show_fdinfo` of a dma-buf file.
///
/// # Safety
///
/// Called by procfs only, for an open file with the dma-buf operations,
/// while it holds a reference to the file.
pub(super) unsafe extern "C" fn dma_buf_show_fdinfo(m: *mut seq_file, file: *mut file) {
    // SAFETY: The file is open (procfs); a dma-buf file in a descriptor
    // table was fully exported, and keeps its dma-buf alive.
    let dmabuf = unsafe { private_dmabuf(file) };
    // SAFETY: `m` is being shown (procfs); each conversion matches its
    // argument: `%zu` a size_t, `%ld` a long, `%s` a string (or NULL, which
    // printk shows as "(null)", as with C).
    unsafe {
        bindings::seq_printf(m, c"size:\t%zu\n".as_ptr().cast(), (*dmabuf).size);
        // procfs holds a reference of its own while it shows us: not counted.
        let count = bindings::dmabuf_rs_buf_file_count((*dmabuf).file) - 1;
        bindings::seq_printf(m, c"count:\t%ld\n".as_ptr().cast(), count);
        bindings::seq_printf(m, c"exp_name:\t%s\n".as_ptr().cast(), (*dmabuf).exp_name);
    }
    // SAFETY: The dma-buf is live and exported.
    let guard = NameGuard::lock(unsafe { DmaBuf::from_raw(dmabuf) });
    let name = guard.name();
    if !name.is_null() {
        // SAFETY: `m` is being shown; the name is a string, kept by the lock.
        unsafe { bindings::seq_printf(m, c"name:\t%s\n".as_ptr().cast(), name) };
    }
}
