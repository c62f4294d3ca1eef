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
//! A node is a [`Chain`], borrowed from its base [`Fence`]; references taken
//! and dropped along a walk are [`ARef<Fence>`]s, which put on drop. The
//! `extern "C"` functions at the end convert their pointers once.
//!
//! C header: [`include/linux/dma-fence-chain.h`](srctree/include/linux/dma-fence-chain.h).

use super::ops::{ops_table, FenceImpl, Unreferenced};
use super::Locked;
use super::{
    dma_fence_add_callback, dma_fence_context_alloc, dma_fence_init, get_rcu, Fence, FenceCore,
};
use crate::logic::seqno::{
    chain_find_seqno_start, chain_find_seqno_stops, chain_init, ChainContext, FindSeqno,
};
use crate::sys;
use core::ffi::CStr;
use core::mem::ManuallyDrop;
use core::ptr::{self, addr_of_mut, NonNull};
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::bindings::{self, dma_fence, dma_fence_cb, dma_fence_chain, irq_work, ktime_t};
use kernel::ffi::c_int;
use kernel::types::{ARef, Opaque};

/// The fence type of chain nodes, as seen through their C operations.
pub(crate) struct ChainFence;

/// The operations of every chain node; `dma_fence_is_chain()` compares with it.
#[no_mangle]
pub(crate) static dma_fence_chain_ops: bindings::dma_fence_ops = ops_table::<ChainFence>();

/// A chain node: the kernel's `struct dma_fence_chain`.
///
/// # Invariants
///
/// The node was set up by [`dma_fence_chain_init`] and is live for as long
/// as it is borrowed (a reference to its base is held). Its contained fence
/// is non-NULL (the caller of `dma_fence_chain_init` promises one), and the
/// node holds a reference to it, and to `prev` while `prev` is set. `prev`
/// is only accessed atomically (the C core only uses `rcu_dereference`,
/// `rcu_assign_pointer` and `cmpxchg` on it) or, by the holder of the last
/// reference, plainly.
#[repr(transparent)]
pub(crate) struct Chain(Opaque<dma_fence_chain>);

impl Chain {
    /// `to_dma_fence_chain` (a header inline): the node whose base is
    /// `fence`, or `None` if `fence` is not a chain node.
    #[inline]
    pub(crate) fn from_fence(fence: &Fence) -> Option<&Chain> {
        super::ops::container::<ChainFence>(fence)
    }

    #[inline]
    fn raw(&self) -> *mut dma_fence_chain {
        self.0.get()
    }

    /// The node as a fence (`&chain->base`).
    #[inline]
    pub(crate) fn base(&self) -> &Fence {
        super::ops::base::<ChainFence>(self)
    }

    /// `dma_fence_chain_contained` on a node: the fence it wraps.
    #[inline]
    pub(crate) fn fence(&self) -> &Fence {
        // SAFETY: By the type invariant the contained fence is set, once, at
        // initialisation, and the node holds a reference to it.
        unsafe { Fence::from_raw((*self.raw()).fence) }
    }

    /// The seqno of the previous node on the same timeline, set at init.
    #[inline]
    fn prev_seqno(&self) -> u64 {
        // SAFETY: The node is live; `prev_seqno` is written only before the
        // node is published.
        unsafe { (*self.raw()).prev_seqno }
    }

    /// The node's `prev` pointer (`struct dma_fence __rcu *`), as the atomic
    /// that RCU readers and concurrent walkers treat it as.
    #[inline]
    fn prev(&self) -> &AtomicPtr<dma_fence> {
        // SAFETY: The field is valid and aligned for a pointer while the node
        // lives, and only accessed atomically (type invariant).
        unsafe { AtomicPtr::from_ptr(addr_of_mut!((*self.raw()).prev)) }
    }

