// SPDX-License-Identifier: GPL-2.0-only
/*
 * CPU access to a dma-buf: begin/end_cpu_access (direction passed through,
 * begin waits for the fences its direction conflicts with, an exporter error
 * skips the wait), vmap/vunmap counting, and the kernel dma_buf_mmap API,
 * reached through an mmap of a file of the test's own that forwards to it
 * (as a GEM driver forwards an mmap of an imported object).
 */
#include <linux/anon_inodes.h>
#include <linux/dma-buf.h>
#include <linux/dma-resv.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/iosys-map.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/string.h>

#include "buf_mock.h"
#include "harness.h"
#include "mock.h"

static int begin_end_directions(void)
{
	static const enum dma_data_direction dirs[] = {
		DMA_BIDIRECTIONAL, DMA_TO_DEVICE, DMA_FROM_DEVICE,
	};
	struct mock_buf *m = mock_buf_create(&mock_static_ops);
	unsigned int i;
	int err = 0, ret;

	if (!m)
		return -ENOMEM;
	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		ret = dma_buf_begin_cpu_access(m->buf, dirs[i]);
		T_CHECK(ret == 0 && m->begin_dir == dirs[i], "begin %d: %d, saw %d",
			dirs[i], ret, m->begin_dir);
		ret = dma_buf_end_cpu_access(m->buf, dirs[i]);
		T_CHECK(ret == 0 && m->end_dir == dirs[i], "end %d: %d, saw %d",
			dirs[i], ret, m->end_dir);
	}
	T_CHECK(mock_log_is(m, "BEBEBE"), "calls");

	/* The exporter's errors come back unchanged. */
	m->begin_err = -EBUSY;
	m->end_err = -EIO;
	ret = dma_buf_begin_cpu_access(m->buf, DMA_TO_DEVICE);
	T_CHECK(ret == -EBUSY, "begin error %d", ret);
	ret = dma_buf_end_cpu_access(m->buf, DMA_TO_DEVICE);
	T_CHECK(ret == -EIO, "end error %d", ret);
out:
	return mock_buf_put_last(m) ?: err;
}

/*
 * Adds a new fence to @m's resv with @usage, and calls begin_cpu_access with
 * @dir while a work item signals the fence @ms milliseconds later. Returns
 * begin's result and the fence (signalled, referenced) in @out_fence.
 */
static int begin_with_fence(struct mock_buf *m, enum dma_resv_usage usage,
			    enum dma_data_direction dir, unsigned int ms,
			    bool *pending_after, struct dma_fence **out_fence)
{
	struct dma_fence *f = mock_fence(dma_fence_context_alloc(1), 1);
	struct mock_signaller s;
	int ret;

	*out_fence = f;
	if (!f)
		return -ENOMEM;
	ret = mock_resv_add(m->buf->resv, f, usage);
	if (ret)
		return ret;
	m->watch = f;
	mock_signal_after(&s, f, ms);
	ret = dma_buf_begin_cpu_access(m->buf, dir);
	*pending_after = !dma_fence_is_signaled(f);
	mock_signal_now(&s);
	m->watch = NULL;
	return ret;
}

static int begin_waits_for_fences(void)
{
	/* Which fence usage each direction must wait for (see dma_resv_usage_rw). */
	static const struct {
		enum dma_resv_usage usage;
		enum dma_data_direction dir;
		bool waits;
	} rules[] = {
		{ DMA_RESV_USAGE_WRITE, DMA_FROM_DEVICE, true },
		{ DMA_RESV_USAGE_READ, DMA_FROM_DEVICE, false },
		{ DMA_RESV_USAGE_READ, DMA_TO_DEVICE, true },
		{ DMA_RESV_USAGE_READ, DMA_BIDIRECTIONAL, true },
		{ DMA_RESV_USAGE_BOOKKEEP, DMA_BIDIRECTIONAL, false },
	};
	struct mock_buf *m = mock_buf_create(&mock_static_ops);
	struct mock_signaller safety;
	struct dma_fence *f = NULL;
	bool pending, armed = false;
	unsigned int i;
	int err = 0, ret;

	if (!m)
		return -ENOMEM;
	for (i = 0; i < ARRAY_SIZE(rules); i++) {
		/*
		 * A fence begin must wait for signals soon; one it must not
		 * wait for only after 5 s, late enough to tell (and to end a
		 * wrong wait).
		 */
		ret = begin_with_fence(m, rules[i].usage, rules[i].dir,
				       rules[i].waits ? 500 : 5000, &pending, &f);
		T_CHECK(ret == 0, "case %u: begin %d", i, ret);
		T_CHECK(m->watch_pending_in_begin, "case %u: exporter's begin after the wait", i);
		T_CHECK(pending == !rules[i].waits, "case %u: fence %s after begin", i,
			pending ? "pending" : "signalled");
		dma_fence_put(f);
		f = NULL;
	}

	/* end_cpu_access waits for nothing, and an exporter error skips the wait. */
	f = mock_fence(dma_fence_context_alloc(1), 1);
	T_CHECK(f, "allocation");
	T_CHECK(mock_resv_add(m->buf->resv, f, DMA_RESV_USAGE_WRITE) == 0, "add a fence");
	mock_signal_after(&safety, f, 5000);
	armed = true;
	ret = dma_buf_end_cpu_access(m->buf, DMA_TO_DEVICE);
	T_CHECK(ret == 0 && !dma_fence_is_signaled(f), "end %d waited", ret);
	m->begin_err = -EBUSY;
	ret = dma_buf_begin_cpu_access(m->buf, DMA_FROM_DEVICE);
	T_CHECK(ret == -EBUSY && !dma_fence_is_signaled(f), "begin error %d, waited", ret);
out:
	if (armed)
		mock_signal_now(&safety);
	mock_fence_done(f);
	return mock_buf_put_last(m) ?: err;
}

