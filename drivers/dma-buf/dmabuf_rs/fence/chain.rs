// SPDX-License-Identifier: GPL-2.0-only

//! dma-fence-chain: the C ABI of `drivers/dma-buf/dma-fence-chain.c`.
//!
//! A chain node is a fence that wraps one other fence (the contained fence)
//! and points back to the node before it (`prev`), so that a list of nodes
//! forms a timeline whose points are the nodes' seqnos (drm_syncobj timelines
//! are built this way). A node signals once its own contained fence and every
//! fence further back in the chain have signalled.
//!
//! Walkers reach `prev` under RCU and drop nodes whose fences have signalled
//! from the chain as they go, replacing a node's `prev` with a compare and
//! exchange so that concurrent walkers agree on who owns which reference.
//! Releasing a node unlinks the predecessors it holds the last reference to
//! one by one, so that a long chain is freed without deep recursion.
//!
//! C header: [`include/linux/dma-fence-chain.h`](srctree/include/linux/dma-fence-chain.h).

use super::ops::{ops_table, FenceImpl};
use super::{
    dma_fence_add_callback, dma_fence_context_alloc, dma_fence_free, dma_fence_init,
    dma_fence_set_deadline, dma_fence_signal, is_signaled,
};
use crate::logic::seqno::{
    chain_find_seqno_start, chain_find_seqno_stops, chain_init, ChainContext, FindSeqno,
};
use crate::sys;
use core::ffi::CStr;
use core::ptr::{self, addr_of_mut};
use core::sync::atomic::{AtomicI32, AtomicPtr, Ordering};
use kernel::bindings::{self, dma_fence, dma_fence_cb, dma_fence_chain, irq_work, ktime_t};
use kernel::ffi::c_int;

/// The fence type of chain nodes, as seen through their C operations.
pub(crate) struct ChainFence;

/// The operations of every chain node; `dma_fence_is_chain()` compares with it.
#[no_mangle]
pub(crate) static dma_fence_chain_ops: bindings::dma_fence_ops = ops_table::<ChainFence>();

/// `to_dma_fence_chain` (a header inline): the chain node whose base is `fence`.
///
/// Returns `None` if `fence` is NULL or is not a chain node.
///
/// # Safety
///
/// `fence` must be NULL or point to a live, initialised fence.
pub(crate) unsafe fn to_chain(fence: *mut dma_fence) -> Option<*mut dma_fence_chain> {
    if fence.is_null() {
        return None;
    }
    // SAFETY: A non-null `fence` is live and initialised (caller's promise).
    if !ptr::eq(unsafe { (*fence).ops }, &dma_fence_chain_ops) {
        return None;
    }
    // SAFETY: Only `dma_fence_chain_init` installs the chain ops, and it does
    // so on the `base` of a `struct dma_fence_chain`.
    Some(unsafe { kernel::container_of!(fence, dma_fence_chain, base) }.cast_mut())
}

/// The chain node whose base is `fence`, which is known to be one.
///
/// # Safety
///
/// `fence` must point to the `base` of a `struct dma_fence_chain`.
unsafe fn as_chain(fence: *mut dma_fence) -> *mut dma_fence_chain {
    // SAFETY: The caller guarantees `fence` is embedded in a chain node.
    unsafe { kernel::container_of!(fence, dma_fence_chain, base) }.cast_mut()
}

/// `dma_fence_chain_contained` (a header inline): the fence a chain node wraps,
/// or `fence` itself if it is not a chain node.
///
/// Returns a borrowed pointer: no reference is taken.
///
/// # Safety
///
/// `fence` must be NULL or point to a live, initialised fence.
pub(crate) unsafe fn contained(fence: *mut dma_fence) -> *mut dma_fence {
    // SAFETY: The caller's promise is `to_chain`'s.
    match unsafe { to_chain(fence) } {
        // SAFETY: The node is live; `fence` is set once, at initialisation.
        Some(chain) => unsafe { (*chain).fence },
        None => fence,
    }
}

