// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fault injection at every failure point of the in-kernel API paths that
 * allocate: export, attach (static and dynamic) with a mapping, fence array
 * and chain creation, unwrap merge, reservation reserve, copy and
 * get_fences, sync_file creation.
 *
 * Each case arms the task's fault injection (current->fail_nth, what
 * /proc/thread-self/fail-nth sets: the n-th fault point the task reaches
 * fails, with CONFIG_FAILSLAB and CONFIG_FAIL_PAGE_ALLOC a slab or page
 * allocation) for n = 1, 2, 3, ... around one run of the path, until a run
 * reaches no n-th fault point. A run whose allocation failed must return
 * -ENOMEM (NULL where the API returns no errno), and everything it made
 * must be gone once its caller has dropped what it got: kmemleak (after all
 * suites) and the console's splat check judge that. The guest sets the
 * debugfs knobs that make GFP_KERNEL allocations eligible before it loads
 * the module (scripts/guest/init).
 *
 * Each case logs "fault-sweep <path>: <n> faults injected in <m> runs".
 */
#include <linux/dma-buf.h>
#include <linux/dma-fence-array.h>
#include <linux/dma-fence-chain.h>
#include <linux/dma-fence-unwrap.h>
#include <linux/dma-resv.h>
#include <linux/file.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/sync_file.h>

#include "buf_mock.h"
#include "check.h"
#include "mock.h"

/* More runs than any path has allocations: the sweep must end before. */
#define MAX_RUNS 1000

/*
 * One path under fault injection. @setup makes what the path works on,
 * without faults; @run is the path, with the fault armed, and returns 0 or
 * -errno; @undo (without faults) drops what a successful run made and what
 * @setup made.
 */
struct fault_path {
	const char *name;
	int (*setup)(struct kunit *test, void *ctx);
	int (*run)(void *ctx);
	void (*undo)(struct kunit *test, void *ctx, int ret);
};

#ifdef CONFIG_FAULT_INJECTION
static void sweep(struct kunit *test, const struct fault_path *p, void *ctx)
{
	unsigned int n, injected = 0;

	for (n = 1; n <= MAX_RUNS; n++) {
		unsigned int left;
		int ret;

		ret = p->setup(test, ctx);
		KUNIT_ASSERT_EQ_MSG(test, ret, 0, "%s: setting up", p->name);
		current->fail_nth = n;
		ret = p->run(ctx);
		left = current->fail_nth;
		current->fail_nth = 0;
		p->undo(test, ctx, ret);

		if (left) {
			/* no n-th fault point: the path must have worked */
			KUNIT_EXPECT_EQ_MSG(test, ret, 0, "%s without an injected fault", p->name);
			break;
		}
		injected++;
		KUNIT_EXPECT_TRUE_MSG(test, ret == 0 || ret == -ENOMEM,
				      "%s, fault point %u failed: %d", p->name, n, ret);
		if (ret && ret != -ENOMEM)
			break;
	}
	KUNIT_EXPECT_LE_MSG(test, n, MAX_RUNS, "%s: still allocating", p->name);
	kunit_info(test, "fault-sweep %s: %u faults injected in %u runs", p->name, injected, n);
}
#else
static void sweep(struct kunit *test, const struct fault_path *p, void *ctx)
{
	kunit_skip(test, "no CONFIG_FAULT_INJECTION in this kernel");
}
#endif

/* ------------------------------------------------------------------------ */
/* dma-buf: export, attach, map */

struct buf_ctx {
	struct mock_buf *m;
	struct device *dev;
	struct mock_importer imp;
	bool dynamic;
};

static int buf_setup(struct kunit *test, void *p)
{
	struct buf_ctx *c = p;

	c->m = mock_buf_alloc();
	return c->m ? 0 : -ENOMEM;
}

static int export_run(void *p)
{
	struct buf_ctx *c = p;

	return mock_buf_export(c->m, &mock_static_ops, NULL);
}

static void buf_undo(struct kunit *test, void *p, int ret)
{
	struct buf_ctx *c = p;

	if (c->m->buf)
		mock_buf_put_last(test, c->m);
	else
		mock_buf_free(c->m);
	c->m = NULL;
}

static void export(struct kunit *test)
{
	static const struct fault_path p = { "export", buf_setup, export_run, buf_undo };
	struct buf_ctx c = {};

	sweep(test, &p, &c);
}

static int attach_setup(struct kunit *test, void *p)
{
	struct buf_ctx *c = p;

	c->m = mock_buf_create(c->dynamic ? &mock_dynamic_ops : &mock_static_ops);
	return c->m ? 0 : -ENOMEM;
}

