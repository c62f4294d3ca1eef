/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Mock fences for the in-kernel tests (kmalloc'ed, freed by the core's
 * default release), and what the tests do with them in reservation objects.
 */
#ifndef DMABUF_RS_TESTS_MOCK_H
#define DMABUF_RS_TESTS_MOCK_H

#include <linux/dma-fence.h>
#include <linux/dma-resv.h>
#include <linux/spinlock.h>

struct mock_fence {
	struct dma_fence base;	/* first: freed with the default kfree_rcu */
	spinlock_t lock;
	ktime_t deadline;
	unsigned int deadline_calls;
};

static inline struct mock_fence *to_mock(struct dma_fence *f)
{
	return container_of(f, struct mock_fence, base);
}

/* A new unsignalled fence on @context with @seqno, or NULL without memory. */
struct dma_fence *mock_fence(u64 context, u64 seqno);
/* Signals @f (if it has not been) and drops a reference; nothing for NULL. */
void mock_fence_done(struct dma_fence *f);

/* Adds @f to @obj with @usage (taking a reference), locking @obj. */
int mock_resv_add(struct dma_resv *obj, struct dma_fence *f, enum dma_resv_usage usage);
/* How many fences of @obj a locked walk at @usage sees. */
unsigned int mock_resv_count(struct dma_resv *obj, enum dma_resv_usage usage);

#endif
