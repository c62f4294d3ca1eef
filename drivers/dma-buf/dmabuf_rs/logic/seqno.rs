// SPDX-License-Identifier: GPL-2.0-only

//! Fence seqno ordering, and the seqno rules of fence chain nodes.
//!
//! A fence's seqno orders it on its context (timeline). C header:
//! [`include/linux/dma-fence.h`](srctree/include/linux/dma-fence.h)
//! (`__dma_fence_is_later()`); chain rules from
//! [`drivers/dma-buf/dma-fence-chain.c`](srctree/drivers/dma-buf/dma-fence-chain.c)
//! (`dma_fence_chain_init()`, `dma_fence_chain_find_seqno()`).
//!
//! Seqnos are stored as `u64`, but a fence whose ops leave `use_64bit_seqno` false
//! is compared on the low 32 bits only, with wrap-around: such a driver's counter
//! may run past `u32::MAX` and start again at zero, and a seqno just past the wrap
//! must still count as later than one just before it. Two consequences follow
//! that callers must not overlook:
//!
//! - the 32-bit order is only meaningful between seqnos less than 2^31 apart:
//!   seqnos exactly 2^31 apart are *neither* later than the other, and over wider
//!   spreads the relation is not transitive (0 < 2^30·3/2 < 2^31·3/2 < 0);
//! - the high 32 bits are ignored, so `5` and `5 + 2^32` compare as the same seqno.

use super::errno::{Errno, EINVAL};

/// How many bits of a fence's seqno are compared: the C `ops->use_64bit_seqno`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SeqnoWidth {
    /// Only the low 32 bits count, compared with wrap-around (`use_64bit_seqno` false).
    Bits32,
    /// All 64 bits count, compared as plain unsigned numbers (`use_64bit_seqno` true).
    Bits64,
}

impl SeqnoWidth {
    /// Returns the width that a fence ops table's `use_64bit_seqno` flag selects.
    pub const fn from_use_64bit_seqno(use_64bit_seqno: bool) -> Self {
        if use_64bit_seqno {
            Self::Bits64
        } else {
            Self::Bits32
        }
    }
}

/// Returns whether seqno `f1` is chronologically later than seqno `f2`.
///
/// This is C's `__dma_fence_is_later(f1, f2, ops)`, with `width` standing for
/// `ops->use_64bit_seqno`. Both seqnos must come from one context: seqnos of
/// different contexts are not comparable, and this function cannot tell.
///
/// With [`SeqnoWidth::Bits64`] it is `f1 > f2`. With [`SeqnoWidth::Bits32`] it is
/// true when the low 32 bits of `f1` are 1 to 2^31 - 1 steps ahead of those of
/// `f2`, counting modulo 2^32 (C: `(int)(lower_32_bits(f1) - lower_32_bits(f2)) > 0`).
///
/// # Examples
///
/// ```
/// use dmabuf_rs_logic::seqno::{is_later, SeqnoWidth};
///
/// // Just past the 32-bit wrap is later than just before it...
/// assert!(is_later(0, 0xffff_ffff, SeqnoWidth::Bits32));
/// // ...but not for a driver with 64-bit seqnos.
/// assert!(!is_later(0, 0xffff_ffff, SeqnoWidth::Bits64));
/// ```
pub const fn is_later(f1: u64, f2: u64, width: SeqnoWidth) -> bool {
    match width {
        SeqnoWidth::Bits64 => f1 > f2,
        // Truncation to the low 32 bits, and reinterpretation of the difference
        // as signed, are the rule itself.
        SeqnoWidth::Bits32 => ((f1 as u32).wrapping_sub(f2 as u32) as i32) > 0,
    }
}

/// Where a new chain node takes its fence context from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainContext {
    /// The node continues the previous node's timeline and uses its context.
    Prev,
    /// The node starts a timeline: the caller allocates a fresh context
    /// (`dma_fence_context_alloc(1)`).
    Alloc,
}

/// The seqno bookkeeping of a new fence chain node, as `dma_fence_chain_init()` sets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainInit {
    /// Where the node's fence context comes from.
    pub context: ChainContext,
    /// The node's own seqno (`chain->base.seqno`).
    pub seqno: u64,
    /// The seqno of the previous node on the same context, or 0 when the node
    /// starts a timeline (`chain->prev_seqno`).
    pub prev_seqno: u64,
}