/* Attach, map, unmap, detach: the error of the first step that failed. */
static int attach_map_run(void *p)
{
	struct buf_ctx *c = p;
	struct dma_buf *buf = c->m->buf;
	struct dma_buf_attachment *a;
	struct sg_table *sgt;

	if (c->dynamic)
		a = dma_buf_dynamic_attach(buf, c->dev, &mock_importer_ops, &c->imp);
	else
		a = dma_buf_attach(buf, c->dev);
	if (IS_ERR(a))
		return PTR_ERR(a);
	if (c->dynamic) {
		dma_resv_lock(buf->resv, NULL);
		sgt = dma_buf_map_attachment(a, DMA_BIDIRECTIONAL);
		if (!IS_ERR(sgt))
			dma_buf_unmap_attachment(a, sgt, DMA_BIDIRECTIONAL);
		dma_resv_unlock(buf->resv);
	} else {
		sgt = dma_buf_map_attachment_unlocked(a, DMA_BIDIRECTIONAL);
		if (!IS_ERR(sgt))
			dma_buf_unmap_attachment_unlocked(a, sgt, DMA_BIDIRECTIONAL);
	}
	dma_buf_detach(buf, a);
	return PTR_ERR_OR_ZERO(sgt);
}

static void attach_map(struct kunit *test, bool dynamic)
{
	static const struct fault_path p = { "attach_map", attach_setup, attach_map_run, buf_undo };
	static const struct fault_path pd = {
		"dynamic_attach_map", attach_setup, attach_map_run, buf_undo,
	};
	struct buf_ctx c = { .dynamic = dynamic };

	c.dev = mock_device_get();
	KUNIT_ASSERT_FALSE(test, IS_ERR(c.dev));
	sweep(test, dynamic ? &pd : &p, &c);
	mock_device_put(c.dev);
}

static void attach_map_static(struct kunit *test)
{
	attach_map(test, false);
}

static void attach_map_dynamic(struct kunit *test)
{
	attach_map(test, true);
}

/* ------------------------------------------------------------------------ */
/* fence containers */

#define NFENCES 4

struct fences_ctx {
	struct dma_fence *f[NFENCES];
	struct dma_fence **array;	/* for dma_fence_array_create */
	struct dma_fence *made;		/* what the run made */
	struct dma_fence_chain *chain;
};

static int fences_setup(struct kunit *test, void *p)
{
	struct fences_ctx *c = p;
	u64 context = dma_fence_context_alloc(NFENCES);
	unsigned int i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < NFENCES; i++) {
		/* two fences on each of two contexts, and two on their own */
		c->f[i] = mock_fence(context + (i < 2 ? 0 : i), i + 1);
		if (!c->f[i])
			return -ENOMEM;
	}
	return 0;
}

static void fences_undo(struct kunit *test, void *p, int ret)
{
	struct fences_ctx *c = p;
	unsigned int i;

	for (i = 0; i < NFENCES; i++)
		mock_fence_done(c->f[i]);
	dma_fence_put(c->made);
}

static int array_setup(struct kunit *test, void *p)
{
	struct fences_ctx *c = p;
	unsigned int i;
	int ret = fences_setup(test, p);

	if (ret)
		return ret;
	c->array = kmalloc_array(NFENCES, sizeof(*c->array), GFP_KERNEL);
	if (!c->array)
		return -ENOMEM;
	for (i = 0; i < NFENCES; i++)
		c->array[i] = dma_fence_get(c->f[i]);
	return 0;
}

static int array_run(void *p)
{
	struct fences_ctx *c = p;
	struct dma_fence_array *a;

	a = dma_fence_array_create(NFENCES, c->array, dma_fence_context_alloc(1), 1, false);
	if (!a)
		return -ENOMEM;
	/* the array owns the fences and their array now */
	c->array = NULL;
	c->made = &a->base;
	return 0;
}

static void array_undo(struct kunit *test, void *p, int ret)
{
	struct fences_ctx *c = p;
	unsigned int i;

	if (c->array) {
		for (i = 0; i < NFENCES; i++)
			dma_fence_put(c->array[i]);
		kfree(c->array);
	}
	fences_undo(test, p, ret);
}

static void array_create(struct kunit *test)
{
	static const struct fault_path p = { "fence_array_create", array_setup, array_run, array_undo };
	struct fences_ctx c;

	sweep(test, &p, &c);
}

static int chain_run(void *p)
{
	struct fences_ctx *c = p;
	struct dma_fence_chain *first, *second;

	first = dma_fence_chain_alloc();
	if (!first)
		return -ENOMEM;
	second = dma_fence_chain_alloc();
	if (!second) {
		dma_fence_chain_free(first);
		return -ENOMEM;
	}
	dma_fence_chain_init(first, NULL, dma_fence_get(c->f[0]), 1);
	dma_fence_chain_init(second, &first->base, dma_fence_get(c->f[2]), 2);
	c->made = &second->base;
	return 0;
}

static void chain_create(struct kunit *test)
{
	static const struct fault_path p = { "fence_chain_create", fences_setup, chain_run, fences_undo };
	struct fences_ctx c;

	sweep(test, &p, &c);
}

