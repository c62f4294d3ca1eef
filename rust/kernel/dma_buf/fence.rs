// SPDX-License-Identifier: GPL-2.0

//! DMA fences: completion events shared between drivers.
//!
//! A [`Fence`] is the waiter's view: anyone holding an [`ARef<Fence>`] may
//! query it, wait on it, or run a [`Callback`] when it signals. Only the
//! driver that issued a fence can signal it: it holds the fence's
//! [`PendingFence`], created on its [`Timeline`], which signals on demand and,
//! if dropped unsignalled, signals with `-ECANCELED` so that no waiter hangs.
//!
//! C header: [`include/linux/dma-fence.h`](srctree/include/linux/dma-fence.h).

use crate::{
    bindings,
    error::{Error, Result},
    time::Jiffies,
    types::{ARef, AlwaysRefCounted, Opaque},
};
use core::{num::NonZeroU32, ptr::NonNull};

mod callback;
mod container;
mod driver;
pub mod refs;
mod signalling;

pub use callback::Callback;
pub use container::{array, chain, merge, Unwrapped};
pub use driver::{FenceOps, PendingFence, Timeline, UnarmedFence};
pub use signalling::SignallingSection;

/// Allocates `num` consecutive fence contexts (timelines) and returns the first.
///
/// Contexts are unique for the life of the system. Asking for none is a bug in
/// C (it warns); here the type rules it out.
///
/// # Examples
///
/// ```
/// use core::num::NonZeroU32;
/// use kernel::dma_buf::fence;
///
/// let first = fence::context_alloc(NonZeroU32::new(2).unwrap());
/// let next = fence::context_alloc(NonZeroU32::new(1).unwrap());
/// assert!(next >= first + 2);
/// ```
pub fn context_alloc(num: NonZeroU32) -> u64 {
    // SAFETY: `dma_fence_context_alloc` may be called from any context with any
    // non-zero count.
    unsafe { bindings::dma_fence_context_alloc(num.get()) }
}

/// `ETIME`: what a wait that timed out returns (not among `kernel::error::code`).
pub fn etime() -> Error {
    Error::from_errno(-(bindings::ETIME as i32))
}

/// A reference-counted DMA fence (`struct dma_fence`).
///
/// # Invariants
///
/// The inner `struct dma_fence` is initialised (by `dma_fence_init`) and its
/// reference count is non-zero for as long as a reference to it exists.
#[repr(transparent)]
pub struct Fence(Opaque<bindings::dma_fence>);

// SAFETY: A fence is reference counted by the C core, which allows any thread to
// take and drop references and to query it.
unsafe impl Send for Fence {}

// SAFETY: All methods of `Fence` that take `&self` are safe to call concurrently;
// the C core serialises state changes with the fence's own lock.
unsafe impl Sync for Fence {}

// SAFETY: The C functions `dma_fence_get` and `dma_fence_put` take and drop a
// reference, and the fence is freed only when the last one is dropped.
unsafe impl AlwaysRefCounted for Fence {
    #[inline]
    fn inc_ref(&self) {
        // SAFETY: By the type invariant the refcount is non-zero.
        unsafe { refs::get(self.0.get()) };
    }

    #[inline]
    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller owns the reference being dropped, and `Fence` is
        // `repr(transparent)` over `struct dma_fence`.
        unsafe { refs::put(obj.cast().as_ptr()) };
    }
}

/// Where a fence stands (`dma_fence_get_status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Not signalled yet.
    Pending,
    /// Signalled without an error.
    Signalled,
    /// Signalled with this error.
    Failed(Error),
}

