// SPDX-License-Identifier: GPL-2.0-only
/*
 * One-line wrappers of C macros and static inlines for the Rust dma-buf core,
 * and the static objects Rust cannot initialise. No logic here: every
 * decision is made in Rust.
 */
#include <linux/bug.h>
#include <linux/dma-fence.h>
#include <linux/dma-fence-array.h>
#include <linux/dma-fence-chain.h>
#include <linux/dmabuf-rs.h>
#include <linux/irq_work.h>
#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

DEFINE_SPINLOCK(dma_fence_stub_lock);

void dmabuf_rs_warn(int file_len, const char *file, unsigned int line)
{
	WARN(1, "dma-buf core: warning at %.*s:%u\n", file_len, file, line);
}

#ifdef CONFIG_LOCKDEP
bool dma_fence_begin_signalling(void)
{
	return dmabuf_rs_fence_begin_signalling(_RET_IP_);
}

void dma_fence_end_signalling(bool cookie)
{
	dmabuf_rs_fence_end_signalling(cookie, _RET_IP_);
}
#endif

void dmabuf_rs_warn_fence_released(const char *driver, const char *timeline,
				   u64 context, u64 seqno)
{
	WARN(1, "Fence %s:%s:%llx:%llx released with pending signals!\n",
	     driver, timeline, context, seqno);
}

void dmabuf_rs_lockdep_assert_held(spinlock_t *lock)
{
	lockdep_assert_held(lock);
}

void dmabuf_rs_spin_lock_irq(spinlock_t *lock)
{
	spin_lock_irq(lock);
}

void dmabuf_rs_spin_unlock_irq(spinlock_t *lock)
{
	spin_unlock_irq(lock);
}

void dmabuf_rs_list_add(struct list_head *entry, struct list_head *head)
{
	list_add(entry, head);
}

void dmabuf_rs_list_add_tail(struct list_head *entry, struct list_head *head)
{
	list_add_tail(entry, head);
}

void dmabuf_rs_list_del(struct list_head *entry)
{
	list_del(entry);
}

void dmabuf_rs_list_del_init(struct list_head *entry)
{
	list_del_init(entry);
}

void dmabuf_rs_poll_wait(struct file *filp, struct wait_queue_head *wait_address,
			 struct poll_table_struct *p)
{
	poll_wait(filp, wait_address, p);
}

void dmabuf_rs_might_sleep(void)
{
	might_sleep();
}

bool dmabuf_rs_in_atomic(void)
{
	return in_atomic();
}

void dmabuf_rs_set_current_state(unsigned int state)
{
	set_current_state(state);
}

void dmabuf_rs___set_current_state(unsigned int state)
{
	__set_current_state(state);
}

void dmabuf_rs_array_lock_init(struct dma_fence_array *array)
{
	spin_lock_init(&array->lock);
}

void dmabuf_rs_chain_lock_init(struct dma_fence_chain *chain)
{
	spin_lock_init(&chain->lock);
}

void dmabuf_rs_init_irq_work(struct irq_work *work, void (*func)(struct irq_work *))
{
	init_irq_work(work, func);
}

void dmabuf_rs_rcu_read_lock(void)
{
	rcu_read_lock();
}

void dmabuf_rs_rcu_read_unlock(void)
{
	rcu_read_unlock();
}