static int merge_run(void *p)
{
	struct fences_ctx *c = p;
	struct dma_fence_array *a;
	struct dma_fence **array;
	unsigned int i;

	/* an array of the last two fences, merged with the first two */
	array = kmalloc_array(2, sizeof(*array), GFP_KERNEL);
	if (!array)
		return -ENOMEM;
	for (i = 0; i < 2; i++)
		array[i] = dma_fence_get(c->f[2 + i]);
	a = dma_fence_array_create(2, array, dma_fence_context_alloc(1), 1, false);
	if (!a) {
		for (i = 0; i < 2; i++)
			dma_fence_put(array[i]);
		kfree(array);
		return -ENOMEM;
	}
	c->made = dma_fence_unwrap_merge(c->f[0], c->f[1], &a->base);
	dma_fence_put(&a->base);
	return c->made ? 0 : -ENOMEM;
}

static void unwrap_merge(struct kunit *test)
{
	static const struct fault_path p = { "unwrap_merge", fences_setup, merge_run, fences_undo };
	struct fences_ctx c;

	sweep(test, &p, &c);
}

/* ------------------------------------------------------------------------ */
/* reservation objects, sync_file */

struct resv_ctx {
	struct fences_ctx fc;
	struct dma_resv src, dst;
	struct dma_fence **got;
	unsigned int ngot;
	struct sync_file *sync_file;
};

static int resv_setup(struct kunit *test, void *p)
{
	struct resv_ctx *c = p;
	unsigned int i;
	int ret = fences_setup(test, &c->fc);

	dma_resv_init(&c->src);
	dma_resv_init(&c->dst);
	c->got = NULL;
	c->ngot = 0;
	c->sync_file = NULL;
	for (i = 0; !ret && i < NFENCES; i++)
		ret = mock_resv_add(&c->src, c->fc.f[i],
				    i & 1 ? DMA_RESV_USAGE_READ : DMA_RESV_USAGE_WRITE);
	return ret;
}

static void resv_undo(struct kunit *test, void *p, int ret)
{
	struct resv_ctx *c = p;
	unsigned int i;

	for (i = 0; i < c->ngot; i++)
		dma_fence_put(c->got[i]);
	kfree(c->got);
	if (c->sync_file)
		fput(c->sync_file->file);
	dma_resv_fini(&c->src);
	dma_resv_fini(&c->dst);
	fences_undo(test, &c->fc, ret);
}

static int reserve_run(void *p)
{
	struct resv_ctx *c = p;
	unsigned int i;
	int ret;

	dma_resv_lock(&c->dst, NULL);
	ret = dma_resv_reserve_fences(&c->dst, NFENCES);
	for (i = 0; !ret && i < NFENCES; i++)
		dma_resv_add_fence(&c->dst, c->fc.f[i], DMA_RESV_USAGE_BOOKKEEP);
	dma_resv_unlock(&c->dst);
	return ret;
}

static int copy_run(void *p)
{
	struct resv_ctx *c = p;
	int ret;

	dma_resv_lock(&c->dst, NULL);
	ret = dma_resv_copy_fences(&c->dst, &c->src);
	dma_resv_unlock(&c->dst);
	return ret;
}

static int get_fences_run(void *p)
{
	struct resv_ctx *c = p;

	return dma_resv_get_fences(&c->src, DMA_RESV_USAGE_READ, &c->ngot, &c->got);
}

static int singleton_run(void *p)
{
	struct resv_ctx *c = p;

	return dma_resv_get_singleton(&c->src, DMA_RESV_USAGE_READ, &c->fc.made);
}

static int sync_file_run(void *p)
{
	struct resv_ctx *c = p;

	c->sync_file = sync_file_create(c->fc.f[0]);
	return c->sync_file ? 0 : -ENOMEM;
}

static void resv_paths(struct kunit *test)
{
	static const struct fault_path paths[] = {
		{ "resv_reserve_add", resv_setup, reserve_run, resv_undo },
		{ "resv_copy_fences", resv_setup, copy_run, resv_undo },
		{ "resv_get_fences", resv_setup, get_fences_run, resv_undo },
		{ "resv_get_singleton", resv_setup, singleton_run, resv_undo },
		{ "sync_file_create", resv_setup, sync_file_run, resv_undo },
	};
	struct resv_ctx c;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(paths); i++)
		sweep(test, &paths[i], &c);
}

static struct kunit_case cases[] = {
	KUNIT_CASE(export),
	KUNIT_CASE(attach_map_static),
	KUNIT_CASE(attach_map_dynamic),
	KUNIT_CASE(array_create),
	KUNIT_CASE(chain_create),
	KUNIT_CASE(unwrap_merge),
	KUNIT_CASE(resv_paths),
	{}
};

static struct kunit_suite suite = {
	.name = "dmabuf_rs_faults",
	.test_cases = cases,
};
kunit_test_suite(suite);
