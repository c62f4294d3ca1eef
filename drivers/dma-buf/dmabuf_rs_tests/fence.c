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

#include "harness.h"
#include "mock.h"

static int context_alloc_unique(void)
{
	u64 a = dma_fence_context_alloc(1);
	u64 b = dma_fence_context_alloc(3);
	u64 c = dma_fence_context_alloc(1);

	T_EXPECT(a != 0, "context 0 belongs to the stub");
	T_EXPECT(b == a + 1, "a=%llu b=%llu", a, b);
	T_EXPECT(c == b + 3, "b=%llu c=%llu", b, c);
	return 0;
}

static int stub_fences_signaled(void)
{
	struct dma_fence *stub = dma_fence_get_stub();
	struct dma_fence *priv;
	ktime_t ts = ktime_set(1234, 5678);

	T_EXPECT(dma_fence_is_signaled(stub), "shared stub");
	T_EXPECT(stub->context == 0 && stub->seqno == 0, "context %llu", stub->context);
	T_EXPECT(dma_fence_get_status(stub) == 1, "status");
	T_EXPECT(dma_fence_get_stub() == stub, "one shared stub");
	dma_fence_put(stub);
	dma_fence_put(stub);

	priv = dma_fence_allocate_private_stub(ts);
	T_EXPECT(priv, "allocation");
	T_EXPECT(priv != stub, "private stub is its own fence");
	T_EXPECT(dma_fence_is_signaled(priv), "private stub");
	T_EXPECT((dma_fence_timestamp(priv) == ts), "timestamp %lld",
		 ktime_to_ns(dma_fence_timestamp(priv)));
	dma_fence_put(priv);
	return 0;
}

static int double_signal_einval(void)
{
	struct dma_fence *f = mock_fence(dma_fence_context_alloc(1), 1);
	unsigned long flags;
	int ret;

	T_EXPECT(f, "allocation");
	T_EXPECT(dma_fence_signal(f) == 0, "first signal");
	T_EXPECT(dma_fence_signal(f) == -EINVAL, "second signal");
	spin_lock_irqsave(f->lock, flags);
	ret = dma_fence_signal_locked(f);
	spin_unlock_irqrestore(f->lock, flags);
	T_EXPECT(ret == -EINVAL, "signal_locked after signal: %d", ret);
	T_EXPECT(dma_fence_signal(NULL) == -EINVAL, "NULL fence");
	dma_fence_put(f);
	return 0;
}