/// The node's `prev` pointer (`struct dma_fence __rcu *`), as the atomic that
/// RCU readers and concurrent walkers treat it as.
///
/// # Safety
///
/// `chain` must point to a chain node that stays allocated for `'a`; `prev`
/// must only be accessed atomically during that time (the C core only uses
/// `rcu_dereference`, `rcu_assign_pointer` and `cmpxchg` on it, or plain
/// accesses by the holder of the last reference).
unsafe fn prev_slot<'a>(chain: *mut dma_fence_chain) -> &'a AtomicPtr<dma_fence> {
    // SAFETY: The field is valid and aligned for a pointer, and accessed only
    // atomically (caller's promise).
    unsafe { AtomicPtr::from_ptr(addr_of_mut!((*chain).prev)) }
}

/// `dma_fence_chain_get_prev`: a new reference to the node's previous fence,
/// or NULL at the end of the chain.
///
/// Takes the RCU read lock itself; callable in any context.
///
/// # Safety
///
/// `chain` must point to a live, initialised chain node.
unsafe fn get_prev(chain: *mut dma_fence_chain) -> *mut dma_fence {
    sys::rcu_read_lock();
    // SAFETY: The node is live; inside the RCU read section its `prev`, if
    // set, is a fence freed only after a grace period (`dma_fence_free`).
    let prev = unsafe { bindings::dmabuf_rs_fence_get_rcu_safe(addr_of_mut!((*chain).prev)) };
    // SAFETY: Paired with the lock above.
    unsafe { sys::rcu_read_unlock() };
    prev
}

/// Walks from chain node `fence` to the next node, garbage-collecting signalled
/// nodes on the way.
///
/// Consumes the caller's reference to `fence`. Returns a new reference to the
/// previous fence of the chain (a chain node, or the plain fence the chain was
/// started on) whose fence has not signalled yet, or NULL at the end of the
/// chain or if `fence` is not a chain node. Signalled predecessors are
/// unlinked from `fence` with a compare-and-exchange, so concurrent walkers
/// are safe. Callable in any context; takes no lock of its own.
///
/// # Safety
///
/// `fence` must be NULL or a live, initialised fence the caller holds a
/// reference to.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_fence_chain_walk(fence: *mut dma_fence) -> *mut dma_fence {
    // SAFETY: `fence` is NULL or live (caller's promise).
    let Some(chain) = (unsafe { to_chain(fence) }) else {
        // SAFETY: The caller's reference is ours to drop; put accepts NULL.
        unsafe { crate::fence::put(fence) };
        return ptr::null_mut();
    };

    let prev = loop {
        // SAFETY: The node is live: we hold the caller's reference to it.
        let prev = unsafe { get_prev(chain) };
        if prev.is_null() {
            break prev;
        }

        // SAFETY: We hold a reference to `prev`, so it is live.
        let replacement = match unsafe { to_chain(prev) } {
            Some(prev_chain) => {
                // SAFETY: `prev_chain` is live (our reference to `prev`) and
                // holds a reference to its contained fence.
                if !unsafe { is_signaled((*prev_chain).fence) } {
                    break prev;
                }
                // SAFETY: `prev_chain` is live, as above.
                unsafe { get_prev(prev_chain) }
            }
            None => {
                // SAFETY: `prev` is live, as above.
                if !unsafe { is_signaled(prev) } {
                    break prev;
                }
                ptr::null_mut()
            }
        };

        // SAFETY: The node is live; `prev` is only accessed atomically.
        let slot = unsafe { prev_slot(chain) };
        // Fully ordered, like the kernel's cmpxchg().
        let old = match sys::fully_ordered(|order| {
            slot.compare_exchange(prev, replacement, order, order)
        }) {
            Ok(old) | Err(old) => old,
        };
        if old == prev {
            // We unlinked `prev`: the reference the node held on it is ours,
            // and the one we took on `replacement` now belongs to the node.
            // SAFETY: That reference is ours to drop.
            unsafe { crate::fence::put(old) };
        } else {
            // Someone else changed the link first: keep theirs.
            // SAFETY: Our reference to `replacement` (or NULL) is ours to drop.
            unsafe { crate::fence::put(replacement) };
        }
        // SAFETY: The reference `get_prev` gave us is ours to drop.
        unsafe { crate::fence::put(prev) };
    };

    // SAFETY: The caller's reference is ours to drop.
    unsafe { crate::fence::put(fence) };
    prev
}

