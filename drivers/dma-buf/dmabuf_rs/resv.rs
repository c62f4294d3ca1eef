// SPDX-License-Identifier: GPL-2.0-only

//! dma-resv: the C ABI of `drivers/dma-buf/dma-resv.c`.
//!
//! A reservation object tracks who uses a resource (usually a buffer): it
//! holds the fences of the operations that access it, each tagged with a usage
//! class (kernel memory management, implicit write, implicit read, or
//! bookkeeping only). Asking for the fences of one usage also returns those of
//! every stronger one, so a new writer waits for reads and writes, a new
//! reader for writes only (`dma_resv_usage_rw()`).
//!
//! Updates happen under the object's ww_mutex (`dma_resv_lock()`), which is
//! how drivers lock many buffers at once without deadlocks; readers may use
//! RCU instead (see [`iter`]). Adding a fence must not fail, because it
//! usually happens past the point of no return of a submission, so room is
//! reserved for it first with [`dma_resv_reserve_fences`]. A fence takes over
//! the slot of an older fence of the same context with the same or a weaker
//! usage, or of any signalled fence; the rules are pure logic in
//! [`crate::logic::usage`], tested on the host.
//!
//! The C structs are the kernel's own (`struct dma_resv`, `struct
//! dma_resv_iter`), because the header's inline functions reach into them;
//! the fence list behind them is defined in [`list`].
//!
//! C header: [`include/linux/dma-resv.h`](srctree/include/linux/dma-resv.h).

use crate::fence::{array, is_signaled, Fence};
use crate::logic::errno::EINVAL;
use crate::logic::usage::{self, AddFence, ListFill, Reserve, Usage};
use crate::sys;
use core::ffi::CStr;
use core::mem::size_of;
use core::ptr::{self, addr_of_mut};
use kernel::bindings::{self, dma_fence, dma_resv, dma_resv_usage, ktime_t};
use kernel::ffi::{c_int, c_long, c_uint, c_ulong};

#[path = "resv/iter.rs"]
mod iter;
#[path = "resv/list.rs"]
mod list;
#[cfg(CONFIG_LOCKDEP)]
#[path = "resv/lockdep.rs"]
mod lockdep;

use core::ops::ControlFlow;
pub(crate) use iter::begin as begin_cursor;
use iter::{dma_resv_iter_first, dma_resv_iter_next, for_each_unlocked, Unlocked};
use list::ResvList;

/// `dma_resv_assert_held`: a lockdep splat unless the caller holds the
/// reservation lock of `obj` (nothing without lockdep).
///
/// # Safety
///
/// `obj` must point to an initialised reservation object.
#[inline]
pub(crate) unsafe fn assert_held(obj: *mut dma_resv) {
    #[cfg(CONFIG_LOCKDEP)]
    // SAFETY: `obj` is initialised (caller's promise), so is its lock's map.
    unsafe {
        bindings::dmabuf_rs_resv_assert_held(obj)
    };
    // Without lockdep the C macro is empty: no call at all.
    #[cfg(not(CONFIG_LOCKDEP))]
    let _ = obj;
}

/// Returns the [`Usage`] of a C `enum dma_resv_usage` value that the core
/// compares against (a query's usage, or the current fence's).
///
/// Values above `DMA_RESV_USAGE_BOOKKEEP` are never stored by the core; as a
/// query they cover every fence, as C's plain integer comparisons do.
fn usage_of(raw: dma_resv_usage) -> Usage {
    Usage::from_raw(raw).unwrap_or(Usage::Bookkeep)
}

/// Returns the [`Usage`] to store a new fence with.
///
/// A value outside the enum is a driver bug: it warns and stores the fence as
/// `DMA_RESV_USAGE_BOOKKEEP` (C would corrupt the tagged pointer instead).
#[inline]
#[track_caller]
fn stored_usage(raw: dma_resv_usage) -> Usage {
    match Usage::from_raw(raw) {
        Some(usage) => usage,
        None => bad_usage(),
    }
}