static int no_cpu_access_ops(void)
{
	struct mock_buf *m = mock_buf_create(&mock_bare_ops);
	int err = 0, ret;

	if (!m)
		return -ENOMEM;
	ret = dma_buf_begin_cpu_access(m->buf, DMA_BIDIRECTIONAL);
	T_CHECK(ret == 0, "begin %d", ret);
	ret = dma_buf_end_cpu_access(m->buf, DMA_BIDIRECTIONAL);
	T_CHECK(ret == 0, "end %d", ret);
	T_CHECK(m->nlog == 0, "calls %s", m->log);
out:
	return mock_buf_put_last(m) ?: err;
}

static int vmap_counted(void)
{
	struct mock_buf *m = mock_buf_create(&mock_static_ops);
	struct iosys_map a, b, c;
	int err = 0, ret;

	if (!m)
		return -ENOMEM;
	iosys_map_clear(&a);
	iosys_map_clear(&b);
	iosys_map_clear(&c);
	ret = dma_buf_vmap_unlocked(m->buf, &a);
	T_CHECK(ret == 0, "vmap %d", ret);
	T_CHECK(mock_log_is(m, "V") && m->locked_in_vmap, "exporter vmap with the resv held");
	T_CHECK(iosys_map_is_equal(&a, &m->vmap_given), "the exporter's map");
	T_CHECK(a.vaddr == page_address(m->pages) && !a.is_iomem, "vaddr %p", a.vaddr);

	dma_resv_lock(m->buf->resv, NULL);
	ret = dma_buf_vmap(m->buf, &b);
	dma_resv_unlock(m->buf->resv);
	T_CHECK(ret == 0 && iosys_map_is_equal(&a, &b), "second vmap %d", ret);
	T_CHECK(mock_log_is(m, "V"), "one exporter vmap for two");

	dma_resv_lock(m->buf->resv, NULL);
	dma_buf_vunmap(m->buf, &b);
	dma_resv_unlock(m->buf->resv);
	T_CHECK(mock_log_is(m, "V"), "the first vunmap leaves the mapping");
	iosys_map_clear(&b);
	dma_buf_vunmap_unlocked(m->buf, &a);
	T_CHECK(mock_log_is(m, "Vv"), "the last vunmap unmaps");
	T_CHECK(iosys_map_is_equal(&m->vunmap_got, &a), "vunmap given the map");
	iosys_map_clear(&a);

	/* Mapped again after the last vunmap. */
	ret = dma_buf_vmap_unlocked(m->buf, &c);
	T_CHECK(ret == 0 && iosys_map_is_equal(&c, &m->vmap_given), "vmap again %d", ret);
	dma_buf_vunmap_unlocked(m->buf, &c);
	iosys_map_clear(&c);
	T_CHECK(mock_log_is(m, "VvVv"), "calls");
out:
	/* Leave no mapping behind: release BUG()s on one. */
	if (!iosys_map_is_null(&b)) {
		dma_resv_lock(m->buf->resv, NULL);
		dma_buf_vunmap(m->buf, &b);
		dma_resv_unlock(m->buf->resv);
	}
	if (!iosys_map_is_null(&a))
		dma_buf_vunmap_unlocked(m->buf, &a);
	if (!iosys_map_is_null(&c))
		dma_buf_vunmap_unlocked(m->buf, &c);
	return mock_buf_put_last(m) ?: err;
}

static int vmap_without_op(void)
{
	struct mock_buf *m = mock_buf_create(&mock_bare_ops);
	struct iosys_map map;
	int err = 0, ret;

	if (!m)
		return -ENOMEM;
	iosys_map_set_vaddr(&map, m);
	ret = dma_buf_vmap_unlocked(m->buf, &map);
	T_CHECK(ret == -EINVAL, "vmap %d", ret);
	T_CHECK(iosys_map_is_null(&map), "map cleared");
	iosys_map_set_vaddr(&map, m);
	dma_resv_lock(m->buf->resv, NULL);
	ret = dma_buf_vmap(m->buf, &map);
	dma_resv_unlock(m->buf->resv);
	T_CHECK(ret == -EINVAL, "locked vmap %d", ret);
	T_CHECK(iosys_map_is_null(&map), "map cleared");
out:
	return mock_buf_put_last(m) ?: err;
}

/* A file whose mmap forwards to dma_buf_mmap() of a buffer at an offset. */
struct forward {
	struct dma_buf *buf;
	unsigned long pgoff;
	int ret;
	unsigned int calls;
};

