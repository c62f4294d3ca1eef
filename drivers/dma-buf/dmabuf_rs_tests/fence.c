// SPDX-License-Identifier: GPL-2.0-only
/*
 * dma-fence behaviour that the upstream selftests leave out: contexts, the
 * stub fences, double signal, hidden errors, callback order and context,
 * remove_callback, timestamps, set_deadline, describe, waits with timeouts,
 * wait_any_timeout, and a 100k-link fence chain.
 */
#include <linux/delay.h>
#include <linux/dma-fence.h>
#include <linux/dma-fence-chain.h>
#include <linux/irqflags.h>
#include <linux/jiffies.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/workqueue.h>

#include "check.h"
#include "mock.h"

static void context_alloc_unique(struct kunit *test)
{
	u64 a = dma_fence_context_alloc(1);
	u64 b = dma_fence_context_alloc(3);
	u64 c = dma_fence_context_alloc(1);

	KUNIT_ASSERT_TRUE_MSG(test, a != 0, "context 0 belongs to the stub");
	KUNIT_ASSERT_TRUE_MSG(test, b == a + 1, "a=%llu b=%llu", a, b);
	KUNIT_ASSERT_TRUE_MSG(test, c == b + 3, "b=%llu c=%llu", b, c);
}

static void stub_fences_signaled(struct kunit *test)
{
	struct dma_fence *stub = dma_fence_get_stub();
	struct dma_fence *priv;
	ktime_t ts = ktime_set(1234, 5678);

	KUNIT_ASSERT_TRUE_MSG(test, dma_fence_is_signaled(stub), "shared stub");
	KUNIT_ASSERT_TRUE_MSG(test, stub->context == 0 && stub->seqno == 0, "context %llu",
			      stub->context);
	KUNIT_ASSERT_TRUE_MSG(test, dma_fence_get_status(stub) == 1, "status");
	KUNIT_ASSERT_TRUE_MSG(test, dma_fence_get_stub() == stub, "one shared stub");
	dma_fence_put(stub);
	dma_fence_put(stub);

	priv = dma_fence_allocate_private_stub(ts);
	KUNIT_ASSERT_TRUE_MSG(test, priv, "allocation");
	KUNIT_ASSERT_TRUE_MSG(test, priv != stub, "private stub is its own fence");
	KUNIT_ASSERT_TRUE_MSG(test, dma_fence_is_signaled(priv), "private stub");
	KUNIT_ASSERT_TRUE_MSG(test, (dma_fence_timestamp(priv) == ts), "timestamp %lld",
			      ktime_to_ns(dma_fence_timestamp(priv)));
	dma_fence_put(priv);
}

static void double_signal_einval(struct kunit *test)
{
	struct dma_fence *f = mock_fence(dma_fence_context_alloc(1), 1);
	unsigned long flags;
	int ret;

	KUNIT_ASSERT_TRUE_MSG(test, f, "allocation");
	KUNIT_ASSERT_TRUE_MSG(test, dma_fence_signal(f) == 0, "first signal");
	KUNIT_ASSERT_TRUE_MSG(test, dma_fence_signal(f) == -EINVAL, "second signal");
	spin_lock_irqsave(f->lock, flags);
	ret = dma_fence_signal_locked(f);
	spin_unlock_irqrestore(f->lock, flags);
	KUNIT_ASSERT_TRUE_MSG(test, ret == -EINVAL, "signal_locked after signal: %d", ret);
	KUNIT_ASSERT_TRUE_MSG(test, dma_fence_signal(NULL) == -EINVAL, "NULL fence");
	dma_fence_put(f);
}

static void error_hidden_until_signal(struct kunit *test)
{
	struct dma_fence *f = mock_fence(dma_fence_context_alloc(1), 1);

	KUNIT_ASSERT_TRUE_MSG(test, f, "allocation");
	dma_fence_set_error(f, -EIO);
	KUNIT_ASSERT_TRUE_MSG(test, dma_fence_get_status(f) == 0, "pending despite the error");
	dma_fence_signal(f);
	KUNIT_ASSERT_TRUE_MSG(test, dma_fence_get_status(f) == -EIO, "status %d",
			      dma_fence_get_status(f));
	dma_fence_put(f);
}

struct order_cb {
	struct dma_fence_cb cb;
	int *log;
	int *n;
	int id;
	bool irqs_off;
	bool locked;
};

static void order_cb_func(struct dma_fence *f, struct dma_fence_cb *cb)
{
	struct order_cb *o = container_of(cb, struct order_cb, cb);

	o->log[(*o->n)++] = o->id;
	o->irqs_off = irqs_disabled();
	o->locked = spin_is_locked(f->lock);
}

