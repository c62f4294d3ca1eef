// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmabuf_rs_bench: in-kernel benchmarks of the dma-buf core's C API, for
 * `make bench` (scripts/bench.sh). The same module runs on the Rust and the
 * C core; only the core differs between the two benchmark kernels.
 *
 * Loading the module runs every benchmark whose name starts with one of the
 * comma-separated prefixes in @filter (all when empty) in a kernel thread,
 * and prints one line per benchmark on the kernel log:
 *
 *   @B <name> n=<elements> iters=<iterations> ns=<total> ns_op=<ns>.<milli>
 *
 * Each benchmark runs once to warm up (for a tenth of @time_ms), then for as
 * many iterations as take @time_ms of guest time, timed with ktime around
 * the loop only (set-up and tear-down excluded). Under QEMU's
 * -icount shift=0 the guest clock counts instructions, so these figures are
 * instruction counts and repeat from boot to boot.
 *
 * The mock exporter is as cheap as an exporter can be (a fixed sg_table, a
 * fixed vmap address, no-op CPU access), so that buffer benchmarks measure
 * the core around the exporter's ops.
 *
 * The xcpu/ benchmarks need two online CPUs (a waiter woken from the other
 * CPU) and are skipped, without a line, on fewer: make bench runs them in
 * separate wall-clock boots with two vCPUs, where each reports the best of
 * XCPU_TRIES timed runs.
 */
#include <linux/device.h>
#include <linux/dma-buf.h>
#include <linux/dma-fence.h>
#include <linux/dma-fence-array.h>
#include <linux/dma-fence-chain.h>
#include <linux/dma-fence-unwrap.h>
#include <linux/dma-resv.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/iosys-map.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/cpumask.h>
#include <linux/sched.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/string.h>

static char *filter = "";
module_param(filter, charp, 0444);
MODULE_PARM_DESC(filter, "comma-separated name prefixes of the benchmarks to run (all when empty)");
static unsigned int time_ms = 1000;
module_param(time_ms, uint, 0444);
MODULE_PARM_DESC(time_ms, "guest time each benchmark's timed loop runs for, in ms");

static DEFINE_SPINLOCK(bench_lock);
static u64 bench_context;
static u64 bench_seqno;

static const char *bench_driver_name(struct dma_fence *f)
{
	return "dmabuf_rs_bench";
}

static const char *bench_timeline_name(struct dma_fence *f)
{
	return "bench";
}

static const struct dma_fence_ops bench_fence_ops = {
	.get_driver_name = bench_driver_name,
	.get_timeline_name = bench_timeline_name,
};

/* A new unsignalled fence on @context (kmalloc; freed by the core's release). */
static struct dma_fence *fence_new(u64 context)
{
	struct dma_fence *f = kmalloc(sizeof(*f), GFP_KERNEL);

	if (f)
		dma_fence_init(f, &bench_fence_ops, &bench_lock, context, ++bench_seqno);
	return f;
}

/* @n fences on @n new contexts, in a kmalloc'd array. */
static struct dma_fence **fences_new(unsigned int n)
{
	struct dma_fence **fs = kmalloc_array(n, sizeof(*fs), GFP_KERNEL);
	u64 ctx = dma_fence_context_alloc(n);
	unsigned int i;

	if (!fs)
		return NULL;
	for (i = 0; i < n; i++) {
		fs[i] = fence_new(ctx + i);
		if (!fs[i]) {
			while (i--)
				dma_fence_put(fs[i]);
			kfree(fs);
			return NULL;
		}
	}
	return fs;
}

static void fences_put(struct dma_fence **fs, unsigned int n, bool signal)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (signal)
			dma_fence_signal(fs[i]);
		dma_fence_put(fs[i]);
	}
	kfree(fs);
}

/*
 * A benchmark: runs @iters iterations with @n elements and returns the time
 * the measured part took in ns, or a negative errno.
 */
struct bench {
	const char *name;
	unsigned int n;
	s64 (*run)(unsigned int n, u64 iters);
};

#define T0() u64 t0 = ktime_get_ns()
#define ELAPSED() ((s64)(ktime_get_ns() - t0))

