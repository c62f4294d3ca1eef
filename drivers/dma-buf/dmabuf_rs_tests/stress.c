// SPDX-License-Identifier: GPL-2.0-only
/*
 * Concurrency stress of the fence paths that race by design, each case for
 * stress_ms milliseconds (a module parameter; the guest passes its
 * dmabufrs_stress_ms): a signalling thread against
 *
 *  - add_callback/remove_callback on the fences it signals: every callback
 *    must run exactly once if it was added and not removed, and never
 *    otherwise;
 *  - walks of a fence chain whose links it signals (and the walks garbage
 *    collect): every walk sees strictly decreasing seqnos, and finding a
 *    seqno returns a link at or below it, or NULL only once every fence up
 *    to it has signalled.
 *
 * (Unlocked reservation walks against adds are dmabuf_rs_resv's
 * unlocked_iteration_races_add.) Each case logs "stress <case>: <n> rounds".
 */
#include <linux/delay.h>
#include <linux/dma-fence-chain.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/slab.h>

#include "check.h"
#include "mock.h"

static unsigned int stress_ms = 1000;
module_param(stress_ms, uint, 0444);
MODULE_PARM_DESC(stress_ms, "how long each stress case runs (ms)");

#define NFENCES 64

/* Signals fences[0..n) in order, yielding between them. */
struct signaller {
	struct dma_fence **fences;
	unsigned int n;
	bool shuffle;		/* signal in a random order instead */
	bool done;
};

static int signal_thread(void *data)
{
	struct signaller *s = data;
	unsigned int i;

	for (i = 0; i < s->n; i++) {
		unsigned int k = s->shuffle ? get_random_u32_below(s->n) : i;

		dma_fence_signal(s->fences[k]);
		if (i % 4 == 0)
			cond_resched();
	}
	/* whatever the random order missed */
	for (i = 0; i < s->n; i++)
		dma_fence_signal(s->fences[i]);
	WRITE_ONCE(s->done, true);
	while (!kthread_should_stop())
		msleep(1);
	return 0;
}

static struct task_struct *start_signaller(struct kunit *test, struct signaller *s)
{
	struct task_struct *t = kthread_run(signal_thread, s, "dmabuf-rs-signal");

	if (IS_ERR(t))
		return t;
	get_task_struct(t);
	return t;
}

static void stop_signaller(struct task_struct *t)
{
	kthread_stop(t);
	put_task_struct(t);
}

/* ------------------------------------------------------------------------ */

struct counted_cb {
	struct dma_fence_cb cb;
	atomic_t ran;
};

static void count_cb(struct dma_fence *f, struct dma_fence_cb *cb)
{
	atomic_inc(&container_of(cb, struct counted_cb, cb)->ran);
}

