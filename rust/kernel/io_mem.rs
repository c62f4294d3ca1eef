// SPDX-License-Identifier: GPL-2.0

//! Memory-mapped I/O regions with bounds-checked accessors.
//!
//! An [`IoMem`] is a view of a mapped MMIO region (for example a PCI BAR mapped with
//! [`pci::Device::iomap_region`]). Every access is checked against the region:
//!
//! - the `try_*` accessors take a run-time offset and return [`EINVAL`] when the access does not
//!   fit in the region or is not naturally aligned;
//! - the accessors with a const-generic offset (`read32::<0x24>()`) are checked at compile time
//!   against `SIZE`, the minimum region size the type guarantees, and cannot fail.
//!
//! The accessors are the kernel's `readb`..`readq` and `writeb`..`writeq`: ordered with respect
//! to other MMIO and to normal memory accesses as documented in
//! `Documentation/driver-api/device-io.rst`, and usable in any context, including hard interrupt
//! context.
//!
//! C header: [`include/asm-generic/io.h`](srctree/include/asm-generic/io.h).
//!
//! [`pci::Device::iomap_region`]: crate::pci::Device::iomap_region

use crate::{bindings, error::code::EINVAL, error::Result};

/// Compile-time check of an access of `WIDTH` bytes at `OFFSET` in a region of `SIZE` bytes.
struct Check<const OFFSET: usize, const WIDTH: usize, const SIZE: usize>;

impl<const OFFSET: usize, const WIDTH: usize, const SIZE: usize> Check<OFFSET, WIDTH, SIZE> {
    /// Fails to evaluate (a compile error where an accessor is instantiated) when the access does
    /// not fit in the region or is misaligned.
    const OK: () = assert!(
        WIDTH.is_power_of_two()
            && OFFSET & (WIDTH - 1) == 0
            && WIDTH <= SIZE
            && OFFSET <= SIZE - WIDTH,
        "MMIO access out of bounds or misaligned"
    );
}

/// A mapped memory-mapped I/O region of `len()` bytes, at least `SIZE` bytes long.
///
/// `IoMem` does not own the mapping: the owner that created it (for example a
/// [`pci::Bar`](crate::pci::Bar)) unmaps the region when it is dropped, and only hands out
/// `IoMem` references that cannot outlive it.
///
/// # Invariants
///
/// - `addr` is the start of a mapping of MMIO space (as returned by `ioremap` or `pci_iomap` for a
///   memory resource) that is valid for reads and writes with `readb`..`readq` and
///   `writeb`..`writeq` over `len` bytes, for as long as this object exists;
/// - `addr` is aligned to 8 bytes, so an offset that is a multiple of an access's width gives a
///   naturally aligned address;
/// - `len >= SIZE`.
///
/// # Examples
///
/// The accessors of a region known to be at least 0x100 bytes long:
///
/// ```
/// use kernel::{io_mem::IoMem, prelude::*};
///
/// // Not called: it needs a mapped device.
/// fn poke(regs: &IoMem<0x100>) -> Result<u32> {
///     // Offsets known when compiling: checked against `SIZE` (0x100) at build time.
///     let id = regs.read32::<0x00>();
///     regs.write32::<0x04>(!id);
///     // Offsets computed at run time: checked against `len()`, errors returned.
///     assert!(regs.try_read32(0x102).is_err()); // misaligned
///     assert!(regs.try_read8(regs.len()).is_err()); // out of bounds
///     regs.try_read32(0x04)
/// }
/// let _ = poke;
/// ```
pub struct IoMem<const SIZE: usize = 0> {
    addr: *mut u8,
    len: usize,
}

// SAFETY: `IoMem` is only an address range of MMIO space; accessing it does not depend on the
// thread that does it.
unsafe impl<const SIZE: usize> Send for IoMem<SIZE> {}

// SAFETY: All accessors take `&self` and are single MMIO accesses, which the hardware serialises;
// concurrent accesses from several threads are memory safe (their effect on the device is the
// driver's business).
unsafe impl<const SIZE: usize> Sync for IoMem<SIZE> {}

