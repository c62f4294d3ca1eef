// SPDX-License-Identifier: GPL-2.0-only

//! Iterating over the fences of a reservation object.
//!
//! There are two walks, over the same `struct dma_resv_iter` whose fields the
//! header's inline functions and the `dma_resv_for_each_fence*()` macros use:
//!
//! - the locked walk ([`dma_resv_iter_first`], [`dma_resv_iter_next`]) runs
//!   with the reservation lock held, so the list cannot change under it; it
//!   returns every fence of the requested usage (or a smaller one), signalled
//!   or not, without taking references;
//! - the unlocked walk ([`dma_resv_iter_first_unlocked`],
//!   [`dma_resv_iter_next_unlocked`]) runs under RCU only. It holds a
//!   reference to the fence it returns (dropped by the next step or by
//!   `dma_resv_iter_end()`), skips signalled fences, and starts over from the
//!   first slot whenever the list was replaced or a fence in it was already
//!   being freed. Each fresh start sets `is_restarted`, so that callers which
//!   accumulate what they see (copies, arrays) can throw it away and begin
//!   again; `num_fences` then bounds how many fences the new round returns.
//!
//! [`for_each_unlocked`] packages the unlocked walk for the core's own loops.

use super::list::{self, ResvList};
use super::{assert_held, usage_of};
use crate::fence::is_signaled;
use crate::logic::usage::Usage;
use crate::sys;
use core::ops::ControlFlow;
use core::ptr::{self, addr_of_mut};
use kernel::bindings::{dma_fence, dma_resv, dma_resv_iter, dma_resv_usage};

/// Starts the unlocked walk over (again) on the current list
/// (`dma_resv_iter_restart_unlocked`).
///
/// # Safety
///
/// `cursor` must be valid with a live `obj`; the caller holds the RCU read lock.
unsafe fn restart_unlocked(cursor: *mut dma_resv_iter) {
    // SAFETY: The cursor and its object are valid and we are under RCU, so a
    // non-null list stays allocated while we read its count.
    unsafe {
        let fences = list::fences_list((*cursor).obj);
        (*cursor).index = 0;
        (*cursor).num_fences = if fences.is_null() {
            0
        } else {
            list::num_fences(fences)
        };
        (*cursor).fences = fences.cast();
        (*cursor).is_restarted = true;
    }
}

/// Moves the unlocked walk to the next unsignalled fence of a matching usage
/// and takes a reference to it (`dma_resv_iter_walk_unlocked`).
///
/// Drops the reference to the previous fence. Leaves `fence` NULL at the end
/// of the list; starts over (see [`restart_unlocked`]) when a fence in the
/// list is already on its way to being freed.
///
/// # Safety
///
/// `cursor` must be valid with a live `obj`, its `fence` NULL or a reference
/// it owns, its `fences`/`index`/`num_fences` set by [`restart_unlocked`]
/// under the same RCU read-side critical section, which the caller holds.
unsafe fn walk_unlocked(cursor: *mut dma_resv_iter) {
    // SAFETY: The cursor is valid (caller's promise).
    if unsafe { (*cursor).fences }.is_null() {
        return;
    }
    // SAFETY: The cursor owns its `fence` reference (or NULL); its list is
    // kept allocated by RCU and `index` stays below the count read from it,
    // so every slot read is in use. Fence memory is also freed only after a
    // grace period, which makes `dma_fence_get_rcu` safe on a fence that is
    // being released; once it succeeds the fence is live.
    unsafe {
        loop {
            crate::fence::put((*cursor).fence);

            let index = (*cursor).index;
            if index >= (*cursor).num_fences {
                (*cursor).fence = ptr::null_mut();
                break;
            }
            // Cannot overflow: `index < num_fences <= u32::MAX`.
            (*cursor).index = index + 1;

            let (fence, usage) = list::entry((*cursor).fences.cast::<ResvList>(), index);
            (*cursor).fence_usage = usage.as_raw();
            (*cursor).fence = crate::fence::get_rcu(fence);
            if (*cursor).fence.is_null() {
                restart_unlocked(cursor);
                continue;
            }

            if !is_signaled((*cursor).fence) && usage_of((*cursor).usage).covers(usage) {
                break;
            }
        }
    }
}

