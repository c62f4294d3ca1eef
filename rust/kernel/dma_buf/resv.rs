// SPDX-License-Identifier: GPL-2.0

//! Reservation objects: the fences of a shared buffer, with their usage.
//!
//! The rules of `struct dma_resv` are types here:
//!
//! - the lock is a guard ([`ResvGuard`]); anything that needs the lock takes
//!   the guard, so "locked" is checked by the compiler, not by a comment;
//! - several objects are locked with one acquire context ([`lock_all`]),
//!   which does the `-EDEADLK` back-off for the caller;
//! - a fence is added only through a [`Slot`] reserved beforehand through
//!   the same guard, and adding consumes the slot: the C core's `BUG()` on
//!   a missing slot cannot be reached, and the reserve step (which may
//!   allocate and fail) comes before the point of no return;
//! - usages are an enum ([`Usage`]).
//!
//! C header: [`include/linux/dma-resv.h`](srctree/include/linux/dma-resv.h).

use super::fence::{etime, Fence};
use crate::{
    alloc::{flags::GFP_KERNEL, KBox, KVec},
    bindings,
    error::{code::*, to_result, Error, Result},
    time::Jiffies,
    types::{ARef, Opaque},
};
use core::{cell::Cell, marker::PhantomData, ptr::NonNull};

/// How a fence uses the buffer (`enum dma_resv_usage`), from the most to the
/// least restrictive. Asking for a usage includes every usage before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u32)]
pub enum Usage {
    /// Kernel-internal work (moves, clears) that everyone waits for.
    Kernel = bindings::dma_resv_usage_DMA_RESV_USAGE_KERNEL,
    /// Implicitly synchronised writes.
    Write = bindings::dma_resv_usage_DMA_RESV_USAGE_WRITE,
    /// Implicitly synchronised reads.
    Read = bindings::dma_resv_usage_DMA_RESV_USAGE_READ,
    /// Explicitly synchronised work that only memory management waits for.
    Bookkeep = bindings::dma_resv_usage_DMA_RESV_USAGE_BOOKKEEP,
}

impl Usage {
    /// The usage to wait for before reading (`false`) or writing (`true`) the
    /// buffer (`dma_resv_usage_rw`): readers wait for writers, writers for
    /// everyone.
    pub fn for_access(write: bool) -> Self {
        if write {
            Usage::Read
        } else {
            Usage::Write
        }
    }

    fn from_raw(raw: bindings::dma_resv_usage) -> Self {
        match raw {
            bindings::dma_resv_usage_DMA_RESV_USAGE_KERNEL => Usage::Kernel,
            bindings::dma_resv_usage_DMA_RESV_USAGE_WRITE => Usage::Write,
            bindings::dma_resv_usage_DMA_RESV_USAGE_READ => Usage::Read,
            _ => Usage::Bookkeep,
        }
    }
}

/// A reservation object (`struct dma_resv`).
///
/// # Invariants
///
/// The inner `struct dma_resv` is initialised and stays so while borrowed.
#[repr(transparent)]
pub struct Resv(Opaque<bindings::dma_resv>);

// SAFETY: The C object is designed for use from any thread: its lock and RCU
// protect every state change.
unsafe impl Send for Resv {}
// SAFETY: As above.
unsafe impl Sync for Resv {}