macro_rules! define_accessors {
    ($(
        $(#[$cfg:meta])*
        $ty:ty, $read:ident, $try_read:ident, $c_read:ident,
                $write:ident, $try_write:ident, $c_write:ident;
    )*) => {$(
        #[doc = concat!("Reads a `", stringify!($ty), "` at `OFFSET` (`", stringify!($c_read),
                        "`), checked at compile time.")]
        ///
        /// A build error results if the access does not fit in `SIZE` bytes or `OFFSET` is not
        /// a multiple of the access's width.
        $(#[$cfg])*
        #[inline]
        pub fn $read<const OFFSET: usize>(&self) -> $ty {
            let () = Check::<OFFSET, { core::mem::size_of::<$ty>() }, SIZE>::OK;
            // SAFETY: By the type invariants the mapping covers `SIZE` bytes at an 8-byte aligned
            // `addr`, and the check above proves the access lies inside it, naturally aligned.
            unsafe { bindings::$c_read(self.addr.add(OFFSET).cast()) }
        }

        #[doc = concat!("Reads a `", stringify!($ty), "` at `offset` (`", stringify!($c_read),
                        "`), checked at run time.")]
        ///
        /// Returns [`EINVAL`] if the access does not fit in the region or `offset` is not a
        /// multiple of the access's width.
        $(#[$cfg])*
        #[inline]
        pub fn $try_read(&self, offset: usize) -> Result<$ty> {
            let addr = self.checked_addr(offset, core::mem::size_of::<$ty>())?;
            // SAFETY: `checked_addr` returned an address inside the mapping, naturally aligned.
            Ok(unsafe { bindings::$c_read(addr.cast()) })
        }

        #[doc = concat!("Writes a `", stringify!($ty), "` at `OFFSET` (`", stringify!($c_write),
                        "`), checked at compile time.")]
        ///
        /// A build error results if the access does not fit in `SIZE` bytes or `OFFSET` is not
        /// a multiple of the access's width.
        $(#[$cfg])*
        #[inline]
        pub fn $write<const OFFSET: usize>(&self, value: $ty) {
            let () = Check::<OFFSET, { core::mem::size_of::<$ty>() }, SIZE>::OK;
            // SAFETY: As in the read accessor: the access lies inside the mapping, aligned.
            unsafe { bindings::$c_write(value, self.addr.add(OFFSET).cast()) }
        }

        #[doc = concat!("Writes a `", stringify!($ty), "` at `offset` (`", stringify!($c_write),
                        "`), checked at run time.")]
        ///
        /// Returns [`EINVAL`] if the access does not fit in the region or `offset` is not a
        /// multiple of the access's width.
        $(#[$cfg])*
        #[inline]
        pub fn $try_write(&self, value: $ty, offset: usize) -> Result {
            let addr = self.checked_addr(offset, core::mem::size_of::<$ty>())?;
            // SAFETY: `checked_addr` returned an address inside the mapping, naturally aligned.
            unsafe { bindings::$c_write(value, addr.cast()) };
            Ok(())
        }
    )*};
}

impl<const SIZE: usize> IoMem<SIZE> {
    /// Creates a view of the mapped MMIO region of `len` bytes at `addr`.
    ///
    /// Returns [`EINVAL`] if `addr` is null or not aligned to 8 bytes, or if `len < SIZE`.
    ///
    /// # Safety
    ///
    /// `addr` must be the start of a mapping of MMIO space (from `ioremap`, or `pci_iomap` of a
    /// memory BAR) covering at least `len` bytes, and the mapping must stay in place for as long
    /// as the returned object (and anything borrowed from it) exists.
    pub unsafe fn new(addr: *mut crate::ffi::c_void, len: usize) -> Result<Self> {
        if addr.is_null() || addr as usize & 7 != 0 || len < SIZE {
            return Err(EINVAL);
        }
        // INVARIANT: Checked above (null, alignment, `len >= SIZE`) or guaranteed by the caller
        // (the mapping and its lifetime).
        Ok(Self {
            addr: addr.cast(),
            len,
        })
    }

    /// Returns the size of the region in bytes (at least `SIZE`).
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Returns `true` if the region has no bytes.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Returns the mapped address, for C functions that take a `void __iomem *`.
    #[inline]
    pub fn as_ptr(&self) -> *mut crate::ffi::c_void {
        self.addr.cast()
    }

    /// Returns the address of an access of `width` bytes at `offset`, or [`EINVAL`] if the access
    /// does not fit in the region or is misaligned.
    #[inline]
    fn checked_addr(&self, offset: usize, width: usize) -> Result<*mut u8> {
        let end = offset.checked_add(width).ok_or(EINVAL)?;
        // `width` is a power of two (the size of an integer type).
        if end > self.len || offset & (width - 1) != 0 {
            return Err(EINVAL);
        }
        // SAFETY: `offset + width <= len`, so the result is inside the mapping (invariant).
        Ok(unsafe { self.addr.add(offset) })
    }

    define_accessors! {
        u8, read8, try_read8, readb, write8, try_write8, writeb;
        u16, read16, try_read16, readw, write16, try_write16, writew;
        u32, read32, try_read32, readl, write32, try_write32, writel;
        #[cfg(CONFIG_64BIT)]
        u64, read64, try_read64, readq, write64, try_write64, writeq;
    }
}
