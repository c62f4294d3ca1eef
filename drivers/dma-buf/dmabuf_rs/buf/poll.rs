// SPDX-License-Identifier: GPL-2.0-only

//! `poll` of a dma-buf file: implicit fence polling.
//!
//! `EPOLLIN` (may read) is ready once the fences of writers on the
//! reservation object have signalled, `EPOLLOUT` (may write) once all of them
//! (readers and writers) have. Each direction has one callback slot in the
//! dma-buf (`cb_in`, `cb_out`), armed at most once at a time: a poll that
//! finds it idle marks it active with its event and queues it on the first
//! unsignalled fence; when that fence signals, the callback wakes every
//! poller with that event and goes idle, and the next poll looks again.
//!
//! An armed callback holds a reference to the dma-buf's file (taken before
//! arming, dropped by the callback), so the dma-buf outlives it; and one to
//! the fence it waits on (dropped by the callback too). `active` is only
//! changed under the wait queue's lock.

use super::lock::ResvGuard;
use super::methods::{DmaBuf, DmaBufCore};
use crate::fence::{dma_fence_add_callback, FenceCore};
use crate::logic::usage::Usage;
use crate::resv::Held;
use crate::sys::SpinLock;
use crate::vfs::{File, EPOLLERR, EPOLLIN, EPOLLOUT};
use core::ptr::{self, addr_of_mut};
use kernel::bindings::{
    self, __poll_t, dma_buf, dma_buf_dma_buf_poll_cb_t, dma_fence, dma_fence_cb, file, poll_table,
};
use kernel::types::ARef;

/// One of the two poll callback slots of a dma-buf.
type PollCb = dma_buf_dma_buf_poll_cb_t;

// The fence callback is the slot's first member, so the fence core's pointer
// to it is a pointer to the slot.
const _: () = assert!(core::mem::offset_of!(PollCb, cb) == 0);

/// The fence callback of a poll slot (and what a poll calls itself when no
/// fence was waited for): wakes the pollers of the slot's event, marks the
/// slot idle, and drops the fence (if any) and the file reference the poll
/// took.
///
/// # Safety
///
/// `cb` must be the `cb` of an active slot of a live dma-buf, for which the
/// caller gives up one reference to the dma-buf's file and, if `fence` is not
/// NULL, one to `fence`.
unsafe extern "C" fn dma_buf_poll_cb(fence: *mut dma_fence, cb: *mut dma_fence_cb) {
    let dcb: *mut PollCb = cb.cast();
    // SAFETY: The slot is one of a live dma-buf (caller), whose `poll` it
    // points to since the export.
    let (wq, dmabuf) = unsafe {
        let wq = (*dcb).poll;
        (wq, kernel::container_of!(wq, dma_buf, poll).cast_mut())
    };
    {
        // SAFETY: The wait queue is initialised and lives with the dma-buf.
        let lock = unsafe { &*addr_of_mut!((*wq).lock).cast::<SpinLock>() };
        let _guard = lock.lock_irqsave();
        // SAFETY: We hold the wait queue's lock, under which `active` changes.
        unsafe {
            bindings::dmabuf_rs_buf_wake_up_locked_poll(wq, (*dcb).active);
            (*dcb).active = 0;
        }
    }
    // SAFETY: The references the caller gives up; the file's keeps the
    // dma-buf alive up to here (its release may run now).
    unsafe {
        crate::fence::put(fence);
        bindings::fput((*dmabuf).file);
    }
}

/// Queues the slot `dcb` on the first fence of the locked reservation object
/// that a reader (`write == false`) or a writer must wait for, and returns
/// whether it did; `false` means they are all signalled (or there are none).
///
/// A queued callback holds a reference to its fence.
///
/// # Safety
///
/// `dcb` must be an active slot of a live dma-buf for which the caller holds
/// a file reference to give to the callback, if queued.
unsafe fn dma_buf_poll_add_cb(mut held: Held<'_>, write: bool, dcb: *mut PollCb) -> bool {
    let Some(list) = held.list() else {
        return false;
    };
    // `dma_resv_for_each_fence()`: the fences of the usage or a stronger one.
    let query = Usage::rw(write);
    for (slot, _) in list.fences().filter(|(_, usage)| query.covers(*usage)) {
        let fence = ARef::from(slot.fence);
        // SAFETY: The fence is live; the slot's callback stays in place as
        // long as the dma-buf (caller).
        let queued = unsafe {
            dma_fence_add_callback(fence.raw(), addr_of_mut!((*dcb).cb), Some(dma_buf_poll_cb))
        };
        if queued == 0 {
            // The callback owns the reference now.
            let _ = ARef::into_raw(fence);
            return true;
        }
        // Already signalled: the callback was not queued.
        crate::fence::put_ref(fence);
    }
    false
}

