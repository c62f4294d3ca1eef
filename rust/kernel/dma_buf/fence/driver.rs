// SPDX-License-Identifier: GPL-2.0

//! Fences issued by a Rust driver: the ops trait, timelines and the issuer's
//! handle.

use super::{ecanceled, Fence};
use crate::{
    alloc::{Flags, KBox},
    bindings,
    error::{Error, Result},
    str::CStr,
    sync::LockClassKey,
    types::{ARef, Opaque},
};
use core::{marker::PhantomData, ops::Deref, ptr::NonNull};

/// The operations of a driver's fences (`struct dma_fence_ops`), with the
/// driver's per-fence data as `Self`.
///
/// The optional operations become `NULL` in the C table when not implemented,
/// so the core uses its defaults. They are called with the fence's lock held
/// and interrupts off (except `set_deadline`), so they must not sleep.
#[macros::vtable]
pub trait FenceOps: Send + Sync + Sized + 'static {
    /// The driver's name (`get_driver_name`).
    const DRIVER_NAME: &'static CStr;

    /// The timeline's name (`get_timeline_name`), for debugfs, sync_file and
    /// traces.
    fn timeline_name(&self) -> &CStr;

    /// Turns on whatever makes the fence signal (an interrupt, say); returns
    /// `false` if the work is already done, and the core then signals.
    fn enable_signaling(&self) -> bool {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Returns whether the work is done, for fences without interrupt-driven
    /// signalling.
    fn signaled(&self) -> bool {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Takes note that someone waits for the fence to signal by `deadline`.
    fn set_deadline(&self, _deadline: crate::time::Ktime) {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }
}

/// The allocation of a driver fence: the C fence first, so that a pointer to
/// the fence is a pointer to the whole, then its lock and the driver's data.
#[repr(C)]
struct FenceAlloc<T> {
    fence: Opaque<bindings::dma_fence>,
    lock: Opaque<bindings::spinlock_t>,
    data: T,
}

/// The lock class of every Rust driver fence's lock.
static FENCE_LOCK_CLASS: LockClassKey =
    // SAFETY: lockdep expects uninitialized memory when it's handed a statically
    // allocated `lock_class_key`.
    unsafe { core::mem::MaybeUninit::uninit().assume_init() };

/// The name of that class. One static, so that every crate that arms a fence
/// (the generic code is instantiated in each) passes lockdep the same
/// pointer: lockdep warns when one key comes with two names.
static FENCE_LOCK_NAME: &CStr = crate::c_str!("dma_fence (Rust)");

struct Adapter<T: FenceOps>(PhantomData<T>);

impl<T: FenceOps> Adapter<T> {
    const OPS: bindings::dma_fence_ops = bindings::dma_fence_ops {
        use_64bit_seqno: true,
        get_driver_name: Some(Self::get_driver_name),
        get_timeline_name: Some(Self::get_timeline_name),
        enable_signaling: if T::HAS_ENABLE_SIGNALING {
            Some(Self::enable_signaling)
        } else {
            None
        },
        signaled: if T::HAS_SIGNALED {
            Some(Self::signaled)
        } else {
            None
        },
        wait: None,
        release: Some(Self::release),
        fence_value_str: None,
        timeline_value_str: None,
        set_deadline: if T::HAS_SET_DEADLINE {
            Some(Self::set_deadline)
        } else {
            None
        },
    };

    /// # Safety
    ///
    /// `fence` is a live fence made by [`Timeline::arm`] for this `T`.
    unsafe fn data<'a>(fence: *mut bindings::dma_fence) -> &'a T {
        // SAFETY: The fence is the first field of a live `FenceAlloc<T>`
        // (`repr(C)`), so the pointers agree, and the data lives as long as
        // the fence.
        unsafe { &(*fence.cast::<FenceAlloc<T>>()).data }
    }

    unsafe extern "C" fn get_driver_name(_fence: *mut bindings::dma_fence) -> *const ffi::c_char {
        T::DRIVER_NAME.as_char_ptr()
    }

    unsafe extern "C" fn get_timeline_name(fence: *mut bindings::dma_fence) -> *const ffi::c_char {
        // SAFETY: The core calls the ops only on fences that use them.
        unsafe { Self::data(fence) }.timeline_name().as_char_ptr()
    }

    unsafe extern "C" fn enable_signaling(fence: *mut bindings::dma_fence) -> bool {
        // SAFETY: As above.
        unsafe { Self::data(fence) }.enable_signaling()
    }

    unsafe extern "C" fn signaled(fence: *mut bindings::dma_fence) -> bool {
        // SAFETY: As above.
        unsafe { Self::data(fence) }.signaled()
    }

    unsafe extern "C" fn set_deadline(
        fence: *mut bindings::dma_fence,
        deadline: bindings::ktime_t,
    ) {
        // SAFETY: As above.
        unsafe { Self::data(fence) }.set_deadline(crate::time::Ktime::from_raw(deadline));
    }

    /// Called by the core when the last reference goes: the memory (and the
    /// driver's data) goes after an RCU grace period, because C readers may
    /// still look at the fence under `rcu_read_lock` (`dma_fence_get_rcu_safe`).
    unsafe extern "C" fn release(fence: *mut bindings::dma_fence) {
        // SAFETY: The fence is valid and unreferenced; its `rcu` field is free
        // for use once the fence is released, as in `dma_fence_free`.
        unsafe { bindings::call_rcu(&raw mut (*fence).__bindgen_anon_1.rcu, Some(Self::free_rcu)) };
    }

    unsafe extern "C" fn free_rcu(head: *mut bindings::callback_head) {
        // SAFETY: `head` is the `rcu` field of the fence that `release` queued,
        // which is at the start of a `FenceAlloc<T>` made by `KBox::new`.
        let fence =
            unsafe { crate::container_of!(head, bindings::dma_fence, __bindgen_anon_1.rcu) };
        // SAFETY: See above; nothing refers to the allocation any more.
        drop(unsafe { KBox::from_raw(fence.cast_mut().cast::<FenceAlloc<T>>()) });
    }
}

/// A fence allocated ahead of time, not yet given a place on a timeline.
///
/// Allocating is the only step that can fail; arming it with
/// [`Timeline::arm`] cannot, so the submission path need not allocate.
pub struct UnarmedFence<T: FenceOps>(KBox<FenceAlloc<T>>);

impl<T: FenceOps> UnarmedFence<T> {
    /// Allocates a fence that will carry `data`.
    pub fn new(data: T, flags: Flags) -> Result<Self> {
        let alloc = KBox::new(
            FenceAlloc {
                fence: Opaque::uninit(),
                lock: Opaque::uninit(),
                data,
            },
            flags,
        )?;
        Ok(Self(alloc))
    }
}

/// A timeline (fence context) whose fences a driver issues in order.
///
/// Seqnos are handed out through `&mut self`, so they increase in the order
/// fences are armed: the ordering the core assumes cannot be broken.
///
/// # Examples
///
/// ```
/// use kernel::{c_str, prelude::*, str::CStr};
/// use kernel::dma_buf::fence::{FenceOps, Status, Timeline};
///
/// struct Job;
///
/// #[vtable]
/// impl FenceOps for Job {
///     const DRIVER_NAME: &'static CStr = c_str!("doctest");
///     fn timeline_name(&self) -> &CStr {
///         c_str!("doctest-ring")
///     }
/// }
///
/// let mut ring = Timeline::new();
/// let first = ring.new_fence(Job, GFP_KERNEL)?;
/// let second = ring.new_fence(Job, GFP_KERNEL)?;
/// assert!(second.as_fence().seqno() > first.as_fence().seqno());
///
/// let waiter = second.fence();
/// second.signal();
/// assert_eq!(waiter.status(), Status::Signalled);
///
/// // Dropped unsignalled: waiters see -ECANCELED rather than hang.
/// let waiter = first.fence();
/// drop(first);
/// assert!(matches!(waiter.status(), Status::Failed(_)));
/// # Ok::<(), Error>(())
/// ```
pub struct Timeline {
    context: u64,
    seqno: u64,
}

impl Default for Timeline {
    fn default() -> Self {
        Self::new()
    }
}

impl Timeline {
    /// Creates a timeline on a new fence context.
    pub fn new() -> Self {
        Self {
            context: super::context_alloc(core::num::NonZeroU32::MIN),
            seqno: 0,
        }
    }

    /// Returns the timeline's fence context.
    pub fn context(&self) -> u64 {
        self.context
    }

    /// Gives a preallocated fence the next seqno; it is now pending.
    pub fn arm<T: FenceOps>(&mut self, fence: UnarmedFence<T>) -> PendingFence<T> {
        self.seqno += 1;
        let ptr = KBox::into_raw(fence.0);
        // SAFETY: `ptr` is a valid allocation that we own; its lock and fence
        // are initialised here, the lock first because the fence points to it.
        unsafe {
            bindings::__spin_lock_init(
                (*ptr).lock.get(),
                FENCE_LOCK_NAME.as_char_ptr(),
                FENCE_LOCK_CLASS.as_ptr(),
            );
            bindings::dma_fence_init(
                (*ptr).fence.get(),
                &Adapter::<T>::OPS,
                (*ptr).lock.get(),
                self.context,
                self.seqno,
            );
        }
        // INVARIANT: The fence was just initialised with one reference, which
        // the pending fence owns, and nothing has signalled it.
        PendingFence {
            // SAFETY: `KBox::into_raw` never returns null.
            ptr: unsafe { NonNull::new_unchecked(ptr) },
        }
    }

    /// Allocates a fence for `data` and arms it.
    pub fn new_fence<T: FenceOps>(&mut self, data: T, flags: Flags) -> Result<PendingFence<T>> {
        Ok(self.arm(UnarmedFence::new(data, flags)?))
    }
}

/// The issuer's handle on a pending fence: the only way to signal it.
///
/// Waiters get [`ARef<Fence>`]s from [`PendingFence::fence`]. Signalling
/// consumes the handle, so a fence is signalled once; dropping the handle
/// without signalling signals with `-ECANCELED`.
///
/// # Invariants
///
/// `ptr` is a live `FenceAlloc<T>` armed by [`Timeline::arm`], on which the
/// handle owns one reference.
pub struct PendingFence<T: FenceOps> {
    ptr: NonNull<FenceAlloc<T>>,
}

// SAFETY: The handle only signals (any thread may) and reads `T`, which is
// `Send + Sync`.
unsafe impl<T: FenceOps> Send for PendingFence<T> {}
// SAFETY: See above: every `&self` method is thread-safe.
unsafe impl<T: FenceOps> Sync for PendingFence<T> {}

impl<T: FenceOps> PendingFence<T> {
    /// Returns the fence as waiters see it.
    pub fn as_fence(&self) -> &Fence {
        // SAFETY: By the type invariant the fence is live while `self` is.
        unsafe { Fence::from_raw(self.ptr.as_ref().fence.get()) }
    }

    /// Returns a new reference to the fence, for waiters.
    pub fn fence(&self) -> ARef<Fence> {
        self.as_fence().into()
    }

    /// Signals the fence: the work is done.
    pub fn signal(self) {
        self.finish(None);
    }

    /// Signals the fence with an error: the work failed.
    pub fn signal_error(self, error: Error) {
        self.finish(Some(error));
    }

    /// Signals unless already signalled (through the `signaled` op), setting
    /// `error` first, then drops the reference. Never sleeps.
    fn finish(&self, error: Option<Error>) {
        let fence = self.as_fence().as_raw();
        // SAFETY: The fence is live (type invariant). Its lock serialises us
        // with any other signaller, so the flag read under it is stable, and
        // the error is written before the fence signals, as
        // `dma_fence_set_error` requires.
        unsafe {
            let flags = bindings::spin_lock_irqsave((*fence).lock);
            // An atomic load: other bits of `flags` change under atomic
            // bitops, some outside the lock.
            let bits = core::sync::atomic::AtomicUsize::from_ptr(&raw mut (*fence).flags)
                .load(core::sync::atomic::Ordering::Relaxed);
            let signalled =
                bits & (1 << bindings::dma_fence_flag_bits_DMA_FENCE_FLAG_SIGNALED_BIT) != 0;
            if !signalled {
                if let Some(e) = error {
                    (*fence).error = e.to_errno();
                }
                bindings::dma_fence_signal_locked(fence);
            }
            bindings::spin_unlock_irqrestore((*fence).lock, flags);
        }
    }
}

impl<T: FenceOps> Deref for PendingFence<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: By the type invariant the allocation is live.
        unsafe { &self.ptr.as_ref().data }
    }
}

impl<T: FenceOps> Drop for PendingFence<T> {
    fn drop(&mut self) {
        // Signalled already (by `signal`/`signal_error`, which go through
        // here too, or by the core) or cancelled now.
        self.finish(Some(ecanceled()));
        // SAFETY: The handle owns one reference (type invariant).
        unsafe { super::refs::put(self.as_fence().as_raw()) };
    }
}
