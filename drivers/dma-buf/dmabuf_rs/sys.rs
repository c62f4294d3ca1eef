// SPDX-License-Identifier: GPL-2.0-only

//! Small building blocks over the C kernel the core is written against:
//! spinlocks with guards ([`SpinLock`]), wait queues ([`WaitQueue`]), RCU
//! read sections, atomic flag bits, intrusive list operations, all-zero C
//! structs ([`zeroed`]), `KVec` helpers and warnings. Each wraps a C shim
//! (`include/linux/dmabuf-rs.h`) or a plain memory operation, so the modules
//! above read like the C core they replace.

use core::ptr::addr_of_mut;
use core::sync::atomic::{AtomicUsize, Ordering};
use kernel::alloc::KVec;
use kernel::bindings;
use kernel::ffi::{c_long, c_ulong};

#[path = "sys/spinlock.rs"]
mod spinlock;
pub(crate) use spinlock::{SpinGuard, SpinLock};

#[path = "sys/cstr.rs"]
mod cstr;
pub(crate) use cstr::{strscpy, strscpy_array, BufWriter, CStrPtr, KString};

#[path = "sys/list.rs"]
mod list;
pub(crate) use list::*;

#[path = "sys/zeroed.rs"]
mod zeroed;
pub(crate) use zeroed::zeroed;

#[path = "sys/waitqueue.rs"]
mod waitqueue;
pub(crate) use waitqueue::{init_waitqueue_head, WaitQueue};

/// A lockdep class key in static storage: what C's lock-initialising macros
/// (`init_waitqueue_head`, `spin_lock_init`) define at each call site, one
/// class per site. Lockdep wants the key's memory static and untouched
/// before it registers it; without lockdep nothing reads it.
#[repr(transparent)]
pub(crate) struct LockClass(kernel::types::Opaque<bindings::lock_class_key>);

// SAFETY: Lockdep synchronises its own use of a key; Rust never reads or
// writes one.
unsafe impl Sync for LockClass {}

impl LockClass {
    /// A new class, for a `static`.
    pub(crate) const fn new() -> Self {
        Self(kernel::types::Opaque::uninit())
    }
}

/// `kvfree_call_rcu`: frees `ptr` (kmalloc'ed or vmalloc'ed) after an RCU
/// grace period, using the `rcu_head` at `head` inside it (`kfree_rcu`).
///
/// Tree RCU exports the function, called here directly; Tiny RCU makes it a
/// header inline, reached through the shim.
///
/// # Safety
///
/// `ptr` must be an allocation that no new reader can reach and nobody else
/// frees; `head` must be an unused `rcu_head` inside it.
#[inline]
pub(crate) unsafe fn kvfree_rcu(head: *mut bindings::callback_head, ptr: *mut core::ffi::c_void) {
    #[cfg(CONFIG_TREE_RCU)]
    // SAFETY: The caller's promise.
    unsafe {
        bindings::kvfree_call_rcu(head, ptr)
    };
    #[cfg(not(CONFIG_TREE_RCU))]
    // SAFETY: The caller's promise.
    unsafe {
        bindings::dmabuf_rs_kvfree_call_rcu(head, ptr)
    };
}

/// A tracepoint of the kernel (a static object, `__tracepoint_<event>`).
///
/// # Invariants
///
/// The tracepoint is one of the kernel's static tracepoints.
#[repr(transparent)]
pub(crate) struct Tracepoint(kernel::types::Opaque<bindings::tracepoint>);

impl Tracepoint {
    /// Whether a probe may be attached: the test of C's `trace_<event>()`
    /// inlines, `static_key_false(&tp->key)`, which without jump labels is
    /// this very read of the key's count, and with them a code patch made
    /// after the count is raised. With lockdep it always says yes, so that
    /// the C wrapper also runs the RCU check the inline makes there.
    #[inline]
    pub(crate) fn on(&self) -> bool {
        if cfg!(CONFIG_LOCKDEP) {
            return true;
        }
        // SAFETY: The tracepoint is a static object of the kernel (type
        // invariant), whose key's count is only changed atomically
        // (`static_key_slow_inc`/`dec`); C reads it with `atomic_read`.
        let enabled = unsafe {
            core::sync::atomic::AtomicI32::from_ptr(addr_of_mut!(
                (*self.0.get()).key.enabled.counter
            ))
        };
        enabled.load(Ordering::Relaxed) > 0
    }
}

