// SPDX-License-Identifier: GPL-2.0-only

//! Reservation object usage classes and fence-slot bookkeeping, as `dma-resv`.
//!
//! C: `enum dma_resv_usage` and `dma_resv_usage_rw()` in
//! [`include/linux/dma-resv.h`](srctree/include/linux/dma-resv.h); the fence list
//! of [`drivers/dma-buf/dma-resv.c`](srctree/drivers/dma-buf/dma-resv.c)
//! (`dma_resv_list_set()`/`dma_resv_list_entry()`, `dma_resv_add_fence()`,
//! `dma_resv_reserve_fences()`).
//!
//! A reservation object keeps one flat list of fences. Each slot stores a fence
//! pointer with the fence's [`Usage`] in the pointer's low two bits
//! ([`pack`]/[`unpack`]); a fence is always at least 4-byte aligned, so those bits
//! are free. Usages are ordered `Kernel < Write < Read < Bookkeep`, and a query
//! for one usage also returns the fences of every smaller one ([`Usage::covers`]).
//!
//! Adding a fence reuses a slot rather than growing the list when the slot holds
//! an older (or the same) fence of the same context whose usage is the same or
//! weaker, or holds a signalled fence ([`add_fence_slot`]). So a fence can be
//! promoted to a stronger usage by adding it again, but never demoted: adding
//! with a weaker usage takes a new slot, and the old one stays.
//!
//! Not modelled here, because it has no rule worth separating:
//! `dma_resv_replace_fences()` overwrites *every* slot whose fence has the given
//! context with the replacement and its usage, whatever the old usage or seqno.

use super::errno::{Errno, EINVAL, ENOMEM};
use super::view::{self, FenceView};

/// How a fence in a reservation object uses the resource: C's `enum dma_resv_usage`.
///
/// The order is meaningful: `Kernel < Write < Read < Bookkeep`, and asking for
/// the fences of one usage returns those of all smaller usages too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u32)]
pub enum Usage {
    /// `DMA_RESV_USAGE_KERNEL`: in-kernel memory management (moves, clears);
    /// everybody must wait for these before touching the resource.
    Kernel = 0,
    /// `DMA_RESV_USAGE_WRITE`: implicit write synchronisation of userspace submissions.
    Write = 1,
    /// `DMA_RESV_USAGE_READ`: implicit read synchronisation of userspace submissions.
    Read = 2,
    /// `DMA_RESV_USAGE_BOOKKEEP`: no implicit synchronisation (preemption fences,
    /// page-table updates, explicitly synchronised submissions).
    Bookkeep = 3,
}

impl Usage {
    /// All usages, in ascending order.
    pub const ALL: [Usage; 4] = [Usage::Kernel, Usage::Write, Usage::Read, Usage::Bookkeep];

    /// Returns the usage with the C enum value `raw`, or `None` if there is none.
    pub const fn from_raw(raw: u32) -> Option<Self> {
        match raw {
            0 => Some(Self::Kernel),
            1 => Some(Self::Write),
            2 => Some(Self::Read),
            3 => Some(Self::Bookkeep),
            _ => None,
        }
    }

    /// Returns the C enum value of the usage.
    pub const fn as_raw(self) -> u32 {
        self as u32
    }

    /// Returns the usage for implicit synchronisation of a new access, as `dma_resv_usage_rw()`.
    ///
    /// The answer looks swapped, and is not: it is the usage of the fences the
    /// new access must *wait for*. A new write (`write` true) waits for existing
    /// reads and writes, so it asks for [`Usage::Read`] (which covers writes); a new
    /// read waits only for existing writes, so it asks for [`Usage::Write`].
    pub const fn rw(write: bool) -> Self {
        if write {
            Self::Read
        } else {
            Self::Write
        }
    }

    /// Returns whether a query for usage `self` returns a fence added with `fence_usage`.
    ///
    /// True when `fence_usage <= self`, as the resv iterators test (they skip
    /// while `fence_usage > usage`). The unlocked iterator also skips signalled
    /// fences; the locked one does not.
    pub const fn covers(self, fence_usage: Usage) -> bool {
        fence_usage as u32 <= self as u32
    }
}

/// The bits of a fence slot that hold the usage: C's `DMA_RESV_LIST_MASK`.
pub const LIST_MASK: usize = 0x3;

/// Returns the slot value for a fence at address `fence` with `usage`, as `dma_resv_list_set()`.
///
/// `fence` must have its low two bits clear (a `struct dma_fence` is at least
/// 8-byte aligned); the result is `fence | usage`.
pub const fn pack(fence: usize, usage: Usage) -> usize {
    fence | usage as usize
}