static int forward_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct forward *fw = file->private_data;

	fw->calls++;
	fw->ret = dma_buf_mmap(fw->buf, vma, fw->pgoff);
	return fw->ret;
}

static const struct file_operations forward_fops = {
	.mmap = forward_mmap,
};

/*
 * Maps @pages pages of @fw's file at @fw->pgoff of the buffer into the
 * current task (insmod) and unmaps them; the result of the mmap.
 */
static long map_through(struct file *file, struct forward *fw, unsigned long pgoff,
			unsigned long pages, long *count_mapped)
{
	unsigned long addr;

	fw->pgoff = pgoff;
	fw->ret = 1;
	addr = vm_mmap(file, 0, pages * PAGE_SIZE, PROT_READ, MAP_SHARED, 0);
	if (IS_ERR_VALUE(addr))
		return (long)addr;
	*count_mapped = file_count(fw->buf->file);
	vm_munmap(addr, pages * PAGE_SIZE);
	return 0;
}

static int mmap_kernel_api(void)
{
	struct mock_buf *m = mock_buf_create(&mock_static_ops);
	struct mock_buf *bare = mock_buf_create(&mock_bare_ops);
	struct forward fw = {};
	struct file *file = NULL;
	long ret, count, mapped = 0;
	int err = 0;

	if (!m || !bare) {
		err = -ENOMEM;
		goto free;
	}
	if (!current->mm) {
		pr_info(T_PREFIX "# no user address space to map into\n");
		err = -EOPNOTSUPP;
		goto free;
	}
	fw.buf = m->buf;
	file = anon_inode_getfile("dmabuf-rs-forward", &forward_fops, &fw, O_RDWR);
	if (IS_ERR(file)) {
		err = PTR_ERR(file);
		file = NULL;
		goto free;
	}
	count = file_count(m->buf->file);

	/* The last page: the vma moves to the buffer's file, at the given offset. */
	ret = map_through(file, &fw, 1, 1, &mapped);
	T_CHECK(ret == 0 && fw.ret == 0, "mmap %ld, dma_buf_mmap %d", ret, fw.ret);
	T_CHECK(mock_log_is(m, "m"), "exporter's mmap");
	T_CHECK(m->mmap_file == m->buf->file, "vma given the buffer's file");
	T_CHECK(m->mmap_pgoff == 1, "vm_pgoff %lu", m->mmap_pgoff);
	T_CHECK(mapped == count + 1, "the vma holds the buffer's file: %ld -> %ld", count, mapped);
	T_CHECK(file_count(m->buf->file) == count, "unmap puts it: %ld", file_count(m->buf->file));

	/* The whole buffer. */
	ret = map_through(file, &fw, 0, MOCK_PAGES, &mapped);
	T_CHECK(ret == 0 && fw.ret == 0 && m->mmap_pgoff == 0, "whole buffer: %ld", ret);

	/* Past the end, and an offset that overflows: refused before the exporter. */
	ret = map_through(file, &fw, 1, MOCK_PAGES, &mapped);
	T_CHECK(ret == -EINVAL && fw.ret == -EINVAL, "past the end: %ld, %d", ret, fw.ret);
	ret = map_through(file, &fw, ULONG_MAX, 1, &mapped);
	T_CHECK(ret == -EOVERFLOW && fw.ret == -EOVERFLOW, "overflow: %ld, %d", ret, fw.ret);
	T_CHECK(mock_log_is(m, "mm"), "exporter not called for refused ranges");

	/* The exporter's error is returned, and the vma's reference dropped. */
	m->mmap_err = -ENODEV;
	ret = map_through(file, &fw, 0, 1, &mapped);
	T_CHECK(ret == -ENODEV && fw.ret == -ENODEV, "exporter error: %ld, %d", ret, fw.ret);
	T_CHECK(mock_log_is(m, "mmm"), "calls");
	T_CHECK(file_count(m->buf->file) == count, "file count %ld", file_count(m->buf->file));

	/* No mmap op. */
	fw.buf = bare->buf;
	ret = map_through(file, &fw, 0, 1, &mapped);
	T_CHECK(ret == -EINVAL && fw.ret == -EINVAL, "no mmap op: %ld, %d", ret, fw.ret);
	T_CHECK(fw.calls == 6, "forwarded %u mmaps", fw.calls);
out:
	if (file)
		fput(file);
free:
	if (bare)
		err = mock_buf_put_last(bare) ?: err;
	if (m)
		err = mock_buf_put_last(m) ?: err;
	return err;
}

static const struct dmabuf_rs_test tests[] = {
	{ "access/begin_end_directions", begin_end_directions },
	{ "access/begin_waits_for_fences", begin_waits_for_fences },
	{ "access/no_cpu_access_ops", no_cpu_access_ops },
	{ "access/vmap_counted", vmap_counted },
	{ "access/vmap_without_op", vmap_without_op },
	{ "access/mmap_kernel_api", mmap_kernel_api },
};
const struct dmabuf_rs_suite dmabuf_rs_buf_access_suite = { tests, ARRAY_SIZE(tests) };
