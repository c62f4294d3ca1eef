// SPDX-License-Identifier: GPL-2.0-only

//! C strings the core reads but does not own: [`CStrPtr`], and `strscpy`
//! into fixed-size arrays.
//!
//! The names of a fence (from its ops), a dma-buf's name (under its name
//! lock) and an exporter's name are NUL-terminated strings that C hands out
//! for as long as their owner lives. Making a `&CStr` of one costs a
//! `strlen`, which C never pays: these go to `strscpy`, `%s` and `seq_puts`,
//! which only need the terminator. So the core keeps them as a pointer that
//! borrows from the owner.

use core::ffi::CStr;
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::bindings;
use kernel::ffi::c_char;

/// A NUL-terminated string that lives for `'a`, as a pointer (no length).
///
/// # Invariants
///
/// `ptr` points to a NUL-terminated string that is neither freed nor
/// changed for `'a`.
#[derive(Clone, Copy)]
pub(crate) struct CStrPtr<'a> {
    ptr: NonNull<c_char>,
    _str: PhantomData<&'a CStr>,
}

impl<'a> CStrPtr<'a> {
    /// The string at `ptr`, or `(null)` for NULL, as C's `%s` prints it.
    ///
    /// # Safety
    ///
    /// `ptr` must be NULL or a NUL-terminated string that is neither freed
    /// nor changed for `'a`.
    #[inline]
    pub(crate) unsafe fn from_ptr_or_null(ptr: *const c_char) -> Self {
        match NonNull::new(ptr.cast_mut()) {
            // INVARIANT: The caller's promise.
            Some(ptr) => Self {
                ptr,
                _str: PhantomData,
            },
            None => c"(null)".into(),
        }
    }

    /// The string at `ptr`, which C's contract says is not NULL (a fence's
    /// name callbacks): no check, as C makes none (its `strscpy` of a NULL
    /// name oopses).
    ///
    /// # Safety
    ///
    /// `ptr` must be a NUL-terminated string that is neither freed nor
    /// changed for `'a`.
    #[inline]
    pub(crate) unsafe fn from_ptr(ptr: *const c_char) -> Self {
        // INVARIANT: The caller's promise.
        Self {
            // SAFETY: A string is not NULL (caller's promise).
            ptr: unsafe { NonNull::new_unchecked(ptr.cast_mut()) },
            _str: PhantomData,
        }
    }

    /// The C pointer.
    #[inline]
    pub(crate) fn as_ptr(self) -> *const c_char {
        self.ptr.as_ptr()
    }
}

impl<'a> From<&'a CStr> for CStrPtr<'a> {
    #[inline]
    fn from(text: &'a CStr) -> Self {
        // INVARIANT: A `&CStr` is terminated and unchanged while borrowed.
        Self {
            ptr: NonNull::from(text).cast(),
            _str: PhantomData,
        }
    }
}

/// `strscpy(dst, src, N)`: copies `src` into `dst`, truncating and always
/// NUL-terminating (the bytes after the terminator are left as they were).
/// Returns the length copied, or `-E2BIG` if it was truncated.
#[inline]
pub(crate) fn strscpy<const N: usize>(dst: &mut [c_char; N], src: CStrPtr<'_>) -> isize {
    // SAFETY: `dst` has room for `N` bytes; `src` is a string (type
    // invariant), and `strscpy` reads no further than its terminator or
    // `N` bytes.
    unsafe { bindings::sized_strscpy(dst.as_mut_ptr(), src.as_ptr(), N) }
}

/// [`strscpy`] from an array that may lack a terminator (a name from
/// userspace): `strscpy` reads at most `N` bytes of it.
#[inline]
pub(crate) fn strscpy_array<const N: usize>(dst: &mut [c_char; N], src: &[c_char; N]) -> isize {
    // SAFETY: Both arrays have `N` bytes; `strscpy` reads at most `count`
    // (`N`) bytes of `src` (word at a time only within them), and writes at
    // most `N` into `dst`.
    unsafe { bindings::sized_strscpy(dst.as_mut_ptr(), src.as_ptr(), N) }
}

/// A `kmalloc`ed NUL-terminated string that the value owns, freed with
/// `kfree` on drop (or handed to C, which frees it so).
///
/// # Invariants
///
/// `self.0` is a `kmalloc`ed, NUL-terminated string that nothing else owns.
pub(crate) struct KString(NonNull<c_char>);

impl KString {
    /// `strndup_user(src, max)`: a copy of the string at the user address
    /// `src`, at most `max` bytes with its NUL; the negative errno of
    /// `strndup_user` (`-EFAULT`, `-EINVAL` if too long, `-ENOMEM`) otherwise.
    #[inline]
    pub(crate) fn strndup_user(
        src: *const c_char,
        max: kernel::ffi::c_long,
    ) -> Result<Self, kernel::ffi::c_long> {
        // SAFETY: `strndup_user` checks the user address itself; it returns
        // a new `kmalloc`ed string, ours, or an error pointer.
        let copy = unsafe { bindings::strndup_user(src, max) };
        if super::is_err(copy) {
            return Err(super::ptr_err(copy));
        }
        // INVARIANT: A new string that nothing else owns.
        // SAFETY: Not an error, so a string: `strndup_user` never returns
        // NULL.
        Ok(Self(unsafe { NonNull::new_unchecked(copy) }))
    }

    /// Gives up the string to C, which then owns it (and frees it with
    /// `kfree`).
    #[inline]
    pub(crate) fn into_raw(self) -> *mut c_char {
        let text = self.0.as_ptr();
        core::mem::forget(self);
        text
    }
}

impl Drop for KString {
    fn drop(&mut self) {
        // SAFETY: We own the `kmalloc`ed string (type invariant).
        unsafe { bindings::kfree(self.0.as_ptr().cast()) };
    }
}
