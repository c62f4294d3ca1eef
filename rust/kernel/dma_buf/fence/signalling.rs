// SPDX-License-Identifier: GPL-2.0

//! Fence signalling critical sections.

use crate::bindings;
use core::marker::PhantomData;

/// A fence signalling critical section (`dma_fence_begin_signalling` to
/// `dma_fence_end_signalling`), ended when the guard is dropped.
///
/// Code between the point a fence is published and the point it signals must
/// not wait for anything that may itself wait for fences (allocations that
/// may reclaim, locks held around fence waits): lockdep checks this inside
/// the section. The guard stays on the task that made it (`!Send`), as the
/// lockdep annotation is per task.
///
/// # Examples
///
/// ```
/// use kernel::dma_buf::fence::SignallingSection;
///
/// let section = SignallingSection::begin();
/// // ... push the job to the hardware, signal its fence ...
/// drop(section);
/// ```
pub struct SignallingSection {
    cookie: bool,
    _not_send: PhantomData<*mut ()>,
}

impl SignallingSection {
    /// Enters a signalling critical section.
    pub fn begin() -> Self {
        // SAFETY: `dma_fence_begin_signalling` has no preconditions.
        let cookie = unsafe { bindings::dma_fence_begin_signalling() };
        Self {
            cookie,
            _not_send: PhantomData,
        }
    }
}

impl Drop for SignallingSection {
    fn drop(&mut self) {
        // SAFETY: The cookie came from the matching begin on this task.
        unsafe { bindings::dma_fence_end_signalling(self.cookie) };
    }
}
