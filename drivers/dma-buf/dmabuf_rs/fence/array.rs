// SPDX-License-Identifier: GPL-2.0-only

//! Fence arrays: the C ABI of `drivers/dma-buf/dma-fence-array.c`.
//!
//! A fence array is one fence standing for a set of others. It signals when
//! all of them have signalled or, if created with `signal_on_any`, when the
//! first of them has. Its error is the first error reported by a member (set
//! before it signals), or 0.
//!
//! Nothing is armed until someone waits: [`ArrayFence::enable_signaling`]
//! adds one callback per member, each holding a reference on the array. A
//! member's callback counts `num_pending` down; the one that reaches zero
//! cannot signal the array directly (it runs under the member's lock, and
//! signalling takes the array's), so it queues the array's irq_work, which
//! signals and drops that callback's reference.
//!
//! Until the array signals, its `error` field holds the marker
//! [`PENDING_ERROR`], so that the first member error can be installed with a
//! compare-and-exchange that later errors cannot overwrite; the marker is
//! cleared to 0 before the array reports itself signalled.
//!
//! An array must not contain other containers (arrays or chains): operations
//! on it recurse into the members, so nesting would make the stack depth
//! unbounded. Callers flatten first; [`dma_fence_array_init`] warns otherwise.
//!
//! C header: [`include/linux/dma-fence-array.h`](srctree/include/linux/dma-fence-array.h).

use super::ops::{ops_table, FenceImpl, Unreferenced};
use super::Locked;
use super::{dma_fence_add_callback, dma_fence_init, Fence, FenceCore, FenceEntry, ENABLE_SIGNAL};
use crate::sys;
use core::mem::size_of;
use core::ptr::{addr_of_mut, NonNull};
use core::sync::atomic::{AtomicI32, Ordering};
use kernel::alloc::KVec;
use kernel::bindings::{
    self, dma_fence, dma_fence_array, dma_fence_array_cb, dma_fence_cb, irq_work, ktime_t,
};
use kernel::ffi::{c_int, c_uint};
use kernel::types::ARef;

/// The value of `base.error` while the array has not signalled and no member
/// has reported an error yet.
const PENDING_ERROR: c_int = 1;

/// The fence array type, as the fence core sees it through its ops table.
pub(crate) struct ArrayFence;

/// The operations of every fence array; `dma_fence_is_array()` compares
/// against the address of this table.
#[no_mangle]
pub(crate) static dma_fence_array_ops: bindings::dma_fence_ops = ops_table::<ArrayFence>();

/// An initialised fence array, borrowed.
///
/// # Invariants
///
/// The array was set up by [`dma_fence_array_init`]: its base fence uses the
/// array ops, and `fences` holds `num_fences` live fence references that the
/// array owns (or is NULL with `num_fences` 0, the case init warns about).
/// It lives for as long as it is borrowed.
#[repr(transparent)]
pub(crate) struct Array(kernel::types::Opaque<dma_fence_array>);

impl Array {
    /// `to_dma_fence_array()` of the C header: the array whose base is
    /// `fence`, or `None` if `fence` is not a fence array.
    #[inline]
    pub(crate) fn from_fence(fence: &Fence) -> Option<&Array> {
        super::ops::container::<ArrayFence>(fence)
    }

    #[inline]
    fn raw(&self) -> *mut dma_fence_array {
        self.0.get()
    }

    /// The array's own fence.
    #[inline]
    fn base(&self) -> &Fence {
        super::ops::base::<ArrayFence>(self)
    }

    /// The member fences.
    #[inline]
    fn members(&self) -> &[&Fence] {
        // SAFETY: The array is initialised (type invariant).
        let (fences, n) = unsafe { ((*self.raw()).fences, (*self.raw()).num_fences) };
        if fences.is_null() {
            return &[];
        }
        // SAFETY: `fences` holds `num_fences` live, non-null fence pointers
        // that the array keeps referenced while it lives; `&Fence` has the
        // layout of `*mut dma_fence`; nothing changes the array of pointers
        // after init.
        unsafe { core::slice::from_raw_parts(fences.cast::<&Fence>(), n as usize) }
    }