    /// `dma_fence_chain_get_prev`: a new reference to the node's previous
    /// fence, or `None` at the end of the chain. Takes the RCU read lock
    /// itself; callable in any context.
    ///
    /// This is `dma_fence_get_rcu_safe()` (a header inline, which the C core
    /// inlines here): a reference is taken only on a fence that is not being
    /// released, and kept only if it is still the node's `prev` afterwards;
    /// otherwise the walk reads `prev` again.
    #[inline]
    fn get_prev(&self) -> Option<ARef<Fence>> {
        let _rcu = sys::RcuGuard::new();
        loop {
            // `rcu_dereference`: acquire orders the fence's fields after the
            // pointer, as the address dependency does in C.
            let prev = NonNull::new(self.prev().load(Ordering::Acquire))?;
            // SAFETY: Inside the RCU read section a fence that was `prev` stays
            // allocated (fences are freed after a grace period), even if it
            // is being released; `get_rcu` takes a reference only on a fence
            // whose count is not zero, and returns it (ours) or NULL.
            let prev_ref = unsafe {
                NonNull::new(get_rcu(prev.as_ptr())).map(|prev| Fence::from_raw_owned(prev))
            };
            let Some(prev_ref) = prev_ref else {
                continue;
            };
            // `rcu_access_pointer`: only compared.
            if self.prev().load(Ordering::Relaxed) == prev.as_ptr() {
                return Some(prev_ref);
            }
            // Replaced meanwhile: drop it (`prev_ref` puts) and read again.
        }
    }

    /// The node's `cb` (storage shared with `work`), for the signalling
    /// callback.
    #[inline]
    fn cb(&self) -> *mut dma_fence_cb {
        // SAFETY: Taking a field's address reads nothing.
        unsafe { addr_of_mut!((*self.raw()).__bindgen_anon_1.cb) }
    }
}

/// `dma_fence_chain_contained` (a header inline): the fence a chain node
/// wraps, or `fence` itself if it is not a chain node.
#[inline]
pub(crate) fn contained_of(fence: &Fence) -> &Fence {
    match Chain::from_fence(fence) {
        Some(chain) => chain.fence(),
        None => fence,
    }
}

/// Walks from chain node `fence` to the next node, garbage-collecting
/// signalled nodes on the way (`dma_fence_chain_walk`).
///
/// Consumes the reference `fence`. Returns a reference to the previous fence
/// of the chain (a chain node, or the plain fence the chain was started on)
/// whose fence has not signalled yet, or `None` at the end of the chain or if
/// `fence` is not a chain node. Signalled predecessors are unlinked with a
/// compare-and-exchange, so concurrent walkers are safe.
pub(crate) fn walk(fence: ARef<Fence>) -> Option<ARef<Fence>> {
    let chain = Chain::from_fence(&fence)?;
    loop {
        let prev = chain.get_prev()?;
        let replacement = match Chain::from_fence(&prev) {
            Some(prev_chain) => {
                if !prev_chain.fence().query_signaled() {
                    return Some(prev);
                }
                prev_chain.get_prev()
            }
            None => {
                if !prev.query_signaled() {
                    return Some(prev);
                }
                None
            }
        };
        let new = replacement.as_ref().map_or(ptr::null_mut(), |f| f.raw());
        // Fully ordered, like the kernel's cmpxchg().
        let old = match sys::fully_ordered(|order| {
            chain.prev().compare_exchange(prev.raw(), new, order, order)
        }) {
            Ok(old) | Err(old) => old,
        };
        if old == prev.raw() {
            // We unlinked `prev`: the reference the node held on it is ours,
            // and the one we took on `replacement` now belongs to the node.
            if let Some(replacement) = replacement {
                let _ = ARef::into_raw(replacement);
            }
            // SAFETY: The node's reference to `prev` is ours to drop (ours,
            // `prev` itself, stays live until the end of this iteration).
            unsafe { crate::fence::put(old) };
        }
        // Otherwise someone else changed the link first: keep theirs, and
        // drop our reference to `replacement` (here, by going out of scope).
    }
}

