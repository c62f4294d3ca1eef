// SPDX-License-Identifier: GPL-2.0-only

//! The kernel's `spinlock_t`, borrowed: [`SpinLock`], with guards that
//! unlock on drop.
//!
//! The locks the core takes belong to C structs (a fence's `lock`, a
//! dma-buf's `name_lock`, a wait queue's `lock`) or are C statics, so the
//! type is a view of one that C initialised, never a Rust-owned lock. Taking
//! a lock needs nothing but an initialised lock (a deadlock is a bug, not
//! undefined behaviour); releasing one needs it held, which the guards
//! carry. A guard that keeps something other than the lock (the fence lock
//! guard keeps the fence) takes the lock with [`SpinLock::raw_lock_irqsave`]
//! and releases it with the `unsafe` unlock that names that rule.
//!
//! `spin_lock_irqsave()` is a macro over the out-of-line
//! `_raw_spin_lock_irqsave()` on SMP (or spinlock-debugging) kernels that
//! neither inline it nor use RT's sleeping spinlocks; the same holds for the
//! unlock, and for `spin_lock()` and `spin_unlock()` (whose unlock is out of
//! line with UNINLINE_SPIN_UNLOCK). There the core calls the kernel's
//! function itself: a shim would only add a call, and would make lockdep name
//! the shim, not the core, as the lock's acquirer. Elsewhere the macro is
//! only reachable through a C helper: the kernel crate's for `spin_lock`,
//! `spin_unlock` and the irqsave pair (`rust/helpers/irq.c`), the core's
//! (`dmabuf_rs_spin_lock_irq`, `dmabuf_rs_spin_unlock_irq`) for the others.

use kernel::bindings;
use kernel::ffi::c_ulong;
use kernel::types::Opaque;

/// An initialised kernel spinlock.
///
/// Made from the owner's pointer by the owner's typed accessor
/// (`&*ptr.cast::<SpinLock>()`), which names why the lock is initialised and
/// lives as long as the borrow.
///
/// # Invariants
///
/// The lock is initialised and stays so for the lifetime of the borrow.
#[repr(transparent)]
pub(crate) struct SpinLock(Opaque<bindings::spinlock_t>);

impl SpinLock {
    /// The C pointer, for the C API.
    #[inline]
    pub(crate) fn as_ptr(&self) -> *mut bindings::spinlock_t {
        self.0.get()
    }

    /// `spin_lock_irqsave`: takes the lock with interrupts off, released
    /// when the guard drops.
    #[inline]
    pub(crate) fn lock_irqsave(&self) -> IrqSaveGuard<'_> {
        let flags = self.raw_lock_irqsave();
        // INVARIANT: The lock was just taken, with the saved flags.
        IrqSaveGuard { lock: self, flags }
    }

    /// `spin_lock`: takes the lock (interrupts as they are), released when
    /// the guard drops.
    #[inline]
    pub(crate) fn lock(&self) -> SpinGuard<'_> {
        #[cfg(all(
            any(CONFIG_SMP, CONFIG_DEBUG_SPINLOCK),
            not(CONFIG_PREEMPT_RT),
            not(CONFIG_INLINE_SPIN_LOCK)
        ))]
        // SAFETY: As in `raw_lock_irqsave`: `rlock` at offset 0; the lock is
        // initialised (type invariant).
        unsafe {
            bindings::_raw_spin_lock(self.as_ptr().cast())
        };
        #[cfg(not(all(
            any(CONFIG_SMP, CONFIG_DEBUG_SPINLOCK),
            not(CONFIG_PREEMPT_RT),
            not(CONFIG_INLINE_SPIN_LOCK)
        )))]
        // SAFETY: The lock is initialised (type invariant).
        unsafe {
            bindings::spin_lock(self.as_ptr())
        };
        // INVARIANT: The lock was just taken.
        SpinGuard { lock: self }
    }

    /// `spin_lock_irqsave` for a guard of the caller's own, which releases
    /// the lock with [`SpinLock::unlock_irqrestore`] and these flags.
    #[inline]
    pub(crate) fn raw_lock_irqsave(&self) -> c_ulong {
        #[cfg(all(
            any(CONFIG_SMP, CONFIG_DEBUG_SPINLOCK),
            not(CONFIG_PREEMPT_RT),
            not(CONFIG_INLINE_SPIN_LOCK_IRQSAVE)
        ))]
        // SAFETY: The lock is initialised (type invariant). Without
        // PREEMPT_RT a `spinlock_t` is a union whose `rlock` member, at
        // offset 0, is the `raw_spinlock_t` that the macro passes on (bindgen
        // makes the type opaque, so the cast stands for `&lock->rlock`).
        let flags = unsafe { bindings::_raw_spin_lock_irqsave(self.as_ptr().cast()) };
        #[cfg(not(all(
            any(CONFIG_SMP, CONFIG_DEBUG_SPINLOCK),
            not(CONFIG_PREEMPT_RT),
            not(CONFIG_INLINE_SPIN_LOCK_IRQSAVE)
        )))]
        // SAFETY: The lock is initialised (type invariant).
        let flags = unsafe { bindings::spin_lock_irqsave(self.as_ptr()) };
        flags
    }

    /// `spin_unlock_irqrestore`: releases the lock, restoring `flags`.
    ///
    /// # Safety
    ///
    /// The caller holds the lock, taken by [`SpinLock::raw_lock_irqsave`]
    /// that returned `flags`, and gives up that hold here.
    #[inline]
    pub(crate) unsafe fn unlock_irqrestore(&self, flags: c_ulong) {
        #[cfg(all(
            any(CONFIG_SMP, CONFIG_DEBUG_SPINLOCK),
            not(CONFIG_PREEMPT_RT),
            not(CONFIG_INLINE_SPIN_UNLOCK_IRQRESTORE)
        ))]
        // SAFETY: As in `raw_lock_irqsave`; the caller holds the lock.
        unsafe {
            bindings::_raw_spin_unlock_irqrestore(self.as_ptr().cast(), flags)
        };
        #[cfg(not(all(
            any(CONFIG_SMP, CONFIG_DEBUG_SPINLOCK),
            not(CONFIG_PREEMPT_RT),
            not(CONFIG_INLINE_SPIN_UNLOCK_IRQRESTORE)
        )))]
        // SAFETY: The caller holds the lock.
        unsafe {
            bindings::spin_unlock_irqrestore(self.as_ptr(), flags)
        };
    }

    /// `spin_lock_irq`: takes the lock with interrupts off (and on again
    /// when the guard drops), for a lock also taken from interrupt context
    /// by code that never runs with interrupts off.
    #[inline]
    pub(crate) fn lock_irq(&self) -> IrqGuard<'_> {
        #[cfg(all(
            any(CONFIG_SMP, CONFIG_DEBUG_SPINLOCK),
            not(CONFIG_PREEMPT_RT),
            not(CONFIG_INLINE_SPIN_LOCK_IRQ)
        ))]
        // SAFETY: As in `raw_lock_irqsave`: `rlock` at offset 0; the lock is
        // initialised (type invariant).
        unsafe {
            bindings::_raw_spin_lock_irq(self.as_ptr().cast())
        };
        #[cfg(not(all(
            any(CONFIG_SMP, CONFIG_DEBUG_SPINLOCK),
            not(CONFIG_PREEMPT_RT),
            not(CONFIG_INLINE_SPIN_LOCK_IRQ)
        )))]
        // SAFETY: The lock is initialised (type invariant).
        unsafe {
            bindings::dmabuf_rs_spin_lock_irq(self.as_ptr())
        };
        // INVARIANT: The lock was just taken, interrupts off.
        IrqGuard { lock: self }
    }

    /// `lockdep_assert_held`: a lockdep splat unless the caller holds the
    /// lock; nothing (and no call) without lockdep.
    #[inline]
    pub(crate) fn assert_held(&self) {
        #[cfg(CONFIG_LOCKDEP)]
        // SAFETY: The lock is initialised (type invariant).
        unsafe {
            bindings::dmabuf_rs_lockdep_assert_held(self.as_ptr())
        };
    }
}