    /// The callback slot of member `i` (`i < num_fences`): the array was
    /// allocated with one per member, after the struct
    /// (`dma_fence_array_alloc`), in place until it is freed.
    #[inline]
    fn callback(&self, i: usize) -> *mut dma_fence_array_cb {
        // SAFETY: Taking a field's address reads nothing.
        let cbs = unsafe { addr_of_mut!((*self.raw()).callbacks) };
        cbs.cast::<dma_fence_array_cb>().wrapping_add(i)
    }

    /// The `num_pending` counter, used atomically as in C.
    #[inline]
    fn num_pending(&self) -> &AtomicI32 {
        // SAFETY: `atomic_t` is a naturally aligned `int` that the core only
        // accesses atomically; it lives with the array.
        unsafe { AtomicI32::from_ptr(addr_of_mut!((*self.raw()).num_pending.counter)) }
    }

    /// `atomic_dec_and_test(&array->num_pending)`: fully ordered, true for
    /// the count-down that reaches zero.
    #[inline]
    fn count_down(&self) -> bool {
        sys::fully_ordered(|order| self.num_pending().fetch_sub(1, order)) == 1
    }

    /// The `error` field of the array's base fence, for `cmpxchg`.
    ///
    /// C reads and writes this `int` with plain accesses, except for the
    /// `cmpxchg()`s that install a member's error, which can run on several
    /// CPUs at once (members signal concurrently). Rust calls concurrent
    /// plain and atomic accesses to one location a data race, so while the
    /// array is pending the core touches the field only through this atomic;
    /// the plain reads elsewhere (`dma_fence_get_status`, signalling) come
    /// after the array's signalling, which the fence lock and the irq_work
    /// order after the last exchange. The field has the size and alignment
    /// of an `AtomicI32`.
    #[inline]
    fn error(&self) -> &AtomicI32 {
        // SAFETY: `error` is a naturally aligned `int` of the live array;
        // while the array is pending it changes only through these exchanges.
        unsafe { AtomicI32::from_ptr(addr_of_mut!((*self.raw()).base.error)) }
    }

    /// Installs `err` as the array's error if it is the first one reported
    /// before the array signals; 0 changes nothing.
    #[inline]
    fn set_pending_error(&self, err: c_int) {
        if err != 0 {
            // Fully ordered, like the kernel's cmpxchg(); losing the race (an
            // error is already installed, or the marker is cleared) is the
            // intended outcome.
            let error = self.error();
            let _ = sys::fully_ordered(|order| {
                error.compare_exchange(PENDING_ERROR, err, order, order)
            });
        }
    }

    /// Replaces the [`PENDING_ERROR`] marker by 0, if no member error
    /// replaced it.
    #[inline]
    fn clear_pending_error(&self) {
        let error = self.error();
        // Fully ordered, as above.
        let _ = sys::fully_ordered(|order| error.compare_exchange(PENDING_ERROR, 0, order, order));
    }
}

/// `dma_fence_is_container()`: whether `fence` is an array or a chain.
pub(crate) fn is_container(fence: &Fence) -> bool {
    Array::from_fence(fence).is_some() || super::chain::Chain::from_fence(fence).is_some()
}

/// The error of a member (`fence->error`), read plainly as C does: a member
/// reports it before it signals.
fn member_error(fence: &Fence) -> c_int {
    // SAFETY: The fence is live; a plain read of its error, as in C.
    unsafe { (*fence.raw()).error }
}

/// The array's irq_work: signals the array, then drops the reference of the
/// member callback that queued it.
///
/// # Safety
///
/// `work` must be the `work` of a live fence array, queued by its last member
/// callback, which hands over its reference to the array.
unsafe extern "C" fn signal_work(work: *mut irq_work) {
    // SAFETY: This function is only installed (by `dma_fence_array_init`) on
    // the `work` of a fence array, and only queued by the last member
    // callback, which hands its reference over to us: it keeps the array
    // alive until dropped, after the last use of `array`.
    let (array, reference) = unsafe {
        let array = &*kernel::container_of!(work, dma_fence_array, work).cast::<Array>();
        (
            array,
            Fence::from_raw_owned(NonNull::from(array.base()).cast()),
        )
    };
    array.clear_pending_error();
    array.base().signal();
    crate::fence::put_ref(reference);
}

