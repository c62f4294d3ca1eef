// SPDX-License-Identifier: GPL-2.0-only

//! dma-fence: the C ABI of `drivers/dma-buf/dma-fence.c`.
//!
//! A fence is a one-shot completion event: it is initialised unsignalled on a
//! context (a timeline) with a seqno, callbacks may be added until it signals,
//! and signalling runs them once, in the order they were added, under the
//! fence's lock with interrupts off. Everything here keeps the C core's
//! contract exactly; the struct is the kernel's own `struct dma_fence`, because
//! the header's inline functions (get/put, is_signaled, set_error, ...) reach
//! into it.
//!
//! C header: [`include/linux/dma-fence.h`](srctree/include/linux/dma-fence.h).

use crate::logic::{seqno::SeqnoWidth, view::FenceView};
use crate::sys;
use crate::vfs::SeqFile;
use core::ptr::addr_of_mut;
use core::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use kernel::bindings::{self, dma_fence, dma_fence_cb, dma_fence_func_t, ktime_t};
use kernel::ffi::{c_int, c_uint};

#[path = "fence/array.rs"]
pub(crate) mod array;
#[path = "fence/chain.rs"]
pub(crate) mod chain;
#[path = "fence/entry.rs"]
mod entry;
#[path = "fence/lockdep.rs"]
pub(crate) mod lockdep;
#[path = "fence/methods.rs"]
mod methods;
#[path = "fence/ops.rs"]
pub(crate) mod ops;
#[path = "fence/stub.rs"]
mod stub;
#[path = "fence/unwrap.rs"]
pub(crate) mod unwrap;
#[path = "fence/wait.rs"]
mod wait;

pub(crate) use entry::FenceEntry;
/// Fence references (`dma_fence_get`/`_get_rcu`/`_put`): the kernel crate's,
/// inline, the same code that counts the driver API's `ARef<Fence>`.
pub(crate) use kernel::dma_buf::fence::refs::{get, get_rcu, put};
pub(crate) use methods::{ktime_get, Fence, FenceCore, Locked};
pub(crate) use wait::wait_timeout;

/// Drops a fence reference inline: `drop()` of an `ARef` calls its drop glue
/// out of line at opt-level=s (a call and a spill on hot paths such as
/// `dma_resv_add_fence`, where C's `dma_fence_put` is inline).
#[inline(always)]
pub(crate) fn put_ref(fence: kernel::types::ARef<Fence>) {
    // SAFETY: The reference is ours, given up here.
    unsafe { put(kernel::types::ARef::into_raw(fence).as_ptr().cast()) }
}

/// `DMA_FENCE_FLAG_SIGNALED_BIT`: the fence has signalled (set once, never cleared).
pub(crate) const SIGNALED: u32 = bindings::dma_fence_flag_bits_DMA_FENCE_FLAG_SIGNALED_BIT;
/// `DMA_FENCE_FLAG_TIMESTAMP_BIT`: the timestamp has replaced the callback list.
pub(crate) const TIMESTAMP: u32 = bindings::dma_fence_flag_bits_DMA_FENCE_FLAG_TIMESTAMP_BIT;
/// `DMA_FENCE_FLAG_ENABLE_SIGNAL_BIT`: `ops->enable_signaling` has been called.
const ENABLE_SIGNAL: u32 = bindings::dma_fence_flag_bits_DMA_FENCE_FLAG_ENABLE_SIGNAL_BIT;

/// Fires a dma_fence tracepoint: `trace!(init, fence)` is C's
/// `trace_dma_fence_init(fence)`.
///
/// The C wrapper (`dmabuf_rs_trace.c`) is only called when
/// [`sys::Tracepoint::on`] says a probe may be attached, so that an event
/// nobody traces costs a load, as in C, and not a call.
macro_rules! trace {
    (init, $fence:expr) => {
        trace!(
            __tracepoint_dma_fence_init,
            dmabuf_rs_trace_dma_fence_init,
            $fence
        )
    };
    (destroy, $fence:expr) => {
        trace!(
            __tracepoint_dma_fence_destroy,
            dmabuf_rs_trace_dma_fence_destroy,
            $fence
        )
    };
    (enable_signal, $fence:expr) => {
        trace!(
            __tracepoint_dma_fence_enable_signal,
            dmabuf_rs_trace_dma_fence_enable_signal,
            $fence
        )
    };
    (signaled, $fence:expr) => {
        trace!(
            __tracepoint_dma_fence_signaled,
            dmabuf_rs_trace_dma_fence_signaled,
            $fence
        )
    };
    (wait_start, $fence:expr) => {
        trace!(
            __tracepoint_dma_fence_wait_start,
            dmabuf_rs_trace_dma_fence_wait_start,
            $fence
        )
    };
    (wait_end, $fence:expr) => {
        trace!(
            __tracepoint_dma_fence_wait_end,
            dmabuf_rs_trace_dma_fence_wait_end,
            $fence
        )
    };
    ($tp:ident, $probe:ident, $fence:expr) => {
        // SAFETY: `$tp` is the kernel's static tracepoint of the event, which
        // C only changes through its key's atomic count (`Tracepoint`).
        let tp = unsafe {
            &*core::ptr::addr_of!(kernel::bindings::$tp).cast::<$crate::sys::Tracepoint>()
        };
        if tp.on() {
            // SAFETY: The tracepoint wrappers only read the live fence they are given.
            unsafe { kernel::bindings::$probe($fence) }
        }
    };
}
pub(crate) use trace;

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
        return no_contexts();
    }
    // Fully ordered, like the C core's atomic64_fetch_add().
    CONTEXT_COUNTER.fetch_add(u64::from(num), Ordering::SeqCst)
}

