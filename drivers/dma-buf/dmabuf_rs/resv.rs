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

use crate::fence::{array, Fence, FenceEntry};
use crate::logic::errno::EINVAL;
use crate::logic::usage::{self, ListFill, Reserve, Usage};
use crate::sys;
use crate::vfs::SeqFile;
use core::ffi::CStr;
use core::ptr::{self, addr_of_mut};
use kernel::alloc::KVec;
use kernel::bindings::{self, dma_fence, dma_resv, dma_resv_usage, ktime_t};
use kernel::dma_buf::resv::Resv;
use kernel::ffi::{c_int, c_long, c_uint, c_ulong};
use kernel::types::ARef;

#[path = "resv/iter.rs"]
mod iter;
#[path = "resv/list.rs"]
mod list;
#[cfg(CONFIG_LOCKDEP)]
#[path = "resv/lockdep.rs"]
mod lockdep;

use core::ops::ControlFlow;
use iter::{for_each_unlocked, Unlocked};
pub(crate) use list::Held;
use list::NewList;

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
    // SAFETY: The object is initialised and ours alone (caller's promise):
    // `Resv` is `repr(transparent)` over it, and no other reference exists.
    let resv = unsafe { &mut *obj.cast::<Resv>() };
    drop(list::retire_unshared(resv));
    // SAFETY: As above; the ww_mutex is initialised and unlocked.
    unsafe { bindings::dmabuf_rs_ww_mutex_destroy(addr_of_mut!((*obj).lock)) };
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
    // SAFETY: `obj` is initialised and locked by the caller (caller's promise).
    let held = unsafe { Held::assume(Resv::from_raw(obj)) };
    reserve_fences(held, num_fences)
}

