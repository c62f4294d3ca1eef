// SPDX-License-Identifier: GPL-2.0-only

//! Error numbers returned by the pure logic, with the values of the kernel's.
//!
//! The values are asm-generic's
//! ([`errno-base.h`](srctree/include/uapi/asm-generic/errno-base.h) and
//! [`errno.h`](srctree/include/uapi/asm-generic/errno.h) for `EOVERFLOW`), as
//! on x86 and arm64. Some architectures number a few differently (`EOVERFLOW`
//! on alpha, mips, parisc and sparc), so the kernel build asserts every value
//! here against the kernel's own (`sys.rs`) and fails where they differ. The kernel side turns an [`Errno`] into its own error type with
//! `kernel::error::Error::from_errno(errno.to_neg())`, or returns
//! [`Errno::to_neg`] straight to C.

/// A positive kernel error number, such as [`EINVAL`].
///
/// C returns errors as negative numbers (`return -EINVAL;`); this type holds the
/// positive number and gives the negative one with [`Errno::to_neg`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Errno(i32);

impl Errno {
    /// Returns the positive error number, as in `EINVAL` (22).
    pub const fn get(self) -> i32 {
        self.0
    }

    /// Returns the negative error number that C functions return, as in `-EINVAL`.
    pub const fn to_neg(self) -> i32 {
        -self.0
    }
}

/// No such file or directory (`ENOENT`, 2).
pub const ENOENT: Errno = Errno(2);

/// Bad file number (`EBADF`, 9).
pub const EBADF: Errno = Errno(9);

/// Out of memory (`ENOMEM`, 12).
pub const ENOMEM: Errno = Errno(12);

/// Bad address (`EFAULT`, 14).
pub const EFAULT: Errno = Errno(14);

/// Device or resource busy (`EBUSY`, 16).
pub const EBUSY: Errno = Errno(16);

/// Invalid argument (`EINVAL`, 22).
pub const EINVAL: Errno = Errno(22);

/// Value too large for defined data type (`EOVERFLOW`, 75).
pub const EOVERFLOW: Errno = Errno(75);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_errno_base_h() {
        assert_eq!(ENOENT.get(), 2);
        assert_eq!(EBADF.get(), 9);
        assert_eq!(ENOMEM.get(), 12);
        assert_eq!(EFAULT.get(), 14);
        assert_eq!(EBUSY.get(), 16);
        assert_eq!(EINVAL.get(), 22);
        assert_eq!(EOVERFLOW.get(), 75);
        assert_eq!(EINVAL.to_neg(), -22);
    }
}
