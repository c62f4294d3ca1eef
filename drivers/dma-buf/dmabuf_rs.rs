// SPDX-License-Identifier: GPL-2.0-only

//! The dma-buf core in Rust.
//!
//! This crate is linked into vmlinux in place of the C files of
//! `drivers/dma-buf` that it replaces. It defines the C ABI functions of the
//! core with `#[no_mangle]`, each checked against the bindgen prototype of the
//! kernel's own header (see [`abi`]), and `dmabuf_rs_exports.c` exports them
//! with the C core's names, GPL-ness and namespaces.
//!
//! The modules live in `dmabuf_rs/` beside this file.

#[macro_use]
#[path = "dmabuf_rs/abi.rs"]
mod abi;

#[path = "dmabuf_rs/sys.rs"]
mod sys;

#[path = "dmabuf_rs/uaccess.rs"]
mod uaccess;

#[path = "dmabuf_rs/vfs.rs"]
mod vfs;

#[path = "dmabuf_rs/fence.rs"]
mod fence;

#[path = "dmabuf_rs/resv.rs"]
mod resv;

#[path = "dmabuf_rs/buf.rs"]
mod buf;

#[cfg(CONFIG_SYNC_FILE)]
#[path = "dmabuf_rs/sync_file.rs"]
mod sync_file;

// Rules that need no kernel call; `cargo test` checks them on the host
// (drivers/dma-buf/dmabuf_rs/Cargo.toml).
#[path = "dmabuf_rs/logic.rs"]
pub mod logic;