/// `dma_fence_chain_for_each` as a loop over the contained fences of the
/// chain from `head` back: `f` is called with each until it returns false
/// (then `false` is returned) or the chain ends (`true`).
#[inline]
fn all_contained(head: &Fence, mut f: impl FnMut(&Fence) -> bool) -> bool {
    let mut iter = Some(ARef::from(head));
    while let Some(node) = iter {
        if !f(contained_of(&node)) {
            return false;
        }
        iter = walk(node);
    }
    true
}

/// Advances `head` to the chain node that signals `seqno`
/// (`dma_fence_chain_find_seqno` after its checks): the oldest node of the
/// head's timeline that covers `seqno`, the first node past that timeline,
/// or `None`.
fn find_seqno(head: &Chain, seqno: u64) -> Option<ARef<Fence>> {
    let context = head.base().context();
    let mut node = Some(ARef::from(head.base()));
    while let Some(fence) = node {
        let stops = match Chain::from_fence(&fence) {
            Some(chain) => {
                chain_find_seqno_stops(context, fence.context(), chain.prev_seqno(), seqno)
            }
            // A plain fence ends the timeline (C would only reach this with a
            // foreign fence on the head's context, and oops; we stop).
            None => true,
        };
        if stops {
            return Some(fence);
        }
        node = walk(fence);
    }
    None
}

/// A chain node whose callback storage (`cb`, shared with `work`) is free:
/// no callback queued, no irq work pending.
///
/// # Invariants
///
/// The node's `cb` and `work` are not in use while the value lives, and
/// only the value's owner may arm them.
struct Unarmed<'a>(&'a Chain);

/// Arms the node's callback on the first unsignalled fence of the chain.
///
/// Returns true with the callback queued, holding an extra reference to the
/// head (dropped by [`chain_irq_work`]) and one to the fence the callback is
/// on (dropped by [`chain_cb`]); false, with no reference kept, if every
/// fence of the chain has signalled. The node's lock may or may not be held.
fn enable_signaling(Unarmed(head): Unarmed<'_>) -> bool {
    // This reference lives as long as the callback.
    let head_ref = ARef::from(head.base());
    let mut iter = Some(ARef::from(head.base()));
    while let Some(node) = iter {
        let f = ARef::from(contained_of(&node));
        // SAFETY: `f` is live; `cb` is unused (invariant of `Unarmed`) and
        // lives in the head, which `head_ref` keeps alive until it has run.
        if unsafe { dma_fence_add_callback(f.raw(), head.cb(), Some(chain_cb)) } == 0 {
            // The references on the head and on `f` stay with the queued
            // callback; the iteration's own goes.
            let _ = ARef::into_raw(f);
            let _ = ARef::into_raw(head_ref);
            return true;
        }
        drop(f);
        iter = walk(node);
    }
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
    // SAFETY: The work item is embedded in a chain node (caller's promise),
    // live through the reference `enable_signaling` took, which we now own.
    let head = unsafe {
        Fence::from_raw_owned(NonNull::new_unchecked(addr_of_mut!(
            (*kernel::container_of!(work, dma_fence_chain, __bindgen_anon_1.work).cast_mut()).base
        )))
    };
    // INVARIANT: The base of a chain node is one (it has the chain ops).
    let Some(chain) = Chain::from_fence(&head) else {
        return;
    };
    // `cb` shares storage with the running `work`, and re-arming it
    // overwrites the work item while the irq_work core still uses it: after
    // this returns, `irq_work_single()` tries a compare-and-exchange of the
    // work's flags (which then fails, harmlessly) and, on PREEMPT_RT for a
    // work that is not hard-irq or on architectures without an irq_work
    // interrupt, wakes the work's `irqwait`, reading a task pointer from
    // storage that may now be the callback's. The C core reuses the storage
    // the same way and shares that window; a freed node at least waits for a
    // grace period.
    // INVARIANT: The callback has run and the work is running, so neither
    // uses `cb` now.
    if !enable_signaling(Unarmed(chain)) {
        // No unsignalled fence is left: the whole chain is done (its lock
        // is not held here).
        head.signal();
    }
    // `head` drops the reference owned by the finished callback.
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
    // SAFETY: The callback is embedded in a chain node (caller's promise),
    // live through the reference `enable_signaling` took; `cb` has been
    // unlinked by the signaller, so its storage may become `work`. The
    // reference on `f` taken when the callback was added is ours to drop.
    unsafe {
        let chain = kernel::container_of!(cb, dma_fence_chain, __bindgen_anon_1.cb).cast_mut();
        let work = addr_of_mut!((*chain).__bindgen_anon_1.work);
        bindings::dmabuf_rs_init_irq_work(work, Some(chain_irq_work));
        bindings::irq_work_queue(work);
        crate::fence::put(f);
    }
}