/* ---- dma-fence ---- */

static s64 fence_init_signal_put(unsigned int n, u64 iters)
{
	T0();

	while (iters--) {
		struct dma_fence *f = fence_new(bench_context);

		if (!f)
			return -ENOMEM;
		dma_fence_signal(f);
		dma_fence_put(f);
	}
	return ELAPSED();
}

static void cb_noop(struct dma_fence *f, struct dma_fence_cb *cb)
{
}

static struct dma_fence_cb bench_cbs[64];

static s64 fence_callbacks(unsigned int n, u64 iters)
{
	T0();

	while (iters--) {
		struct dma_fence *f = fence_new(bench_context);
		unsigned int i;

		if (!f)
			return -ENOMEM;
		for (i = 0; i < n; i++)
			if (dma_fence_add_callback(f, &bench_cbs[i], cb_noop))
				return -EINVAL;
		dma_fence_signal(f);
		dma_fence_put(f);
	}
	return ELAPSED();
}

static s64 fence_is_signaled(unsigned int n, u64 iters)
{
	struct dma_fence *f = fence_new(bench_context);
	s64 t;

	if (!f)
		return -ENOMEM;
	dma_fence_signal(f);
	{
		T0();
		while (iters--)
			if (!dma_fence_is_signaled(f))
				return -EINVAL;
		t = ELAPSED();
	}
	dma_fence_put(f);
	return t;
}

static s64 fence_wait_signaled(unsigned int n, u64 iters)
{
	struct dma_fence *f = fence_new(bench_context);
	s64 t;

	if (!f)
		return -ENOMEM;
	dma_fence_signal(f);
	{
		T0();
		while (iters--)
			if (dma_fence_wait(f, false))
				return -EINVAL;
		t = ELAPSED();
	}
	dma_fence_put(f);
	return t;
}

static s64 fence_context_alloc(unsigned int n, u64 iters)
{
	T0();

	while (iters--)
		dma_fence_context_alloc(1);
	return ELAPSED();
}

/* ---- containers ---- */

/* Create an array of @n fences, have it watch them, signal them all, put it. */
static s64 array_create_signal_put(unsigned int n, u64 iters)
{
	u64 ctx = dma_fence_context_alloc(1);
	T0();

	while (iters--) {
		struct dma_fence **fs = fences_new(n);
		struct dma_fence_array *a;
		unsigned int i;

		if (!fs)
			return -ENOMEM;
		a = dma_fence_array_create(n, fs, ctx, 1, false);
		if (!a) {
			fences_put(fs, n, true);
			return -ENOMEM;
		}
		dma_fence_enable_sw_signaling(&a->base);
		for (i = 0; i < n; i++)
			dma_fence_signal(fs[i]);
		dma_fence_put(&a->base);
	}
	return ELAPSED();
}

enum chain_phase { CHAIN_BUILD, CHAIN_WALK, CHAIN_GC };

/*
 * One iteration: build a chain of @n links (each on its own fence), walk it
 * unsignalled, signal every fence, walk it again (which garbage-collects the
 * signalled links) and put it; only @phase is timed. The RCU-deferred frees
 * are flushed between iterations, untimed.
 */
static s64 chain(unsigned int n, u64 iters, enum chain_phase phase)
{
	struct dma_fence **fs = kmalloc_array(n, sizeof(*fs), GFP_KERNEL);
	u64 ctx = dma_fence_context_alloc(1);
	s64 t = 0;

	if (!fs)
		return -ENOMEM;
	while (iters--) {
		struct dma_fence *head = NULL, *iter;
		unsigned int i, seen = 0;
		u64 t0 = ktime_get_ns();

		for (i = 0; i < n; i++) {
			struct dma_fence_chain *link = dma_fence_chain_alloc();

			fs[i] = fence_new(ctx);
			if (!link || !fs[i])
				return -ENOMEM;
			dma_fence_chain_init(link, head, dma_fence_get(fs[i]), i + 1);
			head = &link->base;
		}
		if (phase == CHAIN_BUILD)
			t += ktime_get_ns() - t0;

		t0 = ktime_get_ns();
		dma_fence_chain_for_each(iter, head)
			seen++;
		if (phase == CHAIN_WALK)
			t += ktime_get_ns() - t0;
		if (seen != n)
			return -EINVAL;

		for (i = 0; i < n; i++) {
			dma_fence_signal(fs[i]);
			dma_fence_put(fs[i]);
		}

		t0 = ktime_get_ns();
		seen = 0;
		dma_fence_chain_for_each(iter, head)
			seen++;
		dma_fence_put(head);
		if (phase == CHAIN_GC)
			t += ktime_get_ns() - t0;
		if (seen > 1)
			return -EINVAL;
		/*
		 * Untimed: run the frees that the walk and the put deferred to
		 * RCU (kfree_rcu of 2000 fences) now, so that they do not land
		 * in whichever phase of the next iteration is being timed
		 * when their grace period ends. That freeing is the kernel's,
		 * the same for both cores.
		 */
		kvfree_rcu_barrier();
	}
	kfree(fs);
	return t;
}

