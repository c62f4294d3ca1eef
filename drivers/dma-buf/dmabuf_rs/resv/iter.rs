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

use super::list::{self, Held, ListRef};
use super::usage_of;
use crate::fence::{Fence, FenceCore};
use crate::logic::usage::Usage;
use crate::sys::RcuGuard;
use core::ops::ControlFlow;
use core::ptr;
use kernel::bindings::{dma_fence, dma_resv, dma_resv_iter, dma_resv_usage};
use kernel::dma_buf::resv::Resv;

// The cursor is the C caller's `struct dma_resv_iter`: the adapters below
// borrow it (`&mut`) and its object (`&Resv`) once, under the contract of the
// C header (set up by `dma_resv_iter_begin()` on a live, initialised object,
// and changed only by these functions until `dma_resv_iter_end()`). Between
// steps it keeps:
//
// - `fence`: NULL, or (unlocked walk only) a reference owned by the cursor;
// - `fences`: the list the walk reads, and `num_fences` (unlocked walk) the
//   count read from it when the walk (re)started, which the list's count
//   never drops below, so slots `0..num_fences` are in use.

/// Starts the unlocked walk over (again) on `list`, the object's list read in
/// the current RCU read section (`dma_resv_iter_restart_unlocked`).
#[inline(always)]
fn restart_unlocked(cursor: &mut dma_resv_iter, list: Option<ListRef<'_>>) {
    cursor.index = 0;
    cursor.num_fences = list.map_or(0, |list| list.num_fences());
    cursor.fences = list.map_or(ptr::null_mut(), ListRef::as_ptr);
    cursor.is_restarted = true;
}

/// Moves the unlocked walk along `list` (the list of `cursor.fences`, read in
/// the read section `rcu`) to the next unsignalled fence of a matching usage
/// and takes a reference to it (`dma_resv_iter_walk_unlocked`).
///
/// Drops the reference to the previous fence. Leaves `fence` NULL at the end
/// of the list; starts over (see [`restart_unlocked`]) when a fence in the
/// list is already on its way to being freed. As in C, a walk without a list
/// keeps the cursor's fence as it is.
#[inline(always)]
fn walk_unlocked<'g>(
    cursor: &mut dma_resv_iter,
    obj: &'g Resv,
    mut list: Option<ListRef<'g>>,
    rcu: &'g RcuGuard,
) {
    while let Some(slots) = list {
        // SAFETY: The cursor owns its `fence` reference, or holds NULL.
        unsafe { crate::fence::put(cursor.fence) };

        let index = cursor.index;
        if index >= cursor.num_fences {
            cursor.fence = ptr::null_mut();
            break;
        }
        // Cannot overflow: `index < num_fences <= u32::MAX`.
        cursor.index = index + 1;

        // SAFETY: `index < num_fences`, a count of slots in use that the
        // list had when the walk started on it (cursor's contract above).
        let slot = unsafe { slots.slot_unchecked(index) };
        let (fence, usage) = slots.get_rcu(slot, rcu);
        cursor.fence_usage = usage.as_raw();
        let Some(fence) = fence else {
            cursor.fence = ptr::null_mut();
            list = list::rcu_list(obj, rcu);
            restart_unlocked(cursor, list);
            continue;
        };
        cursor.fence = fence.as_ptr();
        // SAFETY: `get_rcu` took a reference, now the cursor's.
        let fence = unsafe { Fence::from_raw(fence.as_ptr()) };
        if !fence.query_signaled() && usage_of(cursor.usage).covers(usage) {
            break;
        }
    }
}

/// Whether `list` (read in the current read section) is the list the cursor
/// walks: the walk is done unless the list was replaced while it looked.
#[inline(always)]
fn is_current(cursor: &dma_resv_iter, list: Option<ListRef<'_>>) -> bool {
    list.map_or(ptr::null_mut(), ListRef::as_ptr) == cursor.fences
}

/// The first step of the unlocked walk: see [`dma_resv_iter_first_unlocked`].
#[inline(always)]
fn first_unlocked(cursor: &mut dma_resv_iter, obj: &Resv) -> *mut dma_fence {
    let rcu = RcuGuard::new();
    loop {
        let list = list::rcu_list(obj, &rcu);
        restart_unlocked(cursor, list);
        walk_unlocked(cursor, obj, list, &rcu);
        if is_current(cursor, list::rcu_list(obj, &rcu)) {
            break;
        }
    }
    drop(rcu);
    cursor.fence
}

