// SPDX-License-Identifier: GPL-2.0-only

//! dma-fence: the C ABI of `drivers/dma-buf/dma-fence.c`.
//!
//! C header: [`include/linux/dma-fence.h`](srctree/include/linux/dma-fence.h).

use core::ffi::c_uint;
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::bindings;

/// The next fence context to hand out. Context 0 is never allocated: the stub
/// fence and fences that belong to no timeline use it.
static CONTEXT_COUNTER: AtomicU64 = AtomicU64::new(1);

/// Allocates `num` consecutive fence contexts and returns the first of them.
///
/// A fence context is a timeline: fences on one context signal in seqno order,
/// and contexts are unique for the life of the system (64 bits never wrap in
/// practice). Asking for zero contexts is a caller bug and warns, as in C.
#[no_mangle]
pub(crate) extern "C" fn dma_fence_context_alloc(num: c_uint) -> u64 {
    if num == 0 {
        // SAFETY: `dmabuf_rs_warn` has no preconditions; it only warns.
        unsafe { bindings::dmabuf_rs_warn() };
    }
    // Fully ordered, like the C core's atomic64_fetch_add().
    CONTEXT_COUNTER.fetch_add(u64::from(num), Ordering::SeqCst)
}

c_abi!(dma_fence_context_alloc);