static s64 chain_build(unsigned int n, u64 iters)
{
	return chain(n, iters, CHAIN_BUILD);
}

static s64 chain_walk(unsigned int n, u64 iters)
{
	return chain(n, iters, CHAIN_WALK);
}

static s64 chain_gc(unsigned int n, u64 iters)
{
	return chain(n, iters, CHAIN_GC);
}

/* Merge @n unsignalled fences of @n contexts into one array, and put it. */
static s64 unwrap_merge(unsigned int n, u64 iters)
{
	struct dma_fence **fs = fences_new(n);
	struct dma_fence_unwrap *cursors = kmalloc_array(n, sizeof(*cursors), GFP_KERNEL);
	s64 t;

	if (!fs || !cursors)
		return -ENOMEM;
	{
		T0();
		while (iters--) {
			struct dma_fence *m = __dma_fence_unwrap_merge(n, fs, cursors);

			if (!m)
				return -ENOMEM;
			dma_fence_put(m);
		}
		t = ELAPSED();
	}
	fences_put(fs, n, true);
	kfree(cursors);
	return t;
}

/* ---- dma-resv ---- */

/* A reservation object holding @n fences of @n contexts (signalled or not). */
struct resv_fixture {
	struct dma_resv resv;
	struct dma_fence **fs;
	unsigned int n;
};

static int resv_add_all(struct resv_fixture *x)
{
	unsigned int i;
	int ret;

	dma_resv_lock(&x->resv, NULL);
	ret = dma_resv_reserve_fences(&x->resv, x->n);
	if (!ret)
		for (i = 0; i < x->n; i++)
			dma_resv_add_fence(&x->resv, x->fs[i], DMA_RESV_USAGE_READ);
	dma_resv_unlock(&x->resv);
	return ret;
}

static int resv_setup(struct resv_fixture *x, unsigned int n, bool signalled)
{
	unsigned int i;

	x->n = n;
	x->fs = fences_new(n);
	if (!x->fs)
		return -ENOMEM;
	dma_resv_init(&x->resv);
	if (resv_add_all(x))
		return -ENOMEM;
	if (signalled)
		for (i = 0; i < n; i++)
			dma_fence_signal(x->fs[i]);
	return 0;
}

static void resv_teardown(struct resv_fixture *x)
{
	dma_resv_fini(&x->resv);
	fences_put(x->fs, x->n, true);
}

/*
 * Lock, reserve @n slots, add @n fences of @n contexts, unlock. After the
 * first iteration every add replaces the fence of the same context.
 */
static s64 resv_add(unsigned int n, u64 iters)
{
	struct resv_fixture x;
	s64 t;

	if (resv_setup(&x, n, false))
		return -ENOMEM;
	{
		T0();
		while (iters--)
			if (resv_add_all(&x))
				return -ENOMEM;
		t = ELAPSED();
	}
	resv_teardown(&x);
	return t;
}

