// SPDX-License-Identifier: GPL-2.0-only

//! C strings the core reads but does not own ([`CStrPtr`]), and the two
//! ways it writes text into C buffers: the kernel's `strscpy`, and
//! [`BufWriter`], which formats with Rust's typed `write!` as `snprintf`
//! would with a format string.
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

    /// Whether the string is empty (its first byte is the terminator).
    #[inline]
    pub(crate) fn is_empty(self) -> bool {
        // SAFETY: A terminated string has at least its terminator (type
        // invariant).
        unsafe { *self.ptr.as_ptr() == 0 }
    }

    /// The string's bytes, without the terminator (this is the `strlen`).
    #[inline]
    pub(crate) fn to_bytes(self) -> &'a [u8] {
        // SAFETY: A terminated string, unchanged for `'a` (type invariant).
        unsafe { CStr::from_ptr(self.ptr.as_ptr().cast()) }.to_bytes()
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

/// `strscpy(dst, src, dst.len())`: copies `src` into `dst`, truncating and
/// NUL-terminating unless `dst` is empty. Returns the length copied, or
/// `-E2BIG` if it was truncated (or `dst` is empty).
///
/// The kernel's own `strscpy`, not a copy: it may zero the bytes after the
/// terminator up to the end of its last word, and callers that hand the
/// buffer to userspace must show the same bytes as the C core.
#[inline]
pub(crate) fn strscpy(dst: &mut [c_char], src: CStrPtr<'_>) -> isize {
    // SAFETY: `dst` has room for its length; `src` is a string (type
    // invariant), and `strscpy` reads no further than its terminator or
    // `dst.len()` bytes.
    unsafe { bindings::sized_strscpy(dst.as_mut_ptr(), src.as_ptr(), dst.len()) }
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

/// Text written into a C buffer the way `snprintf` writes it: cut off where
/// it no longer fits, then NUL-terminated (unless the buffer has no room at
/// all); the bytes after the terminator are left as they were.
///
/// Formatting with Rust's typed `write!` instead of a C format string means
/// no conversion can disagree with its argument.
///
/// # Invariants
///
/// `len < buf.len()`, or `len == 0` for an empty buffer.
pub(crate) struct BufWriter<'a> {
    buf: &'a mut [c_char],
    len: usize,
}

impl<'a> BufWriter<'a> {
    /// An empty text at the start of `buf`.
    #[inline]
    pub(crate) fn new(buf: &'a mut [c_char]) -> Self {
        // INVARIANT: Nothing written.
        Self { buf, len: 0 }
    }

    /// Appends what fits of `bytes`, keeping a byte for the terminator.
    #[inline]
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        let room = self.buf.len().saturating_sub(1) - self.len;
        let take = bytes.len().min(room);
        for (dst, src) in self.buf[self.len..][..take].iter_mut().zip(bytes) {
            *dst = *src as c_char;
        }
        // INVARIANT: At most `room` more, so still below the buffer's end.
        self.len += take;
    }

    /// Terminates the text.
    #[inline]
    pub(crate) fn finish(self) {
        if let Some(end) = self.buf.get_mut(self.len) {
            *end = 0;
        }
    }
}

impl core::fmt::Write for BufWriter<'_> {
    #[inline]
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        self.push(text.as_bytes());
        Ok(())
    }
}
