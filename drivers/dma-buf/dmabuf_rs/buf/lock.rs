// SPDX-License-Identifier: GPL-2.0-only

//! The locks of a dma-buf as guards: its reservation object's ww_mutex
//! (`dma_resv_lock()` without an acquire context) and its `name_lock`.
//!
//! Both are the C core's own locks, taken through the same kernel functions,
//! so lockdep sees the same classes and the same order (the reservation lock
//! outside, `name_lock` inside, as in debugfs `bufinfo`).

use core::ptr::{self, addr_of_mut};
use kernel::bindings::{self, dma_buf, dma_resv};
#[cfg(CONFIG_DEBUG_FS)]
use kernel::ffi::c_int;

/// A reservation object locked without an acquire context, unlocked on drop
/// (`dma_resv_lock(obj, NULL)` ... `dma_resv_unlock(obj)`).
///
/// # Invariants
///
/// `self.0` is an initialised reservation object whose lock this guard holds.
pub(crate) struct ResvGuard(*mut dma_resv);

impl ResvGuard {
    /// `dma_resv_lock(obj, NULL)`: sleeps until the lock is ours.
    ///
    /// # Safety
    ///
    /// `obj` must be an initialised reservation object that outlives the
    /// guard, not locked by the current task.
    pub(crate) unsafe fn lock(obj: *mut dma_resv) -> Self {
        // SAFETY: `obj` is initialised (caller), so is its ww_mutex. Without
        // a context the lock cannot fail with -EDEADLK or -EALREADY: it
        // returns 0, which C ignores too.
        unsafe { bindings::ww_mutex_lock(addr_of_mut!((*obj).lock), ptr::null_mut()) };
        // INVARIANT: The lock was just taken.
        Self(obj)
    }

    /// `dma_resv_lock_interruptible(obj, NULL)`: as [`ResvGuard::lock`], but
    /// gives up with `-EINTR` when a signal is pending.
    ///
    /// # Safety
    ///
    /// As [`ResvGuard::lock`].
    // Only debugfs bufinfo takes the lock interruptibly.
    #[cfg(CONFIG_DEBUG_FS)]
    pub(crate) unsafe fn lock_interruptible(obj: *mut dma_resv) -> Result<Self, c_int> {
        // SAFETY: As in `lock`.
        let ret = unsafe {
            bindings::ww_mutex_lock_interruptible(addr_of_mut!((*obj).lock), ptr::null_mut())
        };
        if ret != 0 {
            return Err(ret);
        }
        // INVARIANT: The lock was just taken.
        Ok(Self(obj))
    }
}

impl Drop for ResvGuard {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the object is initialised and locked
        // by us; `dma_resv_unlock()` first forgets the reserved fence count
        // (CONFIG_DEBUG_MUTEXES), then unlocks.
        unsafe {
            #[cfg(CONFIG_DEBUG_MUTEXES)]
            crate::resv::dma_resv_reset_max_fences(self.0);
            bindings::ww_mutex_unlock(addr_of_mut!((*self.0).lock));
        }
    }
}

/// The `name_lock` of a dma-buf, held; released on drop.
///
/// # Invariants
///
/// `self.0` is a live dma-buf whose `name_lock` this guard holds.
pub(crate) struct NameGuard(*mut dma_buf);

impl NameGuard {
    /// `spin_lock(&dmabuf->name_lock)`.
    ///
    /// # Safety
    ///
    /// `dmabuf` must be a live, exported dma-buf that outlives the guard.
    pub(crate) unsafe fn lock(dmabuf: *mut dma_buf) -> Self {
        // SAFETY: An exported dma-buf's name lock is initialised (caller).
        unsafe { crate::sys::spin_lock(addr_of_mut!((*dmabuf).name_lock)) };
        // INVARIANT: The lock was just taken.
        Self(dmabuf)
    }

    /// The dma-buf's name, which the lock keeps from being replaced or freed
    /// (NULL if it has none).
    pub(crate) fn name(&self) -> *const kernel::ffi::c_char {
        // SAFETY: By the type invariant the dma-buf is live and its name
        // lock held, under which the name is written.
        unsafe { (*self.0).name }
    }

    /// Frees the dma-buf's name and gives it `name` instead, under the lock.
    ///
    /// # Safety
    ///
    /// `name` must be NULL or a `kmalloc`ed string that the dma-buf then owns.
    pub(crate) unsafe fn replace_name(&mut self, name: *const kernel::ffi::c_char) {
        // SAFETY: By the type invariant the dma-buf is live and we hold its
        // name lock; its name is NULL or owned by it (kfree takes NULL), and
        // nobody can be reading it without the lock.
        unsafe {
            bindings::kfree((*self.0).name.cast());
            (*self.0).name = name;
        }
    }
}

impl Drop for NameGuard {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we hold the lock.
        unsafe { crate::sys::spin_unlock(addr_of_mut!((*self.0).name_lock)) };
    }
}