/// Advances `*pfence` to the chain node that signals `seqno`.
///
/// Seqno 0 is a no-op that returns 0 without looking at `*pfence`. Otherwise
/// `*pfence` must be a chain node whose seqno has reached `seqno`; it is then
/// replaced by a reference to the oldest node of its timeline that covers
/// `seqno` (or by the first node past that timeline, or NULL), the caller's
/// reference to the old `*pfence` being consumed. Returns 0, or -EINVAL (and
/// `*pfence` untouched) if `*pfence` is not a chain node or has not yet
/// advanced far enough. Callable in any context.
///
/// # Safety
///
/// `pfence` must be valid for reads and writes; unless `seqno` is 0, `*pfence`
/// must be NULL or a live, initialised fence the caller holds a reference to.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_fence_chain_find_seqno(
    pfence: *mut *mut dma_fence,
    seqno: u64,
) -> c_int {
    let head = if seqno == 0 {
        None
    } else {
        // SAFETY: `*pfence` is readable, and NULL or a live fence (caller).
        unsafe { to_chain(*pfence) }
    };
    // SAFETY: The node is live: the caller holds a reference to it.
    let head_seqno = head.map(|chain| unsafe { (*chain).base.seqno });

    let chain = match (chain_find_seqno_start(head_seqno, seqno), head) {
        (Ok(FindSeqno::Noop), _) => return 0,
        (Err(errno), _) => return errno.to_neg(),
        (Ok(FindSeqno::Walk), Some(chain)) => chain,
        // Not reached: a walk needs the head's seqno, so the head is a node.
        (Ok(FindSeqno::Walk), None) => return sys::neg(bindings::EINVAL),
    };

    // From here on the caller's reference to the head is held on its behalf
    // until the final put, while `*pfence` carries the walk's own reference.
    // SAFETY: The head is live; its context is set once, at initialisation.
    let (base, context) = unsafe { (addr_of_mut!((*chain).base), (*chain).base.context) };
    // SAFETY: The head is live; `pfence` is writable (caller's promise).
    unsafe { *pfence = crate::fence::get(base) };
    loop {
        // SAFETY: `pfence` is readable; it holds NULL or a fence we hold a
        // reference to.
        let node = unsafe { *pfence };
        if node.is_null() {
            break;
        }
        // SAFETY: `node` is live (our reference).
        let stops = match unsafe { to_chain(node) } {
            // SAFETY: The node is live; its context and `prev_seqno` are set
            // once, at initialisation.
            Some(node_chain) => unsafe {
                chain_find_seqno_stops(context, (*node).context, (*node_chain).prev_seqno, seqno)
            },
            // A plain fence ends the timeline (C would only reach this with a
            // foreign fence on the head's context, and oops; we stop).
            None => true,
        };
        if stops {
            break;
        }
        // SAFETY: Our reference to `node` is handed to the walk, which gives
        // back one to the next node (or NULL); `pfence` is writable.
        unsafe { *pfence = dma_fence_chain_walk(node) };
    }
    // SAFETY: This drops the caller's reference to the head, as documented.
    unsafe { crate::fence::put(base) };
    0
}

