// SPDX-License-Identifier: GPL-2.0-only

//! The fence list of a reservation object (`struct dma_resv_list`), and the
//! two ways to reach it: under the reservation lock ([`Held`]) or under RCU.
//!
//! A reservation object points to one list of fence slots. Writers hold the
//! reservation lock; readers may instead hold only the RCU read lock, so the
//! list is never changed in ways a reader could trip over:
//!
//! - a slot is overwritten with a single store, and the list only grows by
//!   writing the new slot first and the count after it;
//! - a list that must grow is replaced by a copy, published with a release
//!   store, and the old one is freed only after a grace period (`kfree_rcu`);
//! - fences are freed only after a grace period too (`dma_fence_free`), so a
//!   reader may look at a fence it has found in a slot and then try to take a
//!   reference to it with `dma_fence_get_rcu`.
//!
//! The types carry these rules: a list is reached as a [`ListRef`] borrowed
//! from an [`RcuGuard`] (read-only, fences not yet referenced) or as a
//! [`LockedList`] borrowed from the lock proof [`Held`] (fences live, slots
//! writable); a list being built is a [`NewList`] that [`NewList::publish`]
//! consumes, and the list it replaces comes back as a [`Retired`] that frees
//! it after a grace period. Only this file touches the memory of a list.
//!
//! Each slot holds a fence address with the fence's usage in its two low bits;
//! the packing rule is [`crate::logic::usage::pack`]/[`unpack`](usage::unpack).

use crate::fence::{Fence, FenceCore};
use crate::logic::usage::{self, Usage};
use crate::logic::view::FenceView;
use crate::sys::{self, RcuGuard};
use core::marker::PhantomData;
use core::mem::{offset_of, size_of};
use core::ptr::{self, addr_of_mut, NonNull};
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering};
use kernel::bindings::{self, dma_fence};
use kernel::dma_buf::resv::Resv;
use kernel::types::{ARef, Opaque};

/// `struct dma_resv_list`: private to the core in C as well, so the layout
/// only has to agree with itself; it is kept identical to the C one anyway.
///
/// # Invariants
///
/// The list is the head of one kmalloc'ed block with room for at least
/// `max_fences` slots after the header (fewer are counted after
/// `dma_resv_reset_max_fences()` lowers the count for debugging);
/// `num_fences <= max_fences`, and slots `0..num_fences` each hold a fence
/// reference owned by the list, tagged with its usage. A published list's
/// count never shrinks: a list only loses fences by being replaced.
#[repr(C)]
pub(crate) struct ResvList {
    /// The RCU callback head with which the list is freed after a grace period.
    rcu: Opaque<bindings::callback_head>,
    /// Slots in use; RCU readers load it with acquire.
    num_fences: AtomicU32,
    /// Slots that may be used; written only under the reservation lock or
    /// before publication, so relaxed accesses suffice.
    max_fences: AtomicU32,
    /// The slots (`struct dma_fence __rcu *table[]`), each read and written
    /// atomically as a tagged fence address.
    table: [AtomicUsize; 0],
}

/// A list that stays allocated for `'a`: borrowed from an RCU read section or
/// from the reservation lock.
///
/// A pointer rather than `&ResvList`, so that the slots behind the header
/// keep the allocation's provenance.
///
/// # Invariants
///
/// `ptr` is a list (see [`ResvList`]) that stays allocated for `'a`.
#[derive(Clone, Copy)]
pub(crate) struct ListRef<'a> {
    ptr: NonNull<ResvList>,
    _list: PhantomData<&'a ResvList>,
}

impl<'a> ListRef<'a> {
    /// The C pointer, which the unlocked walk keeps in its cursor.
    #[inline]
    pub(crate) fn as_ptr(self) -> *mut bindings::dma_resv_list {
        self.ptr.as_ptr().cast()
    }

