// SPDX-License-Identifier: GPL-2.0-only
/*
 * The mock exporter and importer of buf_mock.h. Mappings are fake: a table
 * over the exporter's own pages with made-up bus addresses, never handed to
 * a DMA API, so no device has to be able to reach them.
 */
#include <linux/device.h>
#include <linux/dma-fence.h>
#include <linux/dma-resv.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "buf_mock.h"
#include "check.h"

/* Whether the current task holds @obj (any holder without lockdep). */
static bool held(struct dma_resv *obj)
{
#ifdef CONFIG_LOCKDEP
	return dma_resv_held(obj);
#else
	return dma_resv_is_locked(obj);
#endif
}

static void log_op(struct mock_buf *m, char op)
{
	if (m->nlog < sizeof(m->log) - 2)
		m->log[m->nlog++] = op;
	else
		m->log[m->nlog] = '+';
}

unsigned int mock_calls(const struct mock_buf *m, char op)
{
	unsigned int i, n = 0;

	for (i = 0; i < m->nlog; i++)
		n += m->log[i] == op;
	return n;
}

bool mock_log_is(struct kunit *test, const struct mock_buf *m, const char *want)
{
	if (!strcmp(m->log, want))
		return true;
	kunit_info(test, "exporter log %s, want %s", m->log, want);
	return false;
}

void mock_log_clear(struct mock_buf *m)
{
	memset(m->log, 0, sizeof(m->log));
	m->nlog = 0;
}

static struct mock_buf *of(struct dma_buf *buf)
{
	return buf->priv;
}

static int mock_attach(struct dma_buf *buf, struct dma_buf_attachment *a)
{
	struct mock_buf *m = of(buf);

	log_op(m, LOG_ATTACH);
	m->attach_dev = a->dev;
	m->attach_arg = a;
	if (m->attach_err)
		return m->attach_err;
	/* attachment->priv belongs to the exporter: the core must keep it. */
	a->priv = m;
	return 0;
}

static void mock_detach(struct dma_buf *buf, struct dma_buf_attachment *a)
{
	log_op(of(buf), LOG_DETACH);
	of(buf)->attach_arg = a;
}

static int mock_pin(struct dma_buf_attachment *a)
{
	struct mock_buf *m = of(a->dmabuf);

	log_op(m, LOG_PIN);
	m->locked_in_pin = held(a->dmabuf->resv);
	return m->pin_err;
}

static void mock_unpin(struct dma_buf_attachment *a)
{
	log_op(of(a->dmabuf), LOG_UNPIN);
}

static struct sg_table *mock_map(struct dma_buf_attachment *a, enum dma_data_direction dir)
{
	struct mock_buf *m = of(a->dmabuf);
	struct scatterlist *sg;
	struct sg_table *sgt;
	unsigned int i;

	log_op(m, LOG_MAP);
	m->map_dir = dir;
	m->locked_in_map = held(a->dmabuf->resv);
	if (m->watch)
		m->watch_pending_in_map = !dma_fence_is_signaled(m->watch);
	if (m->map_err)
		return ERR_PTR(m->map_err);
	if (m->map_null)
		return NULL;

	sgt = kzalloc(sizeof(*sgt), GFP_KERNEL);
	if (!sgt)
		return ERR_PTR(-ENOMEM);
	if (sg_alloc_table(sgt, MOCK_PAGES, GFP_KERNEL)) {
		kfree(sgt);
		return ERR_PTR(-ENOMEM);
	}
	for_each_sgtable_sg(sgt, sg, i) {
		sg_set_page(sg, nth_page(m->pages, i), PAGE_SIZE, 0);
		sg_dma_address(sg) = MOCK_DMA_BASE + i * PAGE_SIZE;
		sg_dma_len(sg) = PAGE_SIZE;
		m->links[i] = sg->page_link;
	}
	m->mapped = sgt;
	return sgt;
}