/// A [`SpinLock`] held with interrupts off, released on drop.
///
/// # Invariants
///
/// `lock` is held by this guard, taken with interrupts saved in `flags`.
pub(crate) struct IrqSaveGuard<'a> {
    lock: &'a SpinLock,
    flags: c_ulong,
}

impl Drop for IrqSaveGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: By the type invariant the lock is held by us, with `flags`.
        unsafe { self.lock.unlock_irqrestore(self.flags) };
    }
}

/// A [`SpinLock`] held with interrupts off by `spin_lock_irq`, released
/// (and interrupts on) on drop.
///
/// # Invariants
///
/// `lock` is held by this guard, taken by [`SpinLock::lock_irq`].
pub(crate) struct IrqGuard<'a> {
    lock: &'a SpinLock,
}

impl Drop for IrqGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        #[cfg(all(
            any(CONFIG_SMP, CONFIG_DEBUG_SPINLOCK),
            not(CONFIG_PREEMPT_RT),
            not(CONFIG_INLINE_SPIN_UNLOCK_IRQ)
        ))]
        // SAFETY: By the type invariant the lock is held by us, taken with
        // `spin_lock_irq`; `rlock` at offset 0 as in `raw_lock_irqsave`.
        unsafe {
            bindings::_raw_spin_unlock_irq(self.lock.as_ptr().cast())
        };
        #[cfg(not(all(
            any(CONFIG_SMP, CONFIG_DEBUG_SPINLOCK),
            not(CONFIG_PREEMPT_RT),
            not(CONFIG_INLINE_SPIN_UNLOCK_IRQ)
        )))]
        // SAFETY: By the type invariant the lock is held by us, taken with
        // `spin_lock_irq`.
        unsafe {
            bindings::dmabuf_rs_spin_unlock_irq(self.lock.as_ptr())
        };
    }
}

/// A [`SpinLock`] held (interrupts as they were), released on drop.
///
/// # Invariants
///
/// `lock` is held by this guard.
pub(crate) struct SpinGuard<'a> {
    lock: &'a SpinLock,
}

impl Drop for SpinGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        #[cfg(all(
            any(CONFIG_SMP, CONFIG_DEBUG_SPINLOCK),
            not(CONFIG_PREEMPT_RT),
            CONFIG_UNINLINE_SPIN_UNLOCK
        ))]
        // SAFETY: By the type invariant the lock is held by us; `rlock` at
        // offset 0 as in `raw_lock_irqsave`.
        unsafe {
            bindings::_raw_spin_unlock(self.lock.as_ptr().cast())
        };
        #[cfg(not(all(
            any(CONFIG_SMP, CONFIG_DEBUG_SPINLOCK),
            not(CONFIG_PREEMPT_RT),
            CONFIG_UNINLINE_SPIN_UNLOCK
        )))]
        // SAFETY: By the type invariant the lock is held by us.
        unsafe {
            bindings::spin_unlock(self.lock.as_ptr())
        };
    }
}