/// A member's callback: records its error and counts down; the last one
/// hands the signalling (and its reference) to the irq_work.
///
/// # Safety
///
/// `cb` must be the `cb` of one of the `callbacks` of a fence array, armed by
/// `enable_signaling` with a reference to the array that this call takes
/// over; `fence` the member that signals, live during its callbacks.
unsafe extern "C" fn member_signaled(fence: *mut dma_fence, cb: *mut dma_fence_cb) {
    // SAFETY: This callback is only added (by `enable_signaling`) as the `cb`
    // of one of the array's `callbacks`, whose `array` was set first, with a
    // reference to the array that is now ours: it keeps the array alive
    // until handed on or dropped, after the last use of `array`. `fence` is
    // the signalling member, live and initialised during its callbacks.
    let (array, member, reference) = unsafe {
        let array_cb = kernel::container_of!(cb, dma_fence_array_cb, cb);
        let array = &*(*array_cb).array.cast::<Array>();
        let reference = Fence::from_raw_owned(NonNull::from(array.base()).cast());
        (array, Fence::from_raw(fence), reference)
    };
    array.set_pending_error(member_error(member));
    if array.count_down() {
        // The irq work takes the reference over.
        let _ = ARef::into_raw(reference);
        // SAFETY: The work was set up by `dma_fence_array_init`.
        unsafe { bindings::irq_work_queue(addr_of_mut!((*array.raw()).work)) };
    } else {
        crate::fence::put_ref(reference);
    }
}

// SAFETY: `Array` is `repr(transparent)` over `struct dma_fence_array`, whose
// fence is at `BASE_OFFSET`; only `dma_fence_array_init` installs the array
// ops (`ops()`), on the fence of the array it initialises; and an `&Array`
// is of an initialised array (its type invariant).
unsafe impl FenceImpl for ArrayFence {
    const DRIVER_NAME: &'static core::ffi::CStr = c"dma_fence_array";
    type Typed = Array;
    const BASE_OFFSET: usize = core::mem::offset_of!(dma_fence_array, base);

    fn ops() -> &'static bindings::dma_fence_ops {
        &dma_fence_array_ops
    }

    /// Adds a callback to every member, each holding a reference on the array.
    ///
    /// The reference is needed because the array may report itself signalled
    /// (and the core drop its own reference) before every callback has run.
    /// A member that has already signalled counts down at once; if that
    /// completes the array, it is reported signalled (false) and the
    /// remaining members are left unarmed.
    fn enable_signaling(array: &Array, _locked: &Locked<'_>) -> bool {
        for (i, member) in array.members().iter().enumerate() {
            let cb = array.callback(i);
            // SAFETY: The slot is the array's, in place until it is freed;
            // the reference taken is the callback's.
            let added = unsafe {
                (*cb).array = array.raw();
                crate::fence::get(array.base().raw());
                dma_fence_add_callback(member.raw(), addr_of_mut!((*cb).cb), Some(member_signaled))
            };
            if added != 0 {
                array.set_pending_error(member_error(member));
                // SAFETY: The callback was not added: its reference is ours.
                unsafe { crate::fence::put(array.base().raw()) };
                if array.count_down() {
                    array.clear_pending_error();
                    return false;
                }
            }
        }
        true
    }

    /// Whether enough members have signalled.
    ///
    /// `num_pending` is read (acquire, pairing with the count-downs) before
    /// the enable bit: once signalling is enabled the callbacks own the
    /// count, so a stale, too-high value only delays the answer. Before
    /// that, the members are polled and counted against the initial value.
    fn signaled(array: &Array) -> bool {
        let mut pending = array.num_pending().load(Ordering::Acquire);
        let done = if sys::test_bit(array.base().flags(), ENABLE_SIGNAL) {
            pending <= 0
        } else {
            let mut done = false;
            for member in array.members() {
                if member.query_signaled() {
                    // Wrapping, as C's int arithmetic in the kernel.
                    pending = pending.wrapping_sub(1);
                    if pending == 0 {
                        done = true;
                        break;
                    }
                }
            }
            done
        };
        if done {
            array.clear_pending_error();
        }
        done
    }

    /// Drops the references on the members, frees the member array the
    /// creator handed over, and frees the fence after an RCU grace period.
    fn release(this: Unreferenced<Self>) {
        let array = this.get();
        for member in array.members() {
            // SAFETY: The array's reference to the member.
            unsafe { crate::fence::put(member.raw()) };
        }
        // SAFETY: `fences` was allocated with kmalloc by the creator, who gave
        // it to us, and nothing refers to it any more.
        unsafe { bindings::kfree((*array.raw()).fences.cast()) };
        // The array itself came from `dma_fence_array_alloc`.
        this.free();
    }

    /// Passes the deadline on to every member.
    fn set_deadline(array: &Array, deadline: ktime_t) {
        for member in array.members() {
            crate::fence::set_deadline(member, deadline);
        }
    }
}

