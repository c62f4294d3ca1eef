// SPDX-License-Identifier: GPL-2.0-only
/*
 * One-line wrappers of C macros for the Rust dma-buf core; no logic here.
 */
#include <linux/bug.h>
#include <linux/dmabuf-rs.h>

void dmabuf_rs_warn(void)
{
	WARN_ON(1);
}
