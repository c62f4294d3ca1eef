// SPDX-License-Identifier: GPL-2.0

//! DMA buffer sharing: dma-buf, dma-fence, dma-resv and sync_file.
//!
//! Safe abstractions over the dma-buf core for Rust drivers. The core itself
//! (Rust or C, chosen in Kconfig) implements the C API of the headers below;
//! these modules call that API, so they work the same on either core.
//!
//! C headers: [`include/linux/dma-buf.h`](srctree/include/linux/dma-buf.h),
//! [`include/linux/dma-fence.h`](srctree/include/linux/dma-fence.h),
//! [`include/linux/dma-resv.h`](srctree/include/linux/dma-resv.h).

pub mod fence;