/// Returns the fence address and usage stored in a slot, as `dma_resv_list_entry()`.
///
/// Every slot value unpacks: the two low bits are always a valid usage.
pub const fn unpack(slot: usize) -> (usize, Usage) {
    let usage = match slot & LIST_MASK {
        0 => Usage::Kernel,
        1 => Usage::Write,
        2 => Usage::Read,
        _ => Usage::Bookkeep,
    };
    (slot & !LIST_MASK, usage)
}

/// Where `dma_resv_add_fence()` puts a new fence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddFence {
    /// Overwrite the slot at this index with the new fence and usage, and release
    /// the old fence. The list does not grow.
    Replace(usize),
    /// Store the new fence at this index, the current fence count, and then count
    /// it. The caller must have reserved room (C: `BUG_ON(num_fences >= max_fences)`).
    Append(usize),
}

/// Returns whether `dma_resv_add_fence()` reuses a slot holding `old` with `old_usage`.
///
/// The 6.12 rule: the slot is reused when
///
/// - `old` has the same context as `fence`, **and** `old_usage >= usage` (the new
///   usage is the same or stronger), **and** `fence` is the same fence as `old`
///   or later than it (`dma_fence_is_later_or_same(fence, old)`, in `fence`'s
///   seqno width); **or**
/// - `old` has signalled.
///
/// As in C, [`FenceView::is_signaled`] is asked only when the first part is false.
#[inline]
pub fn replaces<F, G>(fence: &F, usage: Usage, old: &G, old_usage: Usage) -> bool
where
    F: FenceView + ?Sized,
    G: FenceView + ?Sized,
{
    // One condition of two comparisons joined without a short circuit:
    // with `&&`, LLVM joined them all the same, then compared the result
    // with 1 before branching, an instruction more than C for every slot a
    // new fence passes.
    if (old.context() == fence.context()) & (old_usage >= usage) {
        // The contexts are equal here, so is_later_or_same()'s `None` (C's
        // WARN for different contexts) cannot happen.
        if view::is_later_or_same(fence, old) == Some(true) {
            return true;
        }
    }
    old.is_signaled()
}

/// Returns the slot that `dma_resv_add_fence()` gives `fence` with `usage`.
///
/// `slots` yields the current slots in list order, each as the fence it holds
/// and its usage. The first slot for which [`replaces`] holds is reused; the
/// slots after it are not looked at. If none qualifies, the fence is appended
/// after the last slot.
///
/// # Examples
///
/// ```
/// use dmabuf_rs_logic::seqno::SeqnoWidth;
/// use dmabuf_rs_logic::usage::{add_fence_slot, AddFence, Usage};
/// use dmabuf_rs_logic::view::FenceKey;
///
/// let f = |id, seqno| FenceKey {
///     id, context: 1, seqno, width: SeqnoWidth::Bits64, signaled: false,
/// };
/// let slots = [(f(10, 1), Usage::Read)];
/// // A later fence of the context, written: promotes the slot.
/// assert_eq!(add_fence_slot(slots, &f(11, 2), Usage::Write), AddFence::Replace(0));
/// // The same fence, bookkeeping only: would demote, so it gets a new slot.
/// assert_eq!(add_fence_slot(slots, &f(10, 1), Usage::Bookkeep), AddFence::Append(1));
/// ```
#[inline]
pub fn add_fence_slot<F, G, I>(slots: I, fence: &F, usage: Usage) -> AddFence
where
    F: FenceView + ?Sized,
    G: FenceView,
    I: IntoIterator<Item = (G, Usage)>,
{
    let mut count = 0;
    let found = first_replaced(slots.into_iter().inspect(|_| count += 1), fence, usage);
    match found {
        Some(_) => AddFence::Replace(count - 1),
        None => AddFence::Append(count),
    }
}

/// Returns the slot that `dma_resv_add_fence()` reuses for `fence` with
/// `usage`, as [`add_fence_slot`] picks it, or `None` to append: the first of
/// `slots` (in list order, each the fence it holds and its usage) for which
/// [`replaces`] holds.
///
/// The slot itself rather than its index, so that a caller whose items carry
/// their slot writes it without looking it up (and bounds-checking) again.
#[inline]
pub fn first_replaced<F, G, I>(slots: I, fence: &F, usage: Usage) -> Option<G>
where
    F: FenceView + ?Sized,
    G: FenceView,
    I: IntoIterator<Item = (G, Usage)>,
{
    for (old, old_usage) in slots {
        if replaces(fence, usage, &old, old_usage) {
            return Some(old);
        }
    }
    None
}