/// The body of [`dma_resv_reserve_fences`].
#[inline(always)]
fn reserve_fences(mut held: Held<'_>, num_fences: c_uint) -> c_int {
    let fill = held.list().map(|list| ListFill {
        num_fences: list.num_fences(),
        max_fences: list.max_fences(),
    });
    match usage::reserve_fences(fill, num_fences) {
        Ok(Reserve::Enough) => 0,
        // Out of line (`list::grow`), so that the common case (room left)
        // saves no registers for it.
        Ok(Reserve::Grow(max)) => {
            if list::grow(held, max) {
                0
            } else {
                sys::neg(bindings::ENOMEM)
            }
        }
        Err(err) => {
            if err == EINVAL {
                sys::warn();
            }
            err.to_neg()
        }
    }
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
    // SAFETY: `obj` is initialised and locked by the caller (caller's promise).
    let mut held = unsafe { Held::assume(Resv::from_raw(obj)) };
    if let Some(mut list) = held.list() {
        list.reset_max_fences();
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
    // SAFETY: The fence is live and `obj` initialised and locked by the
    // caller (caller's promise).
    let (fence, mut held) = unsafe { (Fence::from_raw(fence), Held::assume(Resv::from_raw(obj))) };
    add_fence(&mut held, fence, usage);
}

/// The body of [`dma_resv_add_fence`].
#[inline(always)]
fn add_fence(held: &mut Held<'_>, fence: &Fence, usage: dma_resv_usage) {
    let new = ARef::from(fence);
    if array::is_container(fence) {
        sys::warn();
    }
    let usage = stored_usage(usage);

    // Nothing reserved: C would dereference the missing list.
    let Some(mut list) = held.list() else {
        sys::bug()
    };
    match list.add(new, usage, |fences| {
        usage::first_replaced(fences, fence, usage)
    }) {
        Ok(Some(old)) => crate::fence::put_ref(old),
        Ok(None) => {}
        // No slot was reserved (or it was reset by unlocking).
        Err(_new) => sys::bug(),
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
    // SAFETY: `obj` is initialised and locked by the caller, `replacement`
    // live (caller's promise).
    let (mut held, replacement) = unsafe {
        (
            Held::assume(Resv::from_raw(obj)),
            Fence::from_raw(replacement),
        )
    };
    let Some(mut list) = held.list() else {
        return;
    };
    let usage = stored_usage(usage);
    list.replace_all(|old| old.context() == context, replacement, usage);
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
    // SAFETY: `dst` is initialised and locked by the caller, `src`
    // initialised (caller's promise).
    let (held, src) = unsafe { (Held::assume(Resv::from_raw(dst)), Resv::from_raw(src)) };
    copy_fences(held, src)
}

/// The body of [`dma_resv_copy_fences`]: 0, or -ENOMEM.
#[inline(always)]
fn copy_fences(mut held: Held<'_>, src: &Resv) -> c_int {
    let mut copy: Option<NewList> = None;
    let bookkeep = bindings::dma_resv_usage_DMA_RESV_USAGE_BOOKKEEP;
    let flow = for_each_unlocked(src, bookkeep, |walk, fence| {
        if walk.is_restarted() {
            // The partial copy is dropped with its references.
            copy = None;
            copy = NewList::alloc(walk.num_fences());
            if copy.is_none() {
                return ControlFlow::Break(());
            }
        }
        // A round returns at most `num_fences` fences, the room allocated at
        // its start, and the first fence always starts a round; the check
        // only keeps a broken walk from writing out of bounds.
        let pushed = copy
            .as_mut()
            .map(|copy| copy.push(ARef::from(fence), walk.usage()));
        if !matches!(pushed, Some(Ok(()))) {
            sys::warn();
        }
        ControlFlow::Continue(())
    });
    if flow.is_break() {
        return sys::neg(bindings::ENOMEM);
    }

    // The old list (unreachable for new readers once replaced) is dropped
    // with its references.
    drop(match copy {
        Some(copy) => copy.publish(&mut held),
        None => held.clear(),
    });
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
    // SAFETY: `obj` is initialised, the out parameters writable (caller's
    // promise).
    let (obj, num_fences, fences) =
        unsafe { (Resv::from_raw(obj), &mut *num_fences, &mut *fences) };
    let Some(list) = get_fences(obj, usage) else {
        *fences = ptr::null_mut();
        *num_fences = 0;
        return sys::neg(bindings::ENOMEM);
    };
    // The caller takes over the array and its references. `len` fits: it is
    // at most one round's `num_fences`, a `u32`. Without a fence there is
    // no array (NULL), as in C.
    let (array, len, capacity) = list.into_raw_parts();
    *fences = if capacity == 0 {
        ptr::null_mut()
    } else {
        array.cast()
    };
    *num_fences = len as c_uint;
    0
}

/// The body of [`dma_resv_get_fences`]: the references, in a kmalloc'ed
/// array; `None` without memory.
#[inline(never)]
fn get_fences(obj: &Resv, usage: dma_resv_usage) -> Option<KVec<FenceEntry>> {
    let mut list = KVec::<FenceEntry>::new();
    let body = |walk: &Unlocked, fence: &Fence| {
        if walk.is_restarted() && !restart(&mut list, walk.num_fences()) {
            return ControlFlow::Break(());
        }
        // As in `dma_resv_copy_fences`, the room cannot run out; the check
        // only keeps a broken walk from writing out of bounds.
        if sys::push_within_capacity(&mut list, FenceEntry::get(fence)).is_err() {
            sys::warn();
        }
        ControlFlow::Continue(())
    };
    if for_each_unlocked(obj, usage, body).is_break() {
        sys::kvec_free(list);
        return None;
    }
    Some(list)
}

/// A new round of [`get_fences`]'s walk, of `num_fences` fences: drops the
/// fences of the round before, and makes room for one more than the round
/// can return, as the C core asks for. False without memory.
///
/// Out of line and cold: once per walk, kept off the registers of the loop.
#[cold]
#[inline(never)]
fn restart(list: &mut KVec<FenceEntry>, num_fences: u32) -> bool {
    sys::kvec_truncate(list, 0);
    let want = (num_fences as usize).checked_add(1);
    if list.capacity() < want.unwrap_or(usize::MAX) {
        let Some(grown) = want.and_then(sys::kvec_with_capacity) else {
            return false;
        };
        sys::kvec_free(core::mem::replace(list, grown));
    }
    true
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
    // SAFETY: `obj` is initialised, `fence` writable (caller's promise).
    let (obj, fence) = unsafe { (Resv::from_raw(obj), &mut *fence) };
    match get_singleton(obj, usage) {
        Ok(single) => {
            *fence = single.map_or(ptr::null_mut(), |f| ARef::into_raw(f).as_ptr().cast());
            0
        }
        Err(err) => err,
    }
}

/// [`dma_resv_get_singleton`] for the core's callers: `Ok(None)` if there is
/// no fence, or the errno (negative).
pub(crate) fn get_singleton(
    obj: &Resv,
    usage: dma_resv_usage,
) -> Result<Option<ARef<Fence>>, c_int> {
    let enomem = sys::neg(bindings::ENOMEM);
    let mut list = get_fences(obj, usage).ok_or(enomem)?;
    match list.len() {
        0 | 1 => {
            let single = sys::kvec_pop(&mut list);
            sys::kvec_free(list);
            Ok(single.map(FenceEntry::into_ref))
        }
        _ => {
            let context = crate::fence::dma_fence_context_alloc(1);
            array::create(list, context, 1).map(Some).ok_or(enomem)
        }
    }
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
    // SAFETY: `obj` is initialised (caller's promise).
    wait(unsafe { Resv::from_raw(obj) }, usage, intr, timeout)
}

/// The body of [`dma_resv_wait_timeout`].
#[inline(always)]
fn wait(obj: &Resv, usage: dma_resv_usage, intr: bool, mut timeout: c_ulong) -> c_long {
    let mut ret: c_long = if timeout != 0 { timeout as c_long } else { 1 };
    let body = |_: &Unlocked, fence: &Fence| {
        // The walk holds a reference to the fence; no lock of ours is held.
        // As in C, the unsigned timeout converts to the signed one (a huge
        // one becomes negative, which warns).
        ret = crate::fence::wait_timeout(fence, intr, timeout as c_long);
        if ret <= 0 {
            return ControlFlow::Break(());
        }
        // A zero timeout only polls, and must stay zero.
        if timeout != 0 {
            timeout = ret as c_ulong;
        }
        ControlFlow::Continue(())
    };
    let _ = for_each_unlocked(obj, usage, body);
    ret
}

// The core's own callers of three C ABI functions call their safe bodies
// through these out-of-line copies: a call, as C's callers make, and the C
// entry points keep the bodies inlined (no jump in between).

/// [`dma_resv_reserve_fences`] for a core caller that holds the lock.
#[inline(never)]
pub(crate) fn reserve(held: Held<'_>, num_fences: c_uint) -> c_int {
    reserve_fences(held, num_fences)
}

/// [`dma_resv_add_fence`] for a core caller that holds the lock.
#[inline(never)]
pub(crate) fn add(mut held: Held<'_>, fence: &Fence, usage: dma_resv_usage) {
    add_fence(&mut held, fence, usage)
}

/// [`dma_resv_wait_timeout`] for the core's callers, on a borrowed object.
#[inline(never)]
pub(crate) fn wait_timeout(
    obj: &Resv,
    usage: dma_resv_usage,
    intr: bool,
    timeout: c_ulong,
) -> c_long {
    wait(obj, usage, intr, timeout)
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
    // SAFETY: `obj` is initialised (caller's promise).
    let obj = unsafe { Resv::from_raw(obj) };
    let _ = for_each_unlocked(obj, usage, |_, fence| {
        crate::fence::set_deadline(fence, deadline);
        ControlFlow::<()>::Continue(())
    });
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
    // SAFETY: `obj` is initialised (caller's promise).
    let obj = unsafe { Resv::from_raw(obj) };
    // Signalled unless the walk meets an unsignalled fence.
    for_each_unlocked(obj, usage, |_, _| ControlFlow::Break(())).is_continue()
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
    // SAFETY: `obj` is initialised and locked by the caller, `seq` being
    // shown, for the call (caller's promise).
    let (mut held, seq) = unsafe { (Held::assume(Resv::from_raw(obj)), &*seq.cast::<SeqFile>()) };
    describe(&mut held, seq);
}

/// [`dma_resv_describe`] of a locked object.
pub(crate) fn describe(held: &mut Held<'_>, seq: &SeqFile) {
    let Some(list) = held.list() else {
        return;
    };
    // The locked walk's filter: usage `DMA_RESV_USAGE_READ` or stronger.
    for (slot, usage) in list
        .fences()
        .filter(|(_, usage)| Usage::Read.covers(*usage))
    {
        // C's "\t%s fence:".
        seq.puts(c"\t");
        seq.puts(usage_name(usage));
        seq.puts(c" fence:");
        crate::fence::describe(slot.fence, seq);
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