    /// The header, for its atomic counts.
    #[inline]
    fn header(self) -> &'a ResvList {
        // SAFETY: By the type invariant the list is allocated for `'a`; its
        // header is only accessed through atomics and the opaque RCU head.
        unsafe { self.ptr.as_ref() }
    }

    /// Returns the number of slots in use.
    ///
    /// Acquire pairs with the release store of the count: every slot below
    /// the count read is visible with the fence that was stored in it before
    /// the count grew.
    #[inline]
    pub(crate) fn num_fences(&self) -> u32 {
        self.header().num_fences.load(Ordering::Acquire)
    }

    /// Returns the number of slots that may be used.
    #[inline]
    pub(crate) fn max_fences(self) -> u32 {
        self.header().max_fences.load(Ordering::Relaxed)
    }

    /// The first `len` slots.
    ///
    /// # Safety
    ///
    /// `len` must not exceed the slots allocated for the list.
    #[inline(always)]
    unsafe fn slots_upto(self, len: u32) -> &'a [AtomicUsize] {
        // SAFETY: The slots follow the header in the list's allocation, which
        // lives for `'a` and holds `len` of them (caller's promise); they are
        // only ever accessed atomically.
        unsafe {
            let table = addr_of_mut!((*self.ptr.as_ptr()).table).cast::<AtomicUsize>();
            core::slice::from_raw_parts(table, len as usize)
        }
    }

    /// Slot `index`, unchecked.
    ///
    /// # Safety
    ///
    /// `index` must be below a count of slots in use read from this list.
    #[inline(always)]
    pub(crate) unsafe fn slot_unchecked(self, index: u32) -> &'a AtomicUsize {
        // SAFETY: A slot in use is allocated (caller's promise), and the
        // allocation lives for `'a`.
        unsafe {
            let table = addr_of_mut!((*self.ptr.as_ptr()).table).cast::<AtomicUsize>();
            &*table.add(index as usize)
        }
    }

    /// All slots that may be used (`0..max_fences`). Those at and past the
    /// count of slots in use hold nothing a reader may follow.
    #[inline]
    pub(crate) fn slots(self) -> &'a [AtomicUsize] {
        // SAFETY: By the type invariant at least `max_fences` slots are allocated.
        unsafe { self.slots_upto(self.max_fences()) }
    }

    /// The slots in use, with the count read as [`Self::num_fences`] does.
    #[inline]
    pub(crate) fn in_use(self) -> &'a [AtomicUsize] {
        // SAFETY: By the type invariant `num_fences <= max_fences`, which are allocated.
        unsafe { self.slots_upto(self.num_fences()) }
    }

    /// Reads a slot of this list once (`dma_resv_list_entry`) and takes a
    /// reference to its fence with `dma_fence_get_rcu`: returns the usage,
    /// and the fence, or `None` if it is already being released. The slot
    /// must be in use (below a count read from the list).
    ///
    /// One read for both, as in C: a writer may replace the slot meanwhile,
    /// and a second read could pair one fence with another's usage.
    #[inline]
    pub(crate) fn get_rcu(
        self,
        slot: &AtomicUsize,
        _rcu: &'a RcuGuard,
    ) -> (Option<NonNull<dma_fence>>, Usage) {
        let (fence, usage) = entry(slot);
        // SAFETY: A slot in use of a list that RCU keeps allocated holds a
        // fence that was live when stored; fences are freed only after a grace
        // period, so its memory outlives this read section.
        (NonNull::new(unsafe { crate::fence::get_rcu(fence) }), usage)
    }
}

/// Returns the fence address and usage that a slot holds
/// (`dma_resv_list_entry`).
///
/// Acquire stands in for `rcu_dereference`: the fence as the writer saw it
/// is visible. Under RCU only the fence's memory is guaranteed: take a
/// reference with [`ListRef::get_rcu`] before using it.
#[inline]
pub(crate) fn entry(slot: &AtomicUsize) -> (*mut dma_fence, Usage) {
    let (fence, usage) = usage::unpack(slot.load(Ordering::Acquire));
    (fence as *mut dma_fence, usage)
}