/// The warning of [`stored_usage`], out of line: the fast path keeps one
/// compare and branch, where a default chosen inline was a conditional move
/// as well.
#[cold]
#[inline(never)]
#[track_caller]
fn bad_usage() -> Usage {
    sys::warn();
    Usage::Bookkeep
}

/// Initialises a reservation object: its ww_mutex in `reservation_ww_class`,
/// and no fences.
///
/// # Safety
///
/// `obj` must be valid for writes and not in use.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_resv_init(obj: *mut dma_resv) {
    // SAFETY: `obj` is ours to initialise (caller's promise); the class is a
    // static defined by the core's C shims. Nobody else sees `obj` yet, so a
    // plain store of the list pointer suffices (`RCU_INIT_POINTER`).
    unsafe {
        bindings::dmabuf_rs_ww_mutex_init(
            addr_of_mut!((*obj).lock),
            addr_of_mut!(bindings::reservation_ww_class),
        );
        (*obj).fences = ptr::null_mut();
    }
}

/// Tears a reservation object down: releases its fences and frees its list
/// (after an RCU grace period), and destroys its ww_mutex.
///
/// # Safety
///
/// `obj` must be initialised, unlocked, and no longer used by anyone else.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_resv_fini(obj: *mut dma_resv) {
    // SAFETY: The object is ours alone (caller's promise), so its list and
    // the references in it are ours to release.
    unsafe {
        list::free(list::owned_fences_list(obj));
        bindings::dmabuf_rs_ww_mutex_destroy(addr_of_mut!((*obj).lock));
    }
}

/// Makes room for `num_fences` more fences, so that as many calls to
/// [`dma_resv_add_fence`] cannot fail; the caller holds the reservation lock.
///
/// The room lasts only as long as the lock: with CONFIG_DEBUG_MUTEXES,
/// `dma_resv_unlock()` takes it back to catch drivers that rely on it later.
/// A list that is too small is replaced by a larger copy, which drops the
/// fences that have signalled.
///
/// Returns 0, -EINVAL (with a warning) when asked for no fences (usually a
/// driver's miscounting), or -ENOMEM. May sleep.
///
/// # Safety
///
/// `obj` must be initialised and locked by the caller.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_resv_reserve_fences(
    obj: *mut dma_resv,
    num_fences: c_uint,
) -> c_int {
    // SAFETY: `obj` is initialised (caller's promise).
    unsafe { assert_held(obj) };

    // SAFETY: We hold the lock, so the list is stable and its counts ours.
    let old = unsafe { list::fences_list(obj) };
    let count = if old.is_null() {
        0
    } else {
        // SAFETY: As above.
        unsafe { list::num_fences(old) }
    };
    let fill = (!old.is_null()).then(|| ListFill {
        num_fences: count,
        // SAFETY: As above.
        max_fences: unsafe { list::max_fences(old) },
    });
    match usage::reserve_fences(fill, num_fences) {
        Ok(Reserve::Enough) => 0,
        // SAFETY: We hold the lock; `old` and `count` were read under it.
        Ok(Reserve::Grow(max)) => unsafe { grow(obj, old, count, max) },
        Err(err) => {
            if err == EINVAL {
                sys::warn();
            }
            err.to_neg()
        }
    }
}

