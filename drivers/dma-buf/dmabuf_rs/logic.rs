// SPDX-License-Identifier: GPL-2.0-only

//! Pure logic of the dma-buf core: rules that need no kernel call.
//!
//! Each sub-module restates one rule of the Linux 6.12 C core (seqno ordering,
//! fence de-duplication for merges, `llseek` on a dma-buf, reservation usage
//! classes and fence slots) as plain functions over plain values. The kernel code
//! maps its fences, files and lists onto these values and acts on the answer.
//!
//! The same source builds twice:
//!
//! - in the kernel, as the module `logic` of the `dmabuf_rs` crate, included from
//!   `drivers/dma-buf/dmabuf_rs.rs` with `#[path = "dmabuf_rs/logic.rs"]`;
//! - on the host, as the module `logic` of the `dmabuf_rs_logic` crate, whose
//!   root `host_lib.rs` adds `#![no_std]` (a module cannot), so that
//!   `cargo test` checks these rules in seconds, property tests included.
//!
//! Sub-modules are declared with explicit `#[path]` attributes, so that their
//! resolution does not depend on which file includes this one. Everything here
//! uses `core` only: no allocation, no `unsafe`, no kernel crate. Callers pass
//! slices and iterators in, and get counts, indices and small enums back.

#![forbid(unsafe_code)]

#[path = "logic/errno.rs"]
pub mod errno;

#[path = "logic/seqno.rs"]
pub mod seqno;

#[path = "logic/view.rs"]
pub mod view;

#[path = "logic/merge.rs"]
pub mod merge;

#[path = "logic/llseek.rs"]
pub mod llseek;

#[path = "logic/usage.rs"]
pub mod usage;

#[path = "logic/sync_file.rs"]
pub mod sync_file;

#[path = "logic/attach.rs"]
pub mod attach;

#[path = "logic/access.rs"]
pub mod access;

#[path = "logic/dma_buf.rs"]
pub mod dma_buf;