/// Stores `fence` with `usage` in `slot` (`dma_resv_list_set`).
///
/// Release is stronger than C's `RCU_INIT_POINTER` (and free on x86): a
/// reader that finds the fence also sees it initialised.
#[inline]
fn store(slot: &AtomicUsize, fence: NonNull<Fence>, usage: Usage) {
    slot.store(
        usage::pack(fence.as_ptr() as usize, usage),
        Ordering::Release,
    );
}

/// The `fences` pointer of `obj`, as the atomic that RCU treats it as.
#[inline]
fn list_ptr(obj: &Resv) -> &AtomicPtr<ResvList> {
    // SAFETY: The object is initialised for the borrow; the core accesses
    // the field only atomically once the object is shared.
    unsafe { AtomicPtr::from_ptr(addr_of_mut!((*obj.as_raw()).fences).cast()) }
}

/// Returns the current fence list of `obj` as an RCU reader.
///
/// With PROVE_RCU the check of C's `rcu_dereference_check(obj->fences,
/// dma_resv_held(obj))` runs (it passes: the guard is an RCU reader).
#[inline]
pub(crate) fn rcu_list<'g>(obj: &'g Resv, _rcu: &'g RcuGuard) -> Option<ListRef<'g>> {
    #[cfg(CONFIG_PROVE_RCU)]
    // SAFETY: `obj` is initialised.
    unsafe {
        bindings::dmabuf_rs_resv_fences_read_check(obj.as_raw())
    };
    // Acquire stands in for `rcu_dereference`'s dependency ordering.
    let ptr = NonNull::new(list_ptr(obj).load(Ordering::Acquire))?;
    // INVARIANT: A published list stays allocated until a grace period
    // after it is replaced, hence for the read section.
    Some(ListRef {
        ptr,
        _list: PhantomData,
    })
}

/// Proof that the reservation lock of an object is held, for as long as this
/// value lives: what the locked C functions ask of their caller.
///
/// # Invariants
///
/// The reservation lock of `obj` is held for the lifetime of the value.
pub(crate) struct Held<'a> {
    obj: &'a Resv,
}

impl<'a> Held<'a> {
    /// The proof for a lock the caller holds itself (a C caller of a locked
    /// function). Lockdep checks the claim (`dma_resv_assert_held`).
    ///
    /// # Safety
    ///
    /// The caller holds the reservation lock of `obj` for `'a`.
    #[inline]
    pub(crate) unsafe fn assume(obj: &'a Resv) -> Self {
        assert_held(obj);
        // INVARIANT: The caller holds the lock for `'a`.
        Self { obj }
    }

    /// The object whose lock is held.
    #[inline]
    pub(crate) fn resv(&self) -> &'a Resv {
        self.obj
    }

    /// Returns the object's current fence list, stable while the lock is
    /// held. Borrows the proof mutably: the list's fences are borrowed from
    /// it, and a slot may only change while none is.
    #[inline]
    pub(crate) fn list(&mut self) -> Option<LockedList<'_>> {
        #[cfg(CONFIG_PROVE_RCU)]
        // SAFETY: `obj` is initialised.
        unsafe {
            bindings::dmabuf_rs_resv_fences_read_check(self.obj.as_raw())
        };
        // Under the lock no one else writes the pointer; the load is
        // relaxed, as C's plain `rcu_dereference_protected` read is.
        let ptr = NonNull::new(list_ptr(self.obj).load(Ordering::Relaxed))?;
        // INVARIANT: The published list stays allocated while the lock is
        // held: only a lock holder replaces it, and frees it after that.
        Some(LockedList {
            list: ListRef {
                ptr,
                _list: PhantomData,
            },
        })
    }

    /// The list a locked walk's cursor holds, for reading.
    ///
    /// # Safety
    ///
    /// `ptr` must be NULL or the object's current list, read under this hold
    /// of the lock, and no [`LockedList`] of this proof may change a slot
    /// while the returned one is used.
    #[inline]
    pub(crate) unsafe fn cursor_list(
        &self,
        ptr: *mut bindings::dma_resv_list,
    ) -> Option<LockedList<'_>> {
        let ptr = NonNull::new(ptr.cast())?;
        // INVARIANT: The current list stays allocated while the lock is held.
        Some(LockedList {
            list: ListRef {
                ptr,
                _list: PhantomData,
            },
        })
    }

    /// Makes `new` (or no list) the object's fence list and returns the
    /// list it replaces (`rcu_replace_pointer`).
    fn swap(&mut self, new: *mut ResvList) -> Option<Retired> {
        // C's `rcu_replace_pointer(.., dma_resv_held(obj))`: with PROVE_RCU,
        // a writer without the lock is reported.
        #[cfg(CONFIG_PROVE_RCU)]
        // SAFETY: `obj` is initialised.
        unsafe {
            bindings::dmabuf_rs_resv_fences_write_check(self.obj.as_raw())
        };
        // Release orders the list's contents before the pointer, as
        // `rcu_assign_pointer` does.
        let old = list_ptr(self.obj).swap(new, Ordering::Release);
        // INVARIANT: The old list is replaced, so unreachable for new readers,
        // and its references are now the value's.
        NonNull::new(old).map(|ptr| Retired { block: Block(ptr) })
    }
}