/// Returns the context choice and seqnos for a chain node added after `prev`.
///
/// `prev_chain_seqno` is the seqno of the previous fence when that fence is itself
/// a chain node, and `None` when there is no previous fence or it is not a chain
/// node (C: `to_dma_fence_chain(prev)` is NULL). `seqno` is the seqno the caller
/// asked for.
///
/// The rule of `dma_fence_chain_init()`:
///
/// - if the previous fence is a chain node and `seqno` is later than its seqno,
///   the node reuses the previous node's context and records its seqno as
///   `prev_seqno`. The comparison goes through the previous node's ops, which are
///   `dma_fence_chain_ops` with `use_64bit_seqno` set, so it is a plain 64-bit `>`;
/// - otherwise the node gets a fresh context and `prev_seqno` 0, and, if the
///   previous fence is a chain node, its seqno is raised to the previous node's
///   when that is larger, so that a chain's seqno never goes backwards;
/// - a previous fence that is not a chain node never lends its context or seqno.
pub const fn chain_init(prev_chain_seqno: Option<u64>, seqno: u64) -> ChainInit {
    match prev_chain_seqno {
        Some(prev) if is_later(seqno, prev, SeqnoWidth::Bits64) => ChainInit {
            context: ChainContext::Prev,
            seqno,
            prev_seqno: prev,
        },
        Some(prev) => ChainInit {
            context: ChainContext::Alloc,
            seqno: if prev > seqno { prev } else { seqno },
            prev_seqno: 0,
        },
        None => ChainInit {
            context: ChainContext::Alloc,
            seqno,
            prev_seqno: 0,
        },
    }
}

/// What `dma_fence_chain_find_seqno()` does before walking the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FindSeqno {
    /// Seqno 0 asks for nothing: the fence is left as it is and 0 is returned,
    /// whatever kind of fence it is.
    Noop,
    /// Walk the chain from the head, stopping at the first node for which
    /// [`chain_find_seqno_stops`] holds.
    Walk,
}

/// Checks the arguments of `dma_fence_chain_find_seqno()`.
///
/// `head_chain_seqno` is the seqno of the fence passed in when it is a chain node,
/// and `None` when it is not. Returns [`EINVAL`] when the fence is not a chain
/// node or its seqno has not yet reached `seqno` (a 64-bit compare, whatever the
/// contained fences use), except that seqno 0 is always a no-op.
pub const fn chain_find_seqno_start(
    head_chain_seqno: Option<u64>,
    seqno: u64,
) -> Result<FindSeqno, Errno> {
    if seqno == 0 {
        return Ok(FindSeqno::Noop);
    }
    match head_chain_seqno {
        Some(head) if head >= seqno => Ok(FindSeqno::Walk),
        _ => Err(EINVAL),
    }
}

