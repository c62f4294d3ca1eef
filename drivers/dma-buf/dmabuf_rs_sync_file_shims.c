// SPDX-License-Identifier: GPL-2.0-only
/*
 * One-line wrappers of C macros and static inlines for the Rust sync_file
 * core (drivers/dma-buf/dmabuf_rs/sync_file.rs). No logic here: every
 * decision is made in Rust.
 */
#include <linux/dmabuf-rs-sync-file.h>
#include <linux/sync_file.h>
#include <linux/wait.h>

void dmabuf_rs_sync_file_init_wq(struct sync_file *sync_file)
{
	init_waitqueue_head(&sync_file->wq);
}
