// SPDX-License-Identifier: GPL-2.0-only
/*
 * Mock fences: driver "dmabuf-rs-tests", timeline "mock-timeline", with a
 * set_deadline op that records what it is given.
 */
#include <linux/slab.h>

#include "mock.h"

static const char *mock_driver_name(struct dma_fence *f)
{
	return "dmabuf-rs-tests";
}

static const char *mock_timeline_name(struct dma_fence *f)
{
	return "mock-timeline";
}

static void mock_set_deadline(struct dma_fence *f, ktime_t deadline)
{
	to_mock(f)->deadline = deadline;
	to_mock(f)->deadline_calls++;
}

static const struct dma_fence_ops mock_ops = {
	.get_driver_name = mock_driver_name,
	.get_timeline_name = mock_timeline_name,
	.set_deadline = mock_set_deadline,
};

struct dma_fence *mock_fence(u64 context, u64 seqno)
{
	struct mock_fence *f = kzalloc(sizeof(*f), GFP_KERNEL);

	if (!f)
		return NULL;
	spin_lock_init(&f->lock);
	dma_fence_init(&f->base, &mock_ops, &f->lock, context, seqno);
	return &f->base;
}