static int error_hidden_until_signal(void)
{
	struct dma_fence *f = mock_fence(dma_fence_context_alloc(1), 1);

	T_EXPECT(f, "allocation");
	dma_fence_set_error(f, -EIO);
	T_EXPECT(dma_fence_get_status(f) == 0, "pending despite the error");
	dma_fence_signal(f);
	T_EXPECT(dma_fence_get_status(f) == -EIO, "status %d", dma_fence_get_status(f));
	dma_fence_put(f);
	return 0;
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

static int callbacks_in_order_locked(void)
{
	struct dma_fence *f = mock_fence(dma_fence_context_alloc(1), 1);
	struct order_cb cbs[3];
	int log[3] = { -1, -1, -1 }, n = 0, i;

	T_EXPECT(f, "allocation");
	for (i = 0; i < 3; i++) {
		cbs[i] = (struct order_cb){ .log = log, .n = &n, .id = i };
		T_EXPECT(dma_fence_add_callback(f, &cbs[i].cb, order_cb_func) == 0, "add %d", i);
	}
	T_EXPECT(n == 0, "no callback before signal");
	dma_fence_signal(f);
	T_EXPECT(n == 3, "%d callbacks ran", n);
	for (i = 0; i < 3; i++) {
		T_EXPECT(log[i] == i, "position %d ran callback %d", i, log[i]);
		T_EXPECT(cbs[i].irqs_off, "callback %d ran with interrupts on", i);
		T_EXPECT(cbs[i].locked, "callback %d ran without the fence lock", i);
		T_EXPECT(list_empty(&cbs[i].cb.node), "node %d re-initialised", i);
	}
	dma_fence_put(f);
	return 0;
}

static int add_callback_after_signal(void)
{
	struct dma_fence *f = mock_fence(dma_fence_context_alloc(1), 1);
	struct order_cb o;
	int log[1] = { -1 }, n = 0;

	T_EXPECT(f, "allocation");
	o = (struct order_cb){ .log = log, .n = &n };
	dma_fence_signal(f);
	T_EXPECT(dma_fence_add_callback(f, &o.cb, order_cb_func) == -ENOENT, "-ENOENT");
	T_EXPECT(n == 0, "callback must never run");
	T_EXPECT(list_empty(&o.cb.node), "node initialised");
	T_EXPECT(!dma_fence_remove_callback(f, &o.cb), "nothing to remove");
	dma_fence_put(f);
	return 0;
}

static int remove_callback_reports(void)
{
	struct dma_fence *f = mock_fence(dma_fence_context_alloc(1), 1);
	struct order_cb a, b;
	int log[2] = { -1, -1 }, n = 0;

	T_EXPECT(f, "allocation");
	a = (struct order_cb){ .log = log, .n = &n, .id = 0 };
	b = (struct order_cb){ .log = log, .n = &n, .id = 1 };
	T_EXPECT(dma_fence_add_callback(f, &a.cb, order_cb_func) == 0, "add a");
	T_EXPECT(dma_fence_add_callback(f, &b.cb, order_cb_func) == 0, "add b");
	T_EXPECT(dma_fence_remove_callback(f, &a.cb), "a was queued");
	T_EXPECT(!dma_fence_remove_callback(f, &a.cb), "a is gone");
	dma_fence_signal(f);
	T_EXPECT(n == 1 && log[0] == 1, "only b ran (n=%d, first=%d)", n, log[0]);
	T_EXPECT(!dma_fence_remove_callback(f, &b.cb), "b already ran");
	dma_fence_put(f);
	return 0;
}

static int timestamp_set_once(void)
{
	struct dma_fence *f = mock_fence(dma_fence_context_alloc(1), 1);
	struct dma_fence *g = mock_fence(dma_fence_context_alloc(1), 1);
	ktime_t before, after, ts = ktime_set(42, 0);

	T_EXPECT(f && g, "allocation");
	T_EXPECT(!test_bit(DMA_FENCE_FLAG_TIMESTAMP_BIT, &f->flags), "no timestamp yet");
	before = ktime_get();
	dma_fence_signal(f);
	after = ktime_get();
	T_EXPECT(test_bit(DMA_FENCE_FLAG_TIMESTAMP_BIT, &f->flags), "timestamp flag");
	T_EXPECT(ktime_compare(dma_fence_timestamp(f), before) >= 0 &&
		 ktime_compare(dma_fence_timestamp(f), after) <= 0, "timestamp in window");

	T_EXPECT(dma_fence_signal_timestamp(g, ts) == 0, "signal with timestamp");
	T_EXPECT(dma_fence_signal_timestamp(g, ktime_set(43, 0)) == -EINVAL, "twice");
	T_EXPECT((dma_fence_timestamp(g) == ts), "first timestamp kept");
	dma_fence_put(f);
	dma_fence_put(g);
	return 0;
}

static int set_deadline_reaches_ops(void)
{
	struct dma_fence *f = mock_fence(dma_fence_context_alloc(1), 1);
	ktime_t d = ktime_add_ms(ktime_get(), 16);

	T_EXPECT(f, "allocation");
	dma_fence_set_deadline(f, d);
	T_EXPECT(to_mock(f)->deadline_calls == 1, "calls %u", to_mock(f)->deadline_calls);
	T_EXPECT((to_mock(f)->deadline == d), "deadline passed through");
	dma_fence_signal(f);
	dma_fence_set_deadline(f, ktime_add_ms(d, 1));
	T_EXPECT(to_mock(f)->deadline_calls == 1, "no call once signalled");
	dma_fence_put(f);
	return 0;
}

static int describe_format(void)
{
	struct dma_fence *f = mock_fence(dma_fence_context_alloc(1), 7);
	static char buf[128];
	struct seq_file s = { .buf = buf, .size = sizeof(buf) };

	T_EXPECT(f, "allocation");
	dma_fence_describe(f, &s);
	buf[s.count] = '\0';
	T_EXPECT(!strcmp(buf, "dmabuf-rs-tests mock-timeline seq 7 unsignalled\n"), "got '%s'", buf);
	dma_fence_signal(f);
	s.count = 0;
	dma_fence_describe(f, &s);
	buf[s.count] = '\0';
	T_EXPECT(!strcmp(buf, "dmabuf-rs-tests mock-timeline seq 7 signalled\n"), "got '%s'", buf);
	dma_fence_put(f);
	return 0;
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

static int wait_timeout_results(void)
{
	struct dma_fence *f = mock_fence(dma_fence_context_alloc(1), 1);
	struct delayed_signal ds;
	long ret;

	T_EXPECT(f, "allocation");
	T_EXPECT(dma_fence_wait_timeout(f, true, 0) == 0, "pending, no time");
	T_EXPECT(dma_fence_wait_timeout(f, false, 2) == 0, "pending, times out");

	ds.fence = f;
	INIT_DELAYED_WORK_ONSTACK(&ds.work, delayed_signal_fn);
	schedule_delayed_work(&ds.work, msecs_to_jiffies(20));
	ret = dma_fence_wait_timeout(f, false, 10 * HZ);
	flush_delayed_work(&ds.work);
	destroy_delayed_work_on_stack(&ds.work);
	T_EXPECT(ret > 0 && ret <= 10 * HZ, "signalled while waiting: %ld", ret);

	T_EXPECT(dma_fence_wait_timeout(f, true, 0) == 1, "signalled, no time");
	T_EXPECT(dma_fence_wait_timeout(f, true, 5) == 5, "signalled, time kept");
	dma_fence_put(f);
	return 0;
}

static int wait_any_reports_index(void)
{
	struct dma_fence *f[3] = {};
	struct delayed_signal ds;
	u32 idx = 99;
	long ret;
	int i, err = 0;

	for (i = 0; i < 3; i++)
		f[i] = mock_fence(dma_fence_context_alloc(1), 1);
	if (!f[0] || !f[1] || !f[2]) {
		err = -ENOMEM;
		goto out;
	}

	if (dma_fence_wait_any_timeout(f, 3, false, 0, &idx) != 0 ||
	    dma_fence_wait_any_timeout(f, 3, true, 2, &idx) != 0 || idx != 99) {
		pr_info(T_PREFIX "# wait_any: none signalled must give 0 and leave idx\n");
		err = -EINVAL;
		goto out;
	}

	ds.fence = f[1];
	INIT_DELAYED_WORK_ONSTACK(&ds.work, delayed_signal_fn);
	schedule_delayed_work(&ds.work, msecs_to_jiffies(20));
	ret = dma_fence_wait_any_timeout(f, 3, false, 10 * HZ, &idx);
	flush_delayed_work(&ds.work);
	destroy_delayed_work_on_stack(&ds.work);
	if (ret <= 0 || idx != 1) {
		pr_info(T_PREFIX "# wait_any: ret %ld idx %u, want >0 and 1\n", ret, idx);
		err = -EINVAL;
		goto out;
	}

	dma_fence_signal(f[2]);
	idx = 99;
	ret = dma_fence_wait_any_timeout(f + 2, 1, true, 0, &idx);
	if (ret != 1 || idx != 0) {
		pr_info(T_PREFIX "# wait_any no-wait: ret %ld idx %u, want 1 and 0\n", ret, idx);
		err = -EINVAL;
	}
	ret = dma_fence_wait_any_timeout(f, 3, true, 7, NULL);
	if (ret != 7) {
		pr_info(T_PREFIX "# wait_any on a signalled set: ret %ld, want 7\n", ret);
		err = -EINVAL;
	}
out:
	for (i = 0; i < 3; i++)
		if (f[i]) {
			dma_fence_signal(f[i]);
			dma_fence_put(f[i]);
		}
	return err;
}

#define LONG_CHAIN 100000

/* A 100k-link chain: building, signalling, walking and freeing it must not recurse. */
static int chain_100k_links(void)
{
	u64 ctx = dma_fence_context_alloc(1);
	struct dma_fence **fences;
	struct dma_fence *head = NULL, *found;
	int i, err = 0;

	fences = kvcalloc(LONG_CHAIN, sizeof(*fences), GFP_KERNEL);
	if (!fences)
		return -ENOMEM;
	for (i = 0; i < LONG_CHAIN; i++) {
		struct dma_fence_chain *link = dma_fence_chain_alloc();

		fences[i] = mock_fence(ctx, i + 1);
		if (!link || !fences[i]) {
			dma_fence_chain_free(link);
			err = -ENOMEM;
			goto out;
		}
		dma_fence_chain_init(link, head, dma_fence_get(fences[i]), i + 1);
		head = &link->base;
		if (i % 1024 == 0)
			cond_resched();
	}

	T_EXPECT(!dma_fence_is_signaled(head), "chain pending");
	found = dma_fence_get(head);
	if (dma_fence_chain_find_seqno(&found, LONG_CHAIN / 2) || !found ||
	    to_dma_fence_chain(found)->base.seqno != LONG_CHAIN / 2) {
		pr_info(T_PREFIX "# find_seqno(%d) did not find its link\n", LONG_CHAIN / 2);
		err = -EINVAL;
	}
	dma_fence_put(found);

	for (i = 0; i < LONG_CHAIN; i++) {
		dma_fence_signal(fences[i]);
		if (i % 1024 == 0)
			cond_resched();
	}
	if (!dma_fence_is_signaled(head)) {
		pr_info(T_PREFIX "# chain not signalled after all its fences\n");
		err = -EINVAL;
	}
out:
	dma_fence_put(head);
	for (i = 0; i < LONG_CHAIN && fences[i]; i++) {
		dma_fence_signal(fences[i]);
		dma_fence_put(fences[i]);
	}
	kvfree(fences);
	return err;
}

static const struct dmabuf_rs_test tests[] = {
	{ "fence/context_alloc_unique", context_alloc_unique },
	{ "fence/stub_fences_signaled", stub_fences_signaled },
	{ "fence/double_signal_einval", double_signal_einval },
	{ "fence/error_hidden_until_signal", error_hidden_until_signal },
	{ "fence/callbacks_in_order_locked", callbacks_in_order_locked },
	{ "fence/add_callback_after_signal", add_callback_after_signal },
	{ "fence/remove_callback_reports", remove_callback_reports },
	{ "fence/timestamp_set_once", timestamp_set_once },
	{ "fence/set_deadline_reaches_ops", set_deadline_reaches_ops },
	{ "fence/describe_format", describe_format },
	{ "fence/wait_timeout_results", wait_timeout_results },
	{ "fence/wait_any_reports_index", wait_any_reports_index },
	{ "fence/chain_100k_links", chain_100k_links },
};
const struct dmabuf_rs_suite dmabuf_rs_fence_suite = { tests, ARRAY_SIZE(tests) };