/// The slow path of [`dma_resv_reserve_fences`]: replaces the fence list
/// `old` of `obj` (NULL if it has none), which holds `count` fences, by a list
/// of at least `max` slots. Out of line, so that the common case (room
/// left) saves no registers for it.
///
/// # Safety
///
/// `obj` must be initialised and locked by the caller, `old` its current
/// list with `count` fences in use.
#[inline(never)]
unsafe fn grow(obj: *mut dma_resv, old: *mut ResvList, count: u32, max: u32) -> c_int {
    let new = list::alloc(max);
    if new.is_null() {
        return sys::neg(bindings::ENOMEM);
    }
    // The rule grows to at least `count + num_fences` slots, so every old
    // fence fits below `max`; checked once, so that the indices below cannot
    // leave `0..max`.
    if count >= max {
        sys::warn();
        // SAFETY: The new list was never published and holds no fences.
        unsafe { list::free(new) };
        return sys::neg(bindings::ENOMEM);
    }

    // The references move from the old list to the new one. Pending fences
    // fill the new list from the front, in order; signalled ones are parked
    // at its back, beyond the count, to be released once it is published.
    let (mut front, mut back) = (0u32, max);
    for i in 0..count {
        // SAFETY: Under the lock `i` is a slot in use of the old list, and
        // the fence is live. `front + (max - back) == i < count < max`, so
        // neither index leaves the `max` slots of the new, unpublished list.
        unsafe {
            let (fence, usage) = list::entry(old, i);
            if is_signaled(fence) {
                back -= 1;
                list::set(new, back, fence, Usage::Kernel);
            } else {
                list::set(new, front, fence, usage);
                front += 1;
            }
        }
    }
    // SAFETY: Slots `0..front` of the new list hold the pending fences.
    unsafe { list::set_num_fences(new, front) };

    // Readers see the same pending fences in either list, so the new one
    // simply replaces the old one; RCU keeps the old one (and the fences it
    // shows) around for readers that still look at it.
    // SAFETY: We hold the lock; the new list is complete.
    unsafe { list::publish(obj, new) };
    if old.is_null() {
        return 0;
    }

    for i in back..max {
        // SAFETY: Slots `back..max` hold the signalled fences, whose old
        // list's references are now ours to drop.
        unsafe {
            let (fence, _) = list::entry(new, i);
            crate::fence::put(fence);
        }
    }
    // SAFETY: The old list is replaced and its references moved or dropped.
    unsafe { list::kfree_rcu(old) };
    0
}

/// Takes back the slots reserved beyond the fences in use, so that a driver
/// that adds a fence without reserving (again) after relocking hits the
/// check in [`dma_resv_add_fence`]; the caller holds the reservation lock.
///
/// Called by `dma_resv_unlock()`; only built with CONFIG_DEBUG_MUTEXES.
///
/// # Safety
///
/// `obj` must be initialised and locked by the caller.
#[cfg(CONFIG_DEBUG_MUTEXES)]
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_resv_reset_max_fences(obj: *mut dma_resv) {
    // SAFETY: `obj` is initialised (caller's promise).
    let fences = unsafe { list::fences_list(obj) };
    // SAFETY: As above.
    unsafe { assert_held(obj) };
    if !fences.is_null() {
        // SAFETY: We hold the lock; the count in use is a valid maximum.
        unsafe { list::set_max_fences(fences, list::num_fences(fences)) };
    }
}

