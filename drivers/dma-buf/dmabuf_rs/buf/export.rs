// SPDX-License-Identifier: GPL-2.0-only

//! Exporting a dma-buf, and the reference and file descriptor functions:
//! `dma_buf_export`, `dma_buf_fd`, `dma_buf_get`, `dma_buf_put`.
//!
//! A dma-buf reference is a reference to its file. The export returns the
//! first one; `dma_buf_fd` hands it to a new file descriptor (which then owns
//! it); `dma_buf_get` takes another from a descriptor (`fget`), and
//! `dma_buf_put` drops one (`fput`). The last drop frees the dma-buf
//! ([`super::fs`]).

use super::{embedded_resv, fs, is_dma_buf_file, list, private_dmabuf};
use crate::sys;
use crate::uaccess::UnusedFd;
use crate::vfs::FileRef;
use core::mem::size_of;
use core::ptr::{addr_of_mut, NonNull};
use kernel::bindings::{self, dma_buf, dma_buf_export_info, dma_buf_ops, dma_resv};
use kernel::error::code::{EBADF, EINVAL, ENOENT, ENOMEM};
use kernel::error::Error;
use kernel::ffi::{c_int, c_uint};

/// The lockdep class of every dma-buf's poll wait queue.
static POLL_CLASS: sys::LockClass = sys::LockClass::new();

/// The exporter's ops, if it gave every callback a dma-buf needs and its
/// private data (the first check of `dma_buf_export`); `None` otherwise.
fn required<'a>(
    info: &dma_buf_export_info,
    ops: Option<&'a dma_buf_ops>,
) -> Option<&'a dma_buf_ops> {
    let ops = ops.filter(|_| !info.priv_.is_null())?;
    let complete =
        ops.map_dma_buf.is_some() && ops.unmap_dma_buf.is_some() && ops.release.is_some();
    complete.then_some(ops)
}

/// Creates a dma-buf for the exporter's buffer described by `exp_info`, with
/// its file, and returns it; or an `ERR_PTR`: `-EINVAL` (with a warning) for
/// missing private data or ops, missing `map_dma_buf`, `unmap_dma_buf` or
/// `release`, `cache_sgt_mapping` with `pin`/`unpin`, or only one of `pin`
/// and `unpin`; `-ENOENT` if the owner module is going away; `-ENOMEM`; or
/// the error of the file or sysfs statistics creation.
///
/// Takes a reference to `exp_info->owner` for as long as the dma-buf lives.
/// Uses `exp_info->resv` as the reservation object, or, if it is NULL, one
/// embedded right after the struct. The caller owns the dma-buf's one file
/// reference: it gives it to a descriptor with [`dma_buf_fd`] or drops it
/// with [`dma_buf_put`], which releases the buffer (`ops->release`).
///
/// # Safety
///
/// `exp_info` must be valid for reads; its ops, if not NULL, a table that
/// outlives the dma-buf; its `exp_name` NULL or a string that does; its
/// `resv`, if not NULL, an initialised reservation object that does.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_buf_export(
    exp_info: *const dma_buf_export_info,
) -> *mut dma_buf {
    // SAFETY: The caller's promise: `exp_info` is readable, its ops NULL or
    // a table that outlives the dma-buf.
    // INVARIANT: The caller's promises.
    export(unsafe { Info(&*exp_info, (*exp_info).ops.as_ref()) })
}

/// The export info of a [`dma_buf_export`] call, and its ops.
///
/// # Invariants
///
/// The info keeps the promises of [`dma_buf_export`]'s caller; the ops are
/// its `ops`.
struct Info<'a>(&'a dma_buf_export_info, Option<&'a dma_buf_ops>);

/// The body of [`dma_buf_export`].
#[inline(always)]
fn export(Info(info, ops): Info<'_>) -> *mut dma_buf {
    let Some(ops) = required(info, ops) else {
        sys::warn();
        return EINVAL.to_ptr();
    };
    if ops.cache_sgt_mapping && (ops.pin.is_some() || ops.unpin.is_some()) {
        sys::warn();
        return EINVAL.to_ptr();
    }
    if ops.pin.is_none() != ops.unpin.is_none() {
        sys::warn();
        return EINVAL.to_ptr();
    }

    // SAFETY: `owner` is NULL (built-in) or the exporter's module, which is
    // live while it calls us.
    if !unsafe { bindings::dmabuf_rs_buf_try_module_get(info.owner) } {
        return ENOENT.to_ptr();
    }

    // INVARIANT: The caller's promises (invariant of `Info`), checked as
    // above, and the module reference just taken.
    match create(Checked(info)) {
        Ok(dmabuf) => dmabuf,
        Err(err) => {
            // SAFETY: The reference taken above, not handed to any dma-buf.
            unsafe { bindings::dmabuf_rs_buf_module_put(info.owner) };
            err.to_ptr()
        }
    }
}

/// The export info of a [`dma_buf_export`] call that passed its checks, with
/// the module reference taken.
///
/// # Invariants
///
/// The info keeps the promises of [`dma_buf_export`]'s caller, its ops have
/// every callback a dma-buf needs, and a reference to its `owner` is held
/// for the dma-buf to be made.
struct Checked<'a>(&'a dma_buf_export_info);