/// Arms the node's callback on the first unsignalled fence of the chain.
///
/// Returns true with the callback queued, holding an extra reference to the
/// head (dropped by [`chain_irq_work`]) and one to the fence the callback is
/// on (dropped by [`chain_cb`]); false, with no reference kept, if every fence
/// of the chain has signalled.
///
/// # Safety
///
/// `fence` must be the base of a live, initialised chain node whose `cb` and
/// `work` are not in use (no callback queued, no irq work pending). The
/// node's lock may or may not be held.
unsafe fn enable_signaling(fence: *mut dma_fence) -> bool {
    // SAFETY: The caller guarantees `fence` is a chain node.
    let head = unsafe { as_chain(fence) };
    // SAFETY: The head is live.
    let head_base = unsafe { addr_of_mut!((*head).base) };
    // SAFETY: The head is live; this reference lives as long as the callback.
    unsafe { crate::fence::get(head_base) };

    // SAFETY: As above; this is the iteration's own reference.
    let mut iter = unsafe { crate::fence::get(head_base) };
    while !iter.is_null() {
        // SAFETY: We hold a reference to `iter`.
        let f = unsafe { contained(iter) };
        // SAFETY: `f` is live: `iter` holds a reference to it (or is it).
        unsafe { crate::fence::get(f) };
        // SAFETY: `f` is live; `cb` is unused (caller's promise) and lives in
        // the head, which our extra reference keeps alive until it has run.
        let added = unsafe {
            dma_fence_add_callback(f, addr_of_mut!((*head).__bindgen_anon_1.cb), Some(chain_cb))
        };
        if added == 0 {
            // SAFETY: The iteration's reference is ours to drop; the ones on
            // the head and on `f` stay with the queued callback.
            unsafe { crate::fence::put(iter) };
            return true;
        }
        // SAFETY: The reference taken on `f` above is ours to drop.
        unsafe { crate::fence::put(f) };
        // SAFETY: The walk takes our reference to `iter`.
        iter = unsafe { dma_fence_chain_walk(iter) };
    }

    // SAFETY: The extra reference taken above is ours to drop.
    unsafe { crate::fence::put(head_base) };
    false
}

/// The irq work queued by [`chain_cb`]: re-arms the callback further down the
/// chain, or signals the node when nothing unsignalled is left.
///
/// Runs as irq work (hard-irq context, or the irq_work thread on PREEMPT_RT),
/// outside any fence lock, so that re-adding the callback cannot invert locks
/// with the fence that just signalled.
///
/// # Safety
///
/// `work` must be the `work` of a live chain node, queued by [`chain_cb`]
/// with the head reference taken by [`enable_signaling`].
unsafe extern "C" fn chain_irq_work(work: *mut irq_work) {
    // SAFETY: The work item is embedded in a chain node (caller's promise).
    let chain =
        unsafe { kernel::container_of!(work, dma_fence_chain, __bindgen_anon_1.work) }.cast_mut();
    // SAFETY: The node is live: we own the reference `enable_signaling` took.
    let base = unsafe { addr_of_mut!((*chain).base) };
    // SAFETY: The node is live. `cb` shares storage with the running `work`,
    // and re-arming it overwrites the work item while the irq_work core still
    // uses it: after this returns, `irq_work_single()` tries a
    // compare-and-exchange of the work's flags (which then fails, harmlessly)
    // and, on PREEMPT_RT for a work that is not hard-irq or on architectures
    // without an irq_work interrupt, wakes the work's `irqwait`, reading a
    // task pointer from storage that may now be the callback's. The C core
    // reuses the storage the same way and shares that window; a freed node
    // at least waits for a grace period.
    if !unsafe { enable_signaling(base) } {
        // No unsignalled fence is left: the whole chain is done.
        // SAFETY: The node is live and its lock is not held here.
        unsafe { dma_fence_signal(base) };
    }
    // SAFETY: This drops the reference owned by the finished callback.
    unsafe { crate::fence::put(base) };
}