/// Adds `fence` with `usage`; the caller holds the reservation lock and has
/// reserved a slot with [`dma_resv_reserve_fences`] under it.
///
/// Takes a reference to `fence`. It replaces an older (or the same) fence of
/// its context whose usage is the same or weaker, or the first signalled
/// fence; otherwise it takes a reserved slot, and BUG()s if there is none (as
/// in C, this cannot fail and must not continue). Adding a container warns.
///
/// # Safety
///
/// `obj` must be initialised and locked by the caller; `fence` must be a live,
/// initialised fence.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_resv_add_fence(
    obj: *mut dma_resv,
    fence: *mut dma_fence,
    usage: dma_resv_usage,
) {
    // SAFETY: The fence is live and initialised (caller's promise), and
    // stays so: the reference taken here goes into the list below.
    let typed = unsafe { Fence::from_raw(crate::fence::get(fence)) };
    // SAFETY: `obj` is initialised (caller's promise).
    unsafe { assert_held(obj) };

    if array::is_container(typed) {
        sys::warn();
    }
    let usage = stored_usage(usage);

    // SAFETY: We hold the lock, so the list is stable.
    let list = unsafe { list::fences_list(obj) };
    if list.is_null() {
        // Nothing was reserved: C would dereference the missing list.
        // SAFETY: `BUG` has no preconditions; it does not return.
        unsafe { bindings::BUG() };
    }
    // SAFETY: As above.
    let count = unsafe { list::num_fences(list) };

    let slots = (0..count).map(|i| {
        // SAFETY: Under the lock `i` is a slot in use, whose fence the list
        // keeps live while we hold the lock.
        let (old, old_usage) = unsafe { list::entry(list, i) };
        // SAFETY: As above.
        (unsafe { Fence::from_raw(old) }, old_usage)
    });
    match usage::add_fence_slot(slots, typed, usage) {
        AddFence::Replace(i) => {
            // `i < count`, so it fits in `u32`.
            let i = i as u32;
            // SAFETY: Slot `i` is in use; its old reference is ours to drop
            // once our new one has taken its place.
            unsafe {
                let (old, _) = list::entry(list, i);
                list::set(list, i, fence, usage);
                crate::fence::put(old);
            }
        }
        AddFence::Append(_) => {
            // SAFETY: We hold the lock.
            if count >= unsafe { list::max_fences(list) } {
                // No slot was reserved (or it was reset by unlocking).
                // SAFETY: `BUG` has no preconditions; it does not return.
                unsafe { bindings::BUG() };
            }
            // SAFETY: `count < max_fences`: the slot is allocated and ours
            // under the lock. The count (hence `count + 1`, which cannot
            // overflow) is published after the slot.
            unsafe {
                list::set(list, count, fence, usage);
                list::set_num_fences(list, count + 1);
            }
        }
    }
}

/// Replaces every fence of `context` by `replacement` with `usage`; the
/// caller holds the reservation lock.
///
/// Each replaced slot gets its own reference to `replacement`, whatever the
/// old fence's usage and seqno. Only valid when the operations of the old
/// fences no longer access the resource once `replacement` has signalled
/// (for example a preemption fence replaced by a page-table update).
///
/// # Safety
///
/// `obj` must be initialised and locked by the caller; `replacement` must be
/// a live fence.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_resv_replace_fences(
    obj: *mut dma_resv,
    context: u64,
    replacement: *mut dma_fence,
    usage: dma_resv_usage,
) {
    // SAFETY: `obj` is initialised (caller's promise).
    unsafe { assert_held(obj) };

    // SAFETY: We hold the lock, so the list is stable.
    let list = unsafe { list::fences_list(obj) };
    if list.is_null() {
        return;
    }
    let usage = stored_usage(usage);
    // SAFETY: As above.
    for i in 0..unsafe { list::num_fences(list) } {
        // SAFETY: Under the lock `i` is a slot in use and its fence live; its
        // reference is ours to drop once the replacement's has taken over.
        unsafe {
            let (old, _) = list::entry(list, i);
            if (*old).context != context {
                continue;
            }
            list::set(list, i, crate::fence::get(replacement), usage);
            crate::fence::put(old);
        }
    }
}