/// Returns whether the walk of `dma_fence_chain_find_seqno()` stops at a node.
///
/// The walk stops at the first node, starting with the head itself, that is on
/// another context than the head, or whose predecessor on the timeline is older
/// than `seqno` (`prev_seqno < seqno`): that node is the one that signals `seqno`.
/// A node on the head's context is always a chain node, so `node_prev_seqno` is
/// only read for those.
pub const fn chain_find_seqno_stops(
    head_context: u64,
    node_context: u64,
    node_prev_seqno: u64,
    seqno: u64,
) -> bool {
    node_context != head_context || node_prev_seqno < seqno
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    const HALF: u64 = 1 << 31;
    const WRAP: u64 = 1 << 32;

    /// Independent model of the 32-bit rule: the forward distance from `f2` to
    /// `f1` on a circle of 2^32 seqnos, computed in wide signed arithmetic.
    fn model_later_32(f1: u64, f2: u64) -> bool {
        let d = (i128::from(f1 % WRAP) - i128::from(f2 % WRAP)).rem_euclid(i128::from(WRAP));
        d >= 1 && d < i128::from(HALF)
    }

    fn width() -> impl Strategy<Value = SeqnoWidth> {
        prop_oneof![Just(SeqnoWidth::Bits32), Just(SeqnoWidth::Bits64)]
    }

    /// Seqnos that cluster around the interesting edges (0, 2^31, 2^32, u64::MAX).
    fn seqno() -> impl Strategy<Value = u64> {
        prop_oneof![
            any::<u64>(),
            0u64..8,
            (0u64..8).prop_map(|d| HALF - 4 + d),
            (0u64..8).prop_map(|d| WRAP - 4 + d),
            (0u64..8).prop_map(|d| u64::MAX - d),
        ]
    }

    #[test]
    fn width_from_flag() {
        assert_eq!(SeqnoWidth::from_use_64bit_seqno(true), SeqnoWidth::Bits64);
        assert_eq!(SeqnoWidth::from_use_64bit_seqno(false), SeqnoWidth::Bits32);
    }

    #[test]
    fn edges_32bit() {
        use SeqnoWidth::Bits32;
        assert!(is_later(1, 0, Bits32));
        assert!(!is_later(0, 1, Bits32));
        assert!(is_later(0, 0xffff_ffff, Bits32));
        assert!(!is_later(0xffff_ffff, 0, Bits32));
        assert!(is_later(HALF - 1, 0, Bits32));
        assert!(!is_later(0, HALF - 1, Bits32));
        // Exactly half the circle apart: unordered both ways.
        assert!(!is_later(HALF, 0, Bits32));
        assert!(!is_later(0, HALF, Bits32));
        assert!(is_later(HALF + 1, 2, Bits32));
        assert!(is_later(2, HALF + 3, Bits32));
        // The high half is ignored.
        assert!(!is_later(WRAP, 0, Bits32));
        assert!(!is_later(WRAP + 5, 5, Bits32));
        assert!(is_later(6, WRAP + 5, Bits32));
        // Not transitive over more than half the circle.
        let (a, b, c) = (0, 3 * (1 << 29), 3 * (1 << 30));
        assert!(is_later(b, a, Bits32) && is_later(c, b, Bits32) && is_later(a, c, Bits32));
    }

    #[test]
    fn edges_64bit() {
        use SeqnoWidth::Bits64;
        assert!(is_later(1, 0, Bits64));
        assert!(!is_later(0, 0xffff_ffff, Bits64));
        assert!(is_later(WRAP, 0xffff_ffff, Bits64));
        assert!(is_later(u64::MAX, 0, Bits64));
        assert!(!is_later(0, u64::MAX, Bits64));
        assert!(!is_later(7, 7, Bits64));
    }

    #[test]
    fn chain_init_matrix() {
        assert_eq!(
            chain_init(None, 5),
            ChainInit {
                context: ChainContext::Alloc,
                seqno: 5,
                prev_seqno: 0
            }
        );
        assert_eq!(
            chain_init(None, 0),
            ChainInit {
                context: ChainContext::Alloc,
                seqno: 0,
                prev_seqno: 0
            }
        );
        assert_eq!(
            chain_init(Some(4), 5),
            ChainInit {
                context: ChainContext::Prev,
                seqno: 5,
                prev_seqno: 4
            }
        );
        // Same seqno is not later: new timeline, seqno kept.
        assert_eq!(
            chain_init(Some(5), 5),
            ChainInit {
                context: ChainContext::Alloc,
                seqno: 5,
                prev_seqno: 0
            }
        );
        // Going backwards: new timeline, seqno raised to the previous node's.
        assert_eq!(
            chain_init(Some(9), 5),
            ChainInit {
                context: ChainContext::Alloc,
                seqno: 9,
                prev_seqno: 0
            }
        );
        // Chain seqnos are 64-bit: no wrap-around reuse.
        assert_eq!(
            chain_init(Some(0xffff_ffff), WRAP),
            ChainInit {
                context: ChainContext::Prev,
                seqno: WRAP,
                prev_seqno: 0xffff_ffff
            }
        );
        assert_eq!(
            chain_init(Some(0xffff_ffff), 0),
            ChainInit {
                context: ChainContext::Alloc,
                seqno: 0xffff_ffff,
                prev_seqno: 0
            }
        );
    }

    #[test]
    fn find_seqno_start_matrix() {
        assert_eq!(chain_find_seqno_start(None, 0), Ok(FindSeqno::Noop));
        assert_eq!(chain_find_seqno_start(Some(3), 0), Ok(FindSeqno::Noop));
        assert_eq!(chain_find_seqno_start(None, 1), Err(EINVAL));
        assert_eq!(chain_find_seqno_start(Some(3), 4), Err(EINVAL));
        assert_eq!(chain_find_seqno_start(Some(3), 3), Ok(FindSeqno::Walk));
        assert_eq!(chain_find_seqno_start(Some(3), 1), Ok(FindSeqno::Walk));
    }

    #[test]
    fn find_seqno_stop_matrix() {
        // Head context 1, looking for seqno 5.
        assert!(!chain_find_seqno_stops(1, 1, 5, 5));
        assert!(!chain_find_seqno_stops(1, 1, 9, 5));
        assert!(chain_find_seqno_stops(1, 1, 4, 5));
        assert!(chain_find_seqno_stops(1, 1, 0, 5));
        // Leaving the head's timeline always stops, whatever prev_seqno says.
        assert!(chain_find_seqno_stops(1, 2, 9, 5));
    }

    /// A chain node as the tests build it: context id, seqno, prev_seqno.
    #[derive(Clone, Copy, Debug)]
    struct Node {
        context: u64,
        seqno: u64,
        prev_seqno: u64,
    }

    /// Builds a chain (newest node first) by adding nodes with `seqnos` in order,
    /// starting after a plain, non-chain fence on context 0.
    fn build_chain(seqnos: &[u64]) -> Vec<Node> {
        let mut next_context = 1;
        let mut nodes: Vec<Node> = Vec::new();
        for &s in seqnos {
            let init = chain_init(nodes.first().map(|n| n.seqno), s);
            let context = match init.context {
                ChainContext::Prev => nodes[0].context,
                ChainContext::Alloc => {
                    next_context += 1;
                    next_context
                }
            };
            nodes.insert(
                0,
                Node {
                    context,
                    seqno: init.seqno,
                    prev_seqno: init.prev_seqno,
                },
            );
        }
        nodes
    }

    proptest! {
        #[test]
        fn irreflexive(a in seqno(), w in width()) {
            prop_assert!(!is_later(a, a, w));
        }

        #[test]
        fn antisymmetric(a in seqno(), b in seqno(), w in width()) {
            prop_assert!(!(is_later(a, b, w) && is_later(b, a, w)));
        }

        #[test]
        fn bits64_is_total_order(a in seqno(), b in seqno()) {
            let n = [is_later(a, b, SeqnoWidth::Bits64), is_later(b, a, SeqnoWidth::Bits64), a == b]
                .iter()
                .filter(|x| **x)
                .count();
            prop_assert_eq!(n, 1);
            prop_assert_eq!(is_later(a, b, SeqnoWidth::Bits64), a > b);
        }

        #[test]
        fn bits32_matches_model(a in seqno(), b in seqno()) {
            prop_assert_eq!(is_later(a, b, SeqnoWidth::Bits32), model_later_32(a, b));
        }

        #[test]
        fn bits32_ignores_high_half(
            a in seqno(),
            b in seqno(),
            ha in any::<u32>(),
            hb in any::<u32>(),
        ) {
            let a2 = (a & 0xffff_ffff) | (u64::from(ha) << 32);
            let b2 = (b & 0xffff_ffff) | (u64::from(hb) << 32);
            prop_assert_eq!(
                is_later(a, b, SeqnoWidth::Bits32),
                is_later(a2, b2, SeqnoWidth::Bits32)
            );
        }

        #[test]
        fn bits32_later_within_half_window(a in seqno(), d in 1u64..HALF) {
            // Counting d steps on from a, across the wrap or not, is later...
            let b = a.wrapping_add(d);
            prop_assert!(is_later(b, a, SeqnoWidth::Bits32));
            prop_assert!(!is_later(a, b, SeqnoWidth::Bits32));
            // ...and d steps back is earlier.
            let c = a.wrapping_sub(d);
            prop_assert!(is_later(a, c, SeqnoWidth::Bits32));
        }

        #[test]
        fn bits32_half_apart_is_unordered(a in seqno()) {
            let b = a.wrapping_add(HALF);
            prop_assert!(!is_later(a, b, SeqnoWidth::Bits32));
            prop_assert!(!is_later(b, a, SeqnoWidth::Bits32));
        }

        #[test]
        fn chain_init_rule(prev in proptest::option::of(seqno()), s in seqno()) {
            let init = chain_init(prev, s);
            match prev {
                None => {
                    let fresh = ChainInit { context: ChainContext::Alloc, seqno: s, prev_seqno: 0 };
                    prop_assert_eq!(init, fresh);
                }
                Some(p) => {
                    prop_assert_eq!(init.context == ChainContext::Prev, s > p);
                    prop_assert_eq!(init.seqno, s.max(p));
                    prop_assert_eq!(init.prev_seqno, if s > p { p } else { 0 });
                }
            }
        }

        #[test]
        fn find_seqno_walk_finds_signalling_node(
            mut seqnos in proptest::collection::vec(1u64..40, 1..12),
            mostly_rising in any::<bool>(),
            pick in any::<proptest::sample::Index>(),
            exact in any::<bool>(),
            random_target in 1u64..45,
        ) {
            // Rising seqnos make long timelines; random ones break them often.
            if mostly_rising {
                seqnos.sort_unstable();
            }
            // Aim at a node's own seqno half of the time: the boundary case.
            let target = if exact { *pick.get(&seqnos) } else { random_target };
            let chain = build_chain(&seqnos);
            let head = chain[0];
            match chain_find_seqno_start(Some(head.seqno), target) {
                Err(e) => prop_assert!(e == EINVAL && head.seqno < target),
                Ok(FindSeqno::Noop) => prop_assert!(false, "target is never 0"),
                Ok(FindSeqno::Walk) => {
                    let found = chain.iter().position(|n| {
                        chain_find_seqno_stops(head.context, n.context, n.prev_seqno, target)
                    });
                    // Model: the oldest node of the head's timeline whose seqno
                    // has reached the target.
                    let run = chain.iter().take_while(|n| n.context == head.context).count();
                    let model = (0..run).filter(|&i| chain[i].seqno >= target).max();
                    prop_assert_eq!(found, model);
                }
            }
        }
    }
}
