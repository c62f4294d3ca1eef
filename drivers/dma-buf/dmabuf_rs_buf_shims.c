// SPDX-License-Identifier: GPL-2.0-only
/*
 * One-line wrappers of C macros and static inlines for the Rust dma-buf core
 * (buf part: the dma-buf, its file and attachments), the static objects it
 * cannot define itself, and its initcall. No logic here: every decision is
 * made in Rust (drivers/dma-buf/dmabuf_rs/buf.rs and buf/).
 */
#include <linux/device.h>
#include <linux/dma-buf.h>
#include <linux/dma-resv.h>
#include <linux/dmabuf-rs-buf.h>
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/printk.h>
#include <linux/spinlock.h>
#include <linux/wait.h>

#include "dma-buf-sysfs-stats.h"

/*
 * dma-buf.c's subsys_initcall(dma_buf_init), at the level 6.12's Rust cannot
 * choose: see dmabuf_rs/buf.rs. It runs before the reservation object's
 * (dmabuf_rs_resv_shims.c), as dma-buf.o is linked before dma-resv.o in the
 * C core: the Kbuild lists this file first.
 */
static int __init dmabuf_rs_buf_init_call(void)
{
	return dmabuf_rs_buf_init();
}
subsys_initcall(dmabuf_rs_buf_init_call);

void dmabuf_rs_buf_name_lock_init(struct dma_buf *dmabuf)
{
	spin_lock_init(&dmabuf->name_lock);
}

int dmabuf_rs_buf_init_sysfs_statistics(void)
{
	return dma_buf_init_sysfs_statistics();
}

int dmabuf_rs_buf_stats_setup(struct dma_buf *dmabuf, struct file *file)
{
	return dma_buf_stats_setup(dmabuf, file);
}

void dmabuf_rs_buf_stats_teardown(struct dma_buf *dmabuf)
{
	dma_buf_stats_teardown(dmabuf);
}

bool dmabuf_rs_buf_try_module_get(struct module *module)
{
	return try_module_get(module);
}

void dmabuf_rs_buf_module_put(struct module *module)
{
	module_put(module);
}

struct file *dmabuf_rs_buf_get_file(struct file *f)
{
	return get_file(f);
}

long dmabuf_rs_buf_file_count(struct file *f)
{
	return file_count(f);
}

__poll_t dmabuf_rs_buf_poll_requested_events(const poll_table *p)
{
	return poll_requested_events(p);
}

void dmabuf_rs_buf_wake_up_locked_poll(struct wait_queue_head *wq, __poll_t mask)
{
	wake_up_locked_poll(wq, mask);
}

#ifdef CONFIG_DEBUG_FS
static DEFINE_MUTEX(debugfs_list_mutex);
static LIST_HEAD(debugfs_list);
struct mutex *const dmabuf_rs_buf_debugfs_list_mutex = &debugfs_list_mutex;
struct list_head *const dmabuf_rs_buf_debugfs_list = &debugfs_list;

int dmabuf_rs_buf_mutex_lock_interruptible(struct mutex *lock)
{
	return mutex_lock_interruptible(lock);
}

const char *dmabuf_rs_buf_dev_name(const struct device *dev)
{
	return dev_name(dev);
}

void dmabuf_rs_buf_debugfs_bufinfo_failed(void)
{
	pr_debug("dma_buf: debugfs: failed to create node bufinfo\n");
}
#endif

void dmabuf_rs_might_lock_resv(struct dma_resv *obj)
{
	might_lock(&obj->lock.base);
}

void dmabuf_rs_map_debug_unaligned(u64 addr, int len)
{
	pr_debug("%s: addr %llx or len %x is not page aligned!\n",
		 "dma_buf_map_attachment", addr, len);
}
