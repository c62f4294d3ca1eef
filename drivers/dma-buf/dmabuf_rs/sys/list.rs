// SPDX-License-Identifier: GPL-2.0-only

//! The kernel's intrusive doubly linked list (`struct list_head`,
//! `include/linux/list.h`): its operations, and [`Entries`], the walk of
//! `list_for_each`.
//!
//! An entry's membership outlives any borrow Rust could check (it ends when
//! someone, maybe C, unlinks it), and which lock protects a list is the
//! owner's rule, so the operations that link and unlink stay `unsafe`, each
//! naming what its caller must hold. The owners (a fence's callback list
//! under the fence lock, a dma-buf's attachments under its reservation lock,
//! the debugfs list under its mutex) wrap them in typed accessors.

use core::marker::PhantomData;
use core::ptr::{addr_of_mut, NonNull};
use kernel::bindings;

/// The entries of a list, from first to last, as `list_for_each`: the link
/// to an entry's successor is read when the walk moves past it, so an entry
/// may be used (not unlinked) by the caller in between.
///
/// # Invariants
///
/// `head` is a valid list head whose list is not changed for `'a` (its
/// protecting lock is held), and `cur` is `head` or one of its entries.
pub(crate) struct Entries<'a> {
    head: *mut bindings::list_head,
    cur: *mut bindings::list_head,
    _list: PhantomData<&'a bindings::list_head>,
}

impl<'a> Entries<'a> {
    /// Walks the list at `head`.
    ///
    /// # Safety
    ///
    /// `head` must be a valid list head, and its list must not change for
    /// `'a` (the caller holds the lock that protects it).
    #[inline]
    pub(crate) unsafe fn new(head: *mut bindings::list_head) -> Self {
        // INVARIANT: The caller's promise; the walk starts at the head.
        Self {
            head,
            cur: head,
            _list: PhantomData,
        }
    }
}

impl Iterator for Entries<'_> {
    type Item = NonNull<bindings::list_head>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        // SAFETY: `cur` is the head or an entry of the unchanging list (type
        // invariant), so its `next` link is valid to read.
        let next = unsafe { (*self.cur).next };
        if next == self.head {
            return None;
        }
        // INVARIANT: `next` is an entry of the list.
        self.cur = next;
        NonNull::new(next)
    }
}

/// A `list_head` on no list, for a list head that is about to be set up.
pub(crate) const LIST_HEAD_UNLINKED: bindings::list_head = bindings::list_head {
    next: core::ptr::null_mut(),
    prev: core::ptr::null_mut(),
};

/// `list_replace`: puts `new` where `old` is on its list (`new` becomes an
/// empty list if `old` was one); `old`'s own pointers are left stale.
///
/// # Safety
///
/// `old` must be a valid list entry (or head), its neighbours valid, and the
/// caller must hold whatever lock protects the list; `new` valid for writes.
#[inline]
pub(crate) unsafe fn list_replace(old: *mut bindings::list_head, new: *mut bindings::list_head) {
    // SAFETY: The caller's promise. The same four plain stores as the C
    // inline, in the same order (for an empty `old`, `new` ends up pointing
    // to itself).
    unsafe {
        (*new).next = (*old).next;
        (*(*new).next).prev = new;
        (*new).prev = (*old).prev;
        (*(*new).prev).next = new;
    }
}

// `list_add_tail()` and `list_del_init()` check the list's links first in
// kernels with DEBUG_LIST or LIST_HARDENED (and report corruption); there
// the core goes through the shims, so that it keeps those checks. Elsewhere
// they are a few stores, done here inline.

/// `list_add_tail`: adds `new` at the end of the list at `head`.
///
/// # Safety
///
/// `head` must be a valid list head, `new` valid for writes and on no list,
/// and the caller must hold whatever lock protects the list.
#[inline]
pub(crate) unsafe fn list_add_tail(new: *mut bindings::list_head, head: *mut bindings::list_head) {
    #[cfg(any(CONFIG_DEBUG_LIST, CONFIG_LIST_HARDENED))]
    // SAFETY: The caller's promise.
    unsafe {
        bindings::dmabuf_rs_list_add_tail(new, head)
    };
    #[cfg(not(any(CONFIG_DEBUG_LIST, CONFIG_LIST_HARDENED)))]
    // SAFETY: The caller's promise. `__list_add(new, head->prev, head)`: the
    // last store volatile like its WRITE_ONCE (lockless `list_empty`
    // readers).
    unsafe {
        let prev = (*head).prev;
        (*head).prev = new;
        (*new).next = head;
        (*new).prev = prev;
        addr_of_mut!((*prev).next).write_volatile(new);
    };
}

