// SPDX-License-Identifier: GPL-2.0

//! Callbacks run when a fence signals.

use super::Fence;
use crate::{
    bindings,
    init::{self, PinInit},
    prelude::*,
    types::{ARef, Opaque},
};
use core::{cell::UnsafeCell, ptr::addr_of_mut};

/// A callback registered on a fence (`struct dma_fence_cb`): `F` runs once,
/// when the fence signals.
///
/// The registration is a pinned object: dropping it removes the callback
/// (under the fence's lock), so a callback can never run after its owner is
/// gone. If the fence had already signalled when the callback was added, `F`
/// runs at once, in the caller's context.
///
/// `F` runs with the fence's lock held and interrupts off, from whatever
/// context signals: it must not sleep, and must not touch the same fence's
/// lock (signal, add or remove callbacks on that fence).
///
/// # Examples
///
/// ```
/// use core::sync::atomic::{AtomicBool, Ordering};
/// use kernel::{c_str, prelude::*, str::CStr, sync::Arc};
/// use kernel::dma_buf::fence::{Callback, FenceOps, Timeline};
///
/// struct Job;
///
/// #[vtable]
/// impl FenceOps for Job {
///     const DRIVER_NAME: &'static CStr = c_str!("doctest");
///     fn timeline_name(&self) -> &CStr {
///         c_str!("doctest-cb")
///     }
/// }
///
/// let mut ring = Timeline::new();
/// let job = ring.new_fence(Job, GFP_KERNEL)?;
/// let seen = Arc::new(AtomicBool::new(false), GFP_KERNEL)?;
/// let flag = seen.clone();
/// let cb = KBox::pin_init(
///     Callback::new(&job.fence(), move |_f| flag.store(true, Ordering::Relaxed)),
///     GFP_KERNEL,
/// )?;
/// assert!(!seen.load(Ordering::Relaxed));
/// job.signal();
/// assert!(seen.load(Ordering::Relaxed));
/// drop(cb);
/// # Ok::<(), Error>(())
/// ```
#[pin_data(PinnedDrop)]
pub struct Callback<F: FnOnce(&Fence) + Send + 'static> {
    #[pin]
    cb: Opaque<bindings::dma_fence_cb>,
    /// The fence while the callback is registered on it.
    fence: Option<ARef<Fence>>,
    /// Taken by whoever runs the callback: the signaller under the fence's
    /// lock, or `new` before anyone else can see it.
    func: UnsafeCell<Option<F>>,
}

// SAFETY: `func` is reached only under the fence's lock or with exclusive
// access, and `F: Send`; the fence reference is thread-safe.
unsafe impl<F: FnOnce(&Fence) + Send + 'static> Send for Callback<F> {}
// SAFETY: No `&self` method touches `func`.
unsafe impl<F: FnOnce(&Fence) + Send + 'static> Sync for Callback<F> {}

impl<F: FnOnce(&Fence) + Send + 'static> Callback<F> {
    /// Registers `func` to run when `fence` signals (`dma_fence_add_callback`);
    /// runs it at once if the fence has already signalled.
    pub fn new(fence: &Fence, func: F) -> impl PinInit<Self> {
        let fence: ARef<Fence> = fence.into();
        // SAFETY: The closure initialises every field of `slot` and returns
        // `Ok`; nothing moves the value afterwards because it is pinned.
        unsafe {
            init::pin_init_from_closure(move |slot: *mut Self| {
                addr_of_mut!((*slot).func).write(UnsafeCell::new(Some(func)));
                let raw = fence.as_raw();
                addr_of_mut!((*slot).fence).write(Some(fence));
                let cb = Opaque::raw_get(addr_of_mut!((*slot).cb));
                // SAFETY: `raw` is kept alive by the reference just stored, `cb`
                // is pinned memory that lives until `drop` removes it.
                let ret = bindings::dma_fence_add_callback(raw, cb, Some(Self::trampoline));
                if ret != 0 {
                    // Already signalled (`-ENOENT`): run it now, not registered.
                    let fence = (*slot).fence.take();
                    if let (Some(f), Some(fence)) = ((*(*slot).func.get()).take(), fence) {
                        f(&fence);
                    }
                }
                Ok(())
            })
        }
    }

    unsafe extern "C" fn trampoline(
        fence: *mut bindings::dma_fence,
        cb: *mut bindings::dma_fence_cb,
    ) {
        // SAFETY: `cb` is the `cb` field of a registered, hence live and pinned,
        // `Callback<F>`.
        let this = unsafe { &*crate::container_of!(cb, Self, cb) };
        // SAFETY: The core calls us once, with the fence's lock held, which
        // `drop` also takes: nobody else touches `func` now.
        let func = unsafe { (*this.func.get()).take() };
        if let Some(f) = func {
            // SAFETY: The signalling fence is alive while its callbacks run.
            f(unsafe { Fence::from_raw(fence) });
        }
    }
}

#[pinned_drop]
impl<F: FnOnce(&Fence) + Send + 'static> PinnedDrop for Callback<F> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: Nothing is moved out of the pinned fields.
        let this = unsafe { self.get_unchecked_mut() };
        if let Some(fence) = this.fence.take() {
            // SAFETY: `cb` was registered on `fence`; removing takes the fence's
            // lock, so when this returns the callback has run or never will.
            unsafe { bindings::dma_fence_remove_callback(fence.as_raw(), this.cb.get()) };
        }
    }
}
