// SPDX-License-Identifier: GPL-2.0-only
/*
 * dma-resv behaviour that the upstream selftests leave out: replace_fences,
 * copy_fences, get_singleton with 0, 1 and many fences, wait_timeout and
 * test_signaled per usage, reserving and adding 1..4096 fences, and unlocked
 * iteration while another thread adds fences.
 */
#include <linux/delay.h>
#include <linux/dma-fence-array.h>
#include <linux/dma-resv.h>
#include <linux/kthread.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "harness.h"
#include "mock.h"

static void put_all(struct dma_fence **f, int n)
{
	while (n--)
		mock_fence_done(f[n]);
}

static int replace_fences_by_context(void)
{
	struct dma_fence *f[3] = {
		mock_fence(dma_fence_context_alloc(1), 1),
		mock_fence(dma_fence_context_alloc(1), 1),
		mock_fence(dma_fence_context_alloc(1), 1),
	};
	struct dma_resv_iter cursor;
	struct dma_fence *it;
	struct dma_resv obj;
	bool saw_r = false, saw_f1 = false, bad = false;
	int err = 0;

	if (!f[0] || !f[1] || !f[2]) {
		put_all(f, 3);
		return -ENOMEM;
	}
	dma_resv_init(&obj);
	if (mock_resv_add(&obj, f[0], DMA_RESV_USAGE_WRITE) ||
	    mock_resv_add(&obj, f[1], DMA_RESV_USAGE_READ)) {
		err = -ENOMEM;
		goto out;
	}
	dma_resv_lock(&obj, NULL);
	/* f[2] stands in for the fence that replaces all of f[0]'s context. */
	dma_resv_replace_fences(&obj, f[0]->context, f[2], DMA_RESV_USAGE_BOOKKEEP);
	dma_resv_for_each_fence(&cursor, &obj, DMA_RESV_USAGE_BOOKKEEP, it) {
		if (it == f[2])
			saw_r = dma_resv_iter_usage(&cursor) == DMA_RESV_USAGE_BOOKKEEP;
		else if (it == f[1])
			saw_f1 = dma_resv_iter_usage(&cursor) == DMA_RESV_USAGE_READ;
		else
			bad = true;
	}
	dma_resv_unlock(&obj);
	if (!saw_r || !saw_f1 || bad) {
		pr_info(T_PREFIX "# replaced %d, kept %d, stray %d\n", saw_r, saw_f1, bad);
		err = -EINVAL;
	}
	if (kref_read(&f[0]->refcount) != 1) {
		pr_info(T_PREFIX "# replaced fence still referenced (%u)\n",
			kref_read(&f[0]->refcount));
		err = -EINVAL;
	}
out:
	dma_resv_fini(&obj);
	put_all(f, 3);
	return err;
}

static int copy_fences_exact(void)
{
	struct dma_fence *f[3] = {
		mock_fence(dma_fence_context_alloc(1), 1),
		mock_fence(dma_fence_context_alloc(1), 1),
		mock_fence(dma_fence_context_alloc(1), 1),
	};
	struct dma_resv src, dst;
	int err = 0;

	if (!f[0] || !f[1] || !f[2]) {
		put_all(f, 3);
		return -ENOMEM;
	}
	dma_resv_init(&src);
	dma_resv_init(&dst);
	if (mock_resv_add(&src, f[0], DMA_RESV_USAGE_WRITE) ||
	    mock_resv_add(&src, f[1], DMA_RESV_USAGE_READ) ||
	    mock_resv_add(&dst, f[2], DMA_RESV_USAGE_KERNEL)) {
		err = -ENOMEM;
		goto out;
	}
	dma_resv_lock(&dst, NULL);
	err = dma_resv_copy_fences(&dst, &src);
	dma_resv_unlock(&dst);
	if (err)
		goto out;
	if (mock_resv_count(&dst, DMA_RESV_USAGE_BOOKKEEP) != 2 ||
	    mock_resv_count(&dst, DMA_RESV_USAGE_WRITE) != 1 ||
	    mock_resv_count(&dst, DMA_RESV_USAGE_KERNEL) != 0) {
		pr_info(T_PREFIX "# copy does not mirror the source's fences and usages\n");
		err = -EINVAL;
	}
	if (kref_read(&f[2]->refcount) != 1) {
		pr_info(T_PREFIX "# destination's old fence still referenced\n");
		err = -EINVAL;
	}
out:
	dma_resv_fini(&src);
	dma_resv_fini(&dst);
	put_all(f, 3);
	return err;
}