/// `list_add`: adds `new` at the start of the list at `head`.
///
/// # Safety
///
/// `head` must be a valid list head, `new` valid for writes and on no list,
/// and the caller must hold whatever lock protects the list.
#[inline]
pub(crate) unsafe fn list_add(new: *mut bindings::list_head, head: *mut bindings::list_head) {
    #[cfg(any(CONFIG_DEBUG_LIST, CONFIG_LIST_HARDENED))]
    // SAFETY: The caller's promise.
    unsafe {
        bindings::dmabuf_rs_list_add(new, head)
    };
    #[cfg(not(any(CONFIG_DEBUG_LIST, CONFIG_LIST_HARDENED)))]
    // SAFETY: The caller's promise. `__list_add(new, head, head->next)`, as
    // in `list_add_tail`.
    unsafe {
        let next = (*head).next;
        (*next).prev = new;
        (*new).next = next;
        (*new).prev = head;
        addr_of_mut!((*head).next).write_volatile(new);
    };
}

/// `list_del`: takes `entry` off its list and poisons its links, so that a
/// use after the removal faults at a recognisable address.
///
/// # Safety
///
/// `entry` must be on a valid list, and the caller must hold whatever lock
/// protects the list.
#[inline]
pub(crate) unsafe fn list_del(entry: *mut bindings::list_head) {
    // The poison values need `POISON_POINTER_DELTA`, known here on the
    // 64-bit architectures the core is built for; elsewhere, the shim.
    #[cfg(any(
        CONFIG_DEBUG_LIST,
        CONFIG_LIST_HARDENED,
        not(any(CONFIG_X86_64, CONFIG_ARM64))
    ))]
    // SAFETY: The caller's promise.
    unsafe {
        bindings::dmabuf_rs_list_del(entry)
    };
    #[cfg(not(any(
        CONFIG_DEBUG_LIST,
        CONFIG_LIST_HARDENED,
        not(any(CONFIG_X86_64, CONFIG_ARM64))
    )))]
    // SAFETY: The caller's promise. `__list_del(prev, next)` (its store to
    // `prev->next` volatile, like the WRITE_ONCE), then `LIST_POISON1` and
    // `LIST_POISON2` (`0x100` and `0x122` past `POISON_POINTER_DELTA`).
    unsafe {
        let delta = bindings::CONFIG_ILLEGAL_POINTER_VALUE as usize;
        let (prev, next) = ((*entry).prev, (*entry).next);
        (*next).prev = prev;
        addr_of_mut!((*prev).next).write_volatile(next);
        (*entry).next = core::ptr::without_provenance_mut(delta + 0x100);
        (*entry).prev = core::ptr::without_provenance_mut(delta + 0x122);
    }
}

/// `list_del_init`: takes `entry` off its list and makes it an empty list.
///
/// # Safety
///
/// `entry` must be on a valid list, and the caller must hold whatever lock
/// protects the list.
#[inline]
pub(crate) unsafe fn list_del_init(entry: *mut bindings::list_head) {
    #[cfg(any(CONFIG_DEBUG_LIST, CONFIG_LIST_HARDENED))]
    // SAFETY: The caller's promise.
    unsafe {
        bindings::dmabuf_rs_list_del_init(entry)
    };
    #[cfg(not(any(CONFIG_DEBUG_LIST, CONFIG_LIST_HARDENED)))]
    // SAFETY: The caller's promise. `__list_del(prev, next)` (its store to
    // `prev->next` volatile, like the WRITE_ONCE), then `INIT_LIST_HEAD`.
    unsafe {
        let (prev, next) = ((*entry).prev, (*entry).next);
        (*next).prev = prev;
        addr_of_mut!((*prev).next).write_volatile(next);
        init_list_head(entry);
    }
}

/// `INIT_LIST_HEAD`: makes `list` an empty list.
///
/// # Safety
///
/// `list` must be valid for writes.
pub(crate) unsafe fn init_list_head(list: *mut bindings::list_head) {
    // SAFETY: The caller guarantees `list` is writable. Volatile, like the
    // WRITE_ONCEs of the C inline, as lockless readers may look at it.
    unsafe {
        addr_of_mut!((*list).next).write_volatile(list);
        addr_of_mut!((*list).prev).write_volatile(list);
    }
}

/// `list_empty`: whether `list` has no entries.
///
/// # Safety
///
/// `list` must be valid for reads.
pub(crate) unsafe fn list_empty(list: *mut bindings::list_head) -> bool {
    // SAFETY: The caller guarantees `list` is readable; READ_ONCE as in C.
    unsafe { addr_of_mut!((*list).next).read_volatile() == list }
}