/// [`dma_fence_context_alloc`] asked for no contexts: warns, and returns the
/// next context as C does (kept out of line, so that the common path saves
/// no register for the warning).
#[cold]
#[inline(never)]
fn no_contexts() -> u64 {
    sys::warn();
    CONTEXT_COUNTER.fetch_add(0, Ordering::SeqCst)
}

/// Initialises a fence: one reference, unsignalled, no callbacks.
///
/// `lock` protects the callback list and is taken with interrupts off by every
/// state change; `ops` must provide the two name callbacks. Either missing is a
/// driver bug and BUG()s, as in C.
///
/// # Safety
///
/// `fence` must be valid for writes and not yet shared; `ops` and `lock` must
/// outlive the fence.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_fence_init(
    fence: *mut dma_fence,
    ops: *const bindings::dma_fence_ops,
    lock: *mut bindings::spinlock_t,
    context: u64,
    seqno: u64,
) {
    // SAFETY: `ops` is NULL or valid ops (caller's contract).
    let ops_ok = unsafe { ops.as_ref() }
        .is_some_and(|ops| ops.get_driver_name.is_some() && ops.get_timeline_name.is_some());
    if lock.is_null() || !ops_ok {
        sys::bug();
    }
    // SAFETY: The refcount may be read concurrently even now: fences recycled
    // through SLAB_TYPESAFE_BY_RCU caches meet `dma_fence_get_rcu_safe` readers,
    // so it is set atomically (`refcount_set`). The rest is ours to write.
    unsafe {
        AtomicI32::from_ptr(addr_of_mut!((*fence).refcount.refcount.refs.counter))
            .store(1, Ordering::Relaxed);
        (*fence).ops = ops;
        sys::init_list_head(addr_of_mut!((*fence).__bindgen_anon_1.cb_list));
        (*fence).lock = lock;
        (*fence).context = context;
        (*fence).seqno = seqno;
        (*fence).flags = 0;
        (*fence).error = 0;
    }
    trace!(init, fence);
}

/// Signals a fence with the given timestamp; the caller holds `fence->lock`.
///
/// Returns -EINVAL if it had already signalled; see [`Locked::signal`].
///
/// # Safety
///
/// `fence` must be live and initialised, with its lock held by the caller.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_fence_signal_timestamp_locked(
    fence: *mut dma_fence,
    timestamp: ktime_t,
) -> c_int {
    // SAFETY: The caller's contract: a live, initialised fence whose lock it
    // holds for the call.
    unsafe { Locked::assume(Fence::from_raw(fence)) }.signal_body(timestamp)
}

/// Signals a fence with the given timestamp, taking its lock.
///
/// Returns -EINVAL for a NULL fence or one that had already signalled.
///
/// # Safety
///
/// `fence` must be NULL or live and initialised, its lock not held.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_fence_signal_timestamp(
    fence: *mut dma_fence,
    timestamp: ktime_t,
) -> c_int {
    if fence.is_null() {
        return sys::neg(bindings::EINVAL);
    }
    // SAFETY: The caller's contract: a live, initialised fence.
    unsafe { Fence::from_raw(fence) }.lock().signal(timestamp)
}

/// Signals a fence now; the caller holds `fence->lock`.
///
/// # Safety
///
/// As [`dma_fence_signal_timestamp_locked`].
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_fence_signal_locked(fence: *mut dma_fence) -> c_int {
    // SAFETY: As in `dma_fence_signal_timestamp_locked`.
    unsafe { Locked::assume(Fence::from_raw(fence)) }.signal(ktime_get())
}

/// Signals a fence now, inside a signalling critical section for lockdep.
///
/// # Safety
///
/// As [`dma_fence_signal_timestamp`].
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_fence_signal(fence: *mut dma_fence) -> c_int {
    if fence.is_null() {
        return sys::neg(bindings::EINVAL);
    }
    // SAFETY: The caller's contract: a live, initialised fence.
    methods::signal_body(unsafe { Fence::from_raw(fence) })
}

