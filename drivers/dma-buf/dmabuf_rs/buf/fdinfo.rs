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
//! The numbers are formatted by Rust and the strings copied as they are
//! ([`SeqFile`]), into the bytes of C's formats.

use super::lock::NameGuard;
use super::methods::DmaBufCore;
use super::private_dmabuf;
use crate::vfs::{File, SeqFile};
use kernel::bindings::{file, seq_file};
use kernel::dma_buf::buf::DmaBuf;

/// `show_fdinfo` of a dma-buf file.
///
/// # Safety
///
/// Called by procfs only, for an open file with the dma-buf operations,
/// while it holds a reference to the file.
pub(super) unsafe extern "C" fn dma_buf_show_fdinfo(m: *mut seq_file, file: *mut file) {
    // SAFETY: The file is open (procfs); a dma-buf file in a descriptor
    // table was fully exported, and keeps its dma-buf alive; `m` is being
    // shown for the call.
    let (m, dmabuf) = unsafe {
        (
            &*m.cast::<SeqFile>(),
            DmaBuf::from_raw(private_dmabuf(&*file.cast::<File>())),
        )
    };
    show_fdinfo(m, dmabuf);
}

/// The body of [`dma_buf_show_fdinfo`].
#[inline(always)]
fn show_fdinfo(m: &SeqFile, dmabuf: &DmaBuf) {
    // C's "size:\t%zu\n", "count:\t%ld\n" and "exp_name:\t%s\n"; procfs holds
    // a reference of its own while it shows us: not counted.
    m.print(format_args!(
        "size:\t{}\ncount:\t{}\n",
        dmabuf.size(),
        dmabuf.file_count() - 1
    ));
    m.puts(c"exp_name:\t");
    m.puts(dmabuf.exp_name());
    m.puts(c"\n");
    let guard = NameGuard::lock(dmabuf);
    if let Some(name) = guard.name() {
        // C's "name:\t%s\n".
        m.puts(c"name:\t");
        m.puts(name);
        m.puts(c"\n");
    }
}