impl Fence {
    /// Borrows a fence from a pointer.
    ///
    /// # Safety
    ///
    /// `ptr` points to an initialised `struct dma_fence` on which the caller
    /// holds a reference (or that is otherwise kept alive) for `'a`.
    #[inline]
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::dma_fence) -> &'a Self {
        // SAFETY: `Fence` is `repr(transparent)` over the C struct, and the
        // caller guarantees that it is alive for `'a`.
        unsafe { &*ptr.cast() }
    }

    /// Takes ownership of one reference from a pointer.
    ///
    /// # Safety
    ///
    /// `ptr` points to an initialised `struct dma_fence`, and the caller owns
    /// one of its references, which it hands over.
    #[inline]
    pub unsafe fn from_raw_owned(ptr: NonNull<bindings::dma_fence>) -> ARef<Self> {
        // SAFETY: The caller hands over a reference to a live fence.
        unsafe { ARef::from_raw(ptr.cast()) }
    }

    /// Returns the C pointer of the fence.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::dma_fence {
        self.0.get()
    }

    /// Returns the always-signalled stub fence of the core.
    pub fn stub() -> ARef<Self> {
        // SAFETY: `dma_fence_get_stub` has no preconditions.
        let ptr = unsafe { bindings::dma_fence_get_stub() };
        // SAFETY: `dma_fence_get_stub` returns a new reference to an initialised
        // fence that it never fails to provide.
        unsafe { ARef::from_raw(NonNull::new_unchecked(ptr.cast())) }
    }

    /// Returns the fence's context (its timeline).
    #[inline]
    pub fn context(&self) -> u64 {
        // SAFETY: By the type invariant the fence is initialised, and `context`
        // does not change after `dma_fence_init`.
        unsafe { (*self.0.get()).context }
    }

    /// Returns the fence's sequence number on its context.
    #[inline]
    pub fn seqno(&self) -> u64 {
        // SAFETY: By the type invariant the fence is initialised, and `seqno`
        // does not change after `dma_fence_init`.
        unsafe { (*self.0.get()).seqno }
    }

    /// Returns whether the fence has signalled, signalling it first if its
    /// issuer reports that the work is done.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::dma_buf::fence::Fence;
    ///
    /// assert!(Fence::stub().is_signaled());
    /// ```
    pub fn is_signaled(&self) -> bool {
        // SAFETY: By the type invariant the fence is valid.
        unsafe { bindings::dma_fence_is_signaled(self.0.get()) }
    }

    /// Returns whether the fence has signalled, and with which error.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::dma_buf::fence::{Fence, Status};
    ///
    /// assert_eq!(Fence::stub().status(), Status::Signalled);
    /// ```
    pub fn status(&self) -> Status {
        // SAFETY: By the type invariant the fence is valid.
        match unsafe { bindings::dma_fence_get_status(self.0.get()) } {
            0 => Status::Pending,
            s if s > 0 => Status::Signalled,
            e => Status::Failed(Error::from_errno(e)),
        }
    }

    /// Waits until the fence signals or `timeout` jiffies pass, sleeping
    /// interruptibly if `intr`.
    ///
    /// Returns the jiffies left (at least 1) when the fence signalled,
    /// [`etime()`] when the time ran out and `ERESTARTSYS` when a signal
    /// interrupted an interruptible wait. Must be called where sleeping is
    /// allowed and outside any signalling critical section (lockdep checks).
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::dma_buf::fence::Fence;
    ///
    /// assert!(Fence::stub().wait_timeout(true, 10)? >= 1);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn wait_timeout(&self, intr: bool, timeout: Jiffies) -> Result<Jiffies> {
        let timeout = timeout.min(crate::ffi::c_long::MAX as Jiffies - 1) as _;
        // SAFETY: By the type invariant the fence is valid; the timeout is not
        // negative.
        let ret = unsafe { bindings::dma_fence_wait_timeout(self.0.get(), intr, timeout) };
        match ret {
            0 => Err(etime()),
            r if r < 0 => Err(Error::from_errno(r as i32)),
            // A signalled fence gives back at least one jiffy, even if the
            // timeout was zero.
            r => Ok(r as Jiffies),
        }
    }

    /// Waits until the fence signals, with no time limit (`dma_fence_wait`).
    ///
    /// Fails only with `ERESTARTSYS`, when a signal interrupts an
    /// interruptible wait.
    pub fn wait(&self, intr: bool) -> Result {
        // SAFETY: By the type invariant the fence is valid.
        let ret = unsafe {
            bindings::dma_fence_wait_timeout(self.0.get(), intr, crate::ffi::c_long::MAX)
        };
        if ret < 0 {
            return Err(Error::from_errno(ret as i32));
        }
        Ok(())
    }

    /// Tells the issuer that the fence should signal by `deadline` (a hint).
    pub fn set_deadline(&self, deadline: crate::time::Ktime) {
        // SAFETY: By the type invariant the fence is valid.
        unsafe { bindings::dma_fence_set_deadline(self.0.get(), deadline.to_ns()) };
    }

    /// Asks the issuer to signal the fence as soon as the work is done
    /// (`dma_fence_enable_sw_signaling`), for waiters that poll.
    pub fn enable_sw_signaling(&self) {
        // SAFETY: By the type invariant the fence is valid.
        unsafe { bindings::dma_fence_enable_sw_signaling(self.0.get()) };
    }

    /// Returns whether the fence is a container (a fence array or chain).
    pub fn is_container(&self) -> bool {
        // SAFETY: By the type invariant the fence is valid.
        unsafe {
            bindings::dma_fence_is_array(self.0.get()) || bindings::dma_fence_is_chain(self.0.get())
        }
    }

    /// Iterates over the plain fences inside this one: the fences of arrays
    /// and chains, recursively flattened; a plain fence yields itself.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::dma_buf::fence::Fence;
    ///
    /// assert_eq!(Fence::stub().unwrapped().count(), 1);
    /// ```
    pub fn unwrapped(&self) -> Unwrapped {
        Unwrapped::new(self)
    }
}

/// `ECANCELED`, the error of a fence dropped by its issuer without signalling.
pub fn ecanceled() -> Error {
    Error::from_errno(-(bindings::ECANCELED as i32))
}
