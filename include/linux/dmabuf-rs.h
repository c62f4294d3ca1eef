/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * C shims of the Rust dma-buf core (drivers/dma-buf/dmabuf_rs_shims.c).
 *
 * Each wraps one macro that Rust cannot call directly. They live in a header
 * that rust/bindings/bindings_helper.h includes, so the Rust side calls them
 * through bindgen's prototypes instead of hand-written declarations.
 */
#ifndef _LINUX_DMABUF_RS_H
#define _LINUX_DMABUF_RS_H

/* WARN_ON(1) on behalf of Rust: the splat carries the Rust caller's backtrace. */
void dmabuf_rs_warn(void);

#endif /* _LINUX_DMABUF_RS_H */
