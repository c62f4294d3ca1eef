// SPDX-License-Identifier: GPL-2.0-only

//! Host build of the pure logic of the Rust dma-buf core, for `cargo test`.
//!
//! The kernel build never compiles this file. There, `drivers/dma-buf/dmabuf_rs.rs`
//! includes [`logic.rs`](logic) as a module with `#[path = "dmabuf_rs/logic.rs"]`,
//! and a module cannot carry crate-level attributes such as `#![no_std]`. This
//! tiny root supplies them on the host instead: the library is `no_std` exactly as
//! in the kernel (so it cannot reach for `std` or `alloc` by accident), and only the
//! tests link `std`, which the property-test framework needs.
//!
//! The module is mounted under the same name, `logic`, as in the kernel crate, so
//! paths inside it resolve identically in both builds; its contents are
//! re-exported at the root for convenience.

#![no_std]

#[cfg(test)]
extern crate std;

#[path = "logic.rs"]
pub mod logic;

pub use logic::*;