/// Allocates a zeroed fence array with room for `num_fences` callbacks.
///
/// Returns the array, to be set up with [`dma_fence_array_init`], or NULL
/// when out of memory or when the size does not fit (negative `num_fences`
/// included). Allocates with GFP_KERNEL, so it may sleep.
#[no_mangle]
pub(crate) extern "C" fn dma_fence_array_alloc(num_fences: c_int) -> *mut dma_fence_array {
    let size = usize::try_from(num_fences)
        .ok()
        .and_then(|n| n.checked_mul(size_of::<dma_fence_array_cb>()))
        .and_then(|cbs| cbs.checked_add(size_of::<dma_fence_array>()));
    let Some(size) = size else {
        return core::ptr::null_mut();
    };
    // Process context, where this function may be called.
    sys::kzalloc(size)
}

/// Initialises a fence array allocated with [`dma_fence_array_alloc`],
/// without allocating (usable in reclaim and signalling paths).
///
/// The array takes over `fences` (a kmalloc'ed array of `num_fences` fence
/// references): each is put and the array kfree'd on release. It signals
/// when all members have, or the first one if `signal_on_any`. Warns if
/// there are no fences, and for every member that is itself a container.
///
/// # Safety
///
/// `array` must come from `dma_fence_array_alloc(num_fences)` and not be
/// shared yet; `fences` must hold `num_fences` live fence references.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_fence_array_init(
    array: *mut dma_fence_array,
    num_fences: c_int,
    fences: *mut *mut dma_fence,
    context: u64,
    seqno: c_uint,
    signal_on_any: bool,
) {
    if num_fences == 0 || fences.is_null() {
        sys::warn();
    }
    let pending = if signal_on_any { 1 } else { num_fences };

    // SAFETY: The caller gives us the unshared array, with room for
    // `num_fences` callbacks; the ops table is static and the lock lives in
    // the array, as long as the fence.
    unsafe {
        (*array).num_fences = num_fences as c_uint;

        bindings::dmabuf_rs_array_lock_init(array);
        dma_fence_init(
            addr_of_mut!((*array).base),
            &dma_fence_array_ops,
            addr_of_mut!((*array).lock),
            context,
            u64::from(seqno),
        );
        bindings::dmabuf_rs_init_irq_work(addr_of_mut!((*array).work), Some(signal_work));

        (*array).num_pending.counter = pending;
        (*array).fences = fences;

        (*array).base.error = PENDING_ERROR;
    }

    // Containers inside an array would make its operations recurse without
    // bound; callers must flatten them. (C would oops on a NULL `fences`
    // here; it has been warned about above, so skip the check instead.)
    if !fences.is_null() {
        for i in (0..num_fences.max(0)).rev() {
            // SAFETY: `fences` holds `num_fences` live, initialised fences (caller).
            if is_container(unsafe { Fence::from_raw(*fences.add(i as usize)) }) {
                sys::warn();
            }
        }
    }
}

/// Allocates and initialises a fence array over `fences`.
///
/// Returns the new array (one reference), or NULL if it cannot be allocated;
/// the caller keeps `fences` then. On success the array owns `fences` and its
/// references, as for [`dma_fence_array_init`]. May sleep.
///
/// # Safety
///
/// As [`dma_fence_array_init`] for `num_fences` and `fences`.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_fence_array_create(
    num_fences: c_int,
    fences: *mut *mut dma_fence,
    context: u64,
    seqno: c_uint,
    signal_on_any: bool,
) -> *mut dma_fence_array {
    let array = dma_fence_array_alloc(num_fences);
    if array.is_null() {
        return array;
    }
    // SAFETY: The array was just allocated for `num_fences`; the caller
    // vouches for `fences`.
    unsafe { dma_fence_array_init(array, num_fences, fences, context, seqno, signal_on_any) };
    array
}

