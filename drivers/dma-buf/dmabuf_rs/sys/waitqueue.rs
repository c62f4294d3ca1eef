// SPDX-License-Identifier: GPL-2.0-only

//! Wait queues embedded in C structs (`struct wait_queue_head`): the dma-buf's
//! poll queue and the sync_file's.

use super::{LockClass, SpinLock};
use kernel::bindings;
use kernel::types::Opaque;

/// A wait queue that a C struct embeds, set up by [`init_waitqueue_head`].
///
/// # Invariants
///
/// The queue is initialised and live for the borrow.
#[repr(transparent)]
pub(crate) struct WaitQueue(Opaque<bindings::wait_queue_head>);

impl WaitQueue {
    /// Borrows an initialised wait queue.
    ///
    /// # Safety
    ///
    /// `wq` must be an initialised wait queue, live for `'a`.
    #[inline]
    pub(crate) unsafe fn from_raw<'a>(wq: *mut bindings::wait_queue_head) -> &'a Self {
        // SAFETY: `repr(transparent)`; initialised and live for `'a`
        // (caller's promise).
        unsafe { &*wq.cast() }
    }

    /// The C pointer.
    #[inline]
    pub(crate) fn as_ptr(&self) -> *mut bindings::wait_queue_head {
        self.0.get()
    }

    /// The queue's lock, which also guards what its owner changes together
    /// with a wake-up (the dma-buf poll slots' `active`).
    #[inline]
    pub(crate) fn lock(&self) -> &SpinLock {
        // SAFETY: The lock of an initialised queue is an initialised
        // spinlock, live as long as the queue; `SpinLock` is
        // `repr(transparent)` over `spinlock_t`.
        unsafe { &*core::ptr::addr_of_mut!((*self.as_ptr()).lock).cast::<SpinLock>() }
    }

    /// `wake_up_all`: wakes every waiter. Takes the queue's lock.
    #[inline]
    pub(crate) fn wake_up_all(&self) {
        // SAFETY: The queue is initialised (type invariant); a NULL key is
        // allowed.
        unsafe {
            bindings::__wake_up(
                self.as_ptr(),
                bindings::TASK_NORMAL,
                0,
                core::ptr::null_mut(),
            )
        };
    }

    /// Takes the queue's lock with interrupts off (`spin_lock_irqsave`),
    /// for [`QueueGuard::wake_up_locked_poll`].
    #[inline]
    pub(crate) fn lock_irqsave(&self) -> QueueGuard<'_> {
        QueueGuard {
            queue: self,
            _lock: self.lock().lock_irqsave(),
        }
    }
}

/// A [`WaitQueue`] with its lock held, interrupts off; unlocks on drop.
pub(crate) struct QueueGuard<'a> {
    queue: &'a WaitQueue,
    _lock: super::spinlock::IrqSaveGuard<'a>,
}

impl QueueGuard<'_> {
    /// `wake_up_locked_poll`: wakes the waiters polling for `mask`.
    #[inline]
    pub(crate) fn wake_up_locked_poll(&self, mask: bindings::__poll_t) {
        // SAFETY: The queue is initialised and we hold its lock, with
        // interrupts off, as the locked wake-up requires.
        unsafe { bindings::dmabuf_rs_buf_wake_up_locked_poll(self.queue.as_ptr(), mask) };
    }
}

/// `init_waitqueue_head`: initialises the wait queue `wq`, its lock in the
/// lockdep class `class`, named `name` (C names it after the macro's
/// argument, such as `"&sync_file->wq"`; the core keeps those names).
///
/// The macro is one call of the exported `__init_waitqueue_head` with the
/// site's static key, so this calls it directly, as C does.
///
/// # Safety
///
/// `wq` must be valid for writes and not in use.
#[inline]
pub(crate) unsafe fn init_waitqueue_head(
    wq: *mut bindings::wait_queue_head,
    name: &'static core::ffi::CStr,
    class: &'static LockClass,
) {
    // SAFETY: `wq` is writable and unused (caller's promise); the name and
    // the key are static, as lockdep requires.
    unsafe { bindings::__init_waitqueue_head(wq, name.as_ptr().cast(), class.0.get()) }
}
