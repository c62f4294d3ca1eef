// SPDX-License-Identifier: GPL-2.0-only

//! The one place where the core's fence types get their C operations table.
//!
//! The container fences (arrays and chains) are plain `struct dma_fence`s to
//! everyone else, with a `struct dma_fence_ops` that C code compares against
//! (`dma_fence_is_array()`, `dma_fence_is_chain()` are pointer compares with
//! the exported tables). Each container implements [`FenceImpl`]; the table
//! and its `extern "C"` trampolines are generated from it by [`ops_table`].

use super::{Fence, FenceCore, Locked};
use core::ffi::CStr;
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::bindings::{dma_fence, dma_fence_ops, ktime_t};
use kernel::ffi::c_char;

/// A fence type of the core, as seen through its C operations.
///
/// The methods are the C callbacks of the same names, called by the fence
/// core with the documented locking (enable_signaling under the fence lock,
/// release once the last reference is gone). They get the fence as its
/// container, [`FenceImpl::Typed`], found from the `struct dma_fence` the
/// fence core passes as the kernel's `container_of` does, by the
/// [`FenceImpl::BASE_OFFSET`] of the fence in it.
///
/// # Safety
///
/// `Typed` has the layout of a C struct that embeds its `struct dma_fence`
/// at `BASE_OFFSET` (typically a `repr(transparent)` wrapper of the C
/// struct), and [`ops_table::<Self>()`](ops_table), which [`FenceImpl::ops`]
/// returns, is installed only on fences embedded that way, in an
/// initialised `Typed`. A `&Typed` always refers to an initialised
/// container, whose fence lives as long as the borrow.
pub(crate) unsafe trait FenceImpl: Sized {
    /// `get_driver_name`.
    const DRIVER_NAME: &'static CStr;
    /// `get_timeline_name`: containers belong to no timeline of their own.
    const TIMELINE_NAME: &'static CStr = c"unbound";
    /// `use_64bit_seqno`.
    const USE_64BIT_SEQNO: bool = false;

    /// The fence's container, which the callbacks work on.
    type Typed;

    /// The offset of the `struct dma_fence` in [`FenceImpl::Typed`].
    const BASE_OFFSET: usize;

    /// The type's operations table: the exported static made by
    /// [`ops_table`], which C compares fences' ops against.
    fn ops() -> &'static dma_fence_ops;

    /// `enable_signaling`: arm callbacks; false if already signalled. Called
    /// with the fence's lock held (`locked`).
    fn enable_signaling(this: &Self::Typed, locked: &Locked<'_>) -> bool;

    /// `signaled`: whether the fence is done (may signal as a side effect).
    fn signaled(this: &Self::Typed) -> bool;

    /// `release`: free the fence; the last reference is gone.
    fn release(this: Unreferenced<Self>);

    /// `set_deadline`: pass the deadline hint on.
    fn set_deadline(this: &Self::Typed, deadline: ktime_t);
}

/// The container of `fence` if it is a fence of type `T` (its ops are
/// `T`'s table): `to_dma_fence_array()`, `to_dma_fence_chain()`.
#[inline]
pub(crate) fn container<T: FenceImpl>(fence: &Fence) -> Option<&T::Typed> {
    if !core::ptr::eq(fence.ops(), T::ops()) {
        return None;
    }
    // SAFETY: A fence with `T`'s table is embedded at `BASE_OFFSET` in an
    // initialised `T::Typed` (the trait's contract), which lives as long as
    // the fence, so as long as the borrow.
    Some(unsafe { &*fence.raw().byte_sub(T::BASE_OFFSET).cast::<T::Typed>() })
}

/// The fence of a container of type `T` (`&array->base`).
#[inline]
pub(crate) fn base<T: FenceImpl>(this: &T::Typed) -> &Fence {
    // SAFETY: `this` is an initialised container (the trait's contract),
    // whose fence at `BASE_OFFSET` is initialised and lives with it.
    unsafe {
        Fence::from_raw(
            core::ptr::from_ref(this)
                .cast_mut()
                .byte_add(T::BASE_OFFSET)
                .cast(),
        )
    }
}

/// A fence of type `T` whose last reference is gone, given to
/// [`FenceImpl::release`] to take apart and free.
///
/// # Invariants
///
/// `self.0` is the initialised container of a fence of type `T` with no
/// references left, which this value owns: only RCU readers still reach
/// it, and they neither free it nor take a reference to it.
pub(crate) struct Unreferenced<T: FenceImpl>(NonNull<T::Typed>, PhantomData<T>);

impl<T: FenceImpl> Unreferenced<T> {
    /// The container, borrowed until it is freed.
    #[inline]
    pub(crate) fn get(&self) -> &T::Typed {
        // SAFETY: Initialised and owned by us until `free` (type invariant).
        unsafe { self.0.as_ref() }
    }

    /// `dma_fence_free`: frees the container after an RCU grace period
    /// (for the readers that may still look at it).
    #[inline]
    pub(crate) fn free(self) {
        // SAFETY: The fence is unreferenced and ours (type invariant); the
        // containers are kmalloc'ed by their allocation functions, with the
        // fence at `BASE_OFFSET`.
        unsafe { super::dma_fence_free(self.0.as_ptr().byte_add(T::BASE_OFFSET).cast()) }
    }
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
    // type, under its lock; such a fence is embedded at `BASE_OFFSET` in an
    // initialised `T::Typed` (the trait's contract), live as long as it.
    let (this, locked) = unsafe {
        (
            &*fence.byte_sub(T::BASE_OFFSET).cast::<T::Typed>(),
            Locked::assume(Fence::from_raw(fence)),
        )
    };
    T::enable_signaling(this, &locked)
}

/// `signaled`: [`FenceImpl::signaled`].
///
/// # Safety
///
/// Called by the fence core only, on a live fence of type `T`.
unsafe extern "C" fn signaled<T: FenceImpl>(fence: *mut dma_fence) -> bool {
    // SAFETY: The fence core only calls this on a live fence of this type,
    // embedded in its container as for `enable_signaling`.
    T::signaled(unsafe { &*fence.byte_sub(T::BASE_OFFSET).cast::<T::Typed>() })
}

/// `release`: [`FenceImpl::release`].
///
/// # Safety
///
/// Called by the fence core only, once, on a fence of type `T` whose last
/// reference is gone.
unsafe extern "C" fn release<T: FenceImpl>(fence: *mut dma_fence) {
    // INVARIANT: The fence core calls this once, after the last reference,
    // handing the fence over to be freed.
    // SAFETY: The fence is still allocated, of this type, embedded in its
    // container as for `enable_signaling`.
    let this = unsafe { NonNull::new_unchecked(fence.byte_sub(T::BASE_OFFSET).cast::<T::Typed>()) };
    T::release(Unreferenced(this, PhantomData))
}

/// `set_deadline`: [`FenceImpl::set_deadline`].
///
/// # Safety
///
/// Called by the fence core only, on a live fence of type `T`.
unsafe extern "C" fn set_deadline<T: FenceImpl>(fence: *mut dma_fence, deadline: ktime_t) {
    // SAFETY: The fence core only calls this on a live fence of this type,
    // embedded in its container as for `enable_signaling`.
    T::set_deadline(
        unsafe { &*fence.byte_sub(T::BASE_OFFSET).cast::<T::Typed>() },
        deadline,
    )
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
        // The remaining callbacks (wait, the value strings) are optional;
        // all-zero leaves them NULL, as the C tables do.
        ..crate::sys::zeroed()
    }
}