static int get_singleton_0_1_many(void)
{
	struct dma_fence *f[2] = {
		mock_fence(dma_fence_context_alloc(1), 1),
		mock_fence(dma_fence_context_alloc(1), 1),
	};
	struct dma_fence *single = (void *)1;
	struct dma_resv obj;
	int err = 0;

	if (!f[0] || !f[1]) {
		put_all(f, 2);
		return -ENOMEM;
	}
	dma_resv_init(&obj);
	err = dma_resv_get_singleton(&obj, DMA_RESV_USAGE_BOOKKEEP, &single);
	if (err || single) {
		pr_info(T_PREFIX "# empty: err %d fence %p\n", err, single);
		err = -EINVAL;
		goto out;
	}
	if (mock_resv_add(&obj, f[0], DMA_RESV_USAGE_WRITE)) {
		err = -ENOMEM;
		goto out;
	}
	err = dma_resv_get_singleton(&obj, DMA_RESV_USAGE_READ, &single);
	if (err || single != f[0]) {
		pr_info(T_PREFIX "# one fence: err %d, not that fence\n", err);
		err = -EINVAL;
		goto out;
	}
	dma_fence_put(single);
	if (mock_resv_add(&obj, f[1], DMA_RESV_USAGE_READ)) {
		err = -ENOMEM;
		goto out;
	}
	/* At WRITE usage only f[0] counts; at READ both do. */
	err = dma_resv_get_singleton(&obj, DMA_RESV_USAGE_WRITE, &single);
	if (err || single != f[0]) {
		pr_info(T_PREFIX "# usage filter: err %d\n", err);
		err = -EINVAL;
		goto out;
	}
	dma_fence_put(single);
	err = dma_resv_get_singleton(&obj, DMA_RESV_USAGE_READ, &single);
	if (err || !single || !dma_fence_is_array(single) ||
	    to_dma_fence_array(single)->num_fences != 2) {
		pr_info(T_PREFIX "# two fences must give an array of two (err %d)\n", err);
		err = -EINVAL;
	}
	dma_fence_put(single);
out:
	dma_resv_fini(&obj);
	put_all(f, 2);
	return err;
}

static int wait_and_test_per_usage(void)
{
	struct dma_fence *w = mock_fence(dma_fence_context_alloc(1), 1);
	struct dma_fence *r = mock_fence(dma_fence_context_alloc(1), 1);
	struct dma_fence *f[2] = { w, r };
	struct dma_resv obj;
	int err = 0;

	if (!w || !r) {
		put_all(f, 2);
		return -ENOMEM;
	}
	dma_resv_init(&obj);
	if (mock_resv_add(&obj, w, DMA_RESV_USAGE_WRITE) ||
	    mock_resv_add(&obj, r, DMA_RESV_USAGE_READ)) {
		err = -ENOMEM;
		goto out;
	}
	if (dma_resv_wait_timeout(&obj, DMA_RESV_USAGE_KERNEL, false, 1) <= 0 ||
	    !dma_resv_test_signaled(&obj, DMA_RESV_USAGE_KERNEL)) {
		pr_info(T_PREFIX "# no kernel fences: nothing to wait for\n");
		err = -EINVAL;
	}
	if (dma_resv_wait_timeout(&obj, DMA_RESV_USAGE_WRITE, false, 1) != 0 ||
	    dma_resv_test_signaled(&obj, DMA_RESV_USAGE_WRITE)) {
		pr_info(T_PREFIX "# pending writer must block WRITE\n");
		err = -EINVAL;
	}
	dma_fence_signal(w);
	if (dma_resv_wait_timeout(&obj, DMA_RESV_USAGE_WRITE, true, 5) <= 0 ||
	    !dma_resv_test_signaled(&obj, DMA_RESV_USAGE_WRITE)) {
		pr_info(T_PREFIX "# signalled writer must not block WRITE\n");
		err = -EINVAL;
	}
	if (dma_resv_wait_timeout(&obj, DMA_RESV_USAGE_READ, false, 1) != 0 ||
	    dma_resv_test_signaled(&obj, DMA_RESV_USAGE_READ) ||
	    dma_resv_test_signaled(&obj, DMA_RESV_USAGE_BOOKKEEP)) {
		pr_info(T_PREFIX "# pending reader must block READ and BOOKKEEP\n");
		err = -EINVAL;
	}
	dma_fence_signal(r);
	if (dma_resv_wait_timeout(&obj, DMA_RESV_USAGE_BOOKKEEP, false, 5) <= 0) {
		pr_info(T_PREFIX "# all signalled: BOOKKEEP wait must succeed\n");
		err = -EINVAL;
	}
out:
	dma_resv_fini(&obj);
	put_all(f, 2);
	return err;
}

