/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * C shims of the Rust sync_file core (drivers/dma-buf/dmabuf_rs_sync_file_shims.c)
 * and the kernel headers its Rust side needs bindgen to see.
 *
 * struct sync_file stays the kernel's own (include/linux/sync_file.h): sw_sync
 * and sync_debug, which stay C, reach into its fields. anon_inode_getfile()
 * is declared in include/linux/anon_inodes.h. Each shim wraps one macro or
 * static inline that Rust cannot call directly. include/linux/dmabuf-rs.h
 * includes this header, so that bindgen sees it.
 */
#ifndef _LINUX_DMABUF_RS_SYNC_FILE_H
#define _LINUX_DMABUF_RS_SYNC_FILE_H

#include <linux/anon_inodes.h>
#include <linux/sync_file.h>

/*
 * init_waitqueue_head(&sync_file->wq): the macro defines the lockdep class
 * key, a static object, and names the class after its argument; spelt as in
 * the C core, the class keeps the C core's name.
 */
void dmabuf_rs_sync_file_init_wq(struct sync_file *sync_file);

#endif /* _LINUX_DMABUF_RS_SYNC_FILE_H */