/// `rcu_read_lock`: enters an RCU read-side critical section, left by
/// [`RcuGuard`]'s drop.
///
/// With preemptible RCU and without lockdep the macro is exactly the kernel's
/// `__rcu_read_lock()`, called here directly; otherwise (lockdep's RCU map,
/// or `preempt_disable()` for non-preemptible RCU) through the shim.
#[inline]
fn rcu_read_lock() {
    #[cfg(all(CONFIG_PREEMPT_RCU, not(CONFIG_DEBUG_LOCK_ALLOC)))]
    // SAFETY: No preconditions.
    unsafe {
        bindings::__rcu_read_lock()
    };
    #[cfg(not(all(CONFIG_PREEMPT_RCU, not(CONFIG_DEBUG_LOCK_ALLOC))))]
    // SAFETY: No preconditions.
    unsafe {
        bindings::dmabuf_rs_rcu_read_lock()
    };
}

/// An RCU read-side critical section, held for the life of the value
/// ([`rcu_read_lock`] when made, `rcu_read_unlock` on drop).
///
/// What is borrowed under RCU can borrow from the guard, so that it cannot
/// outlive the section. Not `Send`: the section belongs to the task (and,
/// without preemptible RCU, the CPU) that entered it.
///
/// # Invariants
///
/// The task is inside the RCU read-side critical section this value entered.
pub(crate) struct RcuGuard(core::marker::PhantomData<*mut ()>);

impl RcuGuard {
    /// Enters an RCU read-side critical section.
    #[inline]
    pub(crate) fn new() -> Self {
        rcu_read_lock();
        // INVARIANT: The section was just entered.
        Self(core::marker::PhantomData)
    }
}

impl Drop for RcuGuard {
    #[inline]
    fn drop(&mut self) {
        // `rcu_read_unlock`, the same way as `rcu_read_lock` above.
        #[cfg(all(CONFIG_PREEMPT_RCU, not(CONFIG_DEBUG_LOCK_ALLOC)))]
        // SAFETY: By the type invariant we are in the section `new` entered.
        unsafe {
            bindings::__rcu_read_unlock()
        };
        #[cfg(not(all(CONFIG_PREEMPT_RCU, not(CONFIG_DEBUG_LOCK_ALLOC))))]
        // SAFETY: By the type invariant we are in the section `new` entered.
        unsafe {
            bindings::dmabuf_rs_rcu_read_unlock()
        };
    }
}

// The kernel's bitops work on `unsigned long` words, which the core reads as
// `AtomicUsize` (`AtomicUsize::from_ptr` of the word's address, at each
// owner's accessor): the same size and alignment on every architecture Linux
// runs Rust on.
const _: () = assert!(core::mem::size_of::<c_ulong>() == core::mem::size_of::<usize>());
const _: () = assert!(core::mem::align_of::<c_ulong>() == core::mem::align_of::<usize>());

/// `test_bit`: a relaxed read of one bit.
pub(crate) fn test_bit(word: &AtomicUsize, bit: u32) -> bool {
    word.load(Ordering::Relaxed) & (1 << bit) != 0
}

/// `set_bit`: an atomic, unordered set of one bit.
pub(crate) fn set_bit(word: &AtomicUsize, bit: u32) {
    word.fetch_or(1 << bit, Ordering::Relaxed);
}

/// `set_bit` with release ordering: the writes before it are visible to
/// whoever sees the bit with an acquire load ([`test_bit_acquire`]). On
/// x86 it is the same locked `or` as `set_bit`.
pub(crate) fn set_bit_release(word: &AtomicUsize, bit: u32) {
    word.fetch_or(1 << bit, Ordering::Release);
}