/// [`dma_fence_array_create`] for the core's callers: an array (signalling
/// when all members have) that takes over `fences` and their references, or
/// `None` without memory (the references are dropped then).
pub(crate) fn create(fences: KVec<FenceEntry>, context: u64, seqno: c_uint) -> Option<ARef<Fence>> {
    let Ok(count) = c_int::try_from(fences.len()) else {
        sys::kvec_free(fences);
        return None;
    };
    let Some(array) = core::ptr::NonNull::new(dma_fence_array_alloc(count)) else {
        sys::kvec_free(fences);
        return None;
    };
    // The array owns a kmalloc'ed array of fence pointers and kfree's it:
    // the vector's own buffer is one (`KVec` allocates with kmalloc, and
    // `FenceEntry` is a transparent fence pointer), so it is handed over as
    // it is, references included, without a second allocation.
    let (list, _, _) = fences.into_raw_parts();
    // SAFETY: The array was just allocated for `count` members; `list` holds
    // `count` live fence references, kmalloc'ed, now the array's. The new
    // array's one reference is ours; its fence is its `base`.
    unsafe {
        let array = array.as_ptr();
        dma_fence_array_init(array, count, list.cast(), context, seqno, false);
        Some(Fence::from_raw_owned(core::ptr::NonNull::new_unchecked(
            addr_of_mut!((*array).base),
        )))
    }
}

/// Checks that `fence`, or every member if it is an array, is on `context`.
///
/// Returns false if any fence is on another context. Takes no lock.
///
/// # Safety
///
/// `fence` must point to a live, initialised fence.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_fence_match_context(
    fence: *mut dma_fence,
    context: u64,
) -> bool {
    // SAFETY: The caller's contract: a live, initialised fence.
    let fence = unsafe { Fence::from_raw(fence) };
    match Array::from_fence(fence) {
        Some(array) => array.members().iter().all(|m| m.context() == context),
        None => fence.context() == context,
    }
}

/// Starts `dma_fence_array_for_each()`: returns the first member of an array,
/// or `head` itself if it is not an array.
///
/// Returns NULL for a NULL `head` or an empty array. No reference is taken.
///
/// # Safety
///
/// `head` must be NULL or point to a live, initialised fence.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_fence_array_first(head: *mut dma_fence) -> *mut dma_fence {
    // SAFETY: The caller's contract: NULL or a live, initialised fence.
    let head = unsafe { head.as_ref().map(|_| Fence::from_raw(head)) };
    head.and_then(first)
        .map_or(core::ptr::null_mut(), Fence::raw)
}

/// Steps `dma_fence_array_for_each()`: returns member `index` of an array.
///
/// Returns NULL if `head` is not an array (a plain fence has no second
/// element) or `index` is past the end. No reference is taken.
///
/// # Safety
///
/// `head` must be NULL or point to a live, initialised fence.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_fence_array_next(
    head: *mut dma_fence,
    index: c_uint,
) -> *mut dma_fence {
    // SAFETY: The caller's contract: NULL or a live, initialised fence.
    let head = unsafe { head.as_ref().map(|_| Fence::from_raw(head)) };
    head.and_then(|head| next(head, index))
        .map_or(core::ptr::null_mut(), Fence::raw)
}

/// [`dma_fence_array_first`] on a fence: the first member of an array
/// (`None` for an empty one), or `head` itself if it is not an array.
#[inline]
pub(crate) fn first(head: &Fence) -> Option<&Fence> {
    match Array::from_fence(head) {
        Some(array) => array.members().first().copied(),
        None => Some(head),
    }
}

/// [`dma_fence_array_next`] on a fence: member `index` of an array, or
/// `None` past its end or if `head` is not an array.
#[inline]
pub(crate) fn next(head: &Fence, index: c_uint) -> Option<&Fence> {
    Array::from_fence(head).and_then(|array| array.members().get(index as usize).copied())
}

c_abi!(
    dma_fence_array_alloc,
    dma_fence_array_init,
    dma_fence_array_create,
    dma_fence_match_context,
    dma_fence_array_first,
    dma_fence_array_next,
);