// SAFETY: `Chain` is `repr(transparent)` over `struct dma_fence_chain`,
// whose fence is at `BASE_OFFSET`; only `dma_fence_chain_init` installs the
// chain ops (`ops()`), on the fence of the node it initialises; and a
// `&Chain` is of an initialised node (its type invariant).
unsafe impl FenceImpl for ChainFence {
    const DRIVER_NAME: &'static CStr = c"dma_fence_chain";
    const USE_64BIT_SEQNO: bool = true;
    type Typed = Chain;
    const BASE_OFFSET: usize = core::mem::offset_of!(dma_fence_chain, base);

    fn ops() -> &'static bindings::dma_fence_ops {
        &dma_fence_chain_ops
    }

    /// Arms the signalling callback on the first unsignalled fence of the
    /// chain; false if the whole chain has signalled.
    fn enable_signaling(chain: &Chain, _locked: &Locked<'_>) -> bool {
        // INVARIANT: The fence core calls this once per fence (ENABLE_SIGNAL
        // bit), before anything else arms the node's `cb` and `work`.
        enable_signaling(Unarmed(chain))
    }

    /// Returns whether every fence of the chain, from this node back, has
    /// signalled.
    fn signaled(chain: &Chain) -> bool {
        all_contained(chain.base(), |f| f.query_signaled())
    }

    /// Frees the node, first unlinking the predecessors it holds the last
    /// reference to, so that a long chain is not freed by recursion.
    fn release(this: Unreferenced<Self>) {
        let chain = this.get();
        // With no reference left, no walker touches the node's `prev` any
        // more, so relaxed accesses suffice (C: `rcu_dereference_protected`).
        let slot = chain.prev();
        let prev = loop {
            let prev = slot.load(Ordering::Relaxed);
            if prev.is_null() {
                break prev;
            }
            // SAFETY: `prev` is live (the reference this node holds).
            let prev_fence = unsafe { Fence::from_raw(prev) };
            // `kref_read()`: someone else still holds `prev`, leave it to them.
            if prev_fence.kref_read() > 1 {
                break prev;
            }
            let Some(prev_chain) = Chain::from_fence(prev_fence) else {
                break prev;
            };
            // We hold the last reference to `prev_chain`: take over its link,
            // so that dropping it does not recurse down the chain.
            let prev_prev = prev_chain.prev();
            slot.store(prev_prev.load(Ordering::Relaxed), Ordering::Relaxed);
            prev_prev.store(ptr::null_mut(), Ordering::Relaxed);
            // SAFETY: The node's reference to `prev` is ours to drop; it frees
            // a node whose `prev` is now NULL.
            unsafe { crate::fence::put(prev) };
        };
        // SAFETY: The node's references to its previous and contained fences
        // are ours to drop (put accepts NULL).
        unsafe {
            crate::fence::put(prev);
            crate::fence::put(chain.fence().raw());
        }
        // The node was kmalloc'ed by its creator.
        this.free();
    }

    /// Passes the deadline hint to every fence of the chain.
    fn set_deadline(chain: &Chain, deadline: ktime_t) {
        all_contained(chain.base(), |f| {
            super::set_deadline(f, deadline);
            true
        });
    }
}

