// SPDX-License-Identifier: GPL-2.0-only

//! What the pure logic needs to know about a fence.
//!
//! The merge and reservation rules look at a handful of a fence's properties:
//! its identity, context, seqno and seqno width, and whether it has signalled.
//! [`FenceView`] asks for exactly those, so the kernel side can implement it for
//! its fence references (reading `struct dma_fence` fields and calling
//! `dma_fence_is_signaled()`), and tests can implement it for plain values such as
//! [`FenceKey`].

use super::seqno::{self, SeqnoWidth};

/// The properties of a fence that the pure logic reads.
pub trait FenceView {
    /// Returns a value that is equal for two views exactly when they show the same
    /// fence; the kernel side uses the `struct dma_fence` address.
    fn id(&self) -> usize;

    /// Returns the fence's context (`fence->context`).
    fn context(&self) -> u64;

    /// Returns the fence's seqno (`fence->seqno`).
    fn seqno(&self) -> u64;

    /// Returns how the fence's seqnos compare (`fence->ops->use_64bit_seqno`).
    fn seqno_width(&self) -> SeqnoWidth;

    /// Returns whether the fence has signalled, as `dma_fence_is_signaled()`.
    ///
    /// In C that call may itself signal the fence (through `ops->signaled`), so
    /// the functions of this library document when and how often they call it.
    fn is_signaled(&self) -> bool;
}

impl<T: FenceView + ?Sized> FenceView for &T {
    fn id(&self) -> usize {
        (**self).id()
    }
    fn context(&self) -> u64 {
        (**self).context()
    }
    fn seqno(&self) -> u64 {
        (**self).seqno()
    }
    fn seqno_width(&self) -> SeqnoWidth {
        (**self).seqno_width()
    }
    fn is_signaled(&self) -> bool {
        (**self).is_signaled()
    }
}

/// A fence described by plain values, for callers that copy the properties out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FenceKey {
    /// The fence's identity, for example an index into the caller's own array.
    pub id: usize,
    /// The fence's context.
    pub context: u64,
    /// The fence's seqno.
    pub seqno: u64,
    /// How the fence's seqnos compare.
    pub width: SeqnoWidth,
    /// Whether the fence has signalled.
    pub signaled: bool,
}

impl FenceView for FenceKey {
    fn id(&self) -> usize {
        self.id
    }
    fn context(&self) -> u64 {
        self.context
    }
    fn seqno(&self) -> u64 {
        self.seqno
    }
    fn seqno_width(&self) -> SeqnoWidth {
        self.width
    }
    fn is_signaled(&self) -> bool {
        self.signaled
    }
}

/// Returns whether fence `f1` is later than fence `f2`, or `None` across contexts.
///
/// This is C's `dma_fence_is_later(f1, f2)`: the seqnos are compared with
/// [`seqno::is_later`] in `f1`'s width. Fences of different contexts have no order;
/// C then warns (`WARN_ON`) and answers false, and the kernel side does the same
/// on `None`.
pub fn is_later<A: FenceView + ?Sized, B: FenceView + ?Sized>(f1: &A, f2: &B) -> Option<bool> {
    if f1.context() != f2.context() {
        return None;
    }
    Some(seqno::is_later(f1.seqno(), f2.seqno(), f1.seqno_width()))
}

/// Returns whether `f1` is the same fence as `f2` or later, as `dma_fence_is_later_or_same()`.
///
/// The same fence is recognised by [`FenceView::id`] before contexts are looked
/// at; otherwise this is [`is_later`], with `None` (different contexts, where C
/// warns) also returned as is.
#[inline]
pub fn is_later_or_same<A: FenceView + ?Sized, B: FenceView + ?Sized>(
    f1: &A,
    f2: &B,
) -> Option<bool> {
    if f1.id() == f2.id() {
        return Some(true);
    }
    is_later(f1, f2)
}

/// Test helpers shared by the rules' tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::{FenceKey, FenceView, SeqnoWidth};
    use core::cell::Cell;

    /// A fence that counts, in `asked`, how often it is asked whether it has signalled.
    #[derive(Debug)]
    pub(crate) struct Probe<'a> {
        pub(crate) key: FenceKey,
        pub(crate) asked: &'a Cell<u32>,
    }

    impl FenceView for Probe<'_> {
        fn id(&self) -> usize {
            self.key.id
        }
        fn context(&self) -> u64 {
            self.key.context
        }
        fn seqno(&self) -> u64 {
            self.key.seqno
        }
        fn seqno_width(&self) -> SeqnoWidth {
            self.key.width
        }
        fn is_signaled(&self) -> bool {
            self.asked.set(self.asked.get() + 1);
            self.key.signaled
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: usize, context: u64, seqno: u64, width: SeqnoWidth) -> FenceKey {
        FenceKey {
            id,
            context,
            seqno,
            width,
            signaled: false,
        }
    }

    #[test]
    fn later_uses_first_fence_width() {
        let a = key(1, 7, 0, SeqnoWidth::Bits32);
        let b = key(2, 7, 0xffff_ffff, SeqnoWidth::Bits64);
        // Each direction uses its first fence's width, so with mixed widths on one
        // context both fences can be later than the other.
        assert_eq!(is_later(&a, &b), Some(true));
        assert_eq!(is_later(&b, &a), Some(true));
        let a64 = FenceKey {
            width: SeqnoWidth::Bits64,
            ..a
        };
        assert_eq!(is_later(&a64, &b), Some(false));
        assert_eq!(is_later(&b, &a64), Some(true));
    }

    #[test]
    fn different_contexts_are_unordered() {
        let a = key(1, 7, 9, SeqnoWidth::Bits64);
        let b = key(2, 8, 1, SeqnoWidth::Bits64);
        assert_eq!(is_later(&a, &b), None);
        assert_eq!(is_later_or_same(&a, &b), None);
    }

    #[test]
    fn same_fence_is_later_or_same() {
        let a = key(1, 7, 9, SeqnoWidth::Bits64);
        assert_eq!(is_later(&a, &a), Some(false));
        assert_eq!(is_later_or_same(&a, &a), Some(true));
        // An equal seqno on another fence is not enough.
        let b = key(2, 7, 9, SeqnoWidth::Bits64);
        assert_eq!(is_later_or_same(&a, &b), Some(false));
        let c = key(3, 7, 10, SeqnoWidth::Bits64);
        assert_eq!(is_later_or_same(&c, &a), Some(true));
    }

    #[test]
    fn references_are_views() {
        let a = key(1, 7, 9, SeqnoWidth::Bits64);
        let r: &FenceKey = &a;
        assert_eq!(FenceView::seqno(&r), 9);
        assert_eq!(is_later(&r, &a), Some(false));
    }
}
