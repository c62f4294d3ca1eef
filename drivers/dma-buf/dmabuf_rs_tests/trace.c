// SPDX-License-Identifier: GPL-2.0-only
/*
 * The dma_fence tracepoints fire where the C core fires them: init, enable
 * signalling, signalled, wait start and end, destroy, each once for one
 * fence's life.
 */
#include <linux/dma-fence.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/tracepoint.h>

#include "check.h"

#define EVENTS 6
static const char *const event_names[EVENTS] = {
	"dma_fence_init", "dma_fence_enable_signal", "dma_fence_signaled",
	"dma_fence_wait_start", "dma_fence_wait_end", "dma_fence_destroy",
};

struct trace_probe {
	struct tracepoint *tp[EVENTS];
	unsigned int hits[EVENTS];
	struct dma_fence *watched;
};

static struct trace_probe probe;

#define DEFINE_PROBE(i)								\
static void probe_##i(void *data, struct dma_fence *fence)			\
{										\
	if (fence == READ_ONCE(probe.watched))					\
		probe.hits[i]++;						\
}
DEFINE_PROBE(0) DEFINE_PROBE(1) DEFINE_PROBE(2) DEFINE_PROBE(3) DEFINE_PROBE(4) DEFINE_PROBE(5)

static void *const probe_fns[EVENTS] = {
	probe_0, probe_1, probe_2, probe_3, probe_4, probe_5,
};

static void find_tracepoint(struct tracepoint *tp, void *priv)
{
	int i;

	for (i = 0; i < EVENTS; i++)
		if (!strcmp(tp->name, event_names[i]))
			probe.tp[i] = tp;
}

struct traced_fence {
	struct dma_fence base;
	spinlock_t lock;
};

static const char *traced_name(struct dma_fence *f)
{
	return "traced";
}

static bool traced_enable_signaling(struct dma_fence *f)
{
	return true;
}

static const struct dma_fence_ops traced_ops = {
	.get_driver_name = traced_name,
	.get_timeline_name = traced_name,
	.enable_signaling = traced_enable_signaling,
};

static void tracepoints_fire(struct kunit *test)
{
	struct traced_fence *t;
	int i, err = 0, registered = 0;

	if (!IS_ENABLED(CONFIG_TRACEPOINTS))
		kunit_skip(test, "CONFIG_TRACEPOINTS is off: no tracepoints to watch");

	memset(&probe, 0, sizeof(probe));
	for_each_kernel_tracepoint(find_tracepoint, NULL);
	for (i = 0; i < EVENTS; i++) {
		KUNIT_CHECK_OR_OUT(test, probe.tp[i], "no tracepoint %s", event_names[i]);
		err = tracepoint_probe_register(probe.tp[i], probe_fns[i], NULL);
		KUNIT_CHECK_OR_OUT(test, !err, "registering a probe on %s: %d", event_names[i],
				   err);
		registered++;
	}

	t = kzalloc(sizeof(*t), GFP_KERNEL);
	KUNIT_CHECK_OR_OUT(test, t, "allocation");
	spin_lock_init(&t->lock);
	WRITE_ONCE(probe.watched, &t->base);
	dma_fence_init(&t->base, &traced_ops, &t->lock, dma_fence_context_alloc(1), 1);
	dma_fence_enable_sw_signaling(&t->base);
	dma_fence_enable_sw_signaling(&t->base);
	dma_fence_signal(&t->base);
	dma_fence_wait_timeout(&t->base, false, 1);
	dma_fence_put(&t->base);

	for (i = 0; i < EVENTS; i++)
		KUNIT_EXPECT_EQ_MSG(test, probe.hits[i], 1, "%s must fire once", event_names[i]);
out:
	while (registered--)
		tracepoint_probe_unregister(probe.tp[registered], probe_fns[registered], NULL);
	tracepoint_synchronize_unregister();
}

static struct kunit_case cases[] = {
	KUNIT_CASE(tracepoints_fire),
	{}
};

static struct kunit_suite suite = {
	.name = "dmabuf_rs_trace",
	.test_cases = cases,
};
kunit_test_suite(suite);