/// The part of [`dma_buf_export`] after the checks and the module reference:
/// the file, the struct and its reservation object, the sysfs statistics.
///
/// On success the dma-buf owns the module reference; on error the caller
/// still does, and everything else is undone.
fn create(Checked(info): Checked<'_>) -> Result<*mut dma_buf, Error> {
    let file = fs::getfile(info.size, info.flags)?;

    let resv = info.resv;
    // With its own reservation object the dma-buf is one byte longer, so that
    // `&dmabuf[1]` is never `dmabuf->resv` (which tells the release what to free).
    // Both sizes are constants, so the allocation skips the size-class lookup.
    // Exporters call this in process context, as with C.
    let dmabuf: *mut dma_buf = if resv.is_null() {
        sys::kzalloc_fixed::<_, { size_of::<dma_buf>() + size_of::<dma_resv>() }>()
    } else {
        sys::kzalloc_fixed::<_, { size_of::<dma_buf>() + 1 }>()
    };
    if dmabuf.is_null() {
        // Dropping the file, with no dma-buf, releases nothing.
        return Err(ENOMEM);
    }

    // SAFETY: The dma-buf is new, zeroed and ours; nothing else can see it
    // yet. The info's pointers are valid for the dma-buf's life (invariant
    // of `Checked`). An embedded reservation object fits in the allocation,
    // right after the struct, and is suitably aligned (the struct's size is a
    // multiple of its 8-byte alignment, which is the object's too).
    unsafe {
        (*dmabuf).priv_ = info.priv_;
        (*dmabuf).ops = info.ops;
        (*dmabuf).size = info.size;
        (*dmabuf).exp_name = info.exp_name;
        (*dmabuf).owner = info.owner;
        bindings::dmabuf_rs_buf_name_lock_init(dmabuf);
        let poll = addr_of_mut!((*dmabuf).poll);
        sys::init_waitqueue_head(poll, c"&dmabuf->poll", &POLL_CLASS);
        (*dmabuf).cb_in.poll = poll;
        (*dmabuf).cb_out.poll = poll;
        (*dmabuf).cb_in.active = 0;
        (*dmabuf).cb_out.active = 0;
        sys::init_list_head(addr_of_mut!((*dmabuf).attachments));

        if resv.is_null() {
            (*dmabuf).resv = embedded_resv(dmabuf);
            crate::resv::dma_resv_init((*dmabuf).resv);
        } else {
            (*dmabuf).resv = resv;
        }
    }

    // SAFETY: The dma-buf is set up, and the file its own.
    let ret = unsafe { bindings::dmabuf_rs_buf_stats_setup(dmabuf, file.as_ptr()) };
    if ret != 0 {
        // SAFETY: The dma-buf is still ours alone; its file does not point to
        // it yet, so dropping the file (on return) releases nothing of it.
        unsafe {
            if resv.is_null() {
                crate::resv::dma_resv_fini((*dmabuf).resv);
            }
            bindings::kfree(dmabuf.cast());
        }
        return Err(Error::from_errno(ret));
    }

    // The file's reference becomes the dma-buf's (the caller's).
    let file = file.into_raw();
    // SAFETY: The file is ours and in no descriptor table yet; from here the
    // dentry's release frees the dma-buf.
    unsafe {
        (*file).private_data = dmabuf.cast();
        (*(*file).f_path.dentry).d_fsdata = dmabuf.cast();
        (*dmabuf).file = file;
        list::debugfs_list_add(dmabuf);
    }
    Ok(dmabuf)
}

/// Installs the dma-buf's file at a new file descriptor of the current task,
/// opened with `flags` (`O_CLOEXEC` is the one that matters), and returns the
/// descriptor, or `-EINVAL` for a NULL dma-buf or one without a file, or the
/// error of `get_unused_fd_flags`.
///
/// The descriptor takes over the caller's reference to the dma-buf.
///
/// # Safety
///
/// `dmabuf` must be NULL or a live dma-buf whose reference the caller owns.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_buf_fd(dmabuf: *mut dma_buf, flags: c_int) -> c_int {
    let file = if dmabuf.is_null() {
        None
    } else {
        // SAFETY: Not NULL, so live (caller); `file` is set at export.
        NonNull::new(unsafe { (*dmabuf).file })
    };
    let Some(file) = file else {
        return EINVAL.to_errno();
    };
    // As in C, the int flags convert to unsigned.
    let fd = match UnusedFd::new(flags as c_uint) {
        Ok(fd) => fd,
        Err(ret) => return ret,
    };
    let number = fd.number();
    // SAFETY: The caller gives the descriptor its reference to the file.
    fd.install(unsafe { FileRef::from_raw(file) });
    number
}

/// Returns the dma-buf of the current task's file descriptor `fd`, with a new
/// reference (to its file), or an `ERR_PTR`: `-EBADF` if `fd` is not open,
/// `-EINVAL` if it is not a dma-buf.
///
/// The caller drops the reference with [`dma_buf_put`].
#[no_mangle]
pub(crate) extern "C" fn dma_buf_get(fd: c_int) -> *mut dma_buf {
    let Some(file) = FileRef::fget(fd) else {
        return EBADF.to_ptr();
    };
    if !is_dma_buf_file(&file) {
        return EINVAL.to_ptr();
    }
    // A dma-buf file in a descriptor table was fully exported: its private
    // data is its dma-buf, which our reference (now the caller's) keeps alive.
    let dmabuf = private_dmabuf(&file);
    let _ = file.into_raw();
    dmabuf
}

/// Drops a reference to a dma-buf (`fput` of its file); the last one
/// releases it. Warns and does nothing for NULL or a dma-buf without a file.
///
/// # Safety
///
/// `dmabuf` must be NULL or a live dma-buf whose reference the caller owns
/// and gives up.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_buf_put(dmabuf: *mut dma_buf) {
    // SAFETY: NULL or live (caller).
    if dmabuf.is_null() || unsafe { (*dmabuf).file }.is_null() {
        sys::warn();
        return;
    }
    // SAFETY: The caller gives up its reference to the file.
    unsafe { bindings::fput((*dmabuf).file) };
}

c_abi!(dma_buf_export, dma_buf_fd, dma_buf_get, dma_buf_put);