static int reserve_and_add_up_to_4096(void)
{
	static const unsigned int sizes[] = { 1, 2, 3, 64, 4096 };
	struct dma_fence **f;
	unsigned int s, i;
	int err = 0;

	f = kvcalloc(4096, sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	for (s = 0; s < ARRAY_SIZE(sizes) && !err; s++) {
		unsigned int n = sizes[s];
		struct dma_resv obj;

		dma_resv_init(&obj);
		dma_resv_lock(&obj, NULL);
		err = dma_resv_reserve_fences(&obj, n);
		for (i = 0; i < n && !err; i++) {
			f[i] = mock_fence(dma_fence_context_alloc(1), 1);
			if (!f[i]) {
				err = -ENOMEM;
				break;
			}
			dma_resv_add_fence(&obj, f[i], i % 2 ? DMA_RESV_USAGE_READ :
							      DMA_RESV_USAGE_WRITE);
		}
		dma_resv_unlock(&obj);
		if (!err && (mock_resv_count(&obj, DMA_RESV_USAGE_BOOKKEEP) != n ||
			     mock_resv_count(&obj, DMA_RESV_USAGE_WRITE) != (n + 1) / 2)) {
			pr_info(T_PREFIX "# %u fences: iteration disagrees\n", n);
			err = -EINVAL;
		}
		dma_resv_fini(&obj);
		put_all(f, i);
		memset(f, 0, 4096 * sizeof(*f));
	}
	kvfree(f);
	return err;
}

static int describe_format(void)
{
	struct dma_fence *w = mock_fence(dma_fence_context_alloc(1), 3);
	struct dma_fence *b = mock_fence(dma_fence_context_alloc(1), 4);
	struct dma_fence *f[2] = { w, b };
	static char buf[256];
	struct seq_file s = { .buf = buf, .size = sizeof(buf) };
	struct dma_resv obj;
	int err = 0;

	if (!w || !b) {
		put_all(f, 2);
		return -ENOMEM;
	}
	dma_resv_init(&obj);
	if (mock_resv_add(&obj, w, DMA_RESV_USAGE_WRITE) ||
	    mock_resv_add(&obj, b, DMA_RESV_USAGE_BOOKKEEP)) {
		err = -ENOMEM;
		goto out;
	}
	/* describe lists the fences up to READ usage: the bookkeeping one is left out. */
	dma_resv_lock(&obj, NULL);
	dma_resv_describe(&obj, &s);
	dma_resv_unlock(&obj);
	buf[s.count] = '\0';
	if (strcmp(buf, "\twrite fence:dmabuf-rs-tests mock-timeline seq 3 unsignalled\n")) {
		pr_info(T_PREFIX "# got '%s'\n", buf);
		err = -EINVAL;
	}
out:
	dma_resv_fini(&obj);
	put_all(f, 2);
	return err;
}

struct adder {
	struct dma_resv *obj;
	u64 context;
	int rounds;
	int err;
	bool done;
};

static int adder_thread(void *data)
{
	struct adder *a = data;
	int i;

	for (i = 1; i <= a->rounds && !a->err; i++) {
		/* Alternate a new context with a later fence on a known one. */
		struct dma_fence *f = mock_fence(i % 2 ? dma_fence_context_alloc(1) : a->context, i);

		if (!f) {
			a->err = -ENOMEM;
			break;
		}
		a->err = mock_resv_add(a->obj, f, DMA_RESV_USAGE_READ);
		dma_fence_signal(f);
		dma_fence_put(f);
		cond_resched();
	}
	WRITE_ONCE(a->done, true);
	return 0;
}

static int unlocked_iteration_races_add(void)
{
	struct adder a = { .rounds = 2000 };
	struct task_struct *t;
	struct dma_resv obj;
	unsigned int walks = 0;
	int err = 0;

	dma_resv_init(&obj);
	a.obj = &obj;
	a.context = dma_fence_context_alloc(1);
	t = kthread_run(adder_thread, &a, "dmabuf-rs-adder");
	if (IS_ERR(t)) {
		dma_resv_fini(&obj);
		return PTR_ERR(t);
	}
	get_task_struct(t);
	while (!READ_ONCE(a.done) || walks < 10) {
		struct dma_resv_iter cursor;
		struct dma_fence *f;

		dma_resv_iter_begin(&cursor, &obj, DMA_RESV_USAGE_BOOKKEEP);
		dma_resv_for_each_fence_unlocked(&cursor, f) {
			if (!f->ops || kref_read(&f->refcount) == 0) {
				err = -EINVAL;
				break;
			}
		}
		dma_resv_iter_end(&cursor);
		walks++;
		if (err || walks > 1000000)
			break;
		cond_resched();
	}
	kthread_stop(t);
	put_task_struct(t);
	dma_resv_fini(&obj);
	if (err)
		pr_info(T_PREFIX "# unlocked walk saw a dead fence\n");
	return err ?: a.err;
}

static const struct dmabuf_rs_test tests[] = {
	{ "resv/replace_fences_by_context", replace_fences_by_context },
	{ "resv/copy_fences_exact", copy_fences_exact },
	{ "resv/get_singleton_0_1_many", get_singleton_0_1_many },
	{ "resv/wait_and_test_per_usage", wait_and_test_per_usage },
	{ "resv/reserve_and_add_up_to_4096", reserve_and_add_up_to_4096 },
	{ "resv/describe_format", describe_format },
	{ "resv/unlocked_iteration_races_add", unlocked_iteration_races_add },
};
const struct dmabuf_rs_suite dmabuf_rs_resv_suite = { tests, ARRAY_SIZE(tests) };