/// `dma_resv_assert_held`: a lockdep splat unless the caller holds the
/// reservation lock of `obj` (nothing without lockdep).
#[inline]
pub(crate) fn assert_held(obj: &Resv) {
    #[cfg(CONFIG_LOCKDEP)]
    // SAFETY: `obj` is initialised, so is its lock's map.
    unsafe {
        bindings::dmabuf_rs_resv_assert_held(obj.as_raw())
    };
    // Without lockdep the C macro is empty: no call at all.
    #[cfg(not(CONFIG_LOCKDEP))]
    let _ = obj;
}

/// The published fence list of an object whose lock is held: its fences are
/// live, and its slots and counts are the lock holder's to change.
///
/// A fence borrowed from the list ([`Self::get`], [`Self::fences`]) borrows
/// the list, so that no slot can be replaced (and its fence dropped) while
/// the borrow lasts.
///
/// # Invariants
///
/// The reservation lock of the list's object is held for `'h`, the list is
/// the object's current one, and no other value changes its slots during `'h`.
pub(crate) struct LockedList<'h> {
    list: ListRef<'h>,
}

impl<'h> LockedList<'h> {
    /// The list as an RCU reader sees it (its raw slots and counts).
    #[inline]
    pub(crate) fn list(&self) -> ListRef<'h> {
        self.list
    }

    /// The number of slots in use.
    ///
    /// Only the lock holder changes the count, so under the lock a plain read
    /// sees the last store; unlike an atomic load, the compiler can fold it
    /// into a compare, as C's plain `cursor->fences->num_fences` is (one
    /// instruction per locked walk).
    #[inline]
    pub(crate) fn num_fences(&self) -> u32 {
        // SAFETY: The list is allocated (type invariant of `ListRef`); with
        // the lock held no one writes the count, so this read races with no
        // write.
        unsafe { self.list.header().num_fences.as_ptr().read() }
    }

    /// The number of slots that may be used.
    #[inline]
    pub(crate) fn max_fences(&self) -> u32 {
        self.list.max_fences()
    }

    /// The fences in use, with their usages, in slot order.
    #[inline]
    pub(crate) fn fences(&self) -> Fences<'_> {
        // INVARIANT: The slots in use of this list, borrowed with it.
        Fences {
            slots: self.in_use().iter(),
        }
    }

    /// The slots in use, counted with [`Self::num_fences`].
    #[inline(always)]
    fn in_use(&self) -> &'h [AtomicUsize] {
        // SAFETY: By the invariant of `ResvList`, `num_fences <= max_fences`,
        // which are allocated.
        unsafe { self.list.slots_upto(self.num_fences()) }
    }

    /// Returns the fence in slot `index`, or `None` past the slots in use.
    #[inline]
    pub(crate) fn get(&self, index: u32) -> Option<(&Fence, Usage)> {
        let (fence, usage) = entry(self.in_use().get(index as usize)?);
        // SAFETY: A slot in use holds a reference of the list, which stays in
        // it while the list is borrowed.
        Some((unsafe { Fence::from_raw(fence) }, usage))
    }

    /// Adds `fence` with `usage` in the slot that `rule` picks among the
    /// fences in use (`dma_resv_add_fence`), or after them if it picks none.
    /// Returns the replaced fence's reference, or hands `fence` back if it
    /// was to be appended and no slot is left.
    ///
    /// `rule` works for any lifetime of the fences it is shown, so it cannot
    /// keep one of them past its return: the fence it picks may be dropped
    /// by the caller right after.
    #[inline(always)]
    pub(crate) fn add(
        &mut self,
        fence: ARef<Fence>,
        usage: Usage,
        rule: impl for<'f> FnOnce(Fences<'f>) -> Option<InUse<'f>>,
    ) -> Result<Option<ARef<Fence>>, ARef<Fence>> {
        // INVARIANT: The slots in use of this list, borrowed with it.
        let fences = Fences {
            slots: self.in_use().iter(),
        };
        let Some(found) = rule(fences) else {
            return self.push(fence, usage).map(|()| None);
        };
        store(found.slot, ARef::into_raw(fence), usage);
        // SAFETY: The slot was in use: its old fence's reference belonged to
        // the list and, replaced, is now ours. `found.fence` is not used
        // again.
        Ok(Some(unsafe {
            Fence::from_raw_owned(NonNull::from(found.fence).cast())
        }))
    }

    /// Puts a reference to `replacement` with `usage` in every slot in use
    /// whose fence `pred` picks, dropping the reference that slot held.
    #[inline]
    pub(crate) fn replace_all(
        &mut self,
        mut pred: impl FnMut(&Fence) -> bool,
        replacement: &Fence,
        usage: Usage,
    ) {
        // INVARIANT: The slots in use of this list, borrowed with it.
        let fences = Fences {
            slots: self.in_use().iter(),
        };
        for (old, _) in fences {
            if pred(old.fence) {
                store(old.slot, ARef::into_raw(ARef::from(replacement)), usage);
                // SAFETY: The slot was in use: its old fence's reference
                // belonged to the list and, replaced, is now ours to drop;
                // `old.fence` is not used again.
                unsafe { crate::fence::put(old.fence.raw()) };
            }
        }
    }

    /// Adds `fence` with `usage` in the first slot not in use, or hands it
    /// back if every slot that may be used is.
    #[inline]
    pub(crate) fn push(&mut self, fence: ARef<Fence>, usage: Usage) -> Result<(), ARef<Fence>> {
        let count = self.num_fences();
        let Some(slot) = self.list.slots().get(count as usize) else {
            return Err(fence);
        };
        store(slot, ARef::into_raw(fence), usage);
        // INVARIANT: The slot below the new count holds a reference, and
        // `count + 1 <= max_fences` (the slot exists). The release store is
        // the C core's `smp_wmb()` before the count.
        self.list
            .header()
            .num_fences
            .store(count + 1, Ordering::Release);
        Ok(())
    }

    /// Lowers the number of slots that may be used to the number in use
    /// (`dma_resv_reset_max_fences`).
    #[cfg(CONFIG_DEBUG_MUTEXES)]
    pub(crate) fn reset_max_fences(&mut self) {
        // INVARIANT: The count stays within the allocation and at least the
        // count in use.
        let header = self.list.header();
        header
            .max_fences
            .store(self.num_fences(), Ordering::Relaxed);
    }
}