/// Walks from chain node `fence` to the next node, garbage-collecting
/// signalled nodes on the way.
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
    let Some(fence) = NonNull::new(fence) else {
        return ptr::null_mut();
    };
    // SAFETY: The caller hands over its reference to a live fence.
    let fence = unsafe { Fence::from_raw_owned(fence) };
    // Not a chain node (the end of every unwrap walk): drop the reference
    // here, inline, before the walk's frame is set up.
    if Chain::from_fence(&fence).is_none() {
        crate::fence::put_ref(fence);
        return ptr::null_mut();
    }
    walk(fence).map_or(ptr::null_mut(), |prev| ARef::into_raw(prev).as_ptr().cast())
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
    // SAFETY: `pfence` is valid for reads and writes; unless `seqno` is 0,
    // `*pfence` is NULL or a live fence the caller holds a reference to,
    // which it gives up on success (so it is taken as an owned reference,
    // dropped only then).
    let (pfence, head) = unsafe {
        let head = match NonNull::new(*pfence) {
            Some(fence) if seqno != 0 => Some(ManuallyDrop::new(Fence::from_raw_owned(fence))),
            _ => None,
        };
        (&mut *pfence, head)
    };
    find_seqno_from(pfence, head, seqno)
}

/// The body of [`dma_fence_chain_find_seqno`]: `head` is the caller's
/// reference to `*pfence` (`None` for seqno 0 or a NULL fence), consumed
/// only on success.
#[inline(always)]
fn find_seqno_from(
    pfence: &mut *mut dma_fence,
    head: Option<ManuallyDrop<ARef<Fence>>>,
    seqno: u64,
) -> c_int {
    let chain = head.as_deref().and_then(|fence| Chain::from_fence(fence));
    let chain = match (
        chain_find_seqno_start(chain.map(|c| c.base().seqno()), seqno),
        chain,
    ) {
        (Ok(FindSeqno::Noop), _) => return 0,
        (Err(errno), _) => return errno.to_neg(),
        (Ok(FindSeqno::Walk), Some(chain)) => chain,
        // Not reached: a walk needs the head's seqno, so the head is a node.
        (Ok(FindSeqno::Walk), None) => return sys::neg(bindings::EINVAL),
    };
    *pfence =
        find_seqno(chain, seqno).map_or(ptr::null_mut(), |f| ARef::into_raw(f).as_ptr().cast());
    // The caller's reference to the head is consumed, as documented.
    if let Some(head) = head {
        crate::fence::put_ref(ManuallyDrop::into_inner(head));
    }
    0
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
    // SAFETY: `prev` is NULL or live, `fence` live (caller's promise).
    let (prev_chain, contained) = unsafe {
        (
            prev.as_ref()
                .and_then(|_| Chain::from_fence(Fence::from_raw(prev))),
            Fence::from_raw(fence),
        )
    };

    // SAFETY: The node is ours to write (caller's promise) and not shared
    // yet, so `prev` is a plain write: `dma_fence_init` below publishes the
    // node.
    unsafe {
        bindings::dmabuf_rs_chain_lock_init(chain);
        addr_of_mut!((*chain).prev).write(prev);
        (*chain).fence = fence;
    }

    // A chain node `prev` has our ops, with 64-bit seqnos: the plain compare
    // `chain_init` makes is `__dma_fence_is_later(seqno, prev->seqno, prev->ops)`.
    let init = chain_init(prev_chain.map(|c| c.base().seqno()), seqno);
    let context = match (init.context, prev_chain) {
        (ChainContext::Prev, Some(prev)) => prev.base().context(),
        // `Prev` needs a chain node `prev`; `Alloc` otherwise.
        _ => dma_fence_context_alloc(1),
    };

    // SAFETY: As above; the ops table is static and the lock lives as long
    // as the node.
    unsafe {
        (*chain).prev_seqno = init.prev_seqno;
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
    if Chain::from_fence(contained).is_some() {
        sys::warn();
    }
}

c_abi!(
    dma_fence_chain_walk,
    dma_fence_chain_find_seqno,
    dma_fence_chain_init,
);