/// Releases a fence whose last reference is gone (the kref release function).
///
/// A fence released with callbacks still queued is a refcounting bug: it
/// warns, and signals with -EDEADLK so that no waiter is left hanging.
///
/// # Safety
///
/// `kref` must be the refcount of a live fence that just dropped to zero.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_fence_release(kref: *mut bindings::kref) {
    // SAFETY: `kref` is the refcount of a live, initialised fence that just
    // dropped to zero (caller's promise): the fence stays allocated until
    // its release op or `dma_fence_free` below, and nothing takes a
    // reference to it any more (the methods used here do not touch the
    // count).
    let (raw, fence) = unsafe {
        let raw = kernel::container_of!(kref, dma_fence, refcount).cast_mut();
        (raw, Fence::from_raw(raw))
    };
    trace!(destroy, raw);

    // Callbacks still queued on an unsignalled fence: a refcounting bug.
    if !fence.signaled_flag() && callbacks_queued_unlocked(fence) {
        released_pending(fence);
    }

    let release = fence.ops().release;
    // SAFETY: The fence is unreferenced: the exporter's release takes it
    // over, or, without one, it was kmalloc'ed and is freed here.
    unsafe {
        match release {
            Some(release) => release(raw),
            None => dma_fence_free(raw),
        }
    }
}

/// Whether callbacks are queued on the unsignalled fence, looked at without
/// the lock, as C does in `dma_fence_release`: the lock of a fence being
/// released may belong to an object already gone, so it is only taken when
/// there is something to signal.
#[inline]
fn callbacks_queued_unlocked(fence: &Fence) -> bool {
    // SAFETY: The fence is live and unsignalled, so the union holds its
    // callback list; nobody holds a reference to add to it or take from it.
    !unsafe { sys::list_empty(addr_of_mut!((*fence.raw()).__bindgen_anon_1.cb_list)) }
}

/// A fence released with callbacks still queued: warns, and signals it with
/// -EDEADLK so that no waiter is left hanging.
#[cold]
#[inline(never)]
fn released_pending(fence: &Fence) {
    // SAFETY: The fence is live and initialised; the names live as long as
    // it does. Nobody else holds a reference, so its error is ours to set
    // before it signals.
    unsafe {
        bindings::dmabuf_rs_warn_fence_released(
            fence.driver_name().as_ptr(),
            fence.timeline_name().as_ptr(),
            fence.context(),
            fence.seqno(),
        );
        (*fence.raw()).error = sys::neg(bindings::EDEADLK);
    }
    fence.lock().signal(ktime_get());
}

/// Frees a fence after an RCU grace period, for `dma_fence_get_rcu_safe` readers.
///
/// # Safety
///
/// `fence` must have been allocated with kmalloc and have no references left.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_fence_free(fence: *mut dma_fence) {
    // SAFETY: The fence was kmalloc'ed and is unreferenced (caller's promise),
    // so its `rcu` head (in the union with the callback list, unused once
    // the last reference is gone) is ours: `kfree_rcu(fence, rcu)`.
    unsafe { sys::kvfree_rcu(addr_of_mut!((*fence).__bindgen_anon_1.rcu), fence.cast()) };
}

/// Asks the exporter to signal the fence, without waiting for it.
///
/// # Safety
///
/// `fence` must be live and initialised, its lock not held.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_fence_enable_sw_signaling(fence: *mut dma_fence) {
    // SAFETY: The caller's contract: a live, initialised fence.
    unsafe { Fence::from_raw(fence) }.lock().enable_signaling();
}

/// Adds a callback to run when the fence signals.
///
/// Returns 0 when added, -ENOENT (with `cb`'s node initialised, the callback
/// never called) when the fence has already signalled, -EINVAL (with a
/// warning) for a NULL fence or function.
///
/// # Safety
///
/// `fence` must be NULL or live and initialised; `cb` must stay valid and in
/// place until it has run or been removed.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_fence_add_callback(
    fence: *mut dma_fence,
    cb: *mut dma_fence_cb,
    func: dma_fence_func_t,
) -> c_int {
    if fence.is_null() || func.is_none() {
        sys::warn();
        return sys::neg(bindings::EINVAL);
    }
    // SAFETY: The caller's contract: a live, initialised fence, and `cb`
    // valid for writes (taking its field's address reads nothing).
    let (fence, node) = unsafe { (Fence::from_raw(fence), addr_of_mut!((*cb).node)) };
    if fence.signaled_flag() {
        // SAFETY: `cb` is valid for writes.
        unsafe { sys::init_list_head(node) };
        return sys::neg(bindings::ENOENT);
    }

    let locked = fence.lock();
    // SAFETY: We hold the lock; `cb` is valid and stays in place until it has
    // run or been removed (caller).
    unsafe {
        if locked.enable_signaling() {
            (*cb).func = func;
            sys::list_add_tail(node, locked.cb_list());
            0
        } else {
            sys::init_list_head(node);
            sys::neg(bindings::ENOENT)
        }
    }
}