/// The fences in use of a [`LockedList`], with their usages, in slot order.
///
/// # Invariants
///
/// `slots` are slots in use of a locked list that stays borrowed for `'l`.
pub(crate) struct Fences<'l> {
    slots: core::slice::Iter<'l, AtomicUsize>,
}

impl<'l> Iterator for Fences<'l> {
    type Item = (InUse<'l>, Usage);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let slot = self.slots.next()?;
        let (fence, usage) = entry(slot);
        // SAFETY: A slot in use holds a reference of the list, which stays
        // in it while the list is borrowed (type invariant).
        let fence = unsafe { Fence::from_raw(fence) };
        Some((InUse { fence, slot }, usage))
    }
}

/// A slot in use of a locked list and the fence in it.
pub(crate) struct InUse<'l> {
    /// The fence, live while the list is borrowed.
    pub(crate) fence: &'l Fence,
    /// The slot, for [`LockedList::add`] to overwrite.
    slot: &'l AtomicUsize,
}

/// The slot's fence, as the pure rules of [`crate::logic`] see it.
impl FenceView for InUse<'_> {
    #[inline]
    fn id(&self) -> usize {
        self.fence.id()
    }

    #[inline]
    fn context(&self) -> u64 {
        FenceView::context(self.fence)
    }

    #[inline]
    fn seqno(&self) -> u64 {
        FenceView::seqno(self.fence)
    }

    #[inline]
    fn seqno_width(&self) -> crate::logic::seqno::SeqnoWidth {
        self.fence.seqno_width()
    }

    #[inline]
    fn is_signaled(&self) -> bool {
        FenceView::is_signaled(self.fence)
    }
}

