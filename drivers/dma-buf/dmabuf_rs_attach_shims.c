// SPDX-License-Identifier: GPL-2.0-only
/*
 * One-line wrappers of C macros and static inlines for the Rust dma-buf core
 * (attach part). No logic here: every decision is made in Rust.
 */
#include <linux/dma-resv.h>
#include <linux/dmabuf-rs-attach.h>
#include <linux/lockdep.h>
#include <linux/printk.h>

void dmabuf_rs_might_lock_resv(struct dma_resv *obj)
{
	might_lock(&obj->lock.base);
}

void dmabuf_rs_map_debug_unaligned(u64 addr, int len)
{
	pr_debug("%s: addr %llx or len %x is not page aligned!\n",
		 "dma_buf_map_attachment", addr, len);
}