/// `test_bit_acquire`: reads one bit; if set with [`set_bit_release`], the
/// writes made before it are visible after this returns.
pub(crate) fn test_bit_acquire(word: &AtomicUsize, bit: u32) -> bool {
    word.load(Ordering::Acquire) & (1 << bit) != 0
}

/// Runs the atomic read-modify-write `op` fully ordered, as the kernel's
/// value-returning atomics are (`cmpxchg`, `atomic_dec_and_test`,
/// `test_and_set_bit`): as if a full barrier (`smp_mb()`) came right before
/// and right after it. `op` gets the ordering to give its operation.
///
/// A Rust `SeqCst` read-modify-write is not that everywhere: it orders
/// itself against other `SeqCst` operations, and on arm64 without LSE it is
/// an acquire/release exclusive pair that later plain accesses may pass.
/// On x86 it is a locked instruction, which is a full barrier (Intel SDM
/// vol. 3A, 9.2.2: locked instructions are not reordered with earlier or
/// later loads or stores), the same instruction the kernel uses, so nothing
/// is added there. Elsewhere the operation is bracketed by `SeqCst` fences,
/// which are full barriers (`dmb ish` on arm64), the kernel's own recipe
/// (`smp_mb__before_atomic()`, op, `smp_mb__after_atomic()`).
#[inline]
pub(crate) fn fully_ordered<R>(op: impl FnOnce(Ordering) -> R) -> R {
    #[cfg(not(CONFIG_X86))]
    core::sync::atomic::fence(Ordering::SeqCst);
    let ret = op(Ordering::SeqCst);
    #[cfg(not(CONFIG_X86))]
    core::sync::atomic::fence(Ordering::SeqCst);
    ret
}

/// `test_and_set_bit`: a fully ordered atomic set that returns the old bit.
#[inline]
pub(crate) fn test_and_set_bit(word: &AtomicUsize, bit: u32) -> bool {
    fully_ordered(|order| word.fetch_or(1 << bit, order)) & (1 << bit) != 0
}

/// Warns (`WARN_ON(1)`), naming the Rust call site: the splat's own location
/// is the C shim, so the message carries the `file:line` that C would show.
#[cold]
#[track_caller]
pub(crate) fn warn() {
    let at = core::panic::Location::caller();
    let file = at.file();
    // SAFETY: `file` is valid for `len` bytes (printed with `%.*s`, so it needs
    // no NUL); `dmabuf_rs_warn` has no other preconditions.
    unsafe {
        bindings::dmabuf_rs_warn(
            file.len().min(i32::MAX as usize) as i32,
            file.as_ptr(),
            at.line(),
        )
    };
}

/// `BUG()`: the kernel's stop for a state that must not go on (as in C,
/// where a driver broke a rule that leaves no way to continue).
#[cold]
pub(crate) fn bug() -> ! {
    // SAFETY: `BUG` has no preconditions; it does not return.
    unsafe { bindings::BUG() }
}

/// `kzalloc(size, GFP_KERNEL)`: zeroed memory from the slab allocator, or
/// NULL without memory. May sleep: process context only, as every caller of
/// the C core's allocating functions is. Freed with `kfree` (or `kfree_rcu`).
#[inline]
pub(crate) fn kzalloc<T>(size: usize) -> *mut T {
    kmalloc(size, bindings::GFP_KERNEL | bindings::__GFP_ZERO)
}

