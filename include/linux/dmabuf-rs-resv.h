/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * C shims of the Rust reservation object core
 * (drivers/dma-buf/dmabuf_rs_resv_shims.c), and its lockdep priming entry
 * point, defined in Rust (drivers/dma-buf/dmabuf_rs/resv/lockdep.rs) and
 * called at subsys_initcall level from the same shim file.
 *
 * Each shim wraps one macro or static inline that Rust cannot call directly.
 * include/linux/dmabuf-rs.h includes this header, so that bindgen sees it.
 */
#ifndef _LINUX_DMABUF_RS_RESV_H
#define _LINUX_DMABUF_RS_RESV_H

#include <linux/types.h>

struct address_space;
struct dma_fence;
struct dma_resv;
struct mm_struct;
struct ww_acquire_ctx;
struct ww_class;
struct ww_mutex;

/* dma_resv_assert_held(): lockdep_assert_held(&obj->lock.base). */
void dmabuf_rs_resv_assert_held(struct dma_resv *obj);

/*
 * The PROVE_RCU checks of the C core's accesses to obj->fences, made by the
 * Rust core before its own: rcu_dereference_check(.., dma_resv_held(obj))
 * for a reader, rcu_dereference_protected(.., dma_resv_held(obj)) for a
 * writer. Only called in kernels with CONFIG_PROVE_RCU.
 */
void dmabuf_rs_resv_fences_read_check(struct dma_resv *obj);
void dmabuf_rs_resv_fences_write_check(struct dma_resv *obj);

void dmabuf_rs_ww_mutex_init(struct ww_mutex *lock, struct ww_class *ww_class);
void dmabuf_rs_ww_mutex_destroy(struct ww_mutex *lock);

/*
 * kfree_rcu() of an object whose rcu_head is at @head (the fence lists of
 * reservation objects, a type that only Rust defines).
 */
void dmabuf_rs_kvfree_call_rcu(struct rcu_head *head, void *ptr);

/* The lockdep priming of dma-resv, in Rust; only with CONFIG_LOCKDEP. */
int dmabuf_rs_resv_lockdep(void);

/* Used by the priming; defined only with CONFIG_LOCKDEP. */
void dmabuf_rs_mmap_read_lock(struct mm_struct *mm);
void dmabuf_rs_mmap_read_unlock(struct mm_struct *mm);
void dmabuf_rs_ww_acquire_init(struct ww_acquire_ctx *ctx, struct ww_class *ww_class);
void dmabuf_rs_ww_acquire_fini(struct ww_acquire_ctx *ctx);
void dmabuf_rs_ww_mutex_lock_slow(struct ww_mutex *lock, struct ww_acquire_ctx *ctx);
void dmabuf_rs_i_mmap_lock_write(struct address_space *mapping);
void dmabuf_rs_i_mmap_unlock_write(struct address_space *mapping);
/* lock_map_acquire/release of __mmu_notifier_invalidate_range_start_map. */
void dmabuf_rs_mmu_notifier_map_acquire(void);
void dmabuf_rs_mmu_notifier_map_release(void);

#endif /* _LINUX_DMABUF_RS_RESV_H */
