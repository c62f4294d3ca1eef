// SPDX-License-Identifier: GPL-2.0-only

//! The list of every exported dma-buf, for debugfs `bufinfo`.
//!
//! A dma-buf joins the list at the end of its export and leaves it when its
//! file is released. The list head and its mutex (lockdep class
//! `debugfs_list_mutex`, as in C) are static objects of the C shims; without
//! CONFIG_DEBUG_FS there is no list (nor a `list_node` in `struct dma_buf`),
//! and adding and removing do nothing.

use kernel::bindings::dma_buf;
#[cfg(CONFIG_DEBUG_FS)]
use kernel::bindings::{self, list_head, mutex};
#[cfg(CONFIG_DEBUG_FS)]
use kernel::dma_buf::buf::DmaBuf;
#[cfg(CONFIG_DEBUG_FS)]
use {core::ptr::addr_of_mut, kernel::ffi::c_int};

/// The mutex of the list.
#[cfg(CONFIG_DEBUG_FS)]
fn list_mutex() -> *mut mutex {
    // SAFETY: A constant pointer to a static mutex, set by the C initialiser.
    unsafe { bindings::dmabuf_rs_buf_debugfs_list_mutex }
}

/// The list of dma-bufs, held; the mutex is released on drop.
///
/// # Invariants
///
/// This guard holds the list's mutex.
#[cfg(CONFIG_DEBUG_FS)]
pub(super) struct ListGuard(());

#[cfg(CONFIG_DEBUG_FS)]
impl ListGuard {
    /// `mutex_lock(&debugfs_list_mutex)`.
    fn lock() -> Self {
        // SAFETY: The mutex is static and statically initialised.
        unsafe { bindings::mutex_lock(list_mutex()) };
        // INVARIANT: The mutex was just taken.
        Self(())
    }

    /// `mutex_lock_interruptible(&debugfs_list_mutex)`: gives up with
    /// `-EINTR` when a signal is pending.
    pub(super) fn lock_interruptible() -> Result<Self, c_int> {
        // SAFETY: The mutex is static and statically initialised.
        let ret = unsafe { bindings::dmabuf_rs_buf_mutex_lock_interruptible(list_mutex()) };
        if ret != 0 {
            return Err(ret);
        }
        // INVARIANT: The mutex was just taken.
        Ok(Self(()))
    }

    /// The head of the list, whose entries are the `list_node`s of live
    /// dma-bufs while the guard is held.
    fn head(&self) -> *mut list_head {
        // SAFETY: A constant pointer to a static list head.
        unsafe { bindings::dmabuf_rs_buf_debugfs_list }
    }

    /// The dma-bufs on the list, newest first.
    pub(super) fn dmabufs(&self) -> impl Iterator<Item = &DmaBuf> + '_ {
        // SAFETY: The list is only changed under the mutex, which we hold for
        // as long as `self` is borrowed.
        let entries = unsafe { crate::sys::Entries::new(self.head()) };
        entries.map(|node| {
            // SAFETY: The entries are the `list_node`s of live dma-bufs, which
            // cannot leave the list (their file release waits for the mutex)
            // while we hold it.
            unsafe {
                DmaBuf::from_raw(
                    kernel::container_of!(node.as_ptr(), dma_buf, list_node).cast_mut(),
                )
            }
        })
    }
}

#[cfg(CONFIG_DEBUG_FS)]
impl Drop for ListGuard {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we hold the mutex.
        unsafe { bindings::mutex_unlock(list_mutex()) };
    }
}

/// Puts a newly exported dma-buf on the list (`__dma_buf_debugfs_list_add()`).
///
/// # Safety
///
/// `dmabuf` must be live and on no list; it must leave the list (through
/// [`debugfs_list_del`]) before it is freed.
pub(super) unsafe fn debugfs_list_add(dmabuf: *mut dma_buf) {
    #[cfg(CONFIG_DEBUG_FS)]
    {
        let guard = ListGuard::lock();
        // SAFETY: The dma-buf is live and on no list (caller); the list is
        // only changed under the mutex, which we hold.
        unsafe { crate::sys::list_add(addr_of_mut!((*dmabuf).list_node), guard.head()) };
    }
    #[cfg(not(CONFIG_DEBUG_FS))]
    let _ = dmabuf;
}

/// Takes a dma-buf off the list (`__dma_buf_debugfs_list_del()`); NULL is
/// allowed (a file whose export failed).
///
/// # Safety
///
/// `dmabuf` must be NULL or a live dma-buf on the list.
pub(super) unsafe fn debugfs_list_del(dmabuf: *mut dma_buf) {
    #[cfg(CONFIG_DEBUG_FS)]
    {
        if dmabuf.is_null() {
            return;
        }
        let _guard = ListGuard::lock();
        // SAFETY: The dma-buf is live and on the list (caller), which is only
        // changed under the mutex, which we hold.
        unsafe { crate::sys::list_del(addr_of_mut!((*dmabuf).list_node)) };
    }
    #[cfg(not(CONFIG_DEBUG_FS))]
    let _ = dmabuf;
}