impl Resv {
    /// Borrows a reservation object from a pointer.
    ///
    /// # Safety
    ///
    /// `ptr` points to an initialised `struct dma_resv` that stays so for `'a`.
    #[inline]
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::dma_resv) -> &'a Self {
        // SAFETY: `repr(transparent)`, and the caller vouches for the lifetime.
        unsafe { &*ptr.cast() }
    }

    /// Returns the C pointer.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::dma_resv {
        self.0.get()
    }

    /// Takes the lock, sleeping uninterruptibly until it is free.
    pub fn lock(&self) -> ResvGuard<'_> {
        // SAFETY: The object is initialised (type invariant); without an
        // acquire context the lock cannot fail.
        unsafe { bindings::dma_resv_lock(self.as_raw(), core::ptr::null_mut()) };
        ResvGuard::new(self)
    }

    /// Takes the lock, or fails with `EINTR` if a signal arrives first.
    pub fn lock_interruptible(&self) -> Result<ResvGuard<'_>> {
        // SAFETY: As for `lock`.
        to_result(unsafe {
            bindings::dma_resv_lock_interruptible(self.as_raw(), core::ptr::null_mut())
        })?;
        Ok(ResvGuard::new(self))
    }

    /// Takes the lock if it is free.
    pub fn try_lock(&self) -> Option<ResvGuard<'_>> {
        // SAFETY: The object is initialised (type invariant).
        unsafe { bindings::dma_resv_trylock(self.as_raw()) }.then(|| ResvGuard::new(self))
    }

    /// Returns references to the fences of `usage` and before, read without
    /// the lock (`dma_resv_get_fences`, a consistent RCU snapshot).
    pub fn fences_unlocked(&self, usage: Usage) -> Result<KVec<ARef<Fence>>> {
        let mut num: u32 = 0;
        let mut list: *mut *mut bindings::dma_fence = core::ptr::null_mut();
        // SAFETY: The object is initialised; the outputs are valid pointers.
        to_result(unsafe {
            bindings::dma_resv_get_fences(self.as_raw(), usage as _, &mut num, &mut list)
        })?;
        let mut out = KVec::with_capacity(num as usize, GFP_KERNEL);
        for i in 0..num as usize {
            // SAFETY: `list` holds `num` fence references, now ours.
            let f = unsafe { Fence::from_raw_owned(NonNull::new_unchecked(*list.add(i))) };
            if let Ok(out) = &mut out {
                // Cannot fail: the capacity is there.
                let _ = out.push(f, GFP_KERNEL);
            }
        }
        // SAFETY: The array was allocated by the core with `kmalloc`.
        unsafe { bindings::kfree(list.cast()) };
        Ok(out?)
    }

    /// Returns whether every fence of `usage` and before has signalled.
    pub fn test_signaled(&self, usage: Usage) -> bool {
        // SAFETY: The object is initialised (type invariant).
        unsafe { bindings::dma_resv_test_signaled(self.as_raw(), usage as _) }
    }

    /// Waits until every fence of `usage` and before has signalled, or
    /// `timeout` jiffies pass: the jiffies left, [`etime()`] on timeout,
    /// `ERESTARTSYS` when interrupted.
    pub fn wait_timeout(&self, usage: Usage, intr: bool, timeout: Jiffies) -> Result<Jiffies> {
        let timeout = timeout.min(crate::ffi::c_long::MAX as Jiffies - 1) as _;
        // SAFETY: The object is initialised (type invariant).
        let ret =
            unsafe { bindings::dma_resv_wait_timeout(self.as_raw(), usage as _, intr, timeout) };
        match ret {
            0 => Err(etime()),
            r if r < 0 => Err(Error::from_errno(r as i32)),
            r => Ok(r as Jiffies),
        }
    }

    /// Waits with no time limit for the fences of `usage` and before.
    pub fn wait(&self, usage: Usage, intr: bool) -> Result {
        // SAFETY: The object is initialised (type invariant).
        let ret = unsafe {
            bindings::dma_resv_wait_timeout(
                self.as_raw(),
                usage as _,
                intr,
                crate::ffi::c_long::MAX as _,
            )
        };
        if ret < 0 {
            return Err(Error::from_errno(ret as i32));
        }
        Ok(())
    }
}

/// A reservation object owned by Rust (`dma_resv_init`/`dma_resv_fini`).
///
/// # Examples
///
/// ```
/// use kernel::{c_str, prelude::*, str::CStr};
/// use kernel::dma_buf::{fence::{FenceOps, Timeline}, resv::{OwnedResv, Usage}};
///
/// struct Job;
///
/// #[vtable]
/// impl FenceOps for Job {
///     const DRIVER_NAME: &'static CStr = c_str!("doctest");
///     fn timeline_name(&self) -> &CStr {
///         c_str!("doctest-resv")
///     }
/// }
///
/// let resv = OwnedResv::new()?;
/// let mut ring = Timeline::new();
/// let job = ring.new_fence(Job, GFP_KERNEL)?;
/// {
///     let mut guard = resv.lock();
///     let [slot] = guard.reserve()?;
///     slot.add(&job.fence(), Usage::Write);
///     assert_eq!(guard.fences(Usage::Write).count(), 1);
///     assert_eq!(guard.fences(Usage::Kernel).count(), 0);
/// }
/// assert!(!resv.test_signaled(Usage::Read));
/// assert!(resv.test_signaled(Usage::Kernel));
/// assert_eq!(resv.fences_unlocked(Usage::Read)?.len(), 1);
/// job.signal();
/// assert!(resv.test_signaled(Usage::Bookkeep));
/// // Unlocked snapshots leave signalled fences out.
/// assert_eq!(resv.fences_unlocked(Usage::Read)?.len(), 0);
/// # Ok::<(), Error>(())
/// ```
pub struct OwnedResv(KBox<Opaque<bindings::dma_resv>>);

impl OwnedResv {
    /// Allocates and initialises an empty reservation object.
    pub fn new() -> Result<Self> {
        let obj = KBox::new(Opaque::uninit(), GFP_KERNEL)?;
        // SAFETY: Fresh memory for a `dma_resv`, which stays at this address.
        unsafe { bindings::dma_resv_init(obj.get()) };
        Ok(Self(obj))
    }
}