/// Arms the slot `dcb` for `event` (`EPOLLOUT` with `write`, `EPOLLIN`
/// without) and returns whether the event is ready now.
///
/// A slot already armed is not ready (its callback will wake us). Otherwise
/// it is armed with a file reference and queued; if there is no fence to
/// wait for, the callback runs right away, waking the other pollers, and the
/// event is ready.
///
/// # Safety
///
/// The caller holds the file of `dmabuf` open, and `dcb` is one of its slots.
unsafe fn arm(
    dmabuf: &DmaBuf,
    held: Held<'_>,
    write: bool,
    dcb: *mut PollCb,
    event: __poll_t,
) -> bool {
    // SAFETY: The dma-buf is live; its wait queue is initialised.
    let lock = unsafe { &*addr_of_mut!((*dmabuf.raw()).poll.lock).cast::<SpinLock>() };
    // `active` only changes under the wait queue's lock, taken with
    // interrupts off (the callback runs from fence signalling).
    let busy = {
        let _guard = lock.lock_irq();
        // SAFETY: `dcb` is a slot of the live dma-buf (caller); we hold the
        // lock that guards `active`.
        unsafe {
            let busy = (*dcb).active != 0;
            if !busy {
                (*dcb).active = event;
            }
            busy
        }
    };
    if busy {
        return false;
    }

    // SAFETY: The caller holds the file open, so its count is not zero; this
    // reference is the slot's, dropped by the callback. The slot is then
    // active with it, and given to the callback if queued; if not, the
    // callback runs here, waking any other waiters and dropping it.
    unsafe {
        bindings::dmabuf_rs_buf_get_file(dmabuf.file());
        if dma_buf_poll_add_cb(held, write, dcb) {
            return false;
        }
        dma_buf_poll_cb(ptr::null_mut(), addr_of_mut!((*dcb).cb));
    }
    true
}

/// `poll` of a dma-buf file: `EPOLLIN`/`EPOLLOUT` as described in the
/// module; `EPOLLERR` for a file without a dma-buf or reservation object.
///
/// # Safety
///
/// Called by the VFS only, for an open file with the dma-buf operations.
pub(super) unsafe extern "C" fn dma_buf_poll(file: *mut file, poll: *mut poll_table) -> __poll_t {
    // SAFETY: The file is open (VFS).
    let dmabuf = super::private_dmabuf(unsafe { &*file.cast::<File>() });
    // SAFETY: NULL or the live dma-buf the open file keeps alive.
    if dmabuf.is_null() || unsafe { (*dmabuf).resv }.is_null() {
        return EPOLLERR;
    }
    // SAFETY: As above, exported (its file is open), with its reservation
    // object.
    let dmabuf = unsafe { DmaBuf::from_raw(dmabuf) };

    // SAFETY: The wait queue lives with the dma-buf; `poll` is the VFS's
    // table (or NULL).
    unsafe { bindings::dmabuf_rs_poll_wait(file, addr_of_mut!((*dmabuf.raw()).poll), poll) };

    // SAFETY: The VFS's table, or NULL.
    let mut events =
        unsafe { bindings::dmabuf_rs_buf_poll_requested_events(poll) } & (EPOLLIN | EPOLLOUT);
    if events == 0 {
        return 0;
    }

    // Poll does not hold the lock already.
    let mut guard = ResvGuard::lock(dmabuf.resv());

    // SAFETY: Taking the slots' addresses reads nothing.
    let (cb_out, cb_in) = unsafe {
        (
            addr_of_mut!((*dmabuf.raw()).cb_out),
            addr_of_mut!((*dmabuf.raw()).cb_in),
        )
    };
    // SAFETY: The file is open, and the slot the dma-buf's.
    if events & EPOLLOUT != 0 && !unsafe { arm(dmabuf, guard.held(), true, cb_out, EPOLLOUT) } {
        events &= !EPOLLOUT;
    }
    // SAFETY: As above.
    if events & EPOLLIN != 0 && !unsafe { arm(dmabuf, guard.held(), false, cb_in, EPOLLIN) } {
        events &= !EPOLLIN;
    }
    events
}
