/* SPDX-License-Identifier: GPL-2.0-only */
/* Mock fences for the in-kernel tests: kmalloc'ed, freed by the core's default release. */
#ifndef DMABUF_RS_TESTS_MOCK_H
#define DMABUF_RS_TESTS_MOCK_H

#include <linux/dma-fence.h>
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

#endif