static void callbacks_in_order_locked(struct kunit *test)
{
	struct dma_fence *f = mock_fence(dma_fence_context_alloc(1), 1);
	struct order_cb cbs[3];
	int log[3] = { -1, -1, -1 }, n = 0, i;

	KUNIT_ASSERT_TRUE_MSG(test, f, "allocation");
	for (i = 0; i < 3; i++) {
		cbs[i] = (struct order_cb){ .log = log, .n = &n, .id = i };
		KUNIT_ASSERT_TRUE_MSG(test,
				      dma_fence_add_callback(f, &cbs[i].cb, order_cb_func) == 0,
				      "add %d", i);
	}
	KUNIT_ASSERT_TRUE_MSG(test, n == 0, "no callback before signal");
	dma_fence_signal(f);
	KUNIT_ASSERT_TRUE_MSG(test, n == 3, "%d callbacks ran", n);
	for (i = 0; i < 3; i++) {
		KUNIT_ASSERT_TRUE_MSG(test, log[i] == i, "position %d ran callback %d", i, log[i]);
		KUNIT_ASSERT_TRUE_MSG(test, cbs[i].irqs_off, "callback %d ran with interrupts on",
				      i);
		KUNIT_ASSERT_TRUE_MSG(test, cbs[i].locked,
				      "callback %d ran without the fence lock", i);
		KUNIT_ASSERT_TRUE_MSG(test, list_empty(&cbs[i].cb.node), "node %d re-initialised",
				      i);
	}
	dma_fence_put(f);
}

static void add_callback_after_signal(struct kunit *test)
{
	struct dma_fence *f = mock_fence(dma_fence_context_alloc(1), 1);
	struct order_cb o;
	int log[1] = { -1 }, n = 0;

	KUNIT_ASSERT_TRUE_MSG(test, f, "allocation");
	o = (struct order_cb){ .log = log, .n = &n };
	dma_fence_signal(f);
	KUNIT_ASSERT_TRUE_MSG(test, dma_fence_add_callback(f, &o.cb, order_cb_func) == -ENOENT,
			      "-ENOENT");
	KUNIT_ASSERT_TRUE_MSG(test, n == 0, "callback must never run");
	KUNIT_ASSERT_TRUE_MSG(test, list_empty(&o.cb.node), "node initialised");
	KUNIT_ASSERT_TRUE_MSG(test, !dma_fence_remove_callback(f, &o.cb), "nothing to remove");
	dma_fence_put(f);
}

static void remove_callback_reports(struct kunit *test)
{
	struct dma_fence *f = mock_fence(dma_fence_context_alloc(1), 1);
	struct order_cb a, b;
	int log[2] = { -1, -1 }, n = 0;

	KUNIT_ASSERT_TRUE_MSG(test, f, "allocation");
	a = (struct order_cb){ .log = log, .n = &n, .id = 0 };
	b = (struct order_cb){ .log = log, .n = &n, .id = 1 };
	KUNIT_ASSERT_TRUE_MSG(test, dma_fence_add_callback(f, &a.cb, order_cb_func) == 0, "add a");
	KUNIT_ASSERT_TRUE_MSG(test, dma_fence_add_callback(f, &b.cb, order_cb_func) == 0, "add b");
	KUNIT_ASSERT_TRUE_MSG(test, dma_fence_remove_callback(f, &a.cb), "a was queued");
	KUNIT_ASSERT_TRUE_MSG(test, !dma_fence_remove_callback(f, &a.cb), "a is gone");
	dma_fence_signal(f);
	KUNIT_ASSERT_TRUE_MSG(test, n == 1 && log[0] == 1, "only b ran (n=%d, first=%d)", n,
			      log[0]);
	KUNIT_ASSERT_TRUE_MSG(test, !dma_fence_remove_callback(f, &b.cb), "b already ran");
	dma_fence_put(f);
}

