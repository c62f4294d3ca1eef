/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * C shims of the Rust dma-buf core (buf part: the dma-buf file, its
 * pseudo-filesystem, export, debugfs and attachments), defined in
 * drivers/dma-buf/dmabuf_rs_buf_shims.c, and the kernel headers whose
 * declarations the Rust side needs bindgen to see (the pseudo-filesystem
 * context, debugfs, the poll table). include/linux/dmabuf-rs.h includes this
 * header, so that bindgen sees it.
 *
 * Each shim wraps one macro or static inline that Rust cannot call directly,
 * or names a static object Rust cannot define (a mutex with its lockdep class).
 */
#ifndef _LINUX_DMABUF_RS_BUF_H
#define _LINUX_DMABUF_RS_BUF_H

#include <linux/debugfs.h>
#include <linux/poll.h>
#include <linux/pseudo_fs.h>
#include <linux/spinlock_types.h>
#include <linux/types.h>

struct device;
struct dma_buf;
struct dma_resv;
struct file;
struct list_head;
struct module;
struct mutex;
struct wait_queue_head;

/*
 * dma-buf.c's dma_buf_init(), written in Rust (drivers/dma-buf/dmabuf_rs/buf.rs):
 * the sysfs statistics, the dmabuf pseudo-filesystem mount and debugfs. To be
 * called at subsys_initcall level, as the C core's.
 */
int dmabuf_rs_buf_init(void);

/*
 * spin_lock_init(&dmabuf->name_lock): the macro defines the static lockdep
 * class key and names the class after its argument; spelt as in the C core,
 * the class keeps the C core's name. (init_waitqueue_head() is one call of
 * the exported __init_waitqueue_head(), which the Rust core makes itself.)
 */
void dmabuf_rs_buf_name_lock_init(struct dma_buf *dmabuf);

/*
 * The sysfs statistics of drivers/dma-buf/dma-buf-sysfs-stats.h (C, kept):
 * functions with CONFIG_DMABUF_SYSFS_STATS, static inline stubs without.
 */
int dmabuf_rs_buf_init_sysfs_statistics(void);
int dmabuf_rs_buf_stats_setup(struct dma_buf *dmabuf, struct file *file);
void dmabuf_rs_buf_stats_teardown(struct dma_buf *dmabuf);

/*
 * try_module_get() and module_put() of the exporter's module: static inlines
 * without CONFIG_MODULE_UNLOAD (and without CONFIG_MODULES).
 */
bool dmabuf_rs_buf_try_module_get(struct module *module);
void dmabuf_rs_buf_module_put(struct module *module);

/* get_file() (with its use-after-free WARN_ONCE) and file_count(). */
struct file *dmabuf_rs_buf_get_file(struct file *f);
long dmabuf_rs_buf_file_count(struct file *f);

/* poll_requested_events(); poll_wait() is dmabuf_rs_poll_wait() (dmabuf-rs.h). */
__poll_t dmabuf_rs_buf_poll_requested_events(const poll_table *p);
/* wake_up_locked_poll(): the caller holds wq->lock. */
void dmabuf_rs_buf_wake_up_locked_poll(struct wait_queue_head *wq, __poll_t mask);

#ifdef CONFIG_DEBUG_FS
/*
 * The list of every exported dma-buf (through dma_buf->list_node) and the mutex
 * that guards it: static objects, so that the mutex keeps the C core's lockdep
 * class name ("debugfs_list_mutex") and both are valid before any initcall.
 */
extern struct mutex *const dmabuf_rs_buf_debugfs_list_mutex;
extern struct list_head *const dmabuf_rs_buf_debugfs_list;

/* mutex_lock_interruptible(): a macro with CONFIG_DEBUG_LOCK_ALLOC. */
int dmabuf_rs_buf_mutex_lock_interruptible(struct mutex *lock);
/* dev_name(). */
const char *dmabuf_rs_buf_dev_name(const struct device *dev);
/* The C core's pr_debug() when debugfs bufinfo cannot be created. */
void dmabuf_rs_buf_debugfs_bufinfo_failed(void);
#endif

/* Attachments (the importer's side, drivers/dma-buf/dmabuf_rs/buf/attach.rs). */

/*
 * might_lock(&obj->lock.base): tells lockdep that the caller may take the
 * reservation lock of @obj, so that a caller that holds it is reported even
 * on paths that end up not taking it.
 */
void dmabuf_rs_might_lock_resv(struct dma_resv *obj);

/*
 * The pr_debug of dma_buf_map_attachment() under CONFIG_DMA_API_DEBUG for a
 * scatterlist entry whose DMA address or length is not page aligned (the
 * check itself is made in Rust).
 */
void dmabuf_rs_map_debug_unaligned(u64 addr, int len);

#endif /* _LINUX_DMABUF_RS_BUF_H */
