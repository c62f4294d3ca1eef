// SPDX-License-Identifier: GPL-2.0-only

//! Waiting for fences: one, or any of several.
//!
//! Waiters queue a callback that wakes their task, then sleep until the fence
//! signals, the timeout runs out, or (if interruptible) a signal arrives. The
//! timeout is in jiffies; the return value is what is left of it (at least 1
//! if the fence signalled with none to spare), 0 on timeout, or -ERESTARTSYS.

use super::{
    dma_fence_add_callback, dma_fence_remove_callback, lockdep, trace, Fence, FenceCore, SIGNALED,
};
use crate::sys;
use core::ptr::addr_of_mut;
use kernel::alloc::{flags::GFP_KERNEL, KVec};
use kernel::bindings::{self, dma_fence, dma_fence_cb};
use kernel::ffi::c_long;

/// A callback that wakes the waiting task.
#[repr(C)]
struct WaitCb {
    base: dma_fence_cb,
    task: *mut bindings::task_struct,
}

impl WaitCb {
    fn new() -> Self {
        Self {
            base: dma_fence_cb {
                node: sys::LIST_HEAD_UNLINKED,
                func: Some(wake_waiter),
            },
            task: sys::current(),
        }
    }
}

/// The fence callback of a [`WaitCb`]: wakes its task.
///
/// # Safety
///
/// `cb` must be the `base` of a live `WaitCb` (the fence core calls this with
/// the callback it was given).
unsafe extern "C" fn wake_waiter(_fence: *mut dma_fence, cb: *mut dma_fence_cb) {
    // SAFETY: This callback is only ever queued as the `base` of a `WaitCb`,
    // which its waiter keeps alive until the callback has run or been removed.
    unsafe {
        let wait = kernel::container_of!(cb, WaitCb, base);
        bindings::wake_up_state((*wait).task, bindings::TASK_NORMAL);
    }
}

fn sleep_state(intr: bool) -> u32 {
    if intr {
        bindings::TASK_INTERRUPTIBLE
    } else {
        bindings::TASK_UNINTERRUPTIBLE
    }
}

const ERESTARTSYS: c_long = -(bindings::ERESTARTSYS as c_long);

/// The wait used when the exporter has no `ops->wait`: sleeps on the fence's
/// callback list until it signals, times out, or (`intr`) a signal arrives.
///
/// # Safety
///
/// `fence` must be live and initialised, its lock not held.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_fence_default_wait(
    fence: *mut dma_fence,
    intr: bool,
    timeout: c_long,
) -> c_long {
    // SAFETY: The caller's contract: a live, initialised fence, its lock
    // not held.
    default_wait(unsafe { Fence::from_raw(fence) }, intr, timeout)
}

/// The body of [`dma_fence_default_wait`].
fn default_wait(fence: &Fence, intr: bool, timeout: c_long) -> c_long {
    let mut ret = if timeout != 0 { timeout } else { 1 };
    let mut guard = fence.lock();
    let flags = fence.flags();
    if sys::test_bit(flags, SIGNALED) {
        return ret;
    }
    if intr && sys::signal_pending() {
        return ERESTARTSYS;
    }
    if timeout == 0 {
        return 0;
    }

    let mut cb = WaitCb::new();
    // The node's pointer is derived from one to the whole `cb`: the fence
    // core gives `wake_waiter` the callback's address, computed back from the
    // node, and the waker reads `task` through it. A pointer made from the
    // `node` field alone would not be allowed to reach `task`.
    let whole = addr_of_mut!(cb);
    // SAFETY: `whole` points to the live local `cb`, whose node is on no
    // list. We hold the lock. `cb` stays in place on this stack frame and
    // is unlinked below before the frame goes away.
    let node = unsafe {
        let node = addr_of_mut!((*whole).base.node);
        crate::sys::list_add(node, guard.cb_list());
        node
    };

    while !sys::test_bit(flags, SIGNALED) && ret > 0 {
        sys::set_current_state(sleep_state(intr), false);
        drop(guard);
        ret = sys::schedule_timeout(ret);
        guard = fence.lock();
        if ret > 0 && intr && sys::signal_pending() {
            ret = ERESTARTSYS;
        }
    }

    // SAFETY: Under the lock: the node is on the list unless signalling took it off.
    unsafe {
        if !sys::list_empty(node) {
            crate::sys::list_del(node);
        }
    }
    sys::set_current_state(bindings::TASK_RUNNING, false);
    drop(guard);
    ret
}

/// Waits for a fence to signal, with a timeout in jiffies.
///
/// Returns -EINVAL (with a warning) for a negative timeout. Calls
/// `ops->wait` if the exporter has one, otherwise [`dma_fence_default_wait`].
///
/// # Safety
///
/// `fence` must be live and initialised, its lock not held; may sleep.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_fence_wait_timeout(
    fence: *mut dma_fence,
    intr: bool,
    timeout: c_long,
) -> c_long {
    // SAFETY: The caller's contract: a live, initialised fence, its lock
    // not held.
    wait_checked(unsafe { Fence::from_raw(fence) }, intr, timeout)
}

/// [`dma_fence_wait_timeout`] for the core's callers.
///
/// A function of its own (the C function inlines the body instead), so
/// that the C entry point stays one function, as fast as before: no jump to
/// a shared body, and no caller location for the warning (`track_caller`
/// would pass one in a register on every call).
#[inline(never)]
pub(crate) fn wait_timeout(fence: &Fence, intr: bool, timeout: c_long) -> c_long {
    wait_checked(fence, intr, timeout)
}