impl core::ops::Deref for OwnedResv {
    type Target = Resv;

    fn deref(&self) -> &Resv {
        // SAFETY: Initialised in `new`, finished only in `drop`.
        unsafe { Resv::from_raw(self.0.get()) }
    }
}

impl Drop for OwnedResv {
    fn drop(&mut self) {
        // SAFETY: Nothing borrows the object any more (`&mut self`), so it is
        // unlocked; `fini` drops its fences.
        unsafe { bindings::dma_resv_fini(self.0.get()) };
    }
}

/// A held reservation lock; unlocks when dropped.
///
/// # Invariants
///
/// The caller's task holds `resv`'s lock for the guard's lifetime;
/// `reserved` counts the slots handed out and not yet used, all of which
/// `dma_resv_reserve_fences` has made room for.
pub struct ResvGuard<'a> {
    resv: &'a Resv,
    reserved: Cell<u32>,
    _not_send: PhantomData<*mut ()>,
}

impl<'a> ResvGuard<'a> {
    fn new(resv: &'a Resv) -> Self {
        Self {
            resv,
            reserved: Cell::new(0),
            _not_send: PhantomData,
        }
    }

    /// Returns the locked object.
    pub fn resv(&self) -> &'a Resv {
        self.resv
    }

    /// Reserves room for `N` more fences (`dma_resv_reserve_fences`), which
    /// may allocate; each [`Slot`] adds one fence.
    pub fn reserve<const N: usize>(&self) -> Result<[Slot<'_, 'a>; N]> {
        let total = self.reserved.get().checked_add(N as u32).ok_or(EINVAL)?;
        // SAFETY: The lock is held (type invariant).
        to_result(unsafe { bindings::dma_resv_reserve_fences(self.resv.as_raw(), total) })?;
        // INVARIANT: room for `total` outstanding slots now exists.
        self.reserved.set(total);
        Ok(core::array::from_fn(|_| Slot { guard: self }))
    }

    /// Iterates over the fences of `usage` and before, with their usage
    /// (`dma_resv_iter_first`/`next`). The guard is borrowed mutably, so no
    /// fence can be added while the list is walked.
    pub fn fences(&mut self, usage: Usage) -> LockedFences<'_> {
        // SAFETY: An all-zero cursor plus `obj` and `usage` is what
        // `dma_resv_iter_begin` makes.
        let mut cursor: bindings::dma_resv_iter = unsafe { core::mem::zeroed() };
        cursor.obj = self.resv.as_raw();
        cursor.usage = usage as _;
        LockedFences {
            cursor,
            started: false,
            _guard: PhantomData,
        }
    }
}

impl Drop for ResvGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: This task holds the lock (type invariant).
        unsafe { bindings::dma_resv_unlock(self.resv.as_raw()) };
    }
}

/// Room for one fence in a locked reservation object, reserved by
/// [`ResvGuard::reserve`]. Adding a fence consumes it; dropping it unused
/// just gives the room back.
pub struct Slot<'g, 'a> {
    guard: &'g ResvGuard<'a>,
}

impl Slot<'_, '_> {
    /// Adds `fence` with `usage` (`dma_resv_add_fence`); a fence of the same
    /// context already there with a usage no stronger is replaced. Never
    /// allocates, never fails.
    pub fn add(self, fence: &Fence, usage: Usage) {
        // SAFETY: The lock is held (the guard lives), and room for this slot
        // was reserved (guard invariant).
        unsafe {
            bindings::dma_resv_add_fence(self.guard.resv.as_raw(), fence.as_raw(), usage as _)
        };
        // `drop` gives back the count.
    }
}

impl Drop for Slot<'_, '_> {
    fn drop(&mut self) {
        // INVARIANT: this slot is no longer outstanding.
        self.guard.reserved.set(self.guard.reserved.get() - 1);
    }
}

/// Iterator over the fences of a locked reservation object (see
/// [`ResvGuard::fences`]).
pub struct LockedFences<'g> {
    cursor: bindings::dma_resv_iter,
    started: bool,
    _guard: PhantomData<&'g mut ()>,
}

impl<'g> Iterator for LockedFences<'g> {
    type Item = (&'g Fence, Usage);

    fn next(&mut self) -> Option<Self::Item> {
        // SAFETY: The lock is held for `'g` and the cursor was set up by
        // `fences`.
        let f = unsafe {
            if self.started {
                bindings::dma_resv_iter_next(&mut self.cursor)
            } else {
                self.started = true;
                bindings::dma_resv_iter_first(&mut self.cursor)
            }
        };
        let f = NonNull::new(f)?;
        // SAFETY: Under the lock the object keeps its fences alive, and no one
        // can change the list while the guard is mutably borrowed.
        Some((
            unsafe { Fence::from_raw(f.as_ptr()) },
            Usage::from_raw(self.cursor.fence_usage),
        ))
    }
}

/// The locks of several reservation objects, taken with one acquire context.
///
/// # Invariants
///
/// `ctx` is an initialised `ww_acquire_ctx` that every lock in `guards` was
/// taken with; it is finished after they are all released.
pub struct MultiGuard<'a> {
    guards: KVec<Option<ResvGuard<'a>>>,
    ctx: KBox<Opaque<bindings::ww_acquire_ctx>>,
}