/// `kmalloc(size, flags)`: memory from the slab allocator, or NULL. Freed
/// with `kfree` (or `kfree_rcu`); any size is accepted (too large fails).
///
/// For a size C does not know at compile time, `kmalloc()` is a call of
/// `__kmalloc_noprof()`, made here directly, unless allocation profiling
/// or slab buckets wrap it (then it goes through `krealloc(NULL, ..)`, the
/// helper that does the wrapping). The helper path costs a second call and
/// `krealloc`'s bookkeeping on every fence array, attachment and list.
#[inline]
pub(crate) fn kmalloc<T>(size: usize, flags: bindings::gfp_t) -> *mut T {
    #[cfg(not(any(CONFIG_MEM_ALLOC_PROFILING, CONFIG_SLAB_BUCKETS)))]
    // SAFETY: No preconditions beyond a context where `flags` may be used,
    // which is the caller's (GFP_KERNEL callers run in process context).
    let ptr = unsafe { bindings::__kmalloc_noprof(size, flags) };
    #[cfg(any(CONFIG_MEM_ALLOC_PROFILING, CONFIG_SLAB_BUCKETS))]
    // SAFETY: krealloc of NULL is kmalloc, as above.
    let ptr = unsafe { bindings::krealloc(core::ptr::null(), size, flags) };
    ptr.cast()
}

/// The kmalloc size class (`kmalloc_index()`) that serves `size` bytes:
/// 1 and 2 are the 96- and 192-byte caches, `n` otherwise the `2^n`-byte
/// one. For sizes up to `KMALLOC_MAX_CACHE_SIZE`.
#[cfg(not(any(
    CONFIG_MEM_ALLOC_PROFILING,
    CONFIG_SLAB_BUCKETS,
    CONFIG_RANDOM_KMALLOC_CACHES
)))]
const fn kmalloc_index(size: usize) -> usize {
    let min = bindings::KMALLOC_MIN_SIZE as usize;
    if size <= min {
        return bindings::KMALLOC_SHIFT_LOW as usize;
    }
    if min <= 32 && size > 64 && size <= 96 {
        return 1;
    }
    if min <= 64 && size > 128 && size <= 192 {
        return 2;
    }
    // The power of two at or above `size` (which is above 1).
    (usize::BITS - (size - 1).leading_zeros()) as usize
}

/// The object size of the kmalloc size class `index` (see [`kmalloc_index`]).
#[cfg(all(
    CONFIG_PROVE_LOCKING,
    not(any(
        CONFIG_MEM_ALLOC_PROFILING,
        CONFIG_SLAB_BUCKETS,
        CONFIG_RANDOM_KMALLOC_CACHES
    ))
))]
const fn kmalloc_class_size(index: usize) -> usize {
    match index {
        1 => 96,
        2 => 192,
        n => 1 << n,
    }
}

/// [`kzalloc`] of `SIZE` bytes, a size known at compile time, as C's
/// `kzalloc()` of a constant: the allocation goes straight to the slab cache
/// of the size's class (`__kmalloc_cache_noprof()`), without the lookup of
/// the class at run time that [`kmalloc`] pays (a dozen instructions on every
/// attachment, dma-buf and sync_file).
///
/// Where the cache also depends on the caller (random kmalloc caches) or
/// allocations are wrapped (profiling, slab buckets), this is [`kzalloc`].
/// Debug kernels (lockdep's) check on every call that the class chosen here
/// is the one the slab allocator would choose.
#[inline]
pub(crate) fn kzalloc_fixed<T, const SIZE: usize>() -> *mut T {
    #[cfg(any(
        CONFIG_MEM_ALLOC_PROFILING,
        CONFIG_SLAB_BUCKETS,
        CONFIG_RANDOM_KMALLOC_CACHES
    ))]
    return kzalloc(SIZE);

    #[cfg(not(any(
        CONFIG_MEM_ALLOC_PROFILING,
        CONFIG_SLAB_BUCKETS,
        CONFIG_RANDOM_KMALLOC_CACHES
    )))]
    {
        let index = const {
            assert!(SIZE > 0 && SIZE <= bindings::KMALLOC_MAX_CACHE_SIZE as usize);
            kmalloc_index(SIZE)
        };
        #[cfg(CONFIG_PROVE_LOCKING)]
        // SAFETY: No preconditions.
        if unsafe { bindings::kmalloc_size_roundup(SIZE) } != kmalloc_class_size(index) {
            warn();
        }
        // GFP_KERNEL has none of the bits that select another type of cache
        // (DMA, reclaimable, accounted), so the cache is a normal one.
        let normal = bindings::kmalloc_cache_type_KMALLOC_NORMAL as usize;
        // SAFETY: The kmalloc caches are set up at boot, before any module or
        // initcall of the core runs, and never change after; a plain read of
        // one entry, without a reference to the `static mut`.
        let cache = unsafe { (*core::ptr::addr_of!(bindings::kmalloc_caches))[normal][index] };
        let flags = bindings::GFP_KERNEL | bindings::__GFP_ZERO;
        // SAFETY: `cache` is the kmalloc cache of `SIZE`'s class, whose
        // objects hold `SIZE` bytes; process context, as for [`kzalloc`].
        unsafe { bindings::__kmalloc_cache_noprof(cache, flags, SIZE) }.cast()
    }
}