/// Returns the first unsignalled fence of `cursor->obj` with a matching usage,
/// walking under RCU only; NULL if there is none.
///
/// The cursor holds a reference to the returned fence until the next step or
/// `dma_resv_iter_end()`. Sets `is_restarted`. Callable without the
/// reservation lock, in any context where RCU read sections are allowed.
///
/// # Safety
///
/// `cursor` must have been set up by `dma_resv_iter_begin()` on a live,
/// initialised reservation object.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_resv_iter_first_unlocked(
    cursor: *mut dma_resv_iter,
) -> *mut dma_fence {
    let rcu = sys::RcuGuard::new();
    // SAFETY: The cursor is set up on a live object (caller's promise) and we
    // are inside the RCU read-side critical section; `walk_unlocked` runs
    // right after `restart_unlocked` within it.
    unsafe {
        loop {
            restart_unlocked(cursor);
            walk_unlocked(cursor);
            // Done unless the list was replaced while we looked at it.
            if list::fences_list((*cursor).obj).cast() == (*cursor).fences {
                break;
            }
        }
    }
    drop(rcu);
    // SAFETY: The cursor is valid.
    unsafe { (*cursor).fence }
}

/// Returns the next unsignalled fence of the unlocked walk, or NULL at the end.
///
/// Drops the reference to the previous fence and holds one to the returned
/// fence. If the list was replaced since the previous step, the walk starts
/// over and `is_restarted` is set; otherwise it is cleared.
///
/// # Safety
///
/// `cursor` must have been started by [`dma_resv_iter_first_unlocked`] and
/// its object still be live.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_resv_iter_next_unlocked(
    cursor: *mut dma_resv_iter,
) -> *mut dma_fence {
    let rcu = sys::RcuGuard::new();
    // SAFETY: The cursor was started on a live object (caller's promise); we
    // are inside the RCU read-side critical section. Its old `fences` pointer
    // is only compared, never followed, unless it is still the current list
    // (a list published now was published within this critical section or
    // is protected by it).
    unsafe {
        (*cursor).is_restarted = false;
        let mut restart = list::fences_list((*cursor).obj).cast() != (*cursor).fences;
        loop {
            if restart {
                restart_unlocked(cursor);
            }
            walk_unlocked(cursor);
            restart = true;
            if list::fences_list((*cursor).obj).cast() == (*cursor).fences {
                break;
            }
        }
    }
    drop(rcu);
    // SAFETY: The cursor is valid.
    unsafe { (*cursor).fence }
}

/// Returns the first fence of `cursor->obj` with a matching usage, signalled
/// or not, or NULL; the caller holds the reservation lock.
///
/// No reference is taken: the fence stays live while the lock is held. Sets
/// `is_restarted`.
///
/// # Safety
///
/// `cursor` must have been set up by `dma_resv_iter_begin()` on an initialised
/// reservation object whose lock the caller holds.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_resv_iter_first(cursor: *mut dma_resv_iter) -> *mut dma_fence {
    // SAFETY: The cursor is set up on an initialised object (caller's promise).
    unsafe { assert_held((*cursor).obj) };
    // SAFETY: As above; under the lock the list is stable.
    unsafe {
        (*cursor).index = 0;
        (*cursor).fences = list::fences_list((*cursor).obj).cast();
        let fence = dma_resv_iter_next(cursor);
        (*cursor).is_restarted = true;
        fence
    }
}

/// Returns the next fence of the locked walk with a matching usage, or NULL;
/// the caller holds the reservation lock.
///
/// # Safety
///
/// `cursor` must have been started by [`dma_resv_iter_first`], with the
/// reservation lock held ever since.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_resv_iter_next(cursor: *mut dma_resv_iter) -> *mut dma_fence {
    // SAFETY: The cursor's object is initialised (caller's promise).
    unsafe { assert_held((*cursor).obj) };
    // SAFETY: Under the lock the cursor's list is the object's current one
    // and stable; `index` is checked against its count before each read.
    unsafe {
        (*cursor).is_restarted = false;
        let fences = (*cursor).fences.cast::<ResvList>();
        loop {
            let index = (*cursor).index;
            if fences.is_null() || index >= list::num_fences_locked(fences) {
                return ptr::null_mut();
            }
            // Cannot overflow: `index < num_fences <= u32::MAX`.
            (*cursor).index = index + 1;
            let (fence, usage) = list::entry(fences, index);
            (*cursor).fence_usage = usage.as_raw();
            if usage_of((*cursor).usage).covers(usage) {
                return fence;
            }
        }
    }
}