/// A list being built, not published yet: the caller's alone.
///
/// Fences fill it from the front ([`NewList::push`]); fences that are only
/// parked until the list is published, to be dropped then, fill it from the
/// back ([`NewList::park`]).
///
/// # Invariants
///
/// `ptr` is an unpublished list with `max` slots that may be used (its
/// `max_fences`), `front <= back <= max`; slots `0..front` and `back..max` hold references
/// owned by the value; the list's `num_fences` is 0 until [`Self::publish`].
pub(crate) struct NewList {
    block: Block,
    front: u32,
    back: u32,
}

impl NewList {
    /// Allocates a list with room for at least `max_fences` fences and none
    /// in use (`dma_resv_list_alloc`).
    ///
    /// The allocation is rounded up to its kmalloc bucket, and every slot
    /// that fits is counted. Returns `None` if out of memory or if the size
    /// does not fit. Allocates with GFP_KERNEL, so it may sleep.
    pub(crate) fn alloc(max_fences: u32) -> Option<Self> {
        let header = offset_of!(ResvList, table);
        let slot_size = size_of::<usize>();
        let size = (max_fences as usize)
            .checked_mul(slot_size)?
            .checked_add(header)?;
        // SAFETY: No preconditions; the answer is never below `size`.
        let size = unsafe { bindings::kmalloc_size_roundup(size) };
        // GFP_KERNEL: the callers run in process context.
        let ptr = NonNull::new(sys::kmalloc::<ResvList>(size, bindings::GFP_KERNEL))?;
        let max = u32::try_from(size.saturating_sub(header) / slot_size).unwrap_or(u32::MAX);
        // INVARIANT: `max` slots fit in the block; counting fewer (if the
        // count did not fit in `u32`) is harmless. None are in use yet.
        // SAFETY: The new block is ours, large enough for the header.
        unsafe {
            let list = ptr.as_ptr();
            addr_of_mut!((*list).max_fences).write(AtomicU32::new(max));
            addr_of_mut!((*list).num_fences).write(AtomicU32::new(0));
        }
        // INVARIANT of `Block`: new, so unreachable for any reader.
        Some(Self {
            block: Block(ptr),
            front: 0,
            back: max,
        })
    }

    /// The list's slots, all of them the value's.
    #[inline]
    fn slots(&self) -> &[AtomicUsize] {
        // INVARIANT of `ListRef`: the list is ours and allocated while borrowed.
        self.block.list().slots()
    }

    /// Adds `fence` with `usage` after the fences pushed so far, or hands it
    /// back if the list is full.
    #[inline]
    pub(crate) fn push(&mut self, fence: ARef<Fence>, usage: Usage) -> Result<(), ARef<Fence>> {
        if self.front >= self.back {
            return Err(fence);
        }
        store(
            &self.slots()[self.front as usize],
            ARef::into_raw(fence),
            usage,
        );
        // INVARIANT: The slot below the new `front` holds our reference.
        self.front += 1;
        Ok(())
    }