/// An empty `KVec` with room for `capacity` elements, its buffer from one
/// direct [`kmalloc`] rather than through `KVec`'s allocator (which goes
/// through `krealloc`, a helper call and its layout checks: measured at
/// about 170 instructions, most of the fixed cost of a merge of a few
/// fences). The buffer is a `Kmalloc` one all the same, freed by `kfree`
/// as `KVec` frees it. `None` without memory, or for a size that does not
/// fit; GFP_KERNEL, so process context only.
///
/// A capacity of 0 gets kmalloc's `ZERO_SIZE_PTR`, which `kfree` ignores
/// (and `KVec`, seeing no capacity, never frees).
pub(crate) fn kvec_with_capacity<T>(capacity: usize) -> Option<KVec<T>> {
    if core::mem::size_of::<T>() == 0 {
        return KVec::with_capacity(capacity, kernel::alloc::flags::GFP_KERNEL).ok();
    }
    let bytes = capacity.checked_mul(core::mem::size_of::<T>())?;
    let buf: *mut T = kmalloc(bytes, bindings::GFP_KERNEL);
    if buf.is_null() {
        return None;
    }
    // SAFETY: `buf` is a slab block from kmalloc, which is what the `Kmalloc`
    // allocator hands out (its `krealloc` of NULL is kmalloc) and frees with
    // `kfree`, or `ZERO_SIZE_PTR` for no bytes; it is aligned for every type
    // the core puts in it (kmalloc aligns to at least
    // `ARCH_KMALLOC_MINALIGN`, 8 bytes, `ZERO_SIZE_PTR` is 16, and the core
    // stores pointers and uapi structs of 8-byte alignment at most, checked
    // below), has room for `capacity` elements (fewer than `isize::MAX`
    // bytes: kmalloc refuses more than `KMALLOC_MAX_SIZE`), and holds none.
    unsafe {
        const { assert!(core::mem::align_of::<T>() <= 8) };
        Some(KVec::from_raw_parts(buf, 0, capacity))
    }
}

/// A `KVec` of `len` all-zero elements (C's `kcalloc`), allocated as
/// [`kvec_with_capacity`].
///
/// This beats `kcalloc`'s `__GFP_ZERO` on large arrays: only `len` elements
/// are written, not the whole (rounded-up) block, nor whole pages for sizes
/// beyond the slab caches. One `memset` of `len` elements, where a loop
/// storing a zero value made LLVM compute the length back from the end
/// pointer (a multiply and a shift).
pub(crate) fn kvec_zeroed<T: crate::uaccess::UserData>(len: usize) -> Option<KVec<T>> {
    let mut vec = kvec_with_capacity(len)?;
    // SAFETY: The buffer has room for `len` elements; all-zero bytes are a
    // valid `T` (`UserData`: any bit pattern is), so once written the first
    // `len` elements are initialised.
    unsafe {
        core::ptr::write_bytes(vec.as_mut_ptr(), 0, len);
        vec.set_len(len);
    }
    Some(vec)
}