/// The fill of an existing fence list: `num_fences` used of `max_fences` slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListFill {
    /// Slots in use (`list->num_fences`).
    pub num_fences: u32,
    /// Slots allocated (`list->max_fences`).
    pub max_fences: u32,
}

/// What `dma_resv_reserve_fences()` must do to make room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reserve {
    /// The current list has room: nothing to do.
    Enough,
    /// Allocate a new list with at least this many slots. The C allocation then
    /// rounds its size up to the kmalloc bucket and uses every slot that fits;
    /// the unsignalled fences move over in order, and the signalled ones are
    /// released.
    Grow(u32),
}

/// Returns how `dma_resv_reserve_fences()` makes room for `num_fences` more fences.
///
/// `old` is the current list, if there is one. The 6.12 rule:
///
/// - asking for no fences is a driver bug: C warns and returns `-EINVAL`;
/// - a list with room for `num_fences` more is kept as it is;
/// - a list without enough room is replaced by one of at least
///   `max(num + num_fences, 2 * max)` slots;
/// - with no list, **or a list whose `max_fences` is 0** (which
///   `dma_resv_reset_max_fences()` leaves behind on an empty list), the new list
///   has at least `max(4, num_fences rounded up to a power of two)` slots.
///
/// Sizes that do not fit in `u32` give [`ENOMEM`]. C computes them in `unsigned
/// int` and would wrap instead, which only absurd requests (around 2^31 fences,
/// far beyond any allocation) can reach.
#[inline]
pub const fn reserve_fences(old: Option<ListFill>, num_fences: u32) -> Result<Reserve, Errno> {
    if num_fences == 0 {
        return Err(EINVAL);
    }
    let max = match old {
        Some(ListFill {
            num_fences: num,
            max_fences: max,
        }) if max != 0 => {
            let Some(need) = num.checked_add(num_fences) else {
                return Err(ENOMEM);
            };
            if need <= max {
                return Ok(Reserve::Enough);
            }
            let Some(double) = max.checked_mul(2) else {
                return Err(ENOMEM);
            };
            if need > double {
                need
            } else {
                double
            }
        }
        _ => match num_fences.checked_next_power_of_two() {
            Some(p) if p > 4 => p,
            Some(_) => 4,
            None => return Err(ENOMEM),
        },
    };
    Ok(Reserve::Grow(max))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logic::seqno::SeqnoWidth;
    use crate::logic::view::{testing::Probe, FenceKey};
    use core::cell::Cell;
    use proptest::prelude::*;
    use std::vec::Vec;

    use Usage::{Bookkeep, Kernel, Read, Write};

    fn key(id: usize, context: u64, seqno: u64, signaled: bool) -> FenceKey {
        FenceKey {
            id,
            context,
            seqno,
            width: SeqnoWidth::Bits64,
            signaled,
        }
    }

    #[test]
    fn raw_values_match_the_c_enum() {
        assert_eq!(Usage::ALL.map(Usage::as_raw), [0, 1, 2, 3]);
        for u in Usage::ALL {
            assert_eq!(Usage::from_raw(u.as_raw()), Some(u));
        }
        assert_eq!(Usage::from_raw(4), None);
        assert_eq!(Usage::from_raw(u32::MAX), None);
        assert!(Kernel < Write && Write < Read && Read < Bookkeep);
    }

    #[test]
    fn rw_is_the_usage_to_wait_for() {
        assert_eq!(Usage::rw(true), Read);
        assert_eq!(Usage::rw(false), Write);
    }

    #[test]
    fn covers_matrix() {
        // Rows: query usage; columns: fence usage (Kernel, Write, Read, Bookkeep).
        let expected = [
            [true, false, false, false],
            [true, true, false, false],
            [true, true, true, false],
            [true, true, true, true],
        ];
        for (q, row) in Usage::ALL.iter().zip(expected) {
            for (f, want) in Usage::ALL.iter().zip(row) {
                assert_eq!(q.covers(*f), want, "query {q:?} fence {f:?}");
            }
        }
    }

    #[test]
    fn pack_examples() {
        assert_eq!(pack(0x1000, Kernel), 0x1000);
        assert_eq!(pack(0x1000, Bookkeep), 0x1003);
        assert_eq!(unpack(0x1002), (0x1000, Read));
        assert_eq!(unpack(usize::MAX), (usize::MAX & !3, Bookkeep));
        assert_eq!(LIST_MASK, 3);
    }

    #[test]
    fn replace_usage_matrix() {
        // A later fence of the same context, added with `new` over a slot holding
        // `old`: reused exactly when old >= new (rows: old; columns: new).
        let expected = [
            [true, false, false, false],
            [true, true, false, false],
            [true, true, true, false],
            [true, true, true, true],
        ];
        let old = key(1, 7, 10, false);
        let later = key(2, 7, 11, false);
        for (o, row) in Usage::ALL.iter().zip(expected) {
            for (n, want) in Usage::ALL.iter().zip(row) {
                assert_eq!(replaces(&later, *n, &old, *o), want, "old {o:?} new {n:?}");
                // The same fence behaves like a later one.
                assert_eq!(
                    replaces(&old, *n, &old, *o),
                    want,
                    "same fence, old {o:?} new {n:?}"
                );
            }
        }
    }

    #[test]
    fn replace_needs_later_or_same_fence() {
        let old = key(1, 7, 10, false);
        // Equal seqno, different fence: not later, not the same.
        assert!(!replaces(&key(2, 7, 10, false), Kernel, &old, Bookkeep));
        assert!(!replaces(&key(2, 7, 9, false), Kernel, &old, Bookkeep));
        // Another context never reuses an unsignalled slot.
        assert!(!replaces(&key(2, 8, 11, false), Kernel, &old, Bookkeep));
        // A signalled slot is reused by anything.
        let done = key(1, 7, 10, true);
        assert!(replaces(&key(2, 8, 1, false), Bookkeep, &done, Kernel));
        // The new fence's width decides: 0 is later than 0xffff_ffff in 32 bits.
        let old32 = FenceKey {
            seqno: 0xffff_ffff,
            ..old
        };
        let new32 = FenceKey {
            id: 2,
            seqno: 0,
            width: SeqnoWidth::Bits32,
            ..old
        };
        assert!(replaces(&new32, Read, &old32, Read));
        assert!(!replaces(
            &FenceKey {
                width: SeqnoWidth::Bits64,
                ..new32
            },
            Read,
            &old32,
            Read
        ));
    }

    #[test]
    fn add_fence_short_circuits_like_c() {
        let asked = [Cell::new(0), Cell::new(0), Cell::new(0)];
        let keys = [key(1, 5, 1, false), key(2, 7, 1, true), key(3, 9, 1, true)];
        let slots = keys
            .iter()
            .zip(&asked)
            .map(|(&key, asked)| (Probe { key, asked }, Read));
        // Slot 0 does not match on context, so it is asked; slot 1 has signalled
        // and is reused; slot 2 is never looked at.
        assert_eq!(
            add_fence_slot(slots, &key(4, 6, 1, false), Read),
            AddFence::Replace(1)
        );
        assert_eq!(asked.each_ref().map(Cell::get), [1, 1, 0]);

        // When the first part of the rule holds, signalling is not asked about.
        let asked = Cell::new(0);
        let slots = [(
            Probe {
                key: key(1, 5, 1, false),
                asked: &asked,
            },
            Read,
        )];
        assert_eq!(
            add_fence_slot(slots, &key(4, 5, 2, false), Read),
            AddFence::Replace(0)
        );
        assert_eq!(asked.get(), 0);
    }

    #[test]
    fn add_fence_to_empty_list_appends() {
        let slots: [(FenceKey, Usage); 0] = [];
        assert_eq!(
            add_fence_slot(slots, &key(1, 1, 1, false), Kernel),
            AddFence::Append(0)
        );
    }

    #[test]
    fn reserve_matrix() {
        let fill = |num_fences, max_fences| {
            Some(ListFill {
                num_fences,
                max_fences,
            })
        };
        assert_eq!(reserve_fences(None, 0), Err(EINVAL));
        assert_eq!(reserve_fences(fill(0, 4), 0), Err(EINVAL));
        assert_eq!(reserve_fences(None, 1), Ok(Reserve::Grow(4)));
        assert_eq!(reserve_fences(None, 4), Ok(Reserve::Grow(4)));
        assert_eq!(reserve_fences(None, 5), Ok(Reserve::Grow(8)));
        assert_eq!(reserve_fences(None, 1 << 31), Ok(Reserve::Grow(1 << 31)));
        assert_eq!(reserve_fences(None, (1 << 31) + 1), Err(ENOMEM));
        assert_eq!(reserve_fences(fill(2, 4), 2), Ok(Reserve::Enough));
        assert_eq!(reserve_fences(fill(2, 4), 3), Ok(Reserve::Grow(8)));
        assert_eq!(reserve_fences(fill(10, 12), 20), Ok(Reserve::Grow(30)));
        // max_fences 0 counts as no list.
        assert_eq!(reserve_fences(fill(0, 0), 5), Ok(Reserve::Grow(8)));
        assert_eq!(reserve_fences(fill(0, 0), 1), Ok(Reserve::Grow(4)));
        assert_eq!(reserve_fences(fill(u32::MAX, u32::MAX), 1), Err(ENOMEM));
        assert_eq!(reserve_fences(fill(1 << 31, 1 << 31), 1), Err(ENOMEM));
    }

    /// A resv list slot in the model: the fence and its usage.
    type Slot = (FenceKey, Usage);

    fn usage() -> impl Strategy<Value = Usage> {
        prop_oneof![Just(Kernel), Just(Write), Just(Read), Just(Bookkeep)]
    }

    /// Model of `reserve_fences()` in 64-bit arithmetic, with the C formulas.
    fn model_reserve(old: Option<ListFill>, n: u32) -> Result<Reserve, Errno> {
        if n == 0 {
            return Err(EINVAL);
        }
        let want: u64 = match old {
            Some(l) if l.max_fences > 0 => {
                let (num, max) = (u64::from(l.num_fences), u64::from(l.max_fences));
                if num + u64::from(n) <= max {
                    return Ok(Reserve::Enough);
                }
                (num + u64::from(n)).max(2 * max)
            }
            _ => 4u64.max(u64::from(n).next_power_of_two()),
        };
        u32::try_from(want).map(Reserve::Grow).map_err(|_| ENOMEM)
    }

    proptest! {
        #[test]
        fn pack_unpack_round_trip(addr in any::<usize>(), u in usage()) {
            let aligned = addr & !LIST_MASK;
            let slot = pack(aligned, u);
            prop_assert_eq!(slot & !LIST_MASK, aligned);
            prop_assert_eq!(unpack(slot), (aligned, u));
            // Any slot value unpacks to its high bits and a usage of its low bits.
            let (a, v) = unpack(addr);
            prop_assert_eq!(pack(a, v), addr);
        }

        #[test]
        fn reserve_matches_model(
            old in proptest::option::of((any::<u32>(), any::<u32>())),
            small in proptest::option::of((0u32..64, 0u32..64)),
            n in prop_oneof![0u32..70, any::<u32>()],
        ) {
            // Mix huge arbitrary fills with small, realistic ones (num <= max).
            let old = small
                .map(|(a, b)| ListFill { num_fences: a.min(b), max_fences: a.max(b) })
                .or(old.map(|(num_fences, max_fences)| ListFill { num_fences, max_fences }));
            let got = reserve_fences(old, n);
            prop_assert_eq!(got, model_reserve(old, n));
            if let (Ok(Reserve::Grow(m)), Some(l)) = (got, old) {
                prop_assert!(u64::from(m) >= u64::from(l.num_fences) + u64::from(n));
            }
        }

        #[test]
        fn add_fence_never_demotes_or_loses_a_fence(
            pool in proptest::collection::vec((0u64..3, 1u64..6, any::<bool>()), 1..8),
            adds in proptest::collection::vec((any::<proptest::sample::Index>(), usage()), 1..30),
        ) {
            // Fences are drawn from a small pool, so one fence is often added
            // again (same id), and different fences often share a seqno.
            let pool: Vec<FenceKey> = pool
                .iter()
                .enumerate()
                .map(|(id, &(context, seqno, signaled))| key(id, context, seqno, signaled))
                .collect();
            let mut list: Vec<Slot> = Vec::new();
            for (pick, u) in &adds {
                let (fence, u) = (*pick.get(&pool), *u);
                let before = list.clone();
                // The first slot the rule allows, stated from scratch.
                let first = before.iter().position(|(old, ou)| {
                    let newer = old.id == fence.id || fence.seqno > old.seqno;
                    old.signaled || (old.context == fence.context && *ou >= u && newer)
                });
                match add_fence_slot(list.iter().copied(), &fence, u) {
                    AddFence::Replace(i) => {
                        prop_assert_eq!(first, Some(i));
                        list[i] = (fence, u);
                    }
                    AddFence::Append(n) => {
                        prop_assert_eq!(first, None);
                        prop_assert_eq!(n, before.len());
                        list.push((fence, u));
                    }
                }
                // The new fence is in the list with its usage.
                prop_assert!(list.contains(&(fence, u)));
                // No pending fence lost ground: every query that returned a pending
                // fence of some context still returns one at least as late.
                for (old, ou) in before.iter().filter(|(f, _)| !f.signaled) {
                    let kept = list.iter().any(|(f, fu)| {
                        f.context == old.context && f.seqno >= old.seqno && ou.covers(*fu)
                    });
                    prop_assert!(kept, "lost {:?} {:?}", old, ou);
                }
            }
        }
    }
}