/// Makes the fences of `dst` a copy of the unsignalled fences of `src`, with
/// their usages; the caller holds the lock of `dst`.
///
/// `src` is read without its lock. Returns 0, or -ENOMEM with `dst` unchanged.
/// May sleep.
///
/// # Safety
///
/// `dst` must be initialised and locked by the caller; `src` initialised.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_resv_copy_fences(
    dst: *mut dma_resv,
    src: *mut dma_resv,
) -> c_int {
    // SAFETY: `dst` is initialised (caller's promise).
    unsafe { assert_held(dst) };

    let mut copy: *mut ResvList = ptr::null_mut();
    let bookkeep = bindings::dma_resv_usage_DMA_RESV_USAGE_BOOKKEEP;
    let body = |walk: &Unlocked, fence: *mut dma_fence| {
        if walk.is_restarted() {
            // SAFETY: The partial copy was never published; its references
            // are ours.
            unsafe { list::free(copy) };
            copy = list::alloc(walk.num_fences());
            if copy.is_null() {
                return ControlFlow::Break(());
            }
        }
        // A round returns at most `num_fences` fences, the room allocated at
        // its start, and the first fence always starts a round; the check
        // only keeps a broken walk from writing out of bounds.
        // SAFETY: `copy` is unpublished and ours.
        if copy.is_null() || unsafe { list::num_fences(copy) >= list::max_fences(copy) } {
            sys::warn();
            return ControlFlow::Continue(());
        }
        // SAFETY: As above, with a free slot at index `n`; the walk keeps the
        // fence live until its next step, and the new reference goes to the copy.
        unsafe {
            let n = list::num_fences(copy);
            list::set(copy, n, crate::fence::get(fence), walk.usage());
            list::set_num_fences(copy, n + 1);
        }
        ControlFlow::Continue(())
    };
    // SAFETY: `src` is initialised and outlives the walk (caller's promise).
    let flow = unsafe { for_each_unlocked(src, bookkeep, body) };
    if flow.is_break() {
        return sys::neg(bindings::ENOMEM);
    }

    // SAFETY: We hold the lock of `dst`; the copy is complete. The old list is
    // unreachable for new readers once replaced, and its references ours.
    unsafe {
        let old = list::publish(dst, copy);
        list::free(old);
    }
    0
}

/// Returns (in `*fences`, with the count in `*num_fences`) a kmalloc'ed array
/// of references to the unsignalled fences of `obj` with `usage` or a
/// stronger one; the caller puts them and kfrees the array.
///
/// Takes no lock. Returns 0, or -ENOMEM with `*fences` NULL and
/// `*num_fences` 0. May sleep.
///
/// # Safety
///
/// `obj` must be initialised; `num_fences` and `fences` valid for writes.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_resv_get_fences(
    obj: *mut dma_resv,
    usage: dma_resv_usage,
    num_fences: *mut c_uint,
    fences: *mut *mut *mut dma_fence,
) -> c_int {
    let mut array: *mut *mut dma_fence = ptr::null_mut();
    let (mut count, mut room) = (0usize, 0usize);

    let body = |walk: &Unlocked, fence: *mut dma_fence| {
        if walk.is_restarted() {
            while count > 0 {
                count -= 1;
                // SAFETY: Entries `0..count` hold references we took.
                unsafe { crate::fence::put(*array.add(count)) };
            }
            // One more than the round can return, as the C core asks for.
            let want = (walk.num_fences() as usize).checked_add(1);
            let bytes = want.and_then(|n| n.checked_mul(size_of::<*mut dma_fence>()));
            let grown = match bytes {
                // SAFETY: `array` is NULL or our own kmalloc'ed array;
                // GFP_KERNEL in process context, where this may be called.
                Some(bytes) => unsafe {
                    bindings::krealloc(array.cast(), bytes, bindings::GFP_KERNEL)
                },
                None => ptr::null_mut(),
            };
            if grown.is_null() {
                // SAFETY: The old array (or NULL) is ours and holds no
                // references any more; the out parameters are writable.
                unsafe {
                    bindings::kfree(array.cast());
                    *fences = ptr::null_mut();
                    *num_fences = 0;
                }
                return ControlFlow::Break(());
            }
            array = grown.cast();
            room = want.unwrap_or(0);
        }
        // As in `dma_resv_copy_fences`, the room cannot run out; the check
        // only keeps a broken walk from writing out of bounds.
        if count >= room {
            sys::warn();
            return ControlFlow::Continue(());
        }
        // SAFETY: `count < room`, the array's length; the walk keeps the
        // fence live until its next step.
        unsafe { array.add(count).write(crate::fence::get(fence)) };
        count += 1;
        ControlFlow::Continue(())
    };
    // SAFETY: `obj` is initialised and outlives the walk (caller's promise).
    let flow = unsafe { for_each_unlocked(obj, usage, body) };
    if flow.is_break() {
        return sys::neg(bindings::ENOMEM);
    }

    // SAFETY: The out parameters are writable (caller's promise). `count`
    // fits: it is at most one round's `num_fences`, a `u32`.
    unsafe {
        *num_fences = count as c_uint;
        *fences = array;
    }
    0
}

