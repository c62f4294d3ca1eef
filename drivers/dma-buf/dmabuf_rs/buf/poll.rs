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
use crate::fence::{dma_fence_add_callback, Fence, FenceCore};
use crate::logic::usage::Usage;
use crate::resv::Held;
use crate::sys::WaitQueue;
use crate::vfs::{File, FileRef, PollTable, EPOLLERR, EPOLLIN, EPOLLOUT};
use core::ptr::{addr_of_mut, NonNull};
use kernel::bindings::{
    self, __poll_t, dma_buf, dma_buf_dma_buf_poll_cb_t, dma_fence, dma_fence_cb, file, poll_table,
};
use kernel::types::{ARef, Opaque};

/// One of the two poll callback slots of a dma-buf (`cb_in`, `cb_out`).
///
/// # Invariants
///
/// The slot is one of a live dma-buf's, whose wait queue its `poll` points
/// to (both set at export); `active` is only accessed under that queue's
/// lock. While `active` is not 0 the slot owns a reference to the dma-buf's
/// file, which its callback (or the poll that armed it) drops.
#[repr(transparent)]
struct PollSlot(Opaque<dma_buf_dma_buf_poll_cb_t>);

// The fence callback is the slot's first member, so the fence core's pointer
// to it is a pointer to the slot.
const _: () = assert!(core::mem::offset_of!(dma_buf_dma_buf_poll_cb_t, cb) == 0);

impl PollSlot {
    /// The slot of `dmabuf` for writers (`cb_out`) or readers (`cb_in`).
    #[inline]
    fn of(dmabuf: &DmaBuf, write: bool) -> &PollSlot {
        let raw = dmabuf.raw();
        // SAFETY: The slots of a live dma-buf, set up at export (taking a
        // field's address reads nothing); `PollSlot` is `repr(transparent)`.
        unsafe {
            &*if write {
                addr_of_mut!((*raw).cb_out)
            } else {
                addr_of_mut!((*raw).cb_in)
            }
            .cast::<PollSlot>()
        }
    }

    #[inline]
    fn raw(&self) -> *mut dma_buf_dma_buf_poll_cb_t {
        self.0.get()
    }

    /// The dma-buf's wait queue, whose lock guards `active`.
    #[inline]
    fn queue(&self) -> &WaitQueue {
        // SAFETY: `poll` points to the dma-buf's queue, initialised at export
        // and live as long as the slot (type invariant).
        unsafe { WaitQueue::from_raw((*self.raw()).poll) }
    }

    /// Marks the idle slot active for `event`; false if it already is.
    #[inline]
    fn try_activate(&self, event: __poll_t) -> bool {
        // Interrupts off: the callback takes the lock from fence signalling.
        let _guard = self.queue().lock().lock_irq();
        // SAFETY: We hold the queue's lock, under which `active` is accessed
        // (type invariant).
        unsafe {
            let active = addr_of_mut!((*self.raw()).active);
            if *active != 0 {
                return false;
            }
            *active = event;
        }
        true
    }

    /// Wakes the pollers of the slot's event and marks the slot idle. The
    /// caller then drops the file reference the slot owned.
    #[inline]
    fn fire(&self) {
        let queue = self.queue().lock_irqsave();
        // SAFETY: We hold the queue's lock, under which `active` is accessed
        // (type invariant).
        let active = unsafe { core::mem::replace(&mut (*self.raw()).active, 0) };
        queue.wake_up_locked_poll(active);
    }

    /// Queues the active slot's callback on the first fence of the locked
    /// reservation object that a reader (`write == false`) or a writer must
    /// wait for, handing it `file`, the slot's reference to the dma-buf's
    /// file, and a reference to the fence. Gives `file` back if every such
    /// fence has signalled (or there are none).
    fn queue_on(&self, mut held: Held<'_>, write: bool, file: FileRef) -> Result<(), FileRef> {
        let Some(list) = held.list() else {
            return Err(file);
        };
        // `dma_resv_for_each_fence()`: the fences of the usage or a stronger one.
        let query = Usage::rw(write);
        for (slot, _) in list.fences().filter(|(_, usage)| query.covers(*usage)) {
            let fence = ARef::from(slot.fence);
            // SAFETY: The fence is live. The callback's storage stays in
            // place until it has run: it is in the dma-buf, whose file
            // reference the callback gets.
            let queued = unsafe {
                dma_fence_add_callback(
                    fence.raw(),
                    addr_of_mut!((*self.raw()).cb),
                    Some(dma_buf_poll_cb),
                )
            };
            if queued == 0 {
                // The callback owns both references now.
                let _ = ARef::into_raw(fence);
                let _ = file.into_raw();
                return Ok(());
            }
            // Already signalled: the callback was not queued.
            crate::fence::put_ref(fence);
        }
        Err(file)
    }
}

