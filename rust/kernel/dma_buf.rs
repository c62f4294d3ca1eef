// SPDX-License-Identifier: GPL-2.0

//! DMA buffer sharing: dma-buf, dma-fence, dma-resv and sync_file.
//!
//! Safe abstractions over the dma-buf core for Rust drivers. The core itself
//! (Rust or C, chosen in Kconfig) implements the C API of the headers below;
//! these modules call that API, so they work the same on either core.
//!
//! The protocol rules that the C API leaves to comments and lockdep are types
//! here: see each module. A Rust exporter or importer built on them needs no
//! `unsafe` of its own.
//!
//! C headers: [`include/linux/dma-buf.h`](srctree/include/linux/dma-buf.h),
//! [`include/linux/dma-fence.h`](srctree/include/linux/dma-fence.h),
//! [`include/linux/dma-resv.h`](srctree/include/linux/dma-resv.h),
//! [`include/linux/sync_file.h`](srctree/include/linux/sync_file.h).

pub mod buf;
pub mod fence;
pub mod resv;
#[cfg(CONFIG_SYNC_FILE)]
pub mod sync_file;

/// Declares that this module uses the dma-buf core's exports, which live in
/// the `DMA_BUF` symbol namespace: the Rust form of C's
/// `MODULE_IMPORT_NS(DMA_BUF)`, which modpost requires. Use it once at the
/// top level of a module that calls `kernel::dma_buf`.
#[macro_export]
macro_rules! import_dma_buf_ns {
    () => {
        #[cfg(MODULE)]
        #[link_section = ".modinfo"]
        // `compiler`, as `module!` does: the linker-retain flag would put it in
        // a second `.modinfo` section, which modpost does not read.
        #[used(compiler)]
        static __IMPORT_NS_DMA_BUF: [u8; 18] = *b"import_ns=DMA_BUF\0";
    };
}
