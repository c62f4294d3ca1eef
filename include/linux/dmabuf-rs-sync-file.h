/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel headers the Rust sync_file core (drivers/dma-buf/dmabuf_rs/
 * sync_file.rs) needs bindgen to see. It has no C shims: its one macro,
 * init_waitqueue_head(), is a call of the exported __init_waitqueue_head()
 * with a static lockdep key, which the Rust side makes itself.
 *
 * struct sync_file stays the kernel's own (include/linux/sync_file.h): sw_sync
 * and sync_debug, which stay C, reach into its fields. anon_inode_getfile()
 * is declared in include/linux/anon_inodes.h. include/linux/dmabuf-rs.h
 * includes this header, so that bindgen sees it.
 */
#ifndef _LINUX_DMABUF_RS_SYNC_FILE_H
#define _LINUX_DMABUF_RS_SYNC_FILE_H

#include <linux/anon_inodes.h>
#include <linux/sync_file.h>

#endif /* _LINUX_DMABUF_RS_SYNC_FILE_H */