static s64 resv_iter_locked(unsigned int n, u64 iters)
{
	struct resv_fixture x;
	struct dma_resv_iter cursor;
	struct dma_fence *f;
	s64 t;

	if (resv_setup(&x, n, false))
		return -ENOMEM;
	dma_resv_lock(&x.resv, NULL);
	{
		T0();
		while (iters--) {
			unsigned int seen = 0;

			dma_resv_for_each_fence(&cursor, &x.resv, DMA_RESV_USAGE_BOOKKEEP, f)
				seen++;
			if (seen != n)
				return -EINVAL;
		}
		t = ELAPSED();
	}
	dma_resv_unlock(&x.resv);
	resv_teardown(&x);
	return t;
}

static s64 resv_iter_unlocked(unsigned int n, u64 iters)
{
	struct resv_fixture x;
	struct dma_resv_iter cursor;
	struct dma_fence *f;
	s64 t;

	if (resv_setup(&x, n, false))
		return -ENOMEM;
	{
		T0();
		while (iters--) {
			unsigned int seen = 0;

			dma_resv_iter_begin(&cursor, &x.resv, DMA_RESV_USAGE_BOOKKEEP);
			dma_resv_for_each_fence_unlocked(&cursor, f)
				seen++;
			dma_resv_iter_end(&cursor);
			if (seen != n)
				return -EINVAL;
		}
		t = ELAPSED();
	}
	resv_teardown(&x);
	return t;
}

static s64 resv_get_fences(unsigned int n, u64 iters)
{
	struct resv_fixture x;
	s64 t;

	if (resv_setup(&x, n, false))
		return -ENOMEM;
	{
		T0();
		while (iters--) {
			struct dma_fence **fs;
			unsigned int num;

			if (dma_resv_get_fences(&x.resv, DMA_RESV_USAGE_BOOKKEEP, &num, &fs))
				return -ENOMEM;
			if (num != n)
				return -EINVAL;
			fences_put(fs, num, false);
		}
		t = ELAPSED();
	}
	resv_teardown(&x);
	return t;
}

static s64 resv_get_singleton(unsigned int n, u64 iters)
{
	struct resv_fixture x;
	s64 t;

	if (resv_setup(&x, n, false))
		return -ENOMEM;
	{
		T0();
		while (iters--) {
			struct dma_fence *f;

			if (dma_resv_get_singleton(&x.resv, DMA_RESV_USAGE_BOOKKEEP, &f))
				return -ENOMEM;
			if (!f)
				return -EINVAL;
			dma_fence_put(f);
		}
		t = ELAPSED();
	}
	resv_teardown(&x);
	return t;
}

static s64 resv_test_signaled(unsigned int n, u64 iters)
{
	struct resv_fixture x;
	s64 t;

	if (resv_setup(&x, n, true))
		return -ENOMEM;
	{
		T0();
		while (iters--)
			if (!dma_resv_test_signaled(&x.resv, DMA_RESV_USAGE_BOOKKEEP))
				return -EINVAL;
		t = ELAPSED();
	}
	resv_teardown(&x);
	return t;
}

static s64 resv_wait_signaled(unsigned int n, u64 iters)
{
	struct resv_fixture x;
	s64 t;

	if (resv_setup(&x, n, true))
		return -ENOMEM;
	{
		T0();
		while (iters--)
			if (dma_resv_wait_timeout(&x.resv, DMA_RESV_USAGE_BOOKKEEP, false,
						  MAX_SCHEDULE_TIMEOUT) <= 0)
				return -EINVAL;
		t = ELAPSED();
	}
	resv_teardown(&x);
	return t;
}

/* ---- dma-buf, with a mock exporter ---- */

static struct device *bench_dev;
static struct sg_table bench_sgt;
static struct page *bench_page;

static struct sg_table *mock_map(struct dma_buf_attachment *a, enum dma_data_direction dir)
{
	return &bench_sgt;
}

static void mock_unmap(struct dma_buf_attachment *a, struct sg_table *sgt,
		       enum dma_data_direction dir)
{
}

static void mock_release(struct dma_buf *buf)
{
}

static int mock_pin(struct dma_buf_attachment *a)
{
	return 0;
}

static void mock_unpin(struct dma_buf_attachment *a)
{
}

static int mock_vmap(struct dma_buf *buf, struct iosys_map *map)
{
	iosys_map_set_vaddr(map, page_address(bench_page));
	return 0;
}

