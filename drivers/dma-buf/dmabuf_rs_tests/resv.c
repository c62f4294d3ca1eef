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

#include "check.h"
#include "mock.h"

static void put_all(struct dma_fence **f, int n)
{
	while (n--)
		mock_fence_done(f[n]);
}

static void replace_fences_by_context(struct kunit *test)
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

	if (!f[0] || !f[1] || !f[2]) {
		put_all(f, 3);
		KUNIT_FAIL_AND_ABORT(test, "allocation");
	}
	dma_resv_init(&obj);
	if (mock_resv_add(&obj, f[0], DMA_RESV_USAGE_WRITE) ||
	    mock_resv_add(&obj, f[1], DMA_RESV_USAGE_READ)) {
		KUNIT_FAIL(test, "adding the fences");
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
	KUNIT_EXPECT_TRUE_MSG(test, saw_r && saw_f1 && !bad, "replaced %d, kept %d, stray %d",
			      saw_r, saw_f1, bad);
	KUNIT_EXPECT_EQ_MSG(test, kref_read(&f[0]->refcount), 1,
			    "replaced fence still referenced");
out:
	dma_resv_fini(&obj);
	put_all(f, 3);
}

static void copy_fences_exact(struct kunit *test)
{
	struct dma_fence *f[3] = {
		mock_fence(dma_fence_context_alloc(1), 1),
		mock_fence(dma_fence_context_alloc(1), 1),
		mock_fence(dma_fence_context_alloc(1), 1),
	};
	struct dma_resv src, dst;
	int err;

	if (!f[0] || !f[1] || !f[2]) {
		put_all(f, 3);
		KUNIT_FAIL_AND_ABORT(test, "allocation");
	}
	dma_resv_init(&src);
	dma_resv_init(&dst);
	if (mock_resv_add(&src, f[0], DMA_RESV_USAGE_WRITE) ||
	    mock_resv_add(&src, f[1], DMA_RESV_USAGE_READ) ||
	    mock_resv_add(&dst, f[2], DMA_RESV_USAGE_KERNEL)) {
		KUNIT_FAIL(test, "adding the fences");
		goto out;
	}
	dma_resv_lock(&dst, NULL);
	err = dma_resv_copy_fences(&dst, &src);
	dma_resv_unlock(&dst);
	KUNIT_CHECK_OR_OUT(test, err == 0, "copy_fences: %d", err);
	KUNIT_EXPECT_TRUE_MSG(test, mock_resv_count(&dst, DMA_RESV_USAGE_BOOKKEEP) == 2 &&
			      mock_resv_count(&dst, DMA_RESV_USAGE_WRITE) == 1 &&
			      mock_resv_count(&dst, DMA_RESV_USAGE_KERNEL) == 0,
			      "copy does not mirror the source's fences and usages");
	KUNIT_EXPECT_EQ_MSG(test, kref_read(&f[2]->refcount), 1,
			    "destination's old fence still referenced");
out:
	dma_resv_fini(&src);
	dma_resv_fini(&dst);
	put_all(f, 3);
}