/// The callback queued on a fence of the chain: defers the re-arm to irq work.
///
/// Runs under the signalled fence's lock, with interrupts off.
///
/// # Safety
///
/// `cb` must be the `cb` of a live chain node, added by [`enable_signaling`]
/// to `f` with a reference taken on `f`.
unsafe extern "C" fn chain_cb(f: *mut dma_fence, cb: *mut dma_fence_cb) {
    // SAFETY: The callback is embedded in a chain node (caller's promise).
    let chain =
        unsafe { kernel::container_of!(cb, dma_fence_chain, __bindgen_anon_1.cb) }.cast_mut();
    // SAFETY: The node is live (the reference `enable_signaling` took); `cb`
    // has been unlinked by the signaller, so its storage may become `work`.
    unsafe {
        let work = addr_of_mut!((*chain).__bindgen_anon_1.work);
        bindings::dmabuf_rs_init_irq_work(work, Some(chain_irq_work));
        bindings::irq_work_queue(work);
    }
    // SAFETY: The reference on `f` taken when the callback was added is ours.
    unsafe { crate::fence::put(f) };
}

impl FenceImpl for ChainFence {
    const DRIVER_NAME: &'static CStr = c"dma_fence_chain";
    const USE_64BIT_SEQNO: bool = true;

    /// Arms the signalling callback on the first unsignalled fence of the
    /// chain; false if the whole chain has signalled.
    ///
    /// # Safety
    ///
    /// `fence` is a live chain node, its lock held.
    unsafe fn enable_signaling(fence: *mut dma_fence) -> bool {
        // SAFETY: The fence core calls this once per fence (ENABLE_SIGNAL
        // bit), so the node's `cb` and `work` are unused.
        unsafe { enable_signaling(fence) }
    }

    /// Returns whether every fence of the chain, from this node back, has
    /// signalled.
    ///
    /// # Safety
    ///
    /// `fence` is a live chain node.
    unsafe fn signaled(fence: *mut dma_fence) -> bool {
        // SAFETY: The node is live.
        let mut iter = unsafe { crate::fence::get(fence) };
        while !iter.is_null() {
            // SAFETY: We hold a reference to `iter`, and so one to what it
            // contains.
            let f = unsafe { contained(iter) };
            // SAFETY: `f` is live, as above.
            if !unsafe { is_signaled(f) } {
                // SAFETY: The iteration's reference is ours to drop.
                unsafe { crate::fence::put(iter) };
                return false;
            }
            // SAFETY: The walk takes our reference to `iter`.
            iter = unsafe { dma_fence_chain_walk(iter) };
        }
        true
    }

    /// Frees the node, first unlinking the predecessors it holds the last
    /// reference to, so that a long chain is not freed by recursion.
    ///
    /// # Safety
    ///
    /// `fence` is a chain node with no references left.
    unsafe fn release(fence: *mut dma_fence) {
        // SAFETY: The fence is a chain node (caller's promise).
        let chain = unsafe { as_chain(fence) };
        // SAFETY: The node stays allocated until `dma_fence_free` below. With
        // no reference left, no walker touches its `prev` any more, so
        // relaxed accesses suffice (C: `rcu_dereference_protected`).
        let slot = unsafe { prev_slot(chain) };

        let prev = loop {
            let prev = slot.load(Ordering::Relaxed);
            if prev.is_null() {
                break prev;
            }
            // `kref_read()`: someone else still holds `prev`, leave it to them.
            // SAFETY: `prev` is live (the reference this node holds); its
            // refcount is only ever accessed atomically.
            let refs = unsafe {
                AtomicI32::from_ptr(addr_of_mut!((*prev).refcount.refcount.refs.counter))
            }
            .load(Ordering::Relaxed);
            if refs > 1 {
                break prev;
            }
            // SAFETY: `prev` is live, as above.
            let Some(prev_chain) = (unsafe { to_chain(prev) }) else {
                break prev;
            };
            // We hold the last reference to `prev_chain`: take over its link,
            // so that dropping it does not recurse down the chain.
            // SAFETY: `prev_chain` is live until the put below, and no one
            // else can reach its `prev`.
            let prev_prev = unsafe { prev_slot(prev_chain) };
            slot.store(prev_prev.load(Ordering::Relaxed), Ordering::Relaxed);
            prev_prev.store(ptr::null_mut(), Ordering::Relaxed);
            // SAFETY: The node's reference to `prev` is ours to drop; it frees
            // a node whose `prev` is now NULL.
            unsafe { crate::fence::put(prev) };
        };
        // SAFETY: The node's references to its previous and contained fences
        // are ours to drop (put accepts NULL); the node was kmalloc'ed by its
        // creator and is unreferenced, so it is freed after a grace period.
        unsafe {
            crate::fence::put(prev);
            crate::fence::put((*chain).fence);
            dma_fence_free(fence);
        }
    }