static void mock_vunmap(struct dma_buf *buf, struct iosys_map *map)
{
}

static int mock_cpu_access(struct dma_buf *buf, enum dma_data_direction dir)
{
	return 0;
}

static const struct dma_buf_ops mock_static_ops = {
	.map_dma_buf = mock_map,
	.unmap_dma_buf = mock_unmap,
	.release = mock_release,
	.vmap = mock_vmap,
	.vunmap = mock_vunmap,
	.begin_cpu_access = mock_cpu_access,
	.end_cpu_access = mock_cpu_access,
};

static const struct dma_buf_ops mock_dynamic_ops = {
	.pin = mock_pin,
	.unpin = mock_unpin,
	.map_dma_buf = mock_map,
	.unmap_dma_buf = mock_unmap,
	.release = mock_release,
};

static void importer_move_notify(struct dma_buf_attachment *a)
{
}

static const struct dma_buf_attach_ops importer_ops = {
	.move_notify = importer_move_notify,
};

static struct dma_buf *mock_export(const struct dma_buf_ops *ops)
{
	DEFINE_DMA_BUF_EXPORT_INFO(info);

	info.ops = ops;
	info.size = PAGE_SIZE;
	info.flags = O_RDWR;
	info.priv = &bench_sgt;
	return dma_buf_export(&info);
}

/*
 * The last put of a buffer from a kernel thread goes to the delayed-fput
 * list; flush it so that the release is part of what is timed.
 */
static void mock_put(struct dma_buf *buf)
{
	dma_buf_put(buf);
	flush_delayed_fput();
}

static s64 buf_export_put(unsigned int n, u64 iters)
{
	T0();

	while (iters--) {
		struct dma_buf *buf = mock_export(&mock_static_ops);

		if (IS_ERR(buf))
			return PTR_ERR(buf);
		mock_put(buf);
	}
	return ELAPSED();
}