static void callbacks_vs_signal(struct kunit *test)
{
	unsigned long end = jiffies + msecs_to_jiffies(stress_ms);
	struct dma_fence *fences[NFENCES];
	struct counted_cb *cbs;
	unsigned int rounds = 0, i;
	int err = 0;

	cbs = kunit_kcalloc(test, NFENCES, sizeof(*cbs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, cbs);
	do {
		u64 context = dma_fence_context_alloc(1);
		struct signaller s = { .fences = fences, .n = NFENCES };
		bool expect[NFENCES];
		struct task_struct *t;

		for (i = 0; i < NFENCES; i++) {
			fences[i] = mock_fence(context, i + 1);
			KUNIT_ASSERT_NOT_NULL(test, fences[i]);
			atomic_set(&cbs[i].ran, 0);
		}
		t = start_signaller(test, &s);
		KUNIT_ASSERT_FALSE(test, IS_ERR(t));
		for (i = 0; i < NFENCES; i++) {
			int ret = dma_fence_add_callback(fences[i], &cbs[i].cb, count_cb);

			if (ret && ret != -ENOENT) {
				err = ret;
				expect[i] = false;
				continue;
			}
			expect[i] = !ret;
			/* take every other one back, racing the signal */
			if (!ret && i % 2 && dma_fence_remove_callback(fences[i], &cbs[i].cb))
				expect[i] = false;
		}
		while (!READ_ONCE(s.done))
			cond_resched();
		stop_signaller(t);
		for (i = 0; i < NFENCES; i++) {
			if (atomic_read(&cbs[i].ran) != expect[i]) {
				KUNIT_FAIL(test, "round %u, callback %u ran %d times, expected %d",
					   rounds, i, atomic_read(&cbs[i].ran), expect[i]);
				err = -EINVAL;
			}
			dma_fence_put(fences[i]);
		}
		rounds++;
	} while (!err && time_before(jiffies, end));
	KUNIT_EXPECT_EQ(test, err, 0);
	kunit_info(test, "stress callbacks_vs_signal: %u rounds", rounds);
}

/* ------------------------------------------------------------------------ */

static void chain_walk_vs_signal(struct kunit *test)
{
	unsigned long end = jiffies + msecs_to_jiffies(stress_ms);
	struct dma_fence *fences[NFENCES];
	unsigned int rounds = 0, walks = 0, i;
	int err = 0;

	do {
		u64 context = dma_fence_context_alloc(NFENCES);
		struct signaller s = { .fences = fences, .n = NFENCES, .shuffle = true };
		struct dma_fence *head = NULL, *iter;
		struct task_struct *t;

		for (i = 0; i < NFENCES; i++) {
			struct dma_fence_chain *link = dma_fence_chain_alloc();

			fences[i] = mock_fence(context + i, 1);
			KUNIT_ASSERT_NOT_NULL(test, fences[i]);
			KUNIT_ASSERT_NOT_NULL(test, link);
			/* the link takes the previous head and a fence reference */
			dma_fence_chain_init(link, head, dma_fence_get(fences[i]), i + 1);
			head = &link->base;
		}
		t = start_signaller(test, &s);
		KUNIT_ASSERT_FALSE(test, IS_ERR(t));
		while (!err && !READ_ONCE(s.done)) {
			u64 last = U64_MAX, want = get_random_u32_below(NFENCES) + 1;
			struct dma_fence *found = dma_fence_get(head);

			dma_fence_chain_for_each(iter, head) {
				if (iter->seqno >= last) {
					KUNIT_FAIL(test, "walk: seqno %llu after %llu", iter->seqno, last);
					err = -EINVAL;
				}
				last = iter->seqno;
			}
			/*
			 * found: the first link from the head down whose
			 * previous seqno is below @want (so its own is at most
			 * @want: links 1..@want are done when it signals), or
			 * NULL once every fence up to @want has signalled.
			 */
			if (dma_fence_chain_find_seqno(&found, want)) {
				KUNIT_FAIL(test, "find_seqno(%llu) failed", want);
				err = -EINVAL;
			} else if (found && (found->context != head->context || found->seqno > want)) {
				KUNIT_FAIL(test, "find_seqno(%llu) gave seqno %llu", want, found->seqno);
				err = -EINVAL;
			} else if (!found) {
				for (i = 0; i < want; i++) {
					if (!dma_fence_is_signaled(fences[i])) {
						KUNIT_FAIL(test, "find_seqno(%llu): NULL, but fence %u pending",
							   want, i + 1);
						err = -EINVAL;
						break;
					}
				}
			}
			dma_fence_put(found);
			walks++;
			cond_resched();
		}
		stop_signaller(t);
		if (!dma_fence_is_signaled(head)) {
			KUNIT_FAIL(test, "round %u: the chain did not signal", rounds);
			err = -EINVAL;
		}
		dma_fence_put(head);
		for (i = 0; i < NFENCES; i++)
			dma_fence_put(fences[i]);
		rounds++;
	} while (!err && time_before(jiffies, end));
	KUNIT_EXPECT_EQ(test, err, 0);
	kunit_info(test, "stress chain_walk_vs_signal: %u rounds, %u walks", rounds, walks);
}

static struct kunit_case cases[] = {
	KUNIT_CASE(callbacks_vs_signal),
	KUNIT_CASE(chain_walk_vs_signal),
	{}
};

static struct kunit_suite suite = {
	.name = "dmabuf_rs_stress",
	.test_cases = cases,
};
kunit_test_suite(suite);