/// Returns in `*fence` one fence that signals once all the unsignalled fences
/// of `obj` with `usage` or a stronger one have.
///
/// That is NULL if there are none, a reference to the fence itself if there
/// is one, or a new `dma_fence_array` (on a new context) otherwise. Such an
/// array must not be added back to a reservation object (containers are
/// refused there). Returns 0 or -ENOMEM. Takes no lock; may sleep.
///
/// # Safety
///
/// `obj` must be initialised; `fence` valid for writes.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_resv_get_singleton(
    obj: *mut dma_resv,
    usage: dma_resv_usage,
    fence: *mut *mut dma_fence,
) -> c_int {
    let mut count: c_uint = 0;
    let mut fences: *mut *mut dma_fence = ptr::null_mut();
    // SAFETY: `obj` is initialised (caller's promise); the out parameters are
    // local.
    let ret = unsafe { dma_resv_get_fences(obj, usage, &mut count, &mut fences) };
    if ret != 0 {
        return ret;
    }

    // SAFETY: `fence` is writable (caller's promise); `fences` is NULL or our
    // array of `count` references.
    unsafe {
        match count {
            // `dma_resv_get_fences` allocates its array with the first fence
            // it keeps (a restart puts the old ones but keeps one new), so
            // with none there is no array to free, as in C.
            0 => {
                *fence = ptr::null_mut();
                return 0;
            }
            1 => {
                *fence = *fences;
                bindings::kfree(fences.cast());
                return 0;
            }
            _ => {}
        }
    }

    let array = match c_int::try_from(count) {
        // SAFETY: The array takes over `fences` and its `count` references
        // on success; no preconditions for the context.
        Ok(n) => unsafe {
            let context = crate::fence::dma_fence_context_alloc(1);
            array::dma_fence_array_create(n, fences, context, 1, false)
        },
        Err(_) => ptr::null_mut(),
    };
    if array.is_null() {
        // SAFETY: Not taken over: the references and the array are still ours.
        unsafe {
            for i in (0..count as usize).rev() {
                crate::fence::put(*fences.add(i));
            }
            bindings::kfree(fences.cast());
        }
        return sys::neg(bindings::ENOMEM);
    }
    // SAFETY: `array` is live; its fence is its `base`. `fence` is writable.
    unsafe { *fence = addr_of_mut!((*array).base) };
    0
}

/// Waits for the unsignalled fences of `obj` with `usage` or a stronger one,
/// with a timeout in jiffies shared by all of them.
///
/// Returns what is left of the timeout (at least 1, also for a zero timeout,
/// when every fence has signalled), 0 on timeout, or -ERESTARTSYS if
/// interrupted (`intr`). A timeout above `LONG_MAX` is passed on as C's
/// conversion makes it (negative, which `dma_fence_wait_timeout` refuses).
/// Takes no lock, but may be called with the reservation lock held; may sleep.
///
/// # Safety
///
/// `obj` must be initialised.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_resv_wait_timeout(
    obj: *mut dma_resv,
    usage: dma_resv_usage,
    intr: bool,
    timeout: c_ulong,
) -> c_long {
    let mut timeout = timeout;
    let mut ret: c_long = if timeout != 0 { timeout as c_long } else { 1 };

    let body = |_: &Unlocked, fence: *mut dma_fence| {
        // SAFETY: The walk holds a reference to the fence; no lock of ours is held.
        ret = unsafe { bindings::dma_fence_wait_timeout(fence, intr, timeout as c_long) };
        if ret <= 0 {
            return ControlFlow::Break(());
        }
        // A zero timeout only polls, and must stay zero.
        if timeout != 0 {
            timeout = ret as c_ulong;
        }
        ControlFlow::Continue(())
    };
    // SAFETY: `obj` is initialised and outlives the walk (caller's promise).
    let _ = unsafe { for_each_unlocked(obj, usage, body) };
    ret
}

