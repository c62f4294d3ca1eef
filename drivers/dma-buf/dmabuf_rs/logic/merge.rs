// SPDX-License-Identifier: GPL-2.0-only

//! De-duplication and ordering of fences merged into one, as `dma_fence_unwrap_merge()`.
//!
//! C: `__dma_fence_unwrap_merge()` in
//! [`drivers/dma-buf/dma-fence-unwrap.c`](srctree/drivers/dma-buf/dma-fence-unwrap.c),
//! behind the `dma_fence_unwrap_merge()` macro of
//! [`include/linux/dma-fence-unwrap.h`](srctree/include/linux/dma-fence-unwrap.h).
//! `sync_file_merge()` (the `SYNC_IOC_MERGE` ioctl) is that same call on the two
//! files' fences, so this is also the sync_file merge rule.
//!
//! The C function unwraps every input (chains and arrays, recursively, in
//! iteration order) into one flat list and then:
//!
//! 1. drops the fences that have signalled, remembering the latest signal
//!    timestamp among them ([`stub_timestamp`]);
//! 2. if none is left, returns a new, already signalled private stub fence
//!    carrying that timestamp;
//! 3. sorts the rest by context, ascending, and keeps for each context only the
//!    latest fence by seqno (compared with that fence's seqno width);
//! 4. returns the single survivor itself if only one is left, and otherwise a new
//!    `dma_fence_array` of the survivors in that order, on a freshly allocated
//!    context, with seqno 1 and `signal_on_any` false.
//!
//! [`merge`] does steps 1, 3 and the choice between 2 and 4 in place on the
//! caller's slice, and says which case applies with [`Merged`]. Two details of
//! the C are kept deliberately loose, because the C itself leaves them to its
//! (unstable) heap sort:
//!
//! - when several pending fences of one context have equal seqnos (such as one
//!   fence reached through both inputs), one of them is kept, and which one is
//!   unspecified;
//! - when a context's pending fences use 32-bit seqnos that lie 2^31 or more
//!   apart, "latest" is not defined (see [`super::seqno`]) and any of them may be
//!   kept.
//!
//! C walks the inputs twice (once to count, once to fill its array) and so may
//! see a fence signal in between; [`merge`] asks each fence once.

use super::seqno;
use super::view::FenceView;

/// What the merged fence is, as [`merge`] decides it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Merged {
    /// Every fence has signalled (or there were none): the result is a new private
    /// stub fence, already signalled, with the timestamp [`stub_timestamp`] gives
    /// for the fences (C: `dma_fence_allocate_private_stub(timestamp)`).
    Stub,
    /// Exactly one fence is left, at index 0: it is the result itself, with the
    /// reference the caller holds for it, and no array is created.
    Single,
    /// This many fences, at least two, are left at the front of the slice, sorted
    /// by context: the result is a new `dma_fence_array` of them
    /// (C: `dma_fence_array_create(n, array, dma_fence_context_alloc(1), 1, false)`).
    Array(usize),
}

impl Merged {
    /// Returns how many fences were kept at the front of the slice.
    pub const fn len(self) -> usize {
        match self {
            Self::Stub => 0,
            Self::Single => 1,
            Self::Array(n) => n,
        }
    }

    /// Returns whether no fence was kept, which is the [`Merged::Stub`] case.
    pub const fn is_empty(self) -> bool {
        matches!(self, Self::Stub)
    }
}

