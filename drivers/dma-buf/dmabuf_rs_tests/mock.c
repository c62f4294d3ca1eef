// SPDX-License-Identifier: GPL-2.0-only
/*
 * Mock fences: driver "dmabuf-rs-tests", timeline "mock-timeline", with a
 * set_deadline op that records what it is given; adding them to and counting
 * them in reservation objects.
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

void mock_fence_done(struct dma_fence *f)
{
	if (!f)
		return;
	dma_fence_signal(f);
	dma_fence_put(f);
}

int mock_resv_add(struct dma_resv *obj, struct dma_fence *f, enum dma_resv_usage usage)
{
	int err;

	dma_resv_lock(obj, NULL);
	err = dma_resv_reserve_fences(obj, 1);
	if (!err)
		dma_resv_add_fence(obj, f, usage);
	dma_resv_unlock(obj);
	return err;
}

unsigned int mock_resv_count(struct dma_resv *obj, enum dma_resv_usage usage)
{
	struct dma_resv_iter cursor;
	struct dma_fence *f;
	unsigned int n = 0;

	dma_resv_lock(obj, NULL);
	dma_resv_for_each_fence(&cursor, obj, usage, f)
		n++;
	dma_resv_unlock(obj);
	return n;
}