/// Drops `vec`: its elements, then its buffer with `kfree`.
///
/// `KVec`'s own drop frees through its allocator's `krealloc(ptr, 0)`, a
/// helper call and `krealloc`'s checks before the `kfree` it comes to; a
/// `Kmalloc` buffer is a slab block, which `kfree` frees directly. A vector
/// without a buffer (capacity 0) holds a dangling pointer, or kmalloc's
/// `ZERO_SIZE_PTR` (16) from a zero-sized allocation: `kfree` would ignore
/// either (`ZERO_OR_NULL_PTR`), but the call is skipped, as C skips the
/// `kfree` of an array it never allocated (`dma_resv_get_singleton` with no
/// fence).
#[inline]
pub(crate) fn kvec_free<T>(mut vec: KVec<T>) {
    const { assert!(core::mem::align_of::<T>() <= 16) };
    if vec.capacity() == 0 {
        // No buffer, and so no element (zero-sized ones aside, which own
        // nothing and need no drop of their own here).
        core::mem::forget(vec);
        return;
    }
    // SAFETY: The elements are initialised and dropped once, here: the
    // vector forgets them when it becomes raw parts.
    unsafe { core::ptr::drop_in_place(vec.as_mut_slice()) };
    let (ptr, _, _) = vec.into_raw_parts();
    if core::mem::size_of::<T>() != 0 {
        // SAFETY: A `KVec` of a sized type owns a `Kmalloc` (slab) block, no
        // longer referenced, or holds a pointer at or below `ZERO_SIZE_PTR`.
        unsafe { bindings::kfree(ptr.cast()) };
    }
}

/// Appends `value` to `vec` if it has room, without allocating; gives the
/// value back otherwise.
///
/// `KVec::push` is out of line and may grow the vector: for a vector sized
/// beforehand, this is a store and a length update inline.
#[inline]
pub(crate) fn push_within_capacity<T>(vec: &mut KVec<T>, value: T) -> Result<(), T> {
    let len = vec.len();
    if len >= vec.capacity() {
        return Err(value);
    }
    // SAFETY: `len < capacity`: the slot at `len` is in the buffer and
    // unused; it is written, then counted.
    unsafe {
        vec.as_mut_ptr().add(len).write(value);
        vec.set_len(len + 1);
    }
    Ok(())
}

/// Takes the last element out of `vec` (`None` if it is empty).
#[inline]
pub(crate) fn kvec_pop<T>(vec: &mut KVec<T>) -> Option<T> {
    let len = vec.len().checked_sub(1)?;
    // SAFETY: Element `len` is initialised; the vector forgets it before it
    // is read out, so it is owned once, by the caller.
    unsafe {
        vec.set_len(len);
        Some(vec.as_mut_ptr().add(len).read())
    }
}

/// Shortens `vec` to its first `len` elements, dropping the others
/// (nothing if it is not longer).
#[inline]
pub(crate) fn kvec_truncate<T>(vec: &mut KVec<T>, len: usize) {
    let old = vec.len();
    if len >= old {
        return;
    }
    // SAFETY: `len < old`: the vector keeps its first `len` elements; the
    // others, no longer counted, are dropped in place, once.
    unsafe {
        let tail = core::ptr::slice_from_raw_parts_mut(vec.as_mut_ptr().add(len), old - len);
        vec.set_len(len);
        core::ptr::drop_in_place(tail);
    }
}

/// `might_sleep()`: complains under DEBUG_ATOMIC_SLEEP if called in atomic
/// context, and is a preemption point in voluntary-preemption kernels. In
/// every other kernel the macro is empty, and so is this (no call).
#[inline]
pub(crate) fn might_sleep() {
    #[cfg(any(
        CONFIG_DEBUG_ATOMIC_SLEEP,
        CONFIG_PREEMPT_VOLUNTARY_BUILD,
        CONFIG_PREEMPT_DYNAMIC
    ))]
    // SAFETY: No preconditions.
    unsafe {
        bindings::dmabuf_rs_might_sleep()
    };
}

/// The running task (`current`).
pub(crate) fn current() -> *mut bindings::task_struct {
    // SAFETY: No preconditions; the current task is always valid.
    unsafe { bindings::get_current() }
}