static void mock_unmap(struct dma_buf_attachment *a, struct sg_table *sgt,
		       enum dma_data_direction dir)
{
	struct mock_buf *m = of(a->dmabuf);
	struct scatterlist *sg;
	unsigned int i;

	log_op(m, LOG_UNMAP);
	m->unmap_dir = dir;
	m->unmapped = sgt;
	m->unmap_links_intact = sgt->orig_nents == MOCK_PAGES;
	for_each_sgtable_sg(sgt, sg, i)
		if (i >= MOCK_PAGES || sg->page_link != m->links[i])
			m->unmap_links_intact = false;
	sg_free_table(sgt);
	kfree(sgt);
}

static void mock_release(struct dma_buf *buf)
{
	struct mock_buf *m = of(buf);

	log_op(m, LOG_RELEASE);
	complete(&m->released);
}

static int mock_begin(struct dma_buf *buf, enum dma_data_direction dir)
{
	struct mock_buf *m = of(buf);

	log_op(m, LOG_BEGIN);
	m->begin_dir = dir;
	if (m->watch)
		m->watch_pending_in_begin = !dma_fence_is_signaled(m->watch);
	return m->begin_err;
}

static int mock_end(struct dma_buf *buf, enum dma_data_direction dir)
{
	struct mock_buf *m = of(buf);

	log_op(m, LOG_END);
	m->end_dir = dir;
	return m->end_err;
}

/* No fault handler: the mmap tests never touch the mapping. */
static const struct vm_operations_struct mock_vm_ops = {};

static int mock_mmap(struct dma_buf *buf, struct vm_area_struct *vma)
{
	struct mock_buf *m = of(buf);

	log_op(m, LOG_MMAP);
	m->mmap_file = vma->vm_file;
	m->mmap_pgoff = vma->vm_pgoff;
	if (m->mmap_err)
		return m->mmap_err;
	vma->vm_ops = &mock_vm_ops;
	return 0;
}

static int mock_vmap(struct dma_buf *buf, struct iosys_map *map)
{
	struct mock_buf *m = of(buf);

	log_op(m, LOG_VMAP);
	m->locked_in_vmap = held(buf->resv);
	iosys_map_set_vaddr(map, page_address(m->pages));
	m->vmap_given = *map;
	return 0;
}

static void mock_vunmap(struct dma_buf *buf, struct iosys_map *map)
{
	struct mock_buf *m = of(buf);

	log_op(m, LOG_VUNMAP);
	m->vunmap_got = *map;
}

const struct dma_buf_ops mock_bare_ops = {
	.map_dma_buf = mock_map,
	.unmap_dma_buf = mock_unmap,
	.release = mock_release,
};

#define MOCK_STATIC_OPS					\
	.attach = mock_attach,				\
	.detach = mock_detach,				\
	.map_dma_buf = mock_map,			\
	.unmap_dma_buf = mock_unmap,			\
	.release = mock_release,			\
	.begin_cpu_access = mock_begin,			\
	.end_cpu_access = mock_end,			\
	.mmap = mock_mmap,				\
	.vmap = mock_vmap,				\
	.vunmap = mock_vunmap

const struct dma_buf_ops mock_static_ops = { MOCK_STATIC_OPS };
const struct dma_buf_ops mock_cached_ops = { MOCK_STATIC_OPS, .cache_sgt_mapping = true };
const struct dma_buf_ops mock_dynamic_ops = {
	MOCK_STATIC_OPS,
	.pin = mock_pin,
	.unpin = mock_unpin,
};

const char mock_exp_name[] = "dmabuf-rs-mock";

struct mock_buf *mock_buf_alloc(void)
{
	struct mock_buf *m = kzalloc(sizeof(*m), GFP_KERNEL);

	if (!m)
		return NULL;
	m->pages = alloc_pages(GFP_KERNEL | __GFP_ZERO, get_order(MOCK_SIZE));
	if (!m->pages) {
		kfree(m);
		return NULL;
	}
	init_completion(&m->released);
	return m;
}

