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
