/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * C shims of the Rust dma-buf core (drivers/dma-buf/dmabuf_rs_shims.c and
 * dmabuf_rs_trace.c).
 *
 * Each wraps one macro or static inline that Rust cannot call directly, or
 * defines a static object that 6.12's Rust cannot initialise (a spinlock with
 * its lockdep class). They are declared here, and rust/bindings/bindings_helper.h
 * includes this header, so the Rust side calls them through bindgen's
 * prototypes instead of hand-written declarations.
 */
#ifndef _LINUX_DMABUF_RS_H
#define _LINUX_DMABUF_RS_H

#include <linux/spinlock_types.h>
#include <linux/types.h>

struct dma_fence;
struct list_head;

/* The lock of the shared stub fences (DEFINE_SPINLOCK). */
extern spinlock_t dmabuf_rs_fence_stub_lock;

/* WARN_ON(1) on behalf of Rust: the splat carries the Rust caller's backtrace. */
void dmabuf_rs_warn(void);
/* dma_fence_release()'s warning, with the C core's exact text. */
void dmabuf_rs_warn_fence_released(const char *driver, const char *timeline,
				   u64 context, u64 seqno);

unsigned long dmabuf_rs_spin_lock_irqsave(spinlock_t *lock);
void dmabuf_rs_spin_unlock_irqrestore(spinlock_t *lock, unsigned long flags);
void dmabuf_rs_lockdep_assert_held(spinlock_t *lock);

void dmabuf_rs_list_add(struct list_head *entry, struct list_head *head);
void dmabuf_rs_list_add_tail(struct list_head *entry, struct list_head *head);
void dmabuf_rs_list_del(struct list_head *entry);
void dmabuf_rs_list_del_init(struct list_head *entry);
void dmabuf_rs_list_replace(struct list_head *old, struct list_head *entry);

void dmabuf_rs_might_sleep(void);
bool dmabuf_rs_in_atomic(void);
void dmabuf_rs_set_current_state(unsigned int state);
void dmabuf_rs___set_current_state(unsigned int state);

/* kfree_rcu(fence, rcu): freed after a grace period, for RCU readers. */
void dmabuf_rs_fence_kfree_rcu(struct dma_fence *fence);

/* The dma_fence tracepoints (include/trace/events/dma_fence.h). */
void dmabuf_rs_trace_dma_fence_init(struct dma_fence *fence);
void dmabuf_rs_trace_dma_fence_destroy(struct dma_fence *fence);
void dmabuf_rs_trace_dma_fence_enable_signal(struct dma_fence *fence);
void dmabuf_rs_trace_dma_fence_signaled(struct dma_fence *fence);
void dmabuf_rs_trace_dma_fence_wait_start(struct dma_fence *fence);
void dmabuf_rs_trace_dma_fence_wait_end(struct dma_fence *fence);

#endif /* _LINUX_DMABUF_RS_H */