/// The body of [`dma_fence_wait_timeout`]: -EINVAL, with a warning, for a
/// negative timeout.
#[inline(always)]
fn wait_checked(fence: &Fence, intr: bool, timeout: c_long) -> c_long {
    if timeout < 0 {
        sys::warn();
        return -(bindings::EINVAL as c_long);
    }
    wait_valid(fence, intr, timeout)
}

/// [`wait_timeout`] for a valid timeout (inlined into both of its callers).
#[inline(always)]
fn wait_valid(fence: &Fence, intr: bool, timeout: c_long) -> c_long {
    sys::might_sleep();
    lockdep::might_wait();
    fence.lock().enable_signaling();

    trace!(wait_start, fence.raw());
    let ret = match fence.ops().wait {
        // SAFETY: The exporter's wait takes a live fence of its own, its
        // lock not held.
        Some(wait) => unsafe { wait(fence.raw(), intr, timeout) },
        None => default_wait(fence, intr, timeout),
    };
    trace!(wait_end, fence.raw());
    ret
}

/// The index of the first signalled fence, if any (flag only, no exporter call).
fn first_signaled(fences: &[&Fence]) -> Option<u32> {
    let pos = fences.iter().position(|f| f.signaled_flag());
    pos.map(|i| i as u32)
}

/// Waits until any of `count` fences signals; stores its index in `*idx`
/// (if `idx` is not NULL).
///
/// Returns as [`dma_fence_wait_timeout`], -EINVAL (with a warning) for no
/// fences or a negative timeout, -ENOMEM if the callbacks cannot be allocated.
/// With a zero timeout it only checks.
///
/// # Safety
///
/// `fences` must be NULL or point to `count` live, initialised fences; `idx`
/// must be NULL or valid for writes. May sleep.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_fence_wait_any_timeout(
    fences: *mut *mut dma_fence,
    count: u32,
    intr: bool,
    timeout: c_long,
    idx: *mut u32,
) -> c_long {
    if fences.is_null() || count == 0 || timeout < 0 {
        sys::warn();
        return -(bindings::EINVAL as c_long);
    }
    // SAFETY: The caller guarantees `count` live, initialised fences at
    // `fences`, for the call, and `idx` NULL or valid for writes. A `&Fence`
    // is a non-null pointer to the `struct dma_fence` (`Fence` is
    // `repr(transparent)` over it), the same layout as the C array's
    // `struct dma_fence *` elements.
    let (fences, idx): (&[&Fence], _) = unsafe {
        (
            core::slice::from_raw_parts(fences.cast(), count as usize),
            idx.as_mut(),
        )
    };
    wait_any(fences, intr, timeout, idx)
}

/// The body of [`dma_fence_wait_any_timeout`], for at least one fence and a
/// valid timeout.
fn wait_any(fences: &[&Fence], intr: bool, timeout: c_long, mut idx: Option<&mut u32>) -> c_long {
    let mut report = |i: u32| {
        if let Some(idx) = idx.as_deref_mut() {
            *idx = i;
        }
    };

    if timeout == 0 {
        for (i, fence) in fences.iter().enumerate() {
            if fence.query_signaled() {
                report(i as u32);
                return 1;
            }
        }
        return 0;
    }

    let mut cbs = match KVec::with_capacity(fences.len(), GFP_KERNEL) {
        Ok(cbs) => cbs,
        Err(_) => return -(bindings::ENOMEM as c_long),
    };
    for _ in fences {
        // Cannot fail: the capacity was reserved above.
        let _ = cbs.push(WaitCb::new(), GFP_KERNEL);
    }

    // From here on the callbacks are only touched through raw pointers: once
    // queued, the signalling CPU writes their nodes.
    let cbs_ptr = cbs.as_mut_ptr();
    let mut ret = timeout;
    let mut added = 0;
    let mut all_added = true;
    for (i, fence) in fences.iter().enumerate() {
        // SAFETY: `i < fences.len()`, the length of `cbs`. The fence is
        // live; `cbs` is not moved or freed until every callback added here
        // has been removed below.
        let status = unsafe {
            let cb = addr_of_mut!((*cbs_ptr.add(i)).base);
            dma_fence_add_callback(fence.raw(), cb, Some(wake_waiter))
        };
        if status != 0 {
            // Already signalled.
            report(i as u32);
            all_added = false;
            break;
        }
        added += 1;
    }

    if all_added {
        while ret > 0 {
            sys::set_current_state(sleep_state(intr), true);
            if let Some(i) = first_signaled(fences) {
                report(i);
                break;
            }
            ret = sys::schedule_timeout(ret);
            if ret > 0 && intr && sys::signal_pending() {
                ret = ERESTARTSYS;
            }
        }
        sys::set_current_state(bindings::TASK_RUNNING, false);
    }

    for i in (0..added).rev() {
        // SAFETY: Callback `i` was added to the live fence `i`.
        unsafe { dma_fence_remove_callback(fences[i].raw(), addr_of_mut!((*cbs_ptr.add(i)).base)) };
    }
    drop(cbs);
    ret
}

c_abi!(
    dma_fence_default_wait,
    dma_fence_wait_timeout,
    dma_fence_wait_any_timeout
);
