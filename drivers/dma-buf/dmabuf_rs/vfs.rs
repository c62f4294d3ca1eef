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
    pub(crate) fn puts<'a>(&self, text: impl Into<crate::sys::CStrPtr<'a>>) {
        let text = text.into();
        // SAFETY: The seq_file is being shown (type invariant); `text` is a
        // string. (The header's inline only picks `seq_putc` for
        // one-character constants: the same bytes.)
        unsafe { kernel::bindings::__seq_puts(self.0.get(), text.as_ptr()) };
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

/// A file (`struct file`), valid while borrowed: the file of a VFS callback,
/// or one a [`FileRef`] holds.
///
/// # Invariants
///
/// The file is valid for the borrow: open (or being released by the VFS,
/// for its `release` callback).
#[repr(transparent)]
pub(crate) struct File(kernel::types::Opaque<file>);

impl File {
    /// The C pointer.
    #[inline]
    pub(crate) fn as_ptr(&self) -> *mut file {
        self.0.get()
    }

    /// The file's operations (`f_op`), set when it is opened and never
    /// changed.
    #[inline]
    pub(crate) fn f_op(&self) -> *const kernel::bindings::file_operations {
        // SAFETY: The file is valid (type invariant); `f_op` does not change
        // while it is open.
        unsafe { (*self.as_ptr()).f_op }
    }

    /// `get_file`: a new reference to the file.
    #[inline]
    pub(crate) fn get(&self) -> FileRef {
        // SAFETY: The file is valid (type invariant), so its count is not
        // zero; `get_file` takes a reference, which becomes the `FileRef`'s.
        unsafe { kernel::bindings::dmabuf_rs_buf_get_file(self.as_ptr()) };
        // INVARIANT: The reference just taken.
        FileRef(core::ptr::NonNull::from(self))
    }

    /// `file_count`: the references to the file.
    #[inline]
    pub(crate) fn count(&self) -> c_long {
        // SAFETY: The file is valid (type invariant).
        unsafe { kernel::bindings::dmabuf_rs_buf_file_count(self.as_ptr()) }
    }

    /// The file's private data, which its owner (the code of its `f_op`)
    /// sets before the file is shared and never changes after.
    #[inline]
    pub(crate) fn private_data(&self) -> *mut core::ffi::c_void {
        // SAFETY: The file is valid (type invariant); the private data is
        // only written before the file is shared.
        unsafe { (*self.as_ptr()).private_data }
    }
}

/// A reference to a file, dropped with `fput`.
///
/// # Invariants
///
/// The value owns one reference to the file.
pub(crate) struct FileRef(core::ptr::NonNull<File>);

impl FileRef {
    /// `fget(fd)`: the current task's open file `fd`, or `None`.
    ///
    /// As in C, the int converts to `fget()`'s unsigned int: a negative fd
    /// becomes a huge one, which no task has open.
    #[inline]
    pub(crate) fn fget(fd: kernel::ffi::c_int) -> Option<Self> {
        // SAFETY: `fget` takes any number; it returns NULL or a reference,
        // which becomes ours.
        let file = unsafe { kernel::bindings::fget(fd as c_uint) };
        // INVARIANT: The reference `fget` took.
        core::ptr::NonNull::new(file.cast()).map(Self)
    }

    /// Takes over a file reference.
    ///
    /// # Safety
    ///
    /// The caller owns one reference to the file `file`, and hands it over.
    #[inline]
    pub(crate) unsafe fn from_raw(file: core::ptr::NonNull<file>) -> Self {
        // INVARIANT: The reference the caller hands over.
        Self(file.cast())
    }

    /// Takes over the file reference that a kernel function returning
    /// either a new file or an error pointer (`alloc_file_pseudo`,
    /// `anon_inode_getfile`) gave: the error, or the reference.
    ///
    /// # Safety
    ///
    /// `file` must be an error pointer or a file whose reference the caller
    /// owns and hands over.
    #[inline]
    pub(crate) unsafe fn from_new(file: *mut file) -> kernel::error::Result<Self> {
        let file = crate::sys::from_err_ptr(file)?;
        // SAFETY: Not an error, so a file whose reference the caller hands
        // over: not NULL (the functions this is for return a file or an
        // error, never NULL).
        Ok(unsafe { Self::from_raw(core::ptr::NonNull::new_unchecked(file)) })
    }

    /// Gives up the reference without dropping it, for C that takes it
    /// over, and returns the file.
    #[inline]
    pub(crate) fn into_raw(self) -> *mut file {
        let file = self.as_ptr();
        core::mem::forget(self);
        file
    }
}

impl core::ops::Deref for FileRef {
    type Target = File;

    #[inline]
    fn deref(&self) -> &File {
        // SAFETY: The reference keeps the file valid (type invariant).
        unsafe { self.0.as_ref() }
    }
}

impl Drop for FileRef {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: We own the reference (type invariant).
        unsafe { kernel::bindings::fput(self.as_ptr()) };
    }
}

/// The poll table of a `poll` call (`poll_table`), through which
/// `poll_wait` registers the poller on wait queues.
///
/// # Invariants
///
/// The VFS's table for the running `poll` call.
#[repr(transparent)]
pub(crate) struct PollTable(kernel::types::Opaque<kernel::bindings::poll_table>);

impl PollTable {
    /// The C pointer of `table`, NULL for none.
    #[inline]
    pub(crate) fn as_ptr(table: Option<&Self>) -> *mut kernel::bindings::poll_table {
        table.map_or(core::ptr::null_mut(), |table| table.0.get())
    }

    /// `poll_requested_events`: the events the poller asks for (all of
    /// them without a table).
    #[inline]
    pub(crate) fn requested_events(table: Option<&Self>) -> __poll_t {
        // SAFETY: NULL or the VFS's live table (type invariant).
        unsafe { kernel::bindings::dmabuf_rs_buf_poll_requested_events(Self::as_ptr(table)) }
    }
}

/// A VMA being set up by an `mmap` call (`struct vm_area_struct`): the
/// mapping the exporter's `mmap` op fills in.
///
/// # Invariants
///
/// The VMA is valid for the borrow, set up under its mm's mmap lock by the
/// running call, with its bounds set.
#[repr(transparent)]
pub(crate) struct Vma(kernel::types::Opaque<kernel::bindings::vm_area_struct>);

impl Vma {
    /// The C pointer, for the exporter's `mmap` op.
    #[inline]
    pub(crate) fn as_ptr(&self) -> *mut kernel::bindings::vm_area_struct {
        self.0.get()
    }

    /// The bounds `vm_start`, `vm_end` and `vm_pgoff`.
    #[inline]
    pub(crate) fn bounds(&self) -> (c_ulong, c_ulong, c_ulong) {
        // SAFETY: The VMA is valid and its bounds set, and only the running
        // `mmap` call changes them (type invariant).
        unsafe {
            let vma = self.as_ptr();
            let range = (*vma).__bindgen_anon_1.__bindgen_anon_1;
            (range.vm_start, range.vm_end, (*vma).vm_pgoff)
        }
    }
}