/// The next step of the unlocked walk: see [`dma_resv_iter_next_unlocked`].
#[inline(always)]
fn next_unlocked(cursor: &mut dma_resv_iter, obj: &Resv) -> *mut dma_fence {
    let rcu = RcuGuard::new();
    cursor.is_restarted = false;
    // The cursor's old `fences` pointer is only compared, never followed,
    // unless it is still the current list, read in this section.
    let mut list = list::rcu_list(obj, &rcu);
    if !is_current(cursor, list) {
        restart_unlocked(cursor, list);
    }
    loop {
        walk_unlocked(cursor, obj, list, &rcu);
        let now = list::rcu_list(obj, &rcu);
        if is_current(cursor, now) {
            break;
        }
        list = now;
        restart_unlocked(cursor, list);
    }
    drop(rcu);
    cursor.fence
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
    // SAFETY: The cursor is the caller's, set up on a live object (caller's
    // promise).
    let (cursor, obj) = unsafe { (&mut *cursor, Resv::from_raw((*cursor).obj)) };
    first_unlocked(cursor, obj)
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
    // SAFETY: The cursor is the caller's, started on a live object (caller's
    // promise).
    let (cursor, obj) = unsafe { (&mut *cursor, Resv::from_raw((*cursor).obj)) };
    next_unlocked(cursor, obj)
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
    // SAFETY: The cursor is the caller's, set up on an object whose lock the
    // caller holds (caller's promise).
    let (cursor, mut held) = unsafe { (&mut *cursor, Held::assume(Resv::from_raw((*cursor).obj))) };
    cursor.index = 0;
    cursor.fences = held
        .list()
        .map_or(ptr::null_mut(), |list| list.list().as_ptr());
    let fence = next_locked(cursor, &held);
    cursor.is_restarted = true;
    fence
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
    // SAFETY: The cursor is the caller's, started on an object whose lock the
    // caller has held since (caller's promise).
    let (cursor, held) = unsafe { (&mut *cursor, Held::assume(Resv::from_raw((*cursor).obj))) };
    next_locked(cursor, &held)
}

/// A step of the locked walk, on the list in the cursor.
#[inline(always)]
fn next_locked(cursor: &mut dma_resv_iter, held: &Held<'_>) -> *mut dma_fence {
    cursor.is_restarted = false;
    // SAFETY: The cursor's list was read under this hold of the lock, by
    // `dma_resv_iter_first` (cursor's contract above), so it is the
    // object's current list.
    let Some(list) = (unsafe { held.cursor_list(cursor.fences) }) else {
        return ptr::null_mut();
    };
    loop {
        let index = cursor.index;
        let Some((fence, usage)) = list.get(index) else {
            return ptr::null_mut();
        };
        // Cannot overflow: `index < num_fences <= u32::MAX`.
        cursor.index = index + 1;
        cursor.fence_usage = usage.as_raw();
        if usage_of(cursor.usage).covers(usage) {
            return fence.raw();
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
    let mut cursor: dma_resv_iter = crate::sys::zeroed();
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
/// The fence is live during its call; take a reference to keep it longer.
/// `body` may look at the walk's state (restarts, usage) and stops the walk
/// by returning [`ControlFlow::Break`], whose value is returned.
///
/// A loop with a body rather than an iterator value: the cursor is built in
/// place and the last reference put inline, where a value that moves and
/// puts on drop cost a copy of the cursor and a call to its drop glue on
/// every walk (a tenth of a one-fence `dma_resv_wait_timeout`).
#[inline(always)]
pub(crate) fn for_each_unlocked<B>(
    obj: &Resv,
    usage: dma_resv_usage,
    mut body: impl FnMut(&Unlocked, &Fence) -> ControlFlow<B>,
) -> ControlFlow<B> {
    // INVARIANT: `obj` outlives the walk (borrowed); no fence yet.
    let mut walk = Unlocked {
        cursor: begin(obj.as_raw(), usage),
    };
    let mut fence = first_unlocked(&mut walk.cursor, obj);
    let mut flow = ControlFlow::Continue(());
    while !fence.is_null() {
        // SAFETY: The walk holds a reference to its fence until the next step.
        flow = body(&walk, unsafe { Fence::from_raw(fence) });
        if flow.is_break() {
            break;
        }
        fence = next_unlocked(&mut walk.cursor, obj);
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
