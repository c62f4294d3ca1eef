// SPDX-License-Identifier: GPL-2.0-only
/*
 * One-line wrappers of C macros and static inlines for the Rust reservation
 * object core (drivers/dma-buf/dmabuf_rs/resv.rs), the lock class it cannot
 * define itself, and its initcall. No logic here: every decision is made in
 * Rust.
 */
#include <linux/dma-fence.h>
#include <linux/dma-resv.h>
#include <linux/dmabuf-rs-resv.h>
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/lockdep.h>
#include <linux/mmap_lock.h>
#include <linux/mmu_notifier.h>
#include <linux/rcupdate.h>
#include <linux/ww_mutex.h>

/*
 * The lock class of every reservation object (wait-die, as in the C core).
 * Its lockdep keys must be static objects, which 6.12's Rust cannot define;
 * it is exported in dmabuf_rs_exports.c.
 */
DEFINE_WD_CLASS(reservation_ww_class);

#if IS_ENABLED(CONFIG_LOCKDEP)
/*
 * dma-resv.c's subsys_initcall(dma_resv_lockdep), at the level 6.12's Rust
 * cannot choose: see dmabuf_rs/resv/lockdep.rs.
 */
static int __init dmabuf_rs_resv_lockdep_init(void)
{
	return dmabuf_rs_resv_lockdep();
}
subsys_initcall(dmabuf_rs_resv_lockdep_init);
#endif

void dmabuf_rs_resv_assert_held(struct dma_resv *obj)
{
	dma_resv_assert_held(obj);
}

#ifdef CONFIG_PROVE_RCU
void dmabuf_rs_resv_fences_read_check(struct dma_resv *obj)
{
	(void)rcu_dereference_check(obj->fences, dma_resv_held(obj));
}

void dmabuf_rs_resv_fences_write_check(struct dma_resv *obj)
{
	(void)rcu_dereference_protected(obj->fences, dma_resv_held(obj));
}
#endif

void dmabuf_rs_ww_mutex_init(struct ww_mutex *lock, struct ww_class *ww_class)
{
	ww_mutex_init(lock, ww_class);
}

void dmabuf_rs_ww_mutex_destroy(struct ww_mutex *lock)
{
	ww_mutex_destroy(lock);
}

void dmabuf_rs_kvfree_call_rcu(struct rcu_head *head, void *ptr)
{
	kvfree_call_rcu(head, ptr);
}

#if IS_ENABLED(CONFIG_LOCKDEP)
void dmabuf_rs_mmap_read_lock(struct mm_struct *mm)
{
	mmap_read_lock(mm);
}

void dmabuf_rs_mmap_read_unlock(struct mm_struct *mm)
{
	mmap_read_unlock(mm);
}

void dmabuf_rs_ww_acquire_init(struct ww_acquire_ctx *ctx, struct ww_class *ww_class)
{
	ww_acquire_init(ctx, ww_class);
}

void dmabuf_rs_ww_acquire_fini(struct ww_acquire_ctx *ctx)
{
	ww_acquire_fini(ctx);
}

void dmabuf_rs_ww_mutex_lock_slow(struct ww_mutex *lock, struct ww_acquire_ctx *ctx)
{
	ww_mutex_lock_slow(lock, ctx);
}

void dmabuf_rs_i_mmap_lock_write(struct address_space *mapping)
{
	i_mmap_lock_write(mapping);
}

void dmabuf_rs_i_mmap_unlock_write(struct address_space *mapping)
{
	i_mmap_unlock_write(mapping);
}

#ifdef CONFIG_MMU_NOTIFIER
void dmabuf_rs_mmu_notifier_map_acquire(void)
{
	lock_map_acquire(&__mmu_notifier_invalidate_range_start_map);
}

void dmabuf_rs_mmu_notifier_map_release(void)
{
	lock_map_release(&__mmu_notifier_invalidate_range_start_map);
}
#endif /* CONFIG_MMU_NOTIFIER */
#endif /* CONFIG_LOCKDEP */
