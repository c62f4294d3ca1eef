// SPDX-License-Identifier: GPL-2.0-only

//! All-zero values of C structs: what C's static and `{}` initialisers give
//! the members a table or a cursor leaves out.
//!
//! The kernel crate has this concept as `kernel::init::Zeroable`, but the
//! orphan rule keeps us from implementing its trait for its bindgen types, so
//! the core lists the C types it zero-initialises here, each with the reason
//! zero is a valid value of it.

use kernel::bindings;

/// A C type for which all-zero bytes are a valid value.
///
/// # Safety
///
/// Every field of the type is valid when all its bytes are zero (integers,
/// `bool`s, raw pointers, `Option`s of function pointers or references,
/// unions and arrays of these).
pub(crate) unsafe trait Zeroed: Sized {}

/// The all-zero value of `T`.
#[inline(always)]
pub(crate) const fn zeroed<T: Zeroed>() -> T {
    // SAFETY: All-zero is a valid `T` (`Zeroed`'s contract).
    unsafe { core::mem::zeroed() }
}

// SAFETY: Optional callbacks (`Option` of function pointers: NULL), flags,
// the owner pointer and a `bool`: the C tables' designated initialisers leave
// them zero.
unsafe impl Zeroed for bindings::file_operations {}
// SAFETY: Optional callbacks only.
unsafe impl Zeroed for bindings::dentry_operations {}
// SAFETY: Optional callbacks, flags, pointers, list heads (NULL: not yet on
// a list, as in the C static initialiser) and lockdep keys (all-zero in
// static storage is what lockdep expects).
unsafe impl Zeroed for bindings::file_system_type {}
// SAFETY: Optional callbacks and a `bool`.
unsafe impl Zeroed for bindings::dma_fence_ops {}
// SAFETY: A key pointer, a name pointer, class caches and small integers: an
// all-zero map with a name is the static initialiser of `STATIC_LOCKDEP_MAP_INIT`.
unsafe impl Zeroed for bindings::lockdep_map {}
// SAFETY: Pointers (the NULL `ops` marks the fence uninitialised), integers,
// and a union of a list head, a timestamp and an RCU head: the C core's
// `static struct dma_fence`.
unsafe impl Zeroed for bindings::dma_fence {}
// SAFETY: NULL pointers, zero counts and `false`: a cursor before its first
// step.
unsafe impl Zeroed for bindings::dma_resv_iter {}