    /// Passes the deadline hint to every fence of the chain.
    ///
    /// # Safety
    ///
    /// `fence` is a live chain node.
    unsafe fn set_deadline(fence: *mut dma_fence, deadline: ktime_t) {
        // SAFETY: The node is live.
        let mut iter = unsafe { crate::fence::get(fence) };
        while !iter.is_null() {
            // SAFETY: We hold a reference to `iter`, and so one to what it
            // contains, which is live and initialised.
            unsafe { dma_fence_set_deadline(contained(iter), deadline) };
            // SAFETY: The walk takes our reference to `iter`.
            iter = unsafe { dma_fence_chain_walk(iter) };
        }
    }
}

/// Initialises a chain node for `fence`, after `prev` on a timeline.
///
/// Takes over the caller's references to `prev` and `fence`; the node itself
/// starts with one reference and must be released with `dma_fence_put()`. If
/// `prev` is a chain node and `seqno` is later than its seqno, the node
/// continues `prev`'s timeline (its context); otherwise it starts a new one,
/// with its seqno raised to `prev`'s if that is a chain node with a later
/// seqno. Chaining a chain node as the contained `fence` is a caller bug and
/// warns: flatten into a dma_fence_array instead. Callable in any context.
///
/// # Safety
///
/// `chain` must be valid for writes and not yet shared (typically from
/// `dma_fence_chain_alloc()`); `prev` must be NULL or a live, initialised
/// fence; `fence` must be a live, initialised fence.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_fence_chain_init(
    chain: *mut dma_fence_chain,
    prev: *mut dma_fence,
    fence: *mut dma_fence,
    seqno: u64,
) {
    // SAFETY: `prev` is NULL or live (caller's promise).
    let prev_chain = unsafe { to_chain(prev) };

    // SAFETY: The node is ours to write (caller's promise) and not shared
    // yet, so `prev` is a plain write: `dma_fence_init` below publishes the node.
    unsafe {
        bindings::dmabuf_rs_chain_lock_init(chain);
        addr_of_mut!((*chain).prev).write(prev);
        (*chain).fence = fence;
        (*chain).prev_seqno = 0;
    }

    // A chain node `prev` has our ops, with 64-bit seqnos: the plain compare
    // `chain_init` makes is `__dma_fence_is_later(seqno, prev->seqno, prev->ops)`.
    // SAFETY: A chain node `prev` is live; its seqno is set once, at init.
    let prev_seqno = prev_chain.map(|_| unsafe { (*prev).seqno });
    let init = chain_init(prev_seqno, seqno);
    let context = match init.context {
        // SAFETY: `prev` is a live chain node (`Prev` needs one).
        ChainContext::Prev => unsafe { (*prev).context },
        ChainContext::Alloc => dma_fence_context_alloc(1),
    };
    // SAFETY: The node is ours to write.
    unsafe { (*chain).prev_seqno = init.prev_seqno };

    // SAFETY: The node is ours and not shared; the ops table is static and
    // the lock lives as long as the node.
    unsafe {
        dma_fence_init(
            addr_of_mut!((*chain).base),
            &dma_fence_chain_ops,
            addr_of_mut!((*chain).lock),
            context,
            init.seqno,
        )
    };

    // Chains may only be linked through `prev`, never nested as the
    // contained fence: the caller must flatten into an array instead.
    // SAFETY: `fence` is live (caller's promise), or NULL.
    if unsafe { to_chain(fence) }.is_some() {
        sys::warn();
    }
}

c_abi!(
    dma_fence_chain_walk,
    dma_fence_chain_find_seqno,
    dma_fence_chain_init,
);
