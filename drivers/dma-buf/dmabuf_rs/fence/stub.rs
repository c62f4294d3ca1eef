// SPDX-License-Identifier: GPL-2.0-only

//! Stub fences: already-signalled fences for "nothing to wait for".
//!
//! One shared stub is initialised on first use and never freed; private stubs
//! are allocated for callers that need their own timestamp.

use super::{
    dma_fence_init, dma_fence_signal_locked, dma_fence_signal_timestamp, Fence, FenceCore,
    ENABLE_SIGNAL,
};
use crate::sys::{self, SpinLock};
use kernel::ffi::c_char;
use kernel::{
    bindings::{self, dma_fence, ktime_t},
    types::Opaque,
};

/// Both name callbacks of a stub fence: `"stub"`. Safe, as the fence is not
/// looked at.
extern "C" fn stub_name(_fence: *mut dma_fence) -> *const c_char {
    c"stub".as_ptr().cast()
}

/// Operations of every stub fence: names only; they are born signalled.
static STUB_OPS: bindings::dma_fence_ops = bindings::dma_fence_ops {
    get_driver_name: Some(stub_name),
    get_timeline_name: Some(stub_name),
    // All-zero means no further callbacks and 32-bit seqnos, as the C core's
    // designated initialiser leaves them.
    ..crate::sys::zeroed()
};

/// The shared stub fence, initialised by the first [`dma_fence_get_stub`].
struct StaticFence(Opaque<dma_fence>);

// SAFETY: The fence is initialised once under the stub lock; afterwards it is
// only used through the C core's thread-safe fence API.
unsafe impl Sync for StaticFence {}

static STUB: StaticFence = StaticFence(Opaque::new(
    // An all-zero fence is the C core's `static struct dma_fence`: its null
    // `ops` marks it uninitialised.
    crate::sys::zeroed(),
));

/// Returns a new reference to the shared, signalled stub fence (context 0).
#[no_mangle]
pub(crate) extern "C" fn dma_fence_get_stub() -> *mut dma_fence {
    let stub = STUB.0.get();
    // SAFETY: The stub lock is a static, initialised spinlock (DEFINE_SPINLOCK
    // in the shims).
    let lock = unsafe { &*core::ptr::addr_of!(bindings::dma_fence_stub_lock).cast::<SpinLock>() };
    let guard = lock.lock();
    // SAFETY: Under the stub lock `STUB` is only written here, once; `ops`
    // stays null until then. The statics outlive the fence.
    unsafe {
        if (*stub).ops.is_null() {
            dma_fence_init(stub, &STUB_OPS, lock.as_ptr(), 0, 0);
            sys::set_bit(Fence::from_raw(stub).flags(), ENABLE_SIGNAL);
            dma_fence_signal_locked(stub);
        }
    }
    drop(guard);
    // SAFETY: The stub is initialised and never freed.
    unsafe { crate::fence::get(stub) }
}

/// Allocates a new fence, signalled at `timestamp`; NULL without memory.
#[no_mangle]
pub(crate) extern "C" fn dma_fence_allocate_private_stub(timestamp: ktime_t) -> *mut dma_fence {
    private_stub(timestamp).map_or(core::ptr::null_mut(), |fence| {
        kernel::types::ARef::into_raw(fence).as_ptr().cast()
    })
}

/// [`dma_fence_allocate_private_stub`] for the core's callers: `None`
/// without memory.
pub(crate) fn private_stub(timestamp: ktime_t) -> Option<kernel::types::ARef<Fence>> {
    let fence =
        core::ptr::NonNull::new(sys::kzalloc::<dma_fence>(core::mem::size_of::<dma_fence>()))?;
    // SAFETY: The fence is freshly allocated and not shared; the ops and lock
    // are statics. It has no `release` op, so it is freed with kfree_rcu.
    // Its one reference (from `dma_fence_init`) is ours.
    unsafe {
        let lock = core::ptr::addr_of_mut!(bindings::dma_fence_stub_lock);
        dma_fence_init(fence.as_ptr(), &STUB_OPS, lock, 0, 0);
        sys::set_bit(Fence::from_raw(fence.as_ptr()).flags(), ENABLE_SIGNAL);
        dma_fence_signal_timestamp(fence.as_ptr(), timestamp);
        Some(Fence::from_raw_owned(fence))
    }
}

c_abi!(dma_fence_get_stub, dma_fence_allocate_private_stub);