/// De-duplicates unwrapped fences in place, keeping the latest pending fence of each context.
///
/// `fences` holds every fence the inputs unwrap to. The function reorders it (by
/// swapping elements, so it stays a permutation of the input) so that:
///
/// - `fences[..n]`, with `n` = [`Merged::len`] of the result, are the kept fences,
///   one per context that has a pending fence, in ascending context order, each
///   the latest pending fence of its context;
/// - `fences[n..]` are the rest (signalled ones and superseded ones), in
///   unspecified order, for the caller to release.
///
/// [`FenceView::is_signaled`] is called exactly once per fence, in slice order,
/// before anything else is looked at. Within a context, fences compare with
/// [`seqno::is_later`] in the width of the fence being considered; fences of one
/// context share their ops in practice, so that choice does not matter.
///
/// # Examples
///
/// ```
/// use dmabuf_rs_logic::merge::{merge, Merged};
/// use dmabuf_rs_logic::seqno::SeqnoWidth;
/// use dmabuf_rs_logic::view::FenceKey;
///
/// let f = |id, context, seqno, signaled| FenceKey {
///     id, context, seqno, signaled, width: SeqnoWidth::Bits64,
/// };
/// let mut fences = [f(0, 9, 1, false), f(1, 3, 5, true), f(2, 9, 2, false), f(3, 4, 1, false)];
/// assert_eq!(merge(&mut fences), Merged::Array(2));
/// assert_eq!((fences[0].id, fences[1].id), (3, 2));
/// ```
pub fn merge<T: FenceView>(fences: &mut [T]) -> Merged {
    // Step 1: pending fences to the front, signalled ones behind them.
    let mut pending = 0;
    for i in 0..fences.len() {
        if !fences[i].is_signaled() {
            fences.swap(pending, i);
            pending += 1;
        }
    }
    let live = &mut fences[..pending];

    // Step 3: group by context. Sorting only by the context keeps the comparison
    // a total order (the seqno order need not be one), so the sort is well defined.
    live.sort_unstable_by_key(|f| f.context());

    // Keep the latest fence of each run of one context, compacting to the front.
    // Invariant: live[..kept] are kept fences, live[kept..start] are dropped ones.
    let mut kept = 0;
    let mut start = 0;
    while start < live.len() {
        let context = live[start].context();
        let mut latest = start;
        let mut end = start + 1;
        while end < live.len() && live[end].context() == context {
            let (f, best) = (&live[end], &live[latest]);
            if seqno::is_later(f.seqno(), best.seqno(), f.seqno_width()) {
                latest = end;
            }
            end += 1;
        }
        live.swap(kept, latest);
        kept += 1;
        start = end;
    }

    match kept {
        0 => Merged::Stub,
        1 => Merged::Single,
        n => Merged::Array(n),
    }
}