/// The fence callback of a poll slot: wakes the pollers of the slot's event,
/// marks the slot idle, and drops the fence and the file reference the poll
/// took.
///
/// # Safety
///
/// `cb` must be the `cb` of an active slot of a live dma-buf, queued on
/// `fence` by [`PollSlot::queue_on`] (which hands the callback a reference to
/// `fence` and the slot's to the dma-buf's file).
unsafe extern "C" fn dma_buf_poll_cb(fence: *mut dma_fence, cb: *mut dma_fence_cb) {
    // SAFETY: `cb` is the first member of a slot of a live dma-buf (caller's
    // promise), whose `poll` is the dma-buf's; the references to `fence` and
    // to the dma-buf's file are the callback's.
    let (slot, fence, file) = unsafe {
        let slot = &*cb.cast::<PollSlot>();
        let dmabuf = kernel::container_of!((*slot.raw()).poll, dma_buf, poll);
        (
            slot,
            Fence::from_raw_owned(NonNull::new_unchecked(fence)),
            FileRef::from_raw(NonNull::new_unchecked((*dmabuf).file)),
        )
    };
    slot.fire();
    crate::fence::put_ref(fence);
    // Last: the file's reference keeps the dma-buf alive up to here.
    drop(file);
}

/// Arms the slot for `event` (`EPOLLOUT` with `write`, `EPOLLIN` without)
/// and returns whether the event is ready now.
///
/// A slot already armed is not ready (its callback will wake us). Otherwise
/// it is armed with a new reference to the dma-buf's file and queued; if
/// there is no fence to wait for, it fires right away, waking the other
/// pollers, and the event is ready.
fn arm(dmabuf: &DmaBuf, held: Held<'_>, write: bool, event: __poll_t) -> bool {
    let slot = PollSlot::of(dmabuf, write);
    if !slot.try_activate(event) {
        return false;
    }
    match slot.queue_on(held, write, dmabuf.file().get()) {
        Ok(()) => false,
        Err(file) => {
            slot.fire();
            drop(file);
            true
        }
    }
}

/// `poll_wait` on the dma-buf's queue.
#[inline]
fn poll_wait(dmabuf: &DmaBuf, table: Option<&PollTable>) {
    // SAFETY: The queue lives as long as the dma-buf, whose file it is
    // registered for: the VFS removes the entry before the file's release,
    // which is what frees the dma-buf.
    unsafe {
        bindings::dmabuf_rs_poll_wait(
            dmabuf.file().as_ptr(),
            addr_of_mut!((*dmabuf.raw()).poll),
            PollTable::as_ptr(table),
        )
    };
}

/// `poll` of a dma-buf file: `EPOLLIN`/`EPOLLOUT` as described in the
/// module; `EPOLLERR` for a file without a dma-buf or reservation object.
///
/// # Safety
///
/// Called by the VFS only, for an open file with the dma-buf operations.
pub(super) unsafe extern "C" fn dma_buf_poll(file: *mut file, poll: *mut poll_table) -> __poll_t {
    // SAFETY: The file is open and `poll` the VFS's table or NULL (VFS);
    // the file's private data is NULL or the live dma-buf it keeps alive,
    // exported (its file is open), with its reservation object unless that
    // is NULL.
    let (dmabuf, table) = unsafe {
        let dmabuf = super::private_dmabuf(&*file.cast::<File>());
        if dmabuf.is_null() || (*dmabuf).resv.is_null() {
            return EPOLLERR;
        }
        (DmaBuf::from_raw(dmabuf), poll.cast::<PollTable>().as_ref())
    };
    poll_dmabuf(dmabuf, table)
}

/// The body of [`dma_buf_poll`], for a dma-buf with a reservation object.
#[inline(always)]
fn poll_dmabuf(dmabuf: &DmaBuf, table: Option<&PollTable>) -> __poll_t {
    poll_wait(dmabuf, table);
    let mut events = PollTable::requested_events(table) & (EPOLLIN | EPOLLOUT);
    if events == 0 {
        return 0;
    }

    // Poll does not hold the lock already.
    let mut guard = ResvGuard::lock(dmabuf.resv());
    if events & EPOLLOUT != 0 && !arm(dmabuf, guard.held(), true, EPOLLOUT) {
        events &= !EPOLLOUT;
    }
    if events & EPOLLIN != 0 && !arm(dmabuf, guard.held(), false, EPOLLIN) {
        events &= !EPOLLIN;
    }
    events
}