/// `signal_pending(current)`.
pub(crate) fn signal_pending() -> bool {
    // SAFETY: The current task is valid for as long as it runs this code.
    unsafe { bindings::signal_pending(current()) != 0 }
}

/// `schedule_timeout`: sleeps until woken, or for `timeout` jiffies
/// (`MAX_SCHEDULE_TIMEOUT`: no limit), in the state set before; returns
/// what is left of the timeout. Process context only (like the kernel
/// crate's sleeping functions, sleeping in atomic context is a bug the
/// scheduler reports, not a memory-safety matter).
#[inline]
pub(crate) fn schedule_timeout(timeout: c_long) -> c_long {
    // SAFETY: Any timeout is accepted (negative ones are reported and
    // treated as 0).
    unsafe { bindings::schedule_timeout(timeout) }
}

/// `set_current_state` (with the barrier) or `__set_current_state` (without).
pub(crate) fn set_current_state(state: u32, barrier: bool) {
    if barrier {
        // SAFETY: No preconditions.
        unsafe { bindings::dmabuf_rs_set_current_state(state) };
    } else {
        // SAFETY: No preconditions.
        unsafe { bindings::dmabuf_rs___set_current_state(state) };
    }
}

/// `MAX_ERRNO`: error pointers are the top `MAX_ERRNO` addresses.
const MAX_ERRNO: usize = bindings::MAX_ERRNO as usize;

/// `ERR_PTR(err)`: the error `err` (negative) as a pointer. Such a pointer
/// is never dereferenced, only recognised by [`is_err`].
#[inline]
pub(crate) fn err_ptr<T>(err: c_long) -> *mut T {
    err as isize as usize as *mut T
}

/// `IS_ERR(ptr)`: whether `ptr` carries an error instead of an address (one
/// of the top [`MAX_ERRNO`] addresses). The C inlines are only this
/// comparison, done here without a helper call.
#[inline]
pub(crate) fn is_err<T>(ptr: *const T) -> bool {
    ptr as usize >= MAX_ERRNO.wrapping_neg()
}

/// `PTR_ERR(ptr)`: the error an error pointer carries.
#[inline]
pub(crate) fn ptr_err<T>(ptr: *const T) -> c_long {
    ptr as usize as isize as c_long
}

/// A pointer returned by a kernel function that returns either an object or
/// an error pointer, as a `Result`: the kernel crate's `from_err_ptr`
/// without its two helper calls (`IS_ERR`, `PTR_ERR`) on the success path.
#[inline]
pub(crate) fn from_err_ptr<T>(ptr: *mut T) -> kernel::error::Result<*mut T> {
    if is_err(ptr) {
        // An error pointer carries a negative errno above `-MAX_ERRNO`,
        // which fits an `int`.
        return Err(kernel::error::Error::from_errno(
            ptr_err(ptr) as kernel::ffi::c_int
        ));
    }
    Ok(ptr)
}

/// The negative errno as the `int` C returns.
pub(crate) const fn neg(errno: u32) -> kernel::ffi::c_int {
    -(errno as kernel::ffi::c_int)
}

// The pure logic (`crate::logic`, also built and tested on the host) carries
// its own errno values, those of asm-generic. Each is checked here against
// the kernel being built, so an architecture with other numbers fails the
// build instead of returning the wrong errors.
const _: () = {
    use crate::logic::errno::{EBADF, EBUSY, EFAULT, EINVAL, ENOENT, ENOMEM, EOVERFLOW};
    assert!(ENOENT.get() == bindings::ENOENT as i32);
    assert!(EBADF.get() == bindings::EBADF as i32);
    assert!(ENOMEM.get() == bindings::ENOMEM as i32);
    assert!(EFAULT.get() == bindings::EFAULT as i32);
    assert!(EBUSY.get() == bindings::EBUSY as i32);
    assert!(EINVAL.get() == bindings::EINVAL as i32);
    assert!(EOVERFLOW.get() == bindings::EOVERFLOW as i32);
};