    /// Keeps `fence` in the list until it is published, then drops it, or
    /// hands it back if the list is full.
    #[inline]
    pub(crate) fn park(&mut self, fence: ARef<Fence>) -> Result<(), ARef<Fence>> {
        if self.front >= self.back {
            return Err(fence);
        }
        // INVARIANT: The slot at the new `back` holds our reference.
        self.back -= 1;
        store(
            &self.slots()[self.back as usize],
            ARef::into_raw(fence),
            Usage::Kernel,
        );
        Ok(())
    }

    /// Makes the list the fence list of the locked object, drops the parked
    /// fences, and returns the list it replaces.
    ///
    /// Readers see the pushed fences from here on; RCU keeps the old list
    /// (and the fences it shows) around for readers that still look at it.
    pub(crate) fn publish(self, held: &mut Held<'_>) -> Option<Retired> {
        let this = core::mem::ManuallyDrop::new(self);
        // INVARIANT of `ResvList`: slots `0..front` hold the list's
        // references. The release store (and the release of the publication)
        // orders them before the count.
        // SAFETY: The list is ours and allocated.
        unsafe { this.block.0.as_ref() }
            .num_fences
            .store(this.front, Ordering::Release);
        // The block is the object's from here on: `this` is never dropped.
        let old = held.swap(this.block.0.as_ptr());
        // INVARIANT of `Owned`: parked slots hold references of ours (type
        // invariant), beyond the published count, so no reader follows them.
        drop(Owned(&this.slots()[this.back as usize..]));
        old
    }
}

impl NewList {
    /// Frees the unpublished list without dropping the fences in it, whose
    /// references still belong to the list they were moved from.
    fn discard_moved(self) {
        let this = core::mem::ManuallyDrop::new(self);
        // INVARIANT of `Block`: the list was never published, and `this`,
        // which is not dropped, gives its block up to this one.
        drop(Block(this.block.0));
    }
}

impl Drop for NewList {
    fn drop(&mut self) {
        let slots = self.slots();
        // INVARIANT of `Owned`: the pushed and the parked slots hold
        // references of ours (type invariant), and the list is never published.
        drop(Owned(&slots[..self.front as usize]));
        drop(Owned(&slots[self.back as usize..]));
        // `self.block` frees the list after this.
    }
}

/// Slots whose fence references are the value's: dropping it drops them.
///
/// # Invariants
///
/// Each slot holds a fence reference that the value owns, and nobody
/// follows the slot to its fence once the value is dropped.
struct Owned<'a>(&'a [AtomicUsize]);

impl Drop for Owned<'_> {
    #[inline]
    fn drop(&mut self) {
        for slot in self.0 {
            // SAFETY: The reference is ours (type invariant).
            unsafe { crate::fence::put(entry(slot).0) };
        }
    }
}

/// The memory of a list that no new reader can reach, owned: freed after
/// an RCU grace period (for the readers that may still look at it) when
/// dropped, without touching its fences.
///
/// # Invariants
///
/// `self.0` is a kmalloc'ed list that no new reader can reach (never
/// published, or replaced), owned by the value.
struct Block(NonNull<ResvList>);

impl Block {
    /// The list, allocated while the value lives.
    #[inline]
    fn list(&self) -> ListRef<'_> {
        // INVARIANT of `ListRef`: freed only when the value is dropped.
        ListRef {
            ptr: self.0,
            _list: PhantomData,
        }
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        let list = self.0.as_ptr();
        // SAFETY: The list was kmalloc'ed, its header holds the RCU head, and
        // no new reader can find it (type invariant): `kfree_rcu(list, rcu)`.
        unsafe { sys::kvfree_rcu(addr_of_mut!((*list).rcu).cast(), list.cast()) };
    }
}