/// A fence as the pure rules of [`crate::logic`] see it.
impl FenceView for Fence {
    #[inline]
    fn id(&self) -> usize {
        self.raw() as usize
    }

    #[inline]
    fn context(&self) -> u64 {
        Fence::context(self)
    }

    #[inline]
    fn seqno(&self) -> u64 {
        Fence::seqno(self)
    }

    #[inline]
    fn seqno_width(&self) -> SeqnoWidth {
        SeqnoWidth::from_use_64bit_seqno(self.ops().use_64bit_seqno)
    }

    /// The callers of the logic rules hold no fence lock.
    #[inline]
    fn is_signaled(&self) -> bool {
        self.query_signaled()
    }
}

/// Returns 0 while the fence is pending, 1 once signalled, or its error
/// (negative) if it signalled with one.
///
/// # Safety
///
/// `fence` must be live and initialised, its lock not held.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_fence_get_status(fence: *mut dma_fence) -> c_int {
    // SAFETY: The caller's contract: a live, initialised fence.
    get_status(unsafe { Fence::from_raw(fence) })
}

/// The body of [`dma_fence_get_status`].
#[inline]
pub(crate) fn get_status(fence: &Fence) -> c_int {
    let locked = fence.lock();
    if locked.is_signaled() {
        match locked.error() {
            0 => 1,
            error => error,
        }
    } else {
        0
    }
}

/// Removes a callback added with [`dma_fence_add_callback`].
///
/// Returns true if it was still queued (it will not run), false if it has
/// already run or was never added.
///
/// # Safety
///
/// `fence` must be live and initialised; `cb` must have been initialised by
/// `dma_fence_add_callback` on this fence.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_fence_remove_callback(
    fence: *mut dma_fence,
    cb: *mut dma_fence_cb,
) -> bool {
    // SAFETY: The caller's contract: a live, initialised fence.
    let _locked = unsafe { Fence::from_raw(fence) }.lock();
    // SAFETY: Under the lock, `cb`'s node is either on the fence's list or
    // initialised empty.
    unsafe {
        let node = addr_of_mut!((*cb).node);
        let queued = !sys::list_empty(node);
        if queued {
            sys::list_del_init(node);
        }
        queued
    }
}

/// Passes a deadline hint to the exporter, unless the fence has signalled.
///
/// # Safety
///
/// `fence` must be live and initialised.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_fence_set_deadline(fence: *mut dma_fence, deadline: ktime_t) {
    // SAFETY: The caller's contract: a live, initialised fence.
    set_deadline(unsafe { Fence::from_raw(fence) }, deadline);
}

/// [`dma_fence_set_deadline`] on a borrowed fence.
pub(crate) fn set_deadline(fence: &Fence, deadline: ktime_t) {
    if let Some(set_deadline) = fence.ops().set_deadline {
        if !fence.query_signaled() {
            // SAFETY: The exporter's callback accepts any live fence of its own.
            unsafe { set_deadline(fence.raw(), deadline) };
        }
    }
}

/// Prints one line about the fence into a seq_file (debugfs users):
/// `<driver> <timeline> seq <seqno> [un]signalled`.
///
/// # Safety
///
/// `fence` must be live and initialised, `seq` a seq_file being shown.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_fence_describe(
    fence: *mut dma_fence,
    seq: *mut bindings::seq_file,
) {
    // SAFETY: The caller's contract: a live, initialised fence, and a
    // seq_file being shown, for the call.
    let (fence, seq) = unsafe { (Fence::from_raw(fence), &*seq.cast::<SeqFile>()) };
    describe(fence, seq);
}

/// [`dma_fence_describe`] of a borrowed fence.
pub(crate) fn describe(fence: &Fence, seq: &SeqFile) {
    let signalled = if fence.query_signaled() { "" } else { "un" };
    // C's "%s %s seq %llu %ssignalled\n".
    seq.puts(fence.driver_name());
    seq.puts(c" ");
    seq.puts(fence.timeline_name());
    seq.print(format_args!(
        " seq {} {}signalled\n",
        fence.seqno(),
        signalled
    ));
}

c_abi!(
    dma_fence_context_alloc,
    dma_fence_init,
    dma_fence_signal_timestamp_locked,
    dma_fence_signal_timestamp,
    dma_fence_signal_locked,
    dma_fence_signal,
    dma_fence_release,
    dma_fence_free,
    dma_fence_enable_sw_signaling,
    dma_fence_add_callback,
    dma_fence_get_status,
    dma_fence_remove_callback,
    dma_fence_set_deadline,
    dma_fence_describe,
);