static void get_singleton_0_1_many(struct kunit *test)
{
	struct dma_fence *f[2] = {
		mock_fence(dma_fence_context_alloc(1), 1),
		mock_fence(dma_fence_context_alloc(1), 1),
	};
	struct dma_fence *single = (void *)1;
	struct dma_resv obj;
	int err;

	if (!f[0] || !f[1]) {
		put_all(f, 2);
		KUNIT_FAIL_AND_ABORT(test, "allocation");
	}
	dma_resv_init(&obj);
	err = dma_resv_get_singleton(&obj, DMA_RESV_USAGE_BOOKKEEP, &single);
	KUNIT_CHECK_OR_OUT(test, !err && !single, "empty: err %d fence %p", err, single);
	KUNIT_CHECK_OR_OUT(test, !mock_resv_add(&obj, f[0], DMA_RESV_USAGE_WRITE), "add a fence");
	err = dma_resv_get_singleton(&obj, DMA_RESV_USAGE_READ, &single);
	KUNIT_CHECK_OR_OUT(test, !err && single == f[0], "one fence: err %d, not that fence", err);
	dma_fence_put(single);
	KUNIT_CHECK_OR_OUT(test, !mock_resv_add(&obj, f[1], DMA_RESV_USAGE_READ), "add a fence");
	/* At WRITE usage only f[0] counts; at READ both do. */
	err = dma_resv_get_singleton(&obj, DMA_RESV_USAGE_WRITE, &single);
	KUNIT_CHECK_OR_OUT(test, !err && single == f[0], "usage filter: err %d", err);
	dma_fence_put(single);
	err = dma_resv_get_singleton(&obj, DMA_RESV_USAGE_READ, &single);
	KUNIT_EXPECT_TRUE_MSG(test, !err && single && dma_fence_is_array(single) &&
			      to_dma_fence_array(single)->num_fences == 2,
			      "two fences must give an array of two (err %d)", err);
	dma_fence_put(single);
out:
	dma_resv_fini(&obj);
	put_all(f, 2);
}

static void wait_and_test_per_usage(struct kunit *test)
{
	struct dma_fence *w = mock_fence(dma_fence_context_alloc(1), 1);
	struct dma_fence *r = mock_fence(dma_fence_context_alloc(1), 1);
	struct dma_fence *f[2] = { w, r };
	struct dma_resv obj;

	if (!w || !r) {
		put_all(f, 2);
		KUNIT_FAIL_AND_ABORT(test, "allocation");
	}
	dma_resv_init(&obj);
	if (mock_resv_add(&obj, w, DMA_RESV_USAGE_WRITE) ||
	    mock_resv_add(&obj, r, DMA_RESV_USAGE_READ)) {
		KUNIT_FAIL(test, "adding the fences");
		goto out;
	}
	KUNIT_EXPECT_TRUE_MSG(test,
			      dma_resv_wait_timeout(&obj, DMA_RESV_USAGE_KERNEL, false, 1) > 0 &&
			      dma_resv_test_signaled(&obj, DMA_RESV_USAGE_KERNEL),
			      "no kernel fences: nothing to wait for");
	KUNIT_EXPECT_TRUE_MSG(test,
			      dma_resv_wait_timeout(&obj, DMA_RESV_USAGE_WRITE, false, 1) == 0 &&
			      !dma_resv_test_signaled(&obj, DMA_RESV_USAGE_WRITE),
			      "pending writer must block WRITE");
	dma_fence_signal(w);
	KUNIT_EXPECT_TRUE_MSG(test,
			      dma_resv_wait_timeout(&obj, DMA_RESV_USAGE_WRITE, true, 5) > 0 &&
			      dma_resv_test_signaled(&obj, DMA_RESV_USAGE_WRITE),
			      "signalled writer must not block WRITE");
	KUNIT_EXPECT_TRUE_MSG(test,
			      dma_resv_wait_timeout(&obj, DMA_RESV_USAGE_READ, false, 1) == 0 &&
			      !dma_resv_test_signaled(&obj, DMA_RESV_USAGE_READ) &&
			      !dma_resv_test_signaled(&obj, DMA_RESV_USAGE_BOOKKEEP),
			      "pending reader must block READ and BOOKKEEP");
	dma_fence_signal(r);
	KUNIT_EXPECT_GT_MSG(test, dma_resv_wait_timeout(&obj, DMA_RESV_USAGE_BOOKKEEP, false, 5), 0,
			    "all signalled: BOOKKEEP wait must succeed");
out:
	dma_resv_fini(&obj);
	put_all(f, 2);
}