static void timestamp_set_once(struct kunit *test)
{
	struct dma_fence *f = mock_fence(dma_fence_context_alloc(1), 1);
	struct dma_fence *g = mock_fence(dma_fence_context_alloc(1), 1);
	ktime_t before, after, ts = ktime_set(42, 0);

	KUNIT_ASSERT_TRUE_MSG(test, f && g, "allocation");
	KUNIT_ASSERT_TRUE_MSG(test, !test_bit(DMA_FENCE_FLAG_TIMESTAMP_BIT, &f->flags),
			      "no timestamp yet");
	before = ktime_get();
	dma_fence_signal(f);
	after = ktime_get();
	KUNIT_ASSERT_TRUE_MSG(test, test_bit(DMA_FENCE_FLAG_TIMESTAMP_BIT, &f->flags),
			      "timestamp flag");
	KUNIT_ASSERT_TRUE_MSG(test, ktime_compare(dma_fence_timestamp(f), before) >= 0 &&
			      ktime_compare(dma_fence_timestamp(f), after) <= 0,
			      "timestamp in window");

	KUNIT_ASSERT_TRUE_MSG(test, dma_fence_signal_timestamp(g, ts) == 0,
			      "signal with timestamp");
	KUNIT_ASSERT_TRUE_MSG(test, dma_fence_signal_timestamp(g, ktime_set(43, 0)) == -EINVAL,
			      "twice");
	KUNIT_ASSERT_TRUE_MSG(test, (dma_fence_timestamp(g) == ts), "first timestamp kept");
	dma_fence_put(f);
	dma_fence_put(g);
}

static void set_deadline_reaches_ops(struct kunit *test)
{
	struct dma_fence *f = mock_fence(dma_fence_context_alloc(1), 1);
	ktime_t d = ktime_add_ms(ktime_get(), 16);

	KUNIT_ASSERT_TRUE_MSG(test, f, "allocation");
	dma_fence_set_deadline(f, d);
	KUNIT_ASSERT_TRUE_MSG(test, to_mock(f)->deadline_calls == 1, "calls %u",
			      to_mock(f)->deadline_calls);
	KUNIT_ASSERT_TRUE_MSG(test, (to_mock(f)->deadline == d), "deadline passed through");
	dma_fence_signal(f);
	dma_fence_set_deadline(f, ktime_add_ms(d, 1));
	KUNIT_ASSERT_TRUE_MSG(test, to_mock(f)->deadline_calls == 1, "no call once signalled");
	dma_fence_put(f);
}

static void describe_format(struct kunit *test)
{
	struct dma_fence *f = mock_fence(dma_fence_context_alloc(1), 7);
	static char buf[128];
	struct seq_file s = { .buf = buf, .size = sizeof(buf) };

	KUNIT_ASSERT_TRUE_MSG(test, f, "allocation");
	dma_fence_describe(f, &s);
	buf[s.count] = '\0';
	KUNIT_ASSERT_TRUE_MSG(test,
			      !strcmp(buf, "dmabuf-rs-tests mock-timeline seq 7 unsignalled\n"),
			      "got '%s'", buf);
	dma_fence_signal(f);
	s.count = 0;
	dma_fence_describe(f, &s);
	buf[s.count] = '\0';
	KUNIT_ASSERT_TRUE_MSG(test,
			      !strcmp(buf, "dmabuf-rs-tests mock-timeline seq 7 signalled\n"),
			      "got '%s'", buf);
	dma_fence_put(f);
}

struct delayed_signal {
	struct delayed_work work;
	struct dma_fence *fence;
};

static void delayed_signal_fn(struct work_struct *work)
{
	struct delayed_signal *ds = container_of(work, struct delayed_signal, work.work);

	dma_fence_signal(ds->fence);
}

static void wait_timeout_results(struct kunit *test)
{
	struct dma_fence *f = mock_fence(dma_fence_context_alloc(1), 1);
	struct delayed_signal ds;
	long ret;

	KUNIT_ASSERT_TRUE_MSG(test, f, "allocation");
	KUNIT_ASSERT_TRUE_MSG(test, dma_fence_wait_timeout(f, true, 0) == 0, "pending, no time");
	KUNIT_ASSERT_TRUE_MSG(test, dma_fence_wait_timeout(f, false, 2) == 0, "pending, times out");

	ds.fence = f;
	INIT_DELAYED_WORK_ONSTACK(&ds.work, delayed_signal_fn);
	schedule_delayed_work(&ds.work, msecs_to_jiffies(20));
	ret = dma_fence_wait_timeout(f, false, 10 * HZ);
	flush_delayed_work(&ds.work);
	destroy_delayed_work_on_stack(&ds.work);
	KUNIT_ASSERT_TRUE_MSG(test, ret > 0 && ret <= 10 * HZ, "signalled while waiting: %ld", ret);

	KUNIT_ASSERT_TRUE_MSG(test, dma_fence_wait_timeout(f, true, 0) == 1, "signalled, no time");
	KUNIT_ASSERT_TRUE_MSG(test, dma_fence_wait_timeout(f, true, 5) == 5,
			      "signalled, time kept");
	dma_fence_put(f);
}