/// Locks all of `objs` (`dma_resv_lock` with a `ww_acquire_ctx`), backing
/// off and retrying on `-EDEADLK` as the wound/wait protocol requires, so the
/// caller never sees it. An object given twice is locked once. Fails with
/// `EINTR` if `intr` and a signal arrives.
///
/// # Examples
///
/// ```
/// use kernel::dma_buf::resv::{lock_all, OwnedResv};
///
/// let a = OwnedResv::new()?;
/// let b = OwnedResv::new()?;
/// let mut locked = lock_all(&[&a, &b, &a], true)?;
/// assert!(locked.get(0).is_some() && locked.get(1).is_some());
/// assert!(locked.get(2).is_none()); // the same object as 0
/// assert!(a.try_lock().is_none());
/// drop(locked);
/// assert!(a.try_lock().is_some());
/// # Ok::<(), Error>(())
/// ```
pub fn lock_all<'a>(objs: &[&'a Resv], intr: bool) -> Result<MultiGuard<'a>> {
    let ctx = KBox::new(Opaque::<bindings::ww_acquire_ctx>::uninit(), GFP_KERNEL)?;
    // SAFETY: `ctx` is fresh memory at a stable address; the class is the
    // one every `dma_resv` lock belongs to.
    unsafe { bindings::ww_acquire_init(ctx.get(), &raw mut bindings::reservation_ww_class) };
    let mut multi = MultiGuard {
        guards: KVec::new(),
        ctx,
    };
    let ctxp = multi.ctx.get();
    // Declared after `multi`, so on an error return these locks are dropped
    // (released) before `multi` finishes the context.
    let mut guards: KVec<Option<ResvGuard<'a>>>;
    let mut contended: Option<usize> = None;
    'retry: loop {
        // Dropping the previous attempt's guards unlocks them.
        guards = KVec::with_capacity(objs.len(), GFP_KERNEL)?;
        for _ in objs {
            guards.push(None, GFP_KERNEL)?;
        }
        if let Some(c) = contended {
            let obj = objs[c].as_raw();
            // SAFETY: We hold no lock of this context now (all dropped
            // above), which is what the slow path needs.
            let ret = unsafe {
                if intr {
                    bindings::dma_resv_lock_slow_interruptible(obj, ctxp)
                } else {
                    bindings::dma_resv_lock_slow(obj, ctxp);
                    0
                }
            };
            to_result(ret)?;
            guards[c] = Some(ResvGuard::new(objs[c]));
        }
        for (i, obj) in objs.iter().enumerate() {
            if Some(i) == contended {
                continue;
            }
            // SAFETY: `obj` is initialised; `ctxp` is our live context.
            let ret = unsafe {
                if intr {
                    bindings::dma_resv_lock_interruptible(obj.as_raw(), ctxp)
                } else {
                    bindings::dma_resv_lock(obj.as_raw(), ctxp)
                }
            };
            match ret {
                0 => guards[i] = Some(ResvGuard::new(obj)),
                // Already ours: the same object given twice.
                r if r == -(bindings::EALREADY as i32) => {}
                r if r == -(bindings::EDEADLK as i32) => {
                    contended = Some(i);
                    continue 'retry;
                }
                r => return Err(Error::from_errno(r)),
            }
        }
        break;
    }
    // SAFETY: Every lock this context will take is taken.
    unsafe { bindings::ww_acquire_done(ctxp) };
    multi.guards = guards;
    Ok(multi)
}

impl<'a> MultiGuard<'a> {
    /// Returns the guard of the `i`-th object given to [`lock_all`], or `None`
    /// for an object given a second time (its first entry has the guard).
    pub fn get(&mut self, i: usize) -> Option<&mut ResvGuard<'a>> {
        self.guards.get_mut(i)?.as_mut()
    }
}

impl Drop for MultiGuard<'_> {
    fn drop(&mut self) {
        // Unlock everything first (also on the error paths of `lock_all`,
        // where `guards` there is dropped before `multi`).
        drop(core::mem::replace(&mut self.guards, KVec::new()));
        // SAFETY: The context was initialised and no lock of it is held.
        unsafe { bindings::ww_acquire_fini(self.ctx.get()) };
    }
}
