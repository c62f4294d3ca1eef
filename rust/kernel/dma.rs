// SPDX-License-Identifier: GPL-2.0

//! DMA mapping: device DMA masks, directions, and streaming mappings.
//!
//! C header: [`include/linux/dma-mapping.h`](srctree/include/linux/dma-mapping.h).

use crate::{
    bindings, device,
    error::{to_result, Result},
};

/// The direction of a streaming DMA transfer (`enum dma_data_direction`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum DataDirection {
    /// Data moves both ways (`DMA_BIDIRECTIONAL`).
    Bidirectional = bindings::dma_data_direction_DMA_BIDIRECTIONAL,
    /// From memory to the device (`DMA_TO_DEVICE`).
    ToDevice = bindings::dma_data_direction_DMA_TO_DEVICE,
    /// From the device to memory (`DMA_FROM_DEVICE`).
    FromDevice = bindings::dma_data_direction_DMA_FROM_DEVICE,
}

impl DataDirection {
    /// Returns the C value.
    pub fn as_raw(self) -> bindings::dma_data_direction {
        self as bindings::dma_data_direction
    }

    /// Converts a C value; `DMA_NONE` and unknown values give `None`.
    pub fn from_raw(raw: bindings::dma_data_direction) -> Option<Self> {
        match raw {
            bindings::dma_data_direction_DMA_BIDIRECTIONAL => Some(Self::Bidirectional),
            bindings::dma_data_direction_DMA_TO_DEVICE => Some(Self::ToDevice),
            bindings::dma_data_direction_DMA_FROM_DEVICE => Some(Self::FromDevice),
            _ => None,
        }
    }
}

/// Returns a DMA mask of the `n` low bits (`DMA_BIT_MASK(n)`); `n >= 64` gives all bits.
///
/// # Examples
///
/// ```
/// use kernel::dma;
///
/// assert_eq!(dma::bit_mask(28), 0x0fff_ffff);
/// assert_eq!(dma::bit_mask(64), u64::MAX);
/// ```
pub const fn bit_mask(n: u32) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

/// Sets the mask of addresses `dev` can reach with streaming DMA (`dma_set_mask`).
///
/// Returns [`EIO`](crate::error::code::EIO) if the platform cannot give the device memory
/// under that mask. Call it from probe, before mapping anything for the device.
pub fn set_mask(dev: &device::Device, mask: u64) -> Result {
    // SAFETY: `dev` is a valid device by the invariants of `device::Device`.
    to_result(unsafe { bindings::dma_set_mask(dev.as_raw(), mask) })
}

/// Sets the mask of addresses `dev` can reach with coherent allocations
/// (`dma_set_coherent_mask`).
///
/// Returns [`EIO`](crate::error::code::EIO) if the platform cannot give the device memory
/// under that mask. Call it from probe, before allocating anything for the device.
pub fn set_coherent_mask(dev: &device::Device, mask: u64) -> Result {
    // SAFETY: `dev` is a valid device by the invariants of `device::Device`.
    to_result(unsafe { bindings::dma_set_coherent_mask(dev.as_raw(), mask) })
}

/// Sets both the streaming and the coherent DMA masks of `dev` (`dma_set_mask_and_coherent`).
///
/// For example QEMU's `edu` device reaches 28 bits by default: `set_mask_and_coherent(dev,
/// bit_mask(28))`, and the DMA API bounces buffers above that. Returns
/// [`EIO`](crate::error::code::EIO) if the platform cannot give the device memory under that
/// mask. Call it from probe, before mapping or allocating anything for the device.
pub fn set_mask_and_coherent(dev: &device::Device, mask: u64) -> Result {
    // SAFETY: `dev` is a valid device by the invariants of `device::Device`.
    to_result(unsafe { bindings::dma_set_mask_and_coherent(dev.as_raw(), mask) })
}