static void wait_any_reports_index(struct kunit *test)
{
	struct dma_fence *f[3] = {};
	struct delayed_signal ds;
	u32 idx = 99;
	long ret;
	int i, err = 0;

	for (i = 0; i < 3; i++)
		f[i] = mock_fence(dma_fence_context_alloc(1), 1);
	KUNIT_CHECK_OR_OUT(test, f[0] && f[1] && f[2], "allocation");

	KUNIT_CHECK_OR_OUT(test, dma_fence_wait_any_timeout(f, 3, false, 0, &idx) == 0 &&
			   dma_fence_wait_any_timeout(f, 3, true, 2, &idx) == 0 && idx == 99,
			   "wait_any: none signalled must give 0 and leave idx");

	ds.fence = f[1];
	INIT_DELAYED_WORK_ONSTACK(&ds.work, delayed_signal_fn);
	schedule_delayed_work(&ds.work, msecs_to_jiffies(20));
	ret = dma_fence_wait_any_timeout(f, 3, false, 10 * HZ, &idx);
	flush_delayed_work(&ds.work);
	destroy_delayed_work_on_stack(&ds.work);
	KUNIT_CHECK_OR_OUT(test, ret > 0 && idx == 1, "wait_any: ret %ld idx %u, want >0 and 1",
			   ret, idx);

	dma_fence_signal(f[2]);
	idx = 99;
	ret = dma_fence_wait_any_timeout(f + 2, 1, true, 0, &idx);
	KUNIT_EXPECT_TRUE_MSG(test, ret == 1 && idx == 0,
			      "wait_any no-wait: ret %ld idx %u, want 1 and 0", ret, idx);
	ret = dma_fence_wait_any_timeout(f, 3, true, 7, NULL);
	KUNIT_EXPECT_EQ_MSG(test, ret, 7, "wait_any on a signalled set");
out:
	for (i = 0; i < 3; i++)
		if (f[i]) {
			dma_fence_signal(f[i]);
			dma_fence_put(f[i]);
		}
}

#define LONG_CHAIN 100000

/* A 100k-link chain: building, signalling, walking and freeing it must not recurse. */
static void chain_100k_links(struct kunit *test)
{
	u64 ctx = dma_fence_context_alloc(1);
	struct dma_fence **fences;
	struct dma_fence *head = NULL, *found;
	int i;

	fences = kvcalloc(LONG_CHAIN, sizeof(*fences), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, fences);
	for (i = 0; i < LONG_CHAIN; i++) {
		struct dma_fence_chain *link = dma_fence_chain_alloc();

		fences[i] = mock_fence(ctx, i + 1);
		if (!link || !fences[i]) {
			dma_fence_chain_free(link);
			KUNIT_FAIL(test, "allocation of link %d", i);
			goto out;
		}
		dma_fence_chain_init(link, head, dma_fence_get(fences[i]), i + 1);
		head = &link->base;
		if (i % 1024 == 0)
			cond_resched();
	}

	KUNIT_EXPECT_FALSE_MSG(test, dma_fence_is_signaled(head), "chain pending");
	found = dma_fence_get(head);
	KUNIT_EXPECT_TRUE_MSG(test, !dma_fence_chain_find_seqno(&found, LONG_CHAIN / 2) && found &&
			      to_dma_fence_chain(found)->base.seqno == LONG_CHAIN / 2,
			      "find_seqno(%d) did not find its link", LONG_CHAIN / 2);
	dma_fence_put(found);

	for (i = 0; i < LONG_CHAIN; i++) {
		dma_fence_signal(fences[i]);
		if (i % 1024 == 0)
			cond_resched();
	}
	KUNIT_EXPECT_TRUE_MSG(test, dma_fence_is_signaled(head),
			      "chain not signalled after all its fences");
out:
	dma_fence_put(head);
	for (i = 0; i < LONG_CHAIN && fences[i]; i++) {
		dma_fence_signal(fences[i]);
		dma_fence_put(fences[i]);
	}
	kvfree(fences);
}

static struct kunit_case cases[] = {
	KUNIT_CASE(context_alloc_unique),
	KUNIT_CASE(stub_fences_signaled),
	KUNIT_CASE(double_signal_einval),
	KUNIT_CASE(error_hidden_until_signal),
	KUNIT_CASE(callbacks_in_order_locked),
	KUNIT_CASE(add_callback_after_signal),
	KUNIT_CASE(remove_callback_reports),
	KUNIT_CASE(timestamp_set_once),
	KUNIT_CASE(set_deadline_reaches_ops),
	KUNIT_CASE(describe_format),
	KUNIT_CASE(wait_timeout_results),
	KUNIT_CASE(wait_any_reports_index),
	KUNIT_CASE(chain_100k_links),
	{}
};

static struct kunit_suite suite = {
	.name = "dmabuf_rs_fence",
	.test_cases = cases,
};
kunit_test_suite(suite);