/// Passes a deadline hint to every unsignalled fence of `obj` with `usage` or
/// a stronger one. Takes no lock.
///
/// # Safety
///
/// `obj` must be initialised.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_resv_set_deadline(
    obj: *mut dma_resv,
    usage: dma_resv_usage,
    deadline: ktime_t,
) {
    let body = |_: &Unlocked, fence: *mut dma_fence| {
        // SAFETY: The walk holds a reference to the fence.
        unsafe { crate::fence::dma_fence_set_deadline(fence, deadline) };
        ControlFlow::<()>::Continue(())
    };
    // SAFETY: `obj` is initialised and outlives the walk (caller's promise).
    let _ = unsafe { for_each_unlocked(obj, usage, body) };
}

/// Returns whether every fence of `obj` with `usage` or a stronger one has
/// signalled. Takes no lock, but may be called with the reservation lock held.
///
/// # Safety
///
/// `obj` must be initialised.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_resv_test_signaled(
    obj: *mut dma_resv,
    usage: dma_resv_usage,
) -> bool {
    // Signalled unless the walk meets an unsignalled fence.
    // SAFETY: `obj` is initialised and outlives the walk (caller's promise).
    let flow = unsafe { for_each_unlocked(obj, usage, |_, _| ControlFlow::Break(())) };
    flow.is_continue()
}

/// The name `dma_resv_describe` prints for a usage.
fn usage_name(usage: Usage) -> &'static CStr {
    match usage {
        Usage::Kernel => c"kernel",
        Usage::Write => c"write",
        Usage::Read => c"read",
        Usage::Bookkeep => c"bookkeep",
    }
}

/// Prints the fences of `obj` with usage `DMA_RESV_USAGE_READ` or stronger
/// into a seq_file, one line each: a tab, `<usage> fence:`, then
/// `dma_fence_describe()`'s line. The caller holds the reservation lock.
///
/// # Safety
///
/// `obj` must be initialised and locked by the caller; `seq` a seq_file being
/// shown.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_resv_describe(
    obj: *mut dma_resv,
    seq: *mut bindings::seq_file,
) {
    let mut cursor = begin_cursor(obj, bindings::dma_resv_usage_DMA_RESV_USAGE_READ);
    let cursor_ptr = addr_of_mut!(cursor);
    // SAFETY: The cursor is set up as `dma_resv_iter_begin()` does, on an
    // initialised object whose lock the caller holds (asserted by the walk).
    let mut fence = unsafe { dma_resv_iter_first(cursor_ptr) };
    while !fence.is_null() {
        // SAFETY: The cursor's current usage is the fence's.
        let name = usage_name(usage_of(unsafe { (*cursor_ptr).fence_usage }));
        // SAFETY: The format's one conversion is a string; the fence is live
        // under the caller's lock; `seq` is being shown (caller's promise).
        unsafe {
            bindings::seq_printf(seq, c"\t%s fence:".as_ptr().cast(), name.as_ptr());
            crate::fence::dma_fence_describe(fence, seq);
            fence = dma_resv_iter_next(cursor_ptr);
        }
    }
}

#[cfg(CONFIG_DEBUG_MUTEXES)]
c_abi!(dma_resv_reset_max_fences);

c_abi!(
    dma_resv_init,
    dma_resv_fini,
    dma_resv_reserve_fences,
    dma_resv_add_fence,
    dma_resv_replace_fences,
    dma_resv_copy_fences,
    dma_resv_get_fences,
    dma_resv_get_singleton,
    dma_resv_wait_timeout,
    dma_resv_set_deadline,
    dma_resv_test_signaled,
    dma_resv_describe,
);
