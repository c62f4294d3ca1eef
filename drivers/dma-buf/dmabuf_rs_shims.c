// SPDX-License-Identifier: GPL-2.0-only
/*
 * One-line wrappers of C macros and static inlines for the Rust dma-buf core,
 * and the static objects Rust cannot initialise. No logic here: every
 * decision is made in Rust.
 */
#include <linux/bug.h>
#include <linux/dma-fence.h>
#include <linux/dmabuf-rs.h>
#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

DEFINE_SPINLOCK(dmabuf_rs_fence_stub_lock);

void dmabuf_rs_warn(void)
{
	WARN_ON(1);
}

void dmabuf_rs_warn_fence_released(const char *driver, const char *timeline,
				   u64 context, u64 seqno)
{
	WARN(1, "Fence %s:%s:%llx:%llx released with pending signals!\n",
	     driver, timeline, context, seqno);
}

unsigned long dmabuf_rs_spin_lock_irqsave(spinlock_t *lock)
{
	unsigned long flags;

	spin_lock_irqsave(lock, flags);
	return flags;
}

void dmabuf_rs_spin_unlock_irqrestore(spinlock_t *lock, unsigned long flags)
{
	spin_unlock_irqrestore(lock, flags);
}

void dmabuf_rs_lockdep_assert_held(spinlock_t *lock)
{
	lockdep_assert_held(lock);
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

void dmabuf_rs_list_replace(struct list_head *old, struct list_head *entry)
{
	list_replace(old, entry);
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

void dmabuf_rs_fence_kfree_rcu(struct dma_fence *fence)
{
	kfree_rcu(fence, rcu);
}
