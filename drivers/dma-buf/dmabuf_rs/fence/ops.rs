// SPDX-License-Identifier: GPL-2.0-only

//! The one place where the core's fence types get their C operations table.
//!
//! The container fences (arrays and chains) are plain `struct dma_fence`s to
//! everyone else, with a `struct dma_fence_ops` that C code compares against
//! (`dma_fence_is_array()`, `dma_fence_is_chain()` are pointer compares with
//! the exported tables). Each container implements [`FenceImpl`]; the table
//! and its `extern "C"` trampolines are generated from it by [`ops_table`].

use super::{Fence, Locked};
use core::ffi::CStr;
use kernel::bindings::{dma_fence, dma_fence_ops, ktime_t};
use kernel::ffi::c_char;

/// A fence type of the core, as seen through its C operations.
///
/// The methods are the C callbacks of the same names, called by the fence
/// core with the documented locking (enable_signaling under the fence lock,
/// release once the last reference is gone).
pub(crate) trait FenceImpl {
    /// `get_driver_name`.
    const DRIVER_NAME: &'static CStr;
    /// `get_timeline_name`: containers belong to no timeline of their own.
    const TIMELINE_NAME: &'static CStr = c"unbound";
    /// `use_64bit_seqno`.
    const USE_64BIT_SEQNO: bool = false;

    /// What the callbacks work on: the fence as its type's view.
    type Typed;

    /// The view of a fence of this type.
    ///
    /// # Safety
    ///
    /// `fence` is a live fence of this type (whose ops are its table), that
    /// stays live for `'a`.
    unsafe fn typed<'a>(fence: *mut dma_fence) -> &'a Self::Typed;

    /// `enable_signaling`: arm callbacks; false if already signalled. Called
    /// with the fence's lock held (`locked`).
    fn enable_signaling(this: &Self::Typed, locked: &Locked<'_>) -> bool;

    /// `signaled`: whether the fence is done (may signal as a side effect).
    fn signaled(this: &Self::Typed) -> bool;

    /// `release`: free the fence; the last reference is gone.
    ///
    /// # Safety
    ///
    /// `fence` is a fence of this type with no references left.
    unsafe fn release(fence: *mut dma_fence);

    /// `set_deadline`: pass the deadline hint on.
    fn set_deadline(this: &Self::Typed, deadline: ktime_t);
}

/// `get_driver_name`: [`FenceImpl::DRIVER_NAME`]. Safe, as the fence is not
/// looked at.
extern "C" fn driver_name<T: FenceImpl>(_fence: *mut dma_fence) -> *const c_char {
    T::DRIVER_NAME.as_ptr().cast()
}

/// `get_timeline_name`: [`FenceImpl::TIMELINE_NAME`]. Safe, as the fence is
/// not looked at.
extern "C" fn timeline_name<T: FenceImpl>(_fence: *mut dma_fence) -> *const c_char {
    T::TIMELINE_NAME.as_ptr().cast()
}

/// `enable_signaling`: [`FenceImpl::enable_signaling`].
///
/// # Safety
///
/// Called by the fence core only, on a live fence of type `T` (whose ops are
/// this table), with its lock held.
unsafe extern "C" fn enable_signaling<T: FenceImpl>(fence: *mut dma_fence) -> bool {
    // SAFETY: The fence core only calls this on a live fence of this table's
    // type, under its lock.
    let (this, locked) = unsafe { (T::typed(fence), Locked::assume(Fence::from_raw(fence))) };
    T::enable_signaling(this, &locked)
}

/// `signaled`: [`FenceImpl::signaled`].
///
/// # Safety
///
/// Called by the fence core only, on a live fence of type `T`.
unsafe extern "C" fn signaled<T: FenceImpl>(fence: *mut dma_fence) -> bool {
    // SAFETY: The fence core only calls this on a live fence of this type.
    T::signaled(unsafe { T::typed(fence) })
}

/// `release`: [`FenceImpl::release`].
///
/// # Safety
///
/// Called by the fence core only, once, on a fence of type `T` whose last
/// reference is gone.
unsafe extern "C" fn release<T: FenceImpl>(fence: *mut dma_fence) {
    // SAFETY: The fence core calls this once, after the last reference.
    unsafe { T::release(fence) }
}

/// `set_deadline`: [`FenceImpl::set_deadline`].
///
/// # Safety
///
/// Called by the fence core only, on a live fence of type `T`.
unsafe extern "C" fn set_deadline<T: FenceImpl>(fence: *mut dma_fence, deadline: ktime_t) {
    // SAFETY: The fence core only calls this on a live fence of this type.
    T::set_deadline(unsafe { T::typed(fence) }, deadline)
}

/// The C operations table of the fence type `T`.
pub(crate) const fn ops_table<T: FenceImpl>() -> dma_fence_ops {
    dma_fence_ops {
        use_64bit_seqno: T::USE_64BIT_SEQNO,
        get_driver_name: Some(driver_name::<T>),
        get_timeline_name: Some(timeline_name::<T>),
        enable_signaling: Some(enable_signaling::<T>),
        signaled: Some(signaled::<T>),
        release: Some(release::<T>),
        set_deadline: Some(set_deadline::<T>),
        // SAFETY: The remaining callbacks (wait, the value strings) are
        // optional; all-zero leaves them NULL, as the C tables do.
        ..unsafe { core::mem::zeroed() }
    }
}