int mock_buf_export(struct mock_buf *m, const struct dma_buf_ops *ops, struct dma_resv *resv)
{
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct dma_buf *buf;

	info.exp_name = mock_exp_name;
	info.ops = ops;
	info.size = MOCK_SIZE;
	info.flags = O_RDWR;
	info.resv = resv;
	info.priv = m;
	buf = dma_buf_export(&info);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	m->buf = buf;
	return 0;
}

struct mock_buf *mock_buf_create(const struct dma_buf_ops *ops)
{
	struct mock_buf *m = mock_buf_alloc();

	if (m && mock_buf_export(m, ops, NULL)) {
		mock_buf_free(m);
		return NULL;
	}
	return m;
}

void mock_buf_free(struct mock_buf *m)
{
	__free_pages(m->pages, get_order(MOCK_SIZE));
	kfree(m);
}

struct put_work {
	struct work_struct work;
	struct dma_buf *buf;
};

static void put_fn(struct work_struct *work)
{
	dma_buf_put(container_of(work, struct put_work, work)->buf);
}

/*
 * A final fput from a kernel thread (a worker here, the case's KUnit thread
 * too) goes to the delayed-fput list, which flush_delayed_fput() runs at
 * once; from a user task (as when the module is loaded) it would wait for
 * the return to userspace, after the case. The worker makes it the same
 * wherever the case runs.
 */
static void put_from_worker(struct dma_buf *buf)
{
	struct put_work pw = { .buf = buf };

	INIT_WORK_ONSTACK(&pw.work, put_fn);
	schedule_work(&pw.work);
	flush_work(&pw.work);
	destroy_work_on_stack(&pw.work);
	flush_delayed_fput();
}

int mock_buf_put_last(struct kunit *test, struct mock_buf *m)
{
	if (mock_calls(m, LOG_RELEASE)) {
		KUNIT_FAIL(test, "released before the last put (log %s)", m->log);
		return -EINVAL;
	}
	put_from_worker(m->buf);
	if (!wait_for_completion_timeout(&m->released, 10 * HZ)) {
		KUNIT_FAIL(test, "release not called after the last put (log %s)", m->log);
		return -EINVAL;
	}
	if (mock_calls(m, LOG_RELEASE) != 1 || m->log[m->nlog - 1] != LOG_RELEASE) {
		KUNIT_FAIL(test, "release not called exactly once, last (log %s)", m->log);
		return -EINVAL;
	}
	mock_buf_free(m);
	return 0;
}

static void mock_move_notify(struct dma_buf_attachment *a)
{
	struct mock_importer *imp = a->importer_priv;

	if (!imp->moves)
		imp->locked_in_move = true;
	imp->moves++;
	imp->locked_in_move &= held(a->dmabuf->resv);
	imp->moved = a;
}

const struct dma_buf_attach_ops mock_importer_ops = {
	.move_notify = mock_move_notify,
};

const struct dma_buf_attach_ops mock_p2p_importer_ops = {
	.allow_peer2peer = true,
	.move_notify = mock_move_notify,
};

struct device *mock_device_get(void)
{
	return root_device_register("dmabuf-rs-tests-dev");
}

void mock_device_put(struct device *dev)
{
	root_device_unregister(dev);
}

static void signal_fn(struct work_struct *work)
{
	struct mock_signaller *s = container_of(work, struct mock_signaller, work.work);

	dma_fence_signal(s->fence);
}

void mock_signal_after(struct mock_signaller *s, struct dma_fence *fence, unsigned int ms)
{
	s->fence = fence;
	INIT_DELAYED_WORK_ONSTACK(&s->work, signal_fn);
	schedule_delayed_work(&s->work, msecs_to_jiffies(ms));
}

void mock_signal_now(struct mock_signaller *s)
{
	cancel_delayed_work_sync(&s->work);
	destroy_delayed_work_on_stack(&s->work);
	dma_fence_signal(s->fence);
}