impl Held<'_> {
    /// Makes the object's fence list empty (no list) and returns the list it
    /// had.
    pub(crate) fn clear(&mut self) -> Option<Retired> {
        self.swap(ptr::null_mut())
    }
}

/// Takes the fence list of an object that is being torn down, for dropping
/// (C's `rcu_dereference_protected(obj->fences, true)` in `dma_resv_fini`),
/// and leaves the object without one.
///
/// The exclusive borrow is the proof that no one else uses the object: no
/// lock holder, no new reader. Readers from before may still look at the
/// list, which [`Retired`] frees only after a grace period.
pub(crate) fn retire_unshared(obj: &mut Resv) -> Option<Retired> {
    // A load and a store, not an exchange: nobody else writes the pointer.
    // Clearing it (one store more than C's `dma_resv_fini`) keeps a second
    // call, which the safe signature allows, from freeing the list again.
    let fences = list_ptr(obj);
    let ptr = NonNull::new(fences.load(Ordering::Relaxed))?;
    fences.store(ptr::null_mut(), Ordering::Relaxed);
    // INVARIANT: No new reader can reach the list, now off the object; its
    // references become the value's.
    Some(Retired { block: Block(ptr) })
}

/// A list that was replaced (or whose object is being torn down): no new
/// reader can reach it, and its fence references are the value's. Dropping it
/// releases the fences and frees the list after a grace period
/// (`dma_resv_list_free`).
///
/// # Invariants
///
/// `ptr` is a list that no new reader can reach; its references in use are
/// owned by the value.
pub(crate) struct Retired {
    block: Block,
}

impl Retired {
    /// The list, which stays allocated while the value lives.
    #[inline]
    fn list(&self) -> ListRef<'_> {
        self.block.list()
    }

    /// Frees the list after a grace period without dropping its fences, whose
    /// references the caller has moved elsewhere.
    pub(crate) fn free_moved(self) {
        let this = core::mem::ManuallyDrop::new(self);
        // INVARIANT of `Block`: `this`, which is not dropped, gives its block
        // up to this one.
        drop(Block(this.block.0));
    }
}

impl Drop for Retired {
    fn drop(&mut self) {
        // INVARIANT of `Owned`: the references in use are ours (type
        // invariant), and no new reader can reach the list.
        drop(Owned(self.list().in_use()));
        // `self.block` frees the list after this.
    }
}

/// Replaces the fence list of the locked object by one with `max` slots that
/// may be used, moving the pending fences over in order and dropping the
/// signalled ones (the slow path of `dma_resv_reserve_fences`). Returns
/// `false` if out of memory, with the list unchanged.
#[inline(never)]
pub(crate) fn grow(mut held: Held<'_>, max: u32) -> bool {
    let Some(mut new) = NewList::alloc(max) else {
        return false;
    };
    if let Some(old) = held.list() {
        // The rule grows to at least the count in use plus one slot, so every
        // old fence fits; checked once, so that the moves below cannot fail.
        if old.num_fences() >= max {
            sys::warn();
            return false;
        }
        for (InUse { fence, .. }, usage) in old.fences() {
            // The references move from the old list to the new one: the new
            // list holds the pointer, and the old one is freed below without
            // dropping its fences. Pending fences fill the new list from the
            // front; signalled ones are parked at its back, to be dropped
            // once it is published.
            // SAFETY: The old list's reference to the fence is now the new
            // list's; the old list is freed with `free_moved`.
            let moved = unsafe { Fence::from_raw_owned(NonNull::from(fence).cast()) };
            let rest = if fence.query_signaled() {
                new.park(moved)
            } else {
                new.push(moved, usage)
            };
            if let Err(moved) = rest {
                // Not reached (checked above). The references stay the old
                // list's: the new list is freed without dropping them.
                let _ = ARef::into_raw(moved);
                new.discard_moved();
                return false;
            }
        }
    }
    // The new list's slots hold the moved references; the old one's are
    // forgotten, not dropped.
    if let Some(retired) = new.publish(&mut held) {
        retired.free_moved();
    }
    true
}