/// Returns the timestamp of the stub fence that a merge of signalled fences returns.
///
/// `timestamps` are the signal timestamps (`dma_fence_timestamp()`, in ktime
/// nanoseconds) of the signalled fences. As in C, the result starts at 0 and is
/// replaced by each timestamp strictly after it (`ktime_after()`), so it is the
/// latest timestamp, or 0 when there is none or all are negative.
pub fn stub_timestamp<I: IntoIterator<Item = i64>>(timestamps: I) -> i64 {
    timestamps
        .into_iter()
        .fold(0, |latest, t| if t > latest { t } else { latest })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logic::seqno::SeqnoWidth;
    use crate::logic::view::{testing::Probe, FenceKey};
    use core::cell::Cell;
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use std::vec::Vec;

    const HALF: u64 = 1 << 31;

    fn f64(id: usize, context: u64, seqno: u64, signaled: bool) -> FenceKey {
        FenceKey {
            id,
            context,
            seqno,
            width: SeqnoWidth::Bits64,
            signaled,
        }
    }

    fn f32(id: usize, context: u64, seqno: u64, signaled: bool) -> FenceKey {
        FenceKey {
            id,
            context,
            seqno,
            width: SeqnoWidth::Bits32,
            signaled,
        }
    }

    fn ids(fences: &[FenceKey]) -> Vec<usize> {
        fences.iter().map(|f| f.id).collect()
    }

    #[test]
    fn empty_is_stub() {
        let mut fences: [FenceKey; 0] = [];
        assert_eq!(merge(&mut fences), Merged::Stub);
        assert_eq!(Merged::Stub.len(), 0);
        assert!(Merged::Stub.is_empty());
    }

    #[test]
    fn all_signalled_is_stub() {
        let mut fences = [f64(0, 1, 1, true), f64(1, 2, 1, true)];
        assert_eq!(merge(&mut fences), Merged::Stub);
    }

    #[test]
    fn one_pending_is_single() {
        let mut fences = [f64(0, 1, 1, true), f64(1, 2, 1, false), f64(2, 3, 1, true)];
        let m = merge(&mut fences);
        assert_eq!(m, Merged::Single);
        assert!(!m.is_empty());
        assert_eq!(fences[0].id, 1);
    }

    #[test]
    fn same_context_collapses_to_latest() {
        let mut fences = [
            f64(0, 5, 3, false),
            f64(1, 5, 7, false),
            f64(2, 5, 4, false),
        ];
        assert_eq!(merge(&mut fences), Merged::Single);
        assert_eq!(fences[0].id, 1);
    }

    #[test]
    fn same_fence_twice_is_single() {
        // A sync_file merged with itself.
        let mut fences = [f64(4, 5, 3, false), f64(4, 5, 3, false)];
        assert_eq!(merge(&mut fences), Merged::Single);
        assert_eq!(fences[0].id, 4);
    }

    #[test]
    fn signalled_latest_leaves_older_pending() {
        // The latest fence of a context has signalled, an older one has not (a
        // driver may signal out of order): the older one is kept.
        let mut fences = [f64(0, 5, 9, true), f64(1, 5, 2, false), f64(2, 6, 1, false)];
        assert_eq!(merge(&mut fences), Merged::Array(2));
        assert_eq!(ids(&fences[..2]), [1, 2]);
    }

    #[test]
    fn contexts_sorted_ascending() {
        let mut fences = [
            f64(0, 30, 1, false),
            f64(1, 10, 1, false),
            f64(2, 20, 1, false),
            f64(3, 10, 2, false),
        ];
        assert_eq!(merge(&mut fences), Merged::Array(3));
        assert_eq!(ids(&fences[..3]), [3, 2, 0]);
        assert_eq!(fences[3].id, 1);
    }

    #[test]
    fn wrap_around_32bit() {
        // Just past the wrap is later for a 32-bit driver...
        let mut fences = [f32(0, 5, 0xffff_fffe, false), f32(1, 5, 1, false)];
        assert_eq!(merge(&mut fences), Merged::Single);
        assert_eq!(fences[0].id, 1);
        // ...and earlier for a 64-bit one.
        let mut fences = [f64(0, 5, 0xffff_fffe, false), f64(1, 5, 1, false)];
        assert_eq!(merge(&mut fences), Merged::Single);
        assert_eq!(fences[0].id, 0);
    }

    #[test]
    fn stub_timestamp_rule() {
        assert_eq!(stub_timestamp([]), 0);
        assert_eq!(stub_timestamp([5, 9, 2]), 9);
        assert_eq!(stub_timestamp([-5, -1]), 0);
        assert_eq!(stub_timestamp([-5, 3]), 3);
    }

    /// One generated fence: context (small, to collide), offset from the
    /// context's base seqno, signalled or not.
    fn fence_spec() -> impl Strategy<Value = (u64, u64, bool)> {
        (0u64..5, prop_oneof![0u64..6, 0u64..HALF], any::<bool>())
    }

    /// Per-context widths and base seqnos: 32-bit bases near the wrap, 64-bit
    /// bases anywhere that leaves room for the offsets.
    fn contexts() -> impl Strategy<Value = Vec<(SeqnoWidth, u64)>> {
        proptest::collection::vec(
            prop_oneof![
                (0u64..=u64::MAX - HALF).prop_map(|b| (SeqnoWidth::Bits64, b)),
                (any::<u32>(), 0u64..(1 << 32))
                    .prop_map(|(hi, b)| (SeqnoWidth::Bits32, (u64::from(hi) << 32) | b)),
                (0u64..8).prop_map(|d| (SeqnoWidth::Bits32, 0xffff_fff8 + d)),
            ],
            5,
        )
    }

    /// Builds the fences, giving 32-bit seqnos random high halves (which must not matter).
    fn build(
        ctx: &[(SeqnoWidth, u64)],
        specs: &[(u64, u64, bool)],
        highs: &[u32],
    ) -> Vec<FenceKey> {
        specs
            .iter()
            .enumerate()
            .map(|(id, &(context, offset, signaled))| {
                let (width, base) = ctx[context as usize];
                let seqno = match width {
                    SeqnoWidth::Bits64 => base + offset,
                    SeqnoWidth::Bits32 => {
                        let low = base.wrapping_add(offset) & 0xffff_ffff;
                        (u64::from(highs[id % highs.len()]) << 32) | low
                    }
                };
                FenceKey {
                    id,
                    context,
                    seqno,
                    width,
                    signaled,
                }
            })
            .collect()
    }

    /// Naive model: for each context with a pending fence, in ascending order, the
    /// ids of every pending fence whose offset from the context base is largest.
    /// Offsets stay below 2^31, so "latest" is well defined even for 32-bit seqnos.
    fn model(specs: &[(u64, u64, bool)]) -> Vec<(u64, Vec<usize>)> {
        let mut best: BTreeMap<u64, (u64, Vec<usize>)> = BTreeMap::new();
        for (id, &(context, offset, signaled)) in specs.iter().enumerate() {
            if signaled {
                continue;
            }
            let e = best.entry(context).or_insert((offset, Vec::new()));
            if offset > e.0 {
                *e = (offset, Vec::new());
            }
            if offset == e.0 {
                e.1.push(id);
            }
        }
        best.into_iter().map(|(c, (_, ids))| (c, ids)).collect()
    }

    proptest! {
        #[test]
        fn matches_naive_model(
            ctx in contexts(),
            specs in proptest::collection::vec(fence_spec(), 0..24),
            highs in proptest::collection::vec(any::<u32>(), 1..4),
        ) {
            let keys = build(&ctx, &specs, &highs);
            let asked: Vec<Cell<u32>> = keys.iter().map(|_| Cell::new(0)).collect();
            let mut fences: Vec<Probe<'_>> =
                keys.iter().zip(&asked).map(|(&key, asked)| Probe { key, asked }).collect();
            let result = merge(&mut fences);
            let expected = model(&specs);

            // Every fence asked exactly once.
            prop_assert!(fences.iter().all(|f| f.asked.get() == 1));
            // Still a permutation of the input.
            let mut out: Vec<usize> = fences.iter().map(|f| f.key.id).collect();
            out.sort_unstable();
            prop_assert_eq!(out, (0..keys.len()).collect::<Vec<_>>());
            // Right case and count.
            let want = match expected.len() {
                0 => Merged::Stub,
                1 => Merged::Single,
                n => Merged::Array(n),
            };
            prop_assert_eq!(result, want);
            // Right fence, per context, in context order.
            for (f, (context, allowed)) in fences.iter().zip(&expected) {
                prop_assert_eq!(f.key.context, *context);
                prop_assert!(
                    allowed.contains(&f.key.id),
                    "kept {:?}, allowed {:?}",
                    f.key,
                    allowed
                );
            }
        }

        #[test]
        fn arbitrary_seqnos_keep_one_pending_per_context(
            raw in proptest::collection::vec(
                (0u64..4, any::<u64>(), any::<bool>(), any::<bool>()),
                0..24,
            ),
        ) {
            // No window on the seqnos: "latest" may be undefined for 32-bit
            // fences, but the structure of the result must still hold.
            let keys: Vec<FenceKey> = raw
                .iter()
                .enumerate()
                .map(|(id, &(context, seqno, w64, signaled))| FenceKey {
                    id,
                    context,
                    seqno,
                    width: SeqnoWidth::from_use_64bit_seqno(w64),
                    signaled,
                })
                .collect();
            let mut fences = keys.clone();
            let n = merge(&mut fences).len();
            let mut contexts: Vec<u64> =
                keys.iter().filter(|f| !f.signaled).map(|f| f.context).collect();
            contexts.sort_unstable();
            contexts.dedup();
            prop_assert_eq!(fences[..n].iter().map(|f| f.context).collect::<Vec<_>>(), contexts);
            prop_assert!(fences[..n].iter().all(|f| !f.signaled));
            // Where a context is all 64-bit, the kept fence has its largest seqno.
            for f in &fences[..n] {
                let same: Vec<&FenceKey> =
                    keys.iter().filter(|g| g.context == f.context && !g.signaled).collect();
                if same.iter().all(|g| g.width == SeqnoWidth::Bits64) {
                    prop_assert_eq!(Some(f.seqno), same.iter().map(|g| g.seqno).max());
                }
            }
        }

        #[test]
        fn stub_timestamp_is_max_with_zero(ts in proptest::collection::vec(any::<i64>(), 0..8)) {
            let model = ts.iter().copied().chain([0]).max().unwrap();
            prop_assert_eq!(stub_timestamp(ts.iter().copied()), model);
        }
    }
}