static s64 buf_attach_map(unsigned int n, u64 iters, bool dynamic)
{
	struct dma_buf *buf = mock_export(dynamic ? &mock_dynamic_ops : &mock_static_ops);
	s64 t;

	if (IS_ERR(buf))
		return PTR_ERR(buf);
	{
		T0();
		while (iters--) {
			struct dma_buf_attachment *a;
			struct sg_table *sgt;

			if (dynamic)
				a = dma_buf_dynamic_attach(buf, bench_dev, &importer_ops, NULL);
			else
				a = dma_buf_attach(buf, bench_dev);
			if (IS_ERR(a))
				return PTR_ERR(a);
			if (dynamic) {
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
			if (IS_ERR(sgt))
				return PTR_ERR(sgt);
			dma_buf_detach(buf, a);
		}
		t = ELAPSED();
	}
	mock_put(buf);
	return t;
}

static s64 buf_attach_map_static(unsigned int n, u64 iters)
{
	return buf_attach_map(n, iters, false);
}

static s64 buf_attach_map_dynamic(unsigned int n, u64 iters)
{
	return buf_attach_map(n, iters, true);
}

static s64 buf_vmap(unsigned int n, u64 iters)
{
	struct dma_buf *buf = mock_export(&mock_static_ops);
	s64 t;

	if (IS_ERR(buf))
		return PTR_ERR(buf);
	{
		T0();
		while (iters--) {
			struct iosys_map map;
			int ret = dma_buf_vmap_unlocked(buf, &map);

			if (ret)
				return ret;
			dma_buf_vunmap_unlocked(buf, &map);
		}
		t = ELAPSED();
	}
	mock_put(buf);
	return t;
}

static s64 buf_cpu_access(unsigned int n, u64 iters)
{
	struct dma_buf *buf = mock_export(&mock_static_ops);
	s64 t;

	if (IS_ERR(buf))
		return PTR_ERR(buf);
	{
		T0();
		while (iters--) {
			int ret = dma_buf_begin_cpu_access(buf, DMA_BIDIRECTIONAL);

			if (!ret)
				ret = dma_buf_end_cpu_access(buf, DMA_BIDIRECTIONAL);
			if (ret)
				return ret;
		}
		t = ELAPSED();
	}
	mock_put(buf);
	return t;
}

/*
 * ---- floors: the kernel work outside the core that a benchmark of the same
 * name must do on either core (allocation, RCU freeing, the clock, the
 * locks, the callbacks' own calls). The core's own share of a benchmark is
 * its figure minus its floor.
 */

/* fence/init_signal_put: kmalloc, the fence lock, ktime_get, kfree_rcu. */
static s64 floor_fence(unsigned int n, u64 iters)
{
	T0();

	while (iters--) {
		struct dma_fence *f = kmalloc(sizeof(*f), GFP_KERNEL);
		unsigned long flags;

		if (!f)
			return -ENOMEM;
		spin_lock_irqsave(&bench_lock, flags);
		f->timestamp = ktime_get();
		spin_unlock_irqrestore(&bench_lock, flags);
		kfree_rcu(f, rcu);
	}
	return ELAPSED();
}

/* The callback, called through a pointer the compiler cannot see through. */
static dma_fence_func_t volatile floor_cb = cb_noop;

/*
 * fence/callbacks [n]: the fence's floor, the fence lock once per callback
 * added, and each callback's call.
 */
static s64 floor_callbacks(unsigned int n, u64 iters)
{
	T0();

	while (iters--) {
		struct dma_fence *f = kmalloc(sizeof(*f), GFP_KERNEL);
		unsigned long flags;
		unsigned int i;

		if (!f)
			return -ENOMEM;
		for (i = 0; i < n; i++) {
			spin_lock_irqsave(&bench_lock, flags);
			spin_unlock_irqrestore(&bench_lock, flags);
		}
		spin_lock_irqsave(&bench_lock, flags);
		f->timestamp = ktime_get();
		for (i = 0; i < n; i++)
			floor_cb(f, &bench_cbs[i]);
		spin_unlock_irqrestore(&bench_lock, flags);
		kfree_rcu(f, rcu);
	}
	return ELAPSED();
}

/* resv/add [n]: the reservation lock taken and dropped (ww_mutex). */
static s64 floor_resv_lock(unsigned int n, u64 iters)
{
	struct dma_resv resv;
	s64 t;

	dma_resv_init(&resv);
	{
		T0();
		while (iters--) {
			dma_resv_lock(&resv, NULL);
			dma_resv_unlock(&resv);
		}
		t = ELAPSED();
	}
	dma_resv_fini(&resv);
	return t;
}

/* ---- cross-CPU: a waiter woken from the other CPU (wall clock) ---- */

#define XCPU_TRIES 5
/* Each round trip needs two fences made beforehand: bounds the arrays. */
#define XCPU_MAX_ITERS (1U << 16)

struct xcpu_pong {
	struct dma_fence **ping, **pong;
	u64 iters;
	struct completion done;
};

/* On CPU 1: waits for each ping, then signals its pong. */
static int xcpu_ponger(void *arg)
{
	struct xcpu_pong *p = arg;
	u64 i;

	for (i = 0; i < p->iters; i++) {
		dma_fence_wait(p->ping[i], false);
		dma_fence_signal(p->pong[i]);
	}
	complete(&p->done);
	return 0;
}

/*
 * One iteration is a round trip between two CPUs: this thread (CPU 0)
 * signals a fence that a thread on CPU 1 sleeps on in dma_fence_wait(), and
 * sleeps on the fence that thread signals back. Two cross-CPU wake-ups
 * through the core's default wait and its signal path.
 */
static s64 xcpu_fence_wake(unsigned int n, u64 iters)
{
	struct xcpu_pong p = { .iters = iters };
	struct task_struct *task;
	s64 t = -ENOMEM;
	u64 i;

	if (iters > XCPU_MAX_ITERS)
		return -E2BIG;
	p.ping = fences_new(iters);
	p.pong = p.ping ? fences_new(iters) : NULL;
	if (!p.pong)
		goto out;
	init_completion(&p.done);
	task = kthread_create(xcpu_ponger, &p, "dmabuf_rs_bench_pong");
	if (IS_ERR(task)) {
		t = PTR_ERR(task);
		goto out;
	}
	kthread_bind(task, 1);
	wake_up_process(task);
	{
		T0();
		for (i = 0; i < iters; i++) {
			dma_fence_signal(p.ping[i]);
			dma_fence_wait(p.pong[i], false);
		}
		t = ELAPSED();
	}
	wait_for_completion(&p.done);
out:
	if (p.pong)
		fences_put(p.pong, iters, false);
	if (p.ping)
		fences_put(p.ping, iters, false);
	return t;
}

/* ---- the list ---- */

static const struct bench benches[] = {
	{ "fence/init_signal_put", 1, fence_init_signal_put },
	{ "fence/callbacks", 1, fence_callbacks },
	{ "fence/callbacks", 8, fence_callbacks },
	{ "fence/callbacks", 64, fence_callbacks },
	{ "fence/is_signaled", 1, fence_is_signaled },
	{ "fence/wait_signaled", 1, fence_wait_signaled },
	{ "fence/context_alloc", 1, fence_context_alloc },
	{ "array/create_signal_put", 2, array_create_signal_put },
	{ "array/create_signal_put", 16, array_create_signal_put },
	{ "array/create_signal_put", 256, array_create_signal_put },
	{ "chain/build", 1000, chain_build },
	{ "chain/walk", 1000, chain_walk },
	{ "chain/walk_gc_put", 1000, chain_gc },
	{ "unwrap/merge", 2, unwrap_merge },
	{ "unwrap/merge", 4, unwrap_merge },
	{ "unwrap/merge", 8, unwrap_merge },
	{ "unwrap/merge", 16, unwrap_merge },
	{ "unwrap/merge", 32, unwrap_merge },
	{ "unwrap/merge", 64, unwrap_merge },
	{ "unwrap/merge", 128, unwrap_merge },
	{ "unwrap/merge", 256, unwrap_merge },
	{ "unwrap/merge", 512, unwrap_merge },
	{ "unwrap/merge", 1024, unwrap_merge },
	{ "resv/add", 1, resv_add },
	{ "resv/add", 8, resv_add },
	{ "resv/add", 64, resv_add },
	{ "resv/add", 1024, resv_add },
	{ "resv/iter_locked", 1, resv_iter_locked },
	{ "resv/iter_locked", 64, resv_iter_locked },
	{ "resv/iter_locked", 1024, resv_iter_locked },
	{ "resv/iter_unlocked", 1, resv_iter_unlocked },
	{ "resv/iter_unlocked", 64, resv_iter_unlocked },
	{ "resv/iter_unlocked", 1024, resv_iter_unlocked },
	{ "resv/get_fences", 1, resv_get_fences },
	{ "resv/get_fences", 64, resv_get_fences },
	{ "resv/get_singleton", 1, resv_get_singleton },
	{ "resv/get_singleton", 64, resv_get_singleton },
	{ "resv/test_signaled", 1, resv_test_signaled },
	{ "resv/test_signaled", 64, resv_test_signaled },
	{ "resv/wait_signaled", 1, resv_wait_signaled },
	{ "resv/wait_signaled", 64, resv_wait_signaled },
	{ "buf/export_put", 1, buf_export_put },
	{ "buf/attach_map_static", 1, buf_attach_map_static },
	{ "buf/attach_map_dynamic", 1, buf_attach_map_dynamic },
	{ "buf/vmap_vunmap", 1, buf_vmap },
	{ "buf/begin_end_cpu_access", 1, buf_cpu_access },
	{ "floor/fence", 1, floor_fence },
	{ "floor/callbacks", 1, floor_callbacks },
	{ "floor/callbacks", 8, floor_callbacks },
	{ "floor/callbacks", 64, floor_callbacks },
	{ "floor/resv_lock", 1, floor_resv_lock },
	{ "xcpu/fence_wake", 1, xcpu_fence_wake },
};

static bool is_xcpu(const struct bench *b)
{
	return !strncmp(b->name, "xcpu/", 5);
}

static bool selected(const char *name)
{
	const char *p = filter;

	if (!*p)
		return true;
	while (*p) {
		size_t len = strcspn(p, ",");

		if (len && !strncmp(name, p, len))
			return true;
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

static int run_one(const struct bench *b)
{
	u64 target = (u64)time_ms * NSEC_PER_MSEC, iters = 1, ns_op_milli;
	s64 t;

	/* Warm-up, which also calibrates: double until a tenth of the target. */
	for (;;) {
		t = b->run(b->n, iters);
		if (t < 0)
			goto fail;
		if (t >= target / 10 || iters >= (1ULL << 40) ||
		    (is_xcpu(b) && iters >= XCPU_MAX_ITERS))
			break;
		iters *= 2;
	}
	iters = max_t(u64, 1, div64_u64(iters * target, max_t(u64, t, 1)));
	if (is_xcpu(b))
		iters = min_t(u64, iters, XCPU_MAX_ITERS);
	t = b->run(b->n, iters);
	if (t < 0)
		goto fail;
	/* Wall clock: the best of a few runs, against preemption and host noise. */
	if (is_xcpu(b)) {
		int k;

		for (k = 1; k < XCPU_TRIES; k++) {
			s64 again = b->run(b->n, iters);

			if (again < 0) {
				t = again;
				goto fail;
			}
			t = min(t, again);
		}
	}
	ns_op_milli = div64_u64((u64)t * 1000, iters);
	pr_info("@B %s n=%u iters=%llu ns=%lld ns_op=%llu.%03llu\n", b->name, b->n, iters, t,
		ns_op_milli / 1000, ns_op_milli % 1000);
	return 0;
fail:
	pr_err("@B %s n=%u FAILED %lld\n", b->name, b->n, t);
	return t;
}

static int bench_setup(void)
{
	bench_context = dma_fence_context_alloc(1);
	bench_page = alloc_page(GFP_KERNEL);
	if (!bench_page)
		return -ENOMEM;
	if (sg_alloc_table(&bench_sgt, 1, GFP_KERNEL)) {
		__free_page(bench_page);
		return -ENOMEM;
	}
	sg_set_page(bench_sgt.sgl, bench_page, PAGE_SIZE, 0);
	sg_dma_address(bench_sgt.sgl) = 0x40000000ULL;
	sg_dma_len(bench_sgt.sgl) = PAGE_SIZE;
	bench_dev = root_device_register("dmabuf_rs_bench");
	if (IS_ERR(bench_dev)) {
		sg_free_table(&bench_sgt);
		__free_page(bench_page);
		return PTR_ERR(bench_dev);
	}
	return 0;
}

static void bench_teardown(void)
{
	root_device_unregister(bench_dev);
	sg_free_table(&bench_sgt);
	__free_page(bench_page);
}

static int bench_result;
static DECLARE_COMPLETION(bench_done);

static int bench_thread(void *unused)
{
	unsigned int i, failed = 0;

	/* The cross-CPU benchmarks run here on CPU 0, their partner on CPU 1. */
	set_cpus_allowed_ptr(current, cpumask_of(0));
	for (i = 0; i < ARRAY_SIZE(benches); i++) {
		if (!selected(benches[i].name))
			continue;
		if (is_xcpu(&benches[i]) && (num_online_cpus() < 2 || !cpu_online(1)))
			continue;
		if (run_one(&benches[i]))
			failed++;
	}
	bench_result = failed ? -EINVAL : 0;
	complete(&bench_done);
	return 0;
}

static int __init dmabuf_rs_bench_init(void)
{
	struct task_struct *task;
	int ret = bench_setup();

	if (ret)
		return ret;
	/*
	 * A kernel thread, not insmod's task: a final fput from a user task
	 * waits for its return to user space, which would keep every exported
	 * buffer alive until the module's init returns.
	 */
	task = kthread_run(bench_thread, NULL, "dmabuf_rs_bench");
	if (IS_ERR(task)) {
		bench_teardown();
		return PTR_ERR(task);
	}
	wait_for_completion(&bench_done);
	bench_teardown();
	pr_info("@B done rc=%d\n", bench_result);
	return bench_result;
}

static void __exit dmabuf_rs_bench_exit(void)
{
}

module_init(dmabuf_rs_bench_init);
module_exit(dmabuf_rs_bench_exit);
MODULE_DESCRIPTION("Benchmarks of the dma-buf core API (dmabuf-rs)");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);