static void reserve_and_add_up_to_4096(struct kunit *test)
{
	static const unsigned int sizes[] = { 1, 2, 3, 64, 4096 };
	struct dma_fence **f;
	unsigned int s, i;
	int err = 0;

	f = kvcalloc(4096, sizeof(*f), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f);
	for (s = 0; s < ARRAY_SIZE(sizes) && !err; s++) {
		unsigned int n = sizes[s];
		struct dma_resv obj;

		dma_resv_init(&obj);
		dma_resv_lock(&obj, NULL);
		err = dma_resv_reserve_fences(&obj, n);
		KUNIT_EXPECT_EQ_MSG(test, err, 0, "reserving %u fences", n);
		for (i = 0; i < n && !err; i++) {
			f[i] = mock_fence(dma_fence_context_alloc(1), 1);
			if (!f[i]) {
				KUNIT_FAIL(test, "allocation of fence %u", i);
				err = -ENOMEM;
				break;
			}
			dma_resv_add_fence(&obj, f[i], i % 2 ? DMA_RESV_USAGE_READ :
							      DMA_RESV_USAGE_WRITE);
		}
		dma_resv_unlock(&obj);
		if (!err && (mock_resv_count(&obj, DMA_RESV_USAGE_BOOKKEEP) != n ||
			     mock_resv_count(&obj, DMA_RESV_USAGE_WRITE) != (n + 1) / 2)) {
			KUNIT_FAIL(test, "%u fences: iteration disagrees", n);
			err = -EINVAL;
		}
		dma_resv_fini(&obj);
		put_all(f, i);
		memset(f, 0, 4096 * sizeof(*f));
	}
	kvfree(f);
}

static void describe_format(struct kunit *test)
{
	struct dma_fence *w = mock_fence(dma_fence_context_alloc(1), 3);
	struct dma_fence *b = mock_fence(dma_fence_context_alloc(1), 4);
	struct dma_fence *f[2] = { w, b };
	static char buf[256];
	struct seq_file s = { .buf = buf, .size = sizeof(buf) };
	struct dma_resv obj;

	if (!w || !b) {
		put_all(f, 2);
		KUNIT_FAIL_AND_ABORT(test, "allocation");
	}
	dma_resv_init(&obj);
	if (mock_resv_add(&obj, w, DMA_RESV_USAGE_WRITE) ||
	    mock_resv_add(&obj, b, DMA_RESV_USAGE_BOOKKEEP)) {
		KUNIT_FAIL(test, "adding the fences");
		goto out;
	}
	/* describe lists the fences up to READ usage: the bookkeeping one is left out. */
	dma_resv_lock(&obj, NULL);
	dma_resv_describe(&obj, &s);
	dma_resv_unlock(&obj);
	buf[s.count] = '\0';
	KUNIT_EXPECT_STREQ(test, buf,
			   "\twrite fence:dmabuf-rs-tests mock-timeline seq 3 unsignalled\n");
out:
	dma_resv_fini(&obj);
	put_all(f, 2);
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

static void unlocked_iteration_races_add(struct kunit *test)
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
		KUNIT_FAIL_AND_ABORT(test, "kthread_run: %ld", PTR_ERR(t));
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
	KUNIT_EXPECT_EQ_MSG(test, err, 0, "unlocked walk saw a dead fence");
	KUNIT_EXPECT_EQ_MSG(test, a.err, 0, "the adder thread failed");
}

static struct kunit_case cases[] = {
	KUNIT_CASE(replace_fences_by_context),
	KUNIT_CASE(copy_fences_exact),
	KUNIT_CASE(get_singleton_0_1_many),
	KUNIT_CASE(wait_and_test_per_usage),
	KUNIT_CASE(reserve_and_add_up_to_4096),
	KUNIT_CASE(describe_format),
	KUNIT_CASE(unlocked_iteration_races_add),
	{}
};

static struct kunit_suite suite = {
	.name = "dmabuf_rs_resv",
	.test_cases = cases,
};
kunit_test_suite(suite);
