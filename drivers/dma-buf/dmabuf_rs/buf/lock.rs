// SPDX-License-Identifier: GPL-2.0-only

//! The locks of a dma-buf as guards: its reservation object's ww_mutex
//! (`dma_resv_lock()` without an acquire context) and its `name_lock`.
//!
//! Both are the C core's own locks, taken through the same kernel functions,
//! so lockdep sees the same classes and the same order (the reservation lock
//! outside, `name_lock` inside, as in debugfs `bufinfo`).

use crate::resv::Held;
use crate::sys::{CStrPtr, KString, SpinGuard, SpinLock};
use core::ptr::{self, addr_of_mut};
use kernel::bindings;
use kernel::dma_buf::buf::DmaBuf;
use kernel::dma_buf::resv::Resv;
#[cfg(CONFIG_DEBUG_FS)]
use kernel::ffi::c_int;

/// A reservation object locked without an acquire context, unlocked on drop
/// (`dma_resv_lock(obj, NULL)` ... `dma_resv_unlock(obj)`).
///
/// # Invariants
///
/// This guard holds the lock of `self.0`.
pub(crate) struct ResvGuard<'a>(&'a Resv);

impl<'a> ResvGuard<'a> {
    /// `dma_resv_lock(obj, NULL)`: sleeps until the lock is ours (forever,
    /// as in C, if the current task holds it already).
    pub(crate) fn lock(obj: &'a Resv) -> Self {
        // SAFETY: `obj` is initialised, so is its ww_mutex. Without a context
        // the lock cannot fail with -EDEADLK or -EALREADY: it returns 0,
        // which C ignores too.
        unsafe { bindings::ww_mutex_lock(addr_of_mut!((*obj.as_raw()).lock), ptr::null_mut()) };
        // INVARIANT: The lock was just taken.
        Self(obj)
    }

    /// `dma_resv_lock_interruptible(obj, NULL)`: as [`ResvGuard::lock`], but
    /// gives up with `-EINTR` when a signal is pending.
    // Only debugfs bufinfo takes the lock interruptibly.
    #[cfg(CONFIG_DEBUG_FS)]
    pub(crate) fn lock_interruptible(obj: &'a Resv) -> Result<Self, c_int> {
        // SAFETY: As in `lock`.
        let ret = unsafe {
            bindings::ww_mutex_lock_interruptible(
                addr_of_mut!((*obj.as_raw()).lock),
                ptr::null_mut(),
            )
        };
        if ret != 0 {
            return Err(ret);
        }
        // INVARIANT: The lock was just taken.
        Ok(Self(obj))
    }

    /// The proof that the lock is held, for the locked functions.
    ///
    /// Borrows the guard mutably: one proof at a time, so that the fence
    /// list cannot be reached through two proofs at once (a slot replaced
    /// through one while a fence borrowed through the other is in use).
    #[inline]
    pub(crate) fn held(&mut self) -> Held<'_> {
        // SAFETY: This guard holds the lock (type invariant) for as long as
        // the proof borrows it.
        unsafe { Held::assume(self.0) }
    }
}

impl Drop for ResvGuard<'_> {
    fn drop(&mut self) {
        // `dma_resv_unlock()` first forgets the reserved fence count
        // (`dma_resv_reset_max_fences`, CONFIG_DEBUG_MUTEXES), then unlocks.
        #[cfg(CONFIG_DEBUG_MUTEXES)]
        if let Some(mut list) = self.held().list() {
            list.reset_max_fences();
        }
        // SAFETY: By the type invariant the object is initialised and locked
        // by us.
        unsafe { bindings::ww_mutex_unlock(addr_of_mut!((*self.0.as_raw()).lock)) };
    }
}

/// The `name_lock` of a dma-buf, held; released on drop.
///
/// # Invariants
///
/// `_lock` holds the `name_lock` of `dmabuf`.
pub(crate) struct NameGuard<'a> {
    dmabuf: &'a DmaBuf,
    _lock: SpinGuard<'a>,
}

impl<'a> NameGuard<'a> {
    /// `spin_lock(&dmabuf->name_lock)`.
    pub(crate) fn lock(dmabuf: &'a DmaBuf) -> Self {
        // INVARIANT: The lock of this dma-buf.
        Self {
            dmabuf,
            _lock: name_lock(dmabuf).lock(),
        }
    }

    /// The dma-buf's name, which the lock keeps from being replaced or freed
    /// (NULL if it has none).
    pub(crate) fn name(&self) -> Option<CStrPtr<'_>> {
        // SAFETY: The dma-buf is live and its name lock held (type
        // invariant), under which the name is written.
        let name = unsafe { (*self.dmabuf.as_raw()).name };
        if name.is_null() {
            return None;
        }
        // SAFETY: A dma-buf's name is a kmalloc'ed string, replaced or freed
        // only under the name lock, which is held while `self` is borrowed.
        Some(unsafe { CStrPtr::from_ptr(name) })
    }

    /// Frees the dma-buf's name and gives it `name` instead, under the lock.
    pub(crate) fn replace_name(&mut self, name: KString) {
        // SAFETY: The dma-buf is live and we hold its name lock (type
        // invariant); its name is NULL or a `kmalloc`ed string owned by it
        // (kfree takes NULL), which nobody reads without the lock; it owns
        // the new one from here.
        unsafe {
            let raw = self.dmabuf.as_raw();
            bindings::kfree((*raw).name.cast());
            (*raw).name = name.into_raw();
        }
    }
}

/// The dma-buf's `name_lock`.
fn name_lock(dmabuf: &DmaBuf) -> &SpinLock {
    // SAFETY: An exported dma-buf's name lock is initialised (at export) and
    // lives as long as the dma-buf.
    unsafe { &*addr_of_mut!((*dmabuf.as_raw()).name_lock).cast::<SpinLock>() }
}
