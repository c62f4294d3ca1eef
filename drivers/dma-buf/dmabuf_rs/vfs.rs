// SPDX-License-Identifier: GPL-2.0-only

//! What the core's files (the dma-buf file, debugfs `bufinfo`, the sync_file)
//! share in how they meet the VFS: operations tables in statics, the compat
//! ioctl entry, and the poll event bits.

use kernel::bindings::{__poll_t, file};
use kernel::ffi::{c_long, c_uint, c_ulong};

/// A C table (`struct file_operations`, `struct dentry_operations`) that may
/// be a `static`.
///
/// # Invariants
///
/// The table is never written: its pointers are NULL or point to functions
/// and static data.
pub(crate) struct Table<T>(pub(crate) T);

// SAFETY: By the type invariant the table is immutable, and what its pointers
// point to (code, static strings) may be used from any thread.
unsafe impl<T> Sync for Table<T> {}

/// The type of the ioctl callbacks of a `struct file_operations`.
type IoctlFn = unsafe extern "C" fn(*mut file, c_uint, c_ulong) -> c_long;

/// `compat_ioctl`: `compat_ptr_ioctl` with CONFIG_COMPAT, NULL without (the
/// header then defines `compat_ptr_ioctl` as NULL).
#[cfg(CONFIG_COMPAT)]
pub(crate) const COMPAT_IOCTL: Option<IoctlFn> = Some(kernel::bindings::compat_ptr_ioctl);
/// `compat_ioctl`: `compat_ptr_ioctl` with CONFIG_COMPAT, NULL without (the
/// header then defines `compat_ptr_ioctl` as NULL).
#[cfg(not(CONFIG_COMPAT))]
pub(crate) const COMPAT_IOCTL: Option<IoctlFn> = None;

/// `EPOLLIN` of [`include/uapi/linux/eventpoll.h`](srctree/include/uapi/linux/eventpoll.h),
/// which bindgen does not evaluate (its definition is a cast).
pub(crate) const EPOLLIN: __poll_t = 0x0000_0001;
/// `EPOLLOUT`, as [`EPOLLIN`].
pub(crate) const EPOLLOUT: __poll_t = 0x0000_0004;
/// `EPOLLERR`, as [`EPOLLIN`].
pub(crate) const EPOLLERR: __poll_t = 0x0000_0008;

/// A seq_file being shown: the output of debugfs `bufinfo`,
/// `dma_resv_describe()` and `dma_fence_describe()`.
///
/// Text goes in as C strings ([`SeqFile::puts`], bytes as they are, as C's
/// `%s`) or as Rust formatting ([`SeqFile::print`], through `seq_printf`'s
/// `%pA`, for numbers); the bytes are those of the C core's formats.
///
/// # Invariants
///
/// The seq_file is being shown (its `show` callback runs) for the borrow.
#[repr(transparent)]
pub(crate) struct SeqFile(kernel::types::Opaque<kernel::bindings::seq_file>);

impl SeqFile {
    /// `seq_puts`: `text`, as it is.
    pub(crate) fn puts(&self, text: &core::ffi::CStr) {
        // SAFETY: The seq_file is being shown (type invariant); `text` is a
        // string. (The header's inline only picks `seq_putc` for
        // one-character constants: the same bytes.)
        unsafe { kernel::bindings::__seq_puts(self.0.get(), text.as_ptr().cast()) };
    }

    /// `seq_printf(s, "%pA", &args)`: the formatted text.
    pub(crate) fn print(&self, args: core::fmt::Arguments<'_>) {
        // SAFETY: The seq_file is being shown (type invariant); `%pA` takes
        // a pointer to `fmt::Arguments`, which outlive the call.
        unsafe {
            kernel::bindings::seq_printf(
                self.0.get(),
                c"%pA".as_ptr().cast(),
                core::ptr::from_ref(&args).cast::<core::ffi::c_void>(),
            )
        };
    }
}

/// A C string for [`SeqFile::puts`], or `(null)` for NULL, as C's `%s`.
///
/// # Safety
///
/// `text` must be NULL or a string that stays valid for `'a`.
pub(crate) unsafe fn c_str_or_null<'a>(text: *const kernel::ffi::c_char) -> &'a core::ffi::CStr {
    if text.is_null() {
        return c"(null)";
    }
    // SAFETY: A string, valid for `'a` (caller's promise).
    unsafe { core::ffi::CStr::from_ptr(text.cast()) }
}