/// A cursor set up as `dma_resv_iter_begin()` does: on `obj`, for `usage`,
/// no fence yet.
///
/// Built from zeroes and two stores: a struct literal, or the bindgen
/// `Default` (an out-of-line call into another crate), made LLVM build the
/// cursor in a temporary and copy it, on every walk.
#[inline(always)]
pub(crate) fn begin(obj: *mut dma_resv, usage: dma_resv_usage) -> dma_resv_iter {
    // SAFETY: All zeroes is a valid `dma_resv_iter`: NULL pointers, zero
    // counts, `false`.
    let mut cursor: dma_resv_iter = unsafe { core::mem::zeroed() };
    cursor.obj = obj;
    cursor.usage = usage;
    cursor
}

/// The state of an unlocked walk that its body may look at, between two
/// steps of [`for_each_unlocked`].
///
/// # Invariants
///
/// `cursor.obj` is live for the life of the walk; `cursor.fence` is NULL or a
/// fence reference owned by the walk.
pub(crate) struct Unlocked {
    /// The C cursor.
    cursor: dma_resv_iter,
}

impl Unlocked {
    /// Returns whether the last step started over (`dma_resv_iter_is_restarted`).
    pub(crate) fn is_restarted(&self) -> bool {
        self.cursor.is_restarted
    }

    /// Returns how many fences the list had when the walk last started over;
    /// no more fences than that follow until the next restart.
    pub(crate) fn num_fences(&self) -> u32 {
        self.cursor.num_fences
    }

    /// Returns the usage of the current fence (`dma_resv_iter_usage`).
    pub(crate) fn usage(&self) -> Usage {
        usage_of(self.cursor.fence_usage)
    }
}

/// Calls `body` on each unsignalled fence of `obj` with `usage` or a smaller
/// one, walking without the reservation lock: `dma_resv_iter_begin()`, the
/// `dma_resv_for_each_fence_unlocked()` loop and `dma_resv_iter_end()`.
///
/// The fence is live during its call; take a reference with `dma_fence_get`
/// to keep it longer. `body` may look at the walk's state (restarts, usage)
/// and stops the walk by returning [`ControlFlow::Break`], whose value is
/// returned.
///
/// A loop with a body rather than an iterator value: the cursor is built in
/// place and the last reference put inline, where a value that moves and
/// puts on drop cost a copy of the cursor and a call to its drop glue on
/// every walk (a tenth of a one-fence `dma_resv_wait_timeout`).
///
/// # Safety
///
/// `obj` must point to an initialised reservation object that outlives the walk.
#[inline(always)]
pub(crate) unsafe fn for_each_unlocked<B>(
    obj: *mut dma_resv,
    usage: dma_resv_usage,
    mut body: impl FnMut(&Unlocked, *mut dma_fence) -> ControlFlow<B>,
) -> ControlFlow<B> {
    // INVARIANT: `obj` outlives the walk (caller's promise); no fence yet.
    let mut walk = Unlocked {
        cursor: begin(obj, usage),
    };
    let cursor = addr_of_mut!(walk.cursor);
    // SAFETY: The cursor is set up as `dma_resv_iter_begin()` does, on a
    // live object.
    let mut fence = unsafe { dma_resv_iter_first_unlocked(cursor) };
    let mut flow = ControlFlow::Continue(());
    while !fence.is_null() {
        flow = body(&walk, fence);
        if flow.is_break() {
            break;
        }
        // SAFETY: The first step was taken on the live object.
        fence = unsafe { dma_resv_iter_next_unlocked(cursor) };
    }
    // SAFETY: By the invariant the fence is NULL or ours to put; the walk
    // ends here (`dma_resv_iter_end`).
    unsafe { crate::fence::put(walk.cursor.fence) };
    flow
}

c_abi!(
    dma_resv_iter_first_unlocked,
    dma_resv_iter_next_unlocked,
    dma_resv_iter_first,
    dma_resv_iter_next,
);
