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
#include "check.h"
#include "mock.h"

static void begin_end_directions(struct kunit *test)
{
	static const enum dma_data_direction dirs[] = {
		DMA_BIDIRECTIONAL, DMA_TO_DEVICE, DMA_FROM_DEVICE,
	};
	struct mock_buf *m = mock_buf_create(&mock_static_ops);
	unsigned int i;
	int err = 0, ret;

	KUNIT_ASSERT_NOT_NULL(test, m);
	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		ret = dma_buf_begin_cpu_access(m->buf, dirs[i]);
		KUNIT_CHECK_OR_OUT(test, ret == 0 && m->begin_dir == dirs[i],
				   "begin %d: %d, saw %d", dirs[i], ret, m->begin_dir);
		ret = dma_buf_end_cpu_access(m->buf, dirs[i]);
		KUNIT_CHECK_OR_OUT(test, ret == 0 && m->end_dir == dirs[i], "end %d: %d, saw %d",
				   dirs[i], ret, m->end_dir);
	}
	KUNIT_CHECK_OR_OUT(test, mock_log_is(test, m, "BEBEBE"), "calls");

	/* The exporter's errors come back unchanged. */
	m->begin_err = -EBUSY;
	m->end_err = -EIO;
	ret = dma_buf_begin_cpu_access(m->buf, DMA_TO_DEVICE);
	KUNIT_CHECK_OR_OUT(test, ret == -EBUSY, "begin error %d", ret);
	ret = dma_buf_end_cpu_access(m->buf, DMA_TO_DEVICE);
	KUNIT_CHECK_OR_OUT(test, ret == -EIO, "end error %d", ret);
out:
	mock_buf_put_last(test, m);
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

static void begin_waits_for_fences(struct kunit *test)
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

	KUNIT_ASSERT_NOT_NULL(test, m);
	for (i = 0; i < ARRAY_SIZE(rules); i++) {
		/*
		 * A fence begin must wait for signals soon; one it must not
		 * wait for only after 5 s, late enough to tell (and to end a
		 * wrong wait).
		 */
		ret = begin_with_fence(m, rules[i].usage, rules[i].dir,
				       rules[i].waits ? 500 : 5000, &pending, &f);
		KUNIT_CHECK_OR_OUT(test, ret == 0, "case %u: begin %d", i, ret);
		KUNIT_CHECK_OR_OUT(test, m->watch_pending_in_begin,
				   "case %u: exporter's begin after the wait", i);
		KUNIT_CHECK_OR_OUT(test, pending == !rules[i].waits,
				   "case %u: fence %s after begin", i,
				   pending ? "pending" : "signalled");
		dma_fence_put(f);
		f = NULL;
	}

	/* end_cpu_access waits for nothing, and an exporter error skips the wait. */
	f = mock_fence(dma_fence_context_alloc(1), 1);
	KUNIT_CHECK_OR_OUT(test, f, "allocation");
	KUNIT_CHECK_OR_OUT(test, mock_resv_add(m->buf->resv, f, DMA_RESV_USAGE_WRITE) == 0,
			   "add a fence");
	mock_signal_after(&safety, f, 5000);
	armed = true;
	ret = dma_buf_end_cpu_access(m->buf, DMA_TO_DEVICE);
	KUNIT_CHECK_OR_OUT(test, ret == 0 && !dma_fence_is_signaled(f), "end %d waited", ret);
	m->begin_err = -EBUSY;
	ret = dma_buf_begin_cpu_access(m->buf, DMA_FROM_DEVICE);
	KUNIT_CHECK_OR_OUT(test, ret == -EBUSY && !dma_fence_is_signaled(f),
			   "begin error %d, waited", ret);
out:
	if (armed)
		mock_signal_now(&safety);
	mock_fence_done(f);
	mock_buf_put_last(test, m);
}

static void no_cpu_access_ops(struct kunit *test)
{
	struct mock_buf *m = mock_buf_create(&mock_bare_ops);
	int err = 0, ret;

	KUNIT_ASSERT_NOT_NULL(test, m);
	ret = dma_buf_begin_cpu_access(m->buf, DMA_BIDIRECTIONAL);
	KUNIT_CHECK_OR_OUT(test, ret == 0, "begin %d", ret);
	ret = dma_buf_end_cpu_access(m->buf, DMA_BIDIRECTIONAL);
	KUNIT_CHECK_OR_OUT(test, ret == 0, "end %d", ret);
	KUNIT_CHECK_OR_OUT(test, m->nlog == 0, "calls %s", m->log);
out:
	mock_buf_put_last(test, m);
}

static void vmap_counted(struct kunit *test)
{
	struct mock_buf *m = mock_buf_create(&mock_static_ops);
	struct iosys_map a, b, c;
	int err = 0, ret;

	KUNIT_ASSERT_NOT_NULL(test, m);
	iosys_map_clear(&a);
	iosys_map_clear(&b);
	iosys_map_clear(&c);
	ret = dma_buf_vmap_unlocked(m->buf, &a);
	KUNIT_CHECK_OR_OUT(test, ret == 0, "vmap %d", ret);
	KUNIT_CHECK_OR_OUT(test, mock_log_is(test, m, "V") && m->locked_in_vmap,
			   "exporter vmap with the resv held");
	KUNIT_CHECK_OR_OUT(test, iosys_map_is_equal(&a, &m->vmap_given), "the exporter's map");
	KUNIT_CHECK_OR_OUT(test, a.vaddr == page_address(m->pages) && !a.is_iomem, "vaddr %p",
			   a.vaddr);

	dma_resv_lock(m->buf->resv, NULL);
	ret = dma_buf_vmap(m->buf, &b);
	dma_resv_unlock(m->buf->resv);
	KUNIT_CHECK_OR_OUT(test, ret == 0 && iosys_map_is_equal(&a, &b), "second vmap %d", ret);
	KUNIT_CHECK_OR_OUT(test, mock_log_is(test, m, "V"), "one exporter vmap for two");

	dma_resv_lock(m->buf->resv, NULL);
	dma_buf_vunmap(m->buf, &b);
	dma_resv_unlock(m->buf->resv);
	KUNIT_CHECK_OR_OUT(test, mock_log_is(test, m, "V"), "the first vunmap leaves the mapping");
	iosys_map_clear(&b);
	dma_buf_vunmap_unlocked(m->buf, &a);
	KUNIT_CHECK_OR_OUT(test, mock_log_is(test, m, "Vv"), "the last vunmap unmaps");
	KUNIT_CHECK_OR_OUT(test, iosys_map_is_equal(&m->vunmap_got, &a), "vunmap given the map");
	iosys_map_clear(&a);

	/* Mapped again after the last vunmap. */
	ret = dma_buf_vmap_unlocked(m->buf, &c);
	KUNIT_CHECK_OR_OUT(test, ret == 0 && iosys_map_is_equal(&c, &m->vmap_given),
			   "vmap again %d", ret);
	dma_buf_vunmap_unlocked(m->buf, &c);
	iosys_map_clear(&c);
	KUNIT_CHECK_OR_OUT(test, mock_log_is(test, m, "VvVv"), "calls");
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
	mock_buf_put_last(test, m);
}

static void vmap_without_op(struct kunit *test)
{
	struct mock_buf *m = mock_buf_create(&mock_bare_ops);
	struct iosys_map map;
	int err = 0, ret;

	KUNIT_ASSERT_NOT_NULL(test, m);
	iosys_map_set_vaddr(&map, m);
	ret = dma_buf_vmap_unlocked(m->buf, &map);
	KUNIT_CHECK_OR_OUT(test, ret == -EINVAL, "vmap %d", ret);
	KUNIT_CHECK_OR_OUT(test, iosys_map_is_null(&map), "map cleared");
	iosys_map_set_vaddr(&map, m);
	dma_resv_lock(m->buf->resv, NULL);
	ret = dma_buf_vmap(m->buf, &map);
	dma_resv_unlock(m->buf->resv);
	KUNIT_CHECK_OR_OUT(test, ret == -EINVAL, "locked vmap %d", ret);
	KUNIT_CHECK_OR_OUT(test, iosys_map_is_null(&map), "map cleared");
out:
	mock_buf_put_last(test, m);
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
 * current task (the case's KUnit thread, with an mm of its own) and unmaps
 * them; the result of the mmap.
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

static void mmap_kernel_api(struct kunit *test)
{
	struct mock_buf *m = mock_buf_create(&mock_static_ops);
	struct mock_buf *bare = mock_buf_create(&mock_bare_ops);
	struct forward fw = {};
	struct file *file = NULL;
	long ret, count, mapped = 0;
	int err = 0;

	if (!m || !bare) {
		KUNIT_FAIL(test, "allocation");
		goto free;
	}
	/*
	 * A KUnit case runs in a kernel thread, which has no user address
	 * space: KUnit gives it one with its first kunit_vm_mmap().
	 */
	if (!kunit_vm_mmap(test, NULL, 0, PAGE_SIZE, PROT_READ, MAP_ANONYMOUS | MAP_PRIVATE, 0) ||
	    !current->mm) {
		KUNIT_FAIL(test, "no user address space to map into");
		goto free;
	}
	fw.buf = m->buf;
	file = anon_inode_getfile("dmabuf-rs-forward", &forward_fops, &fw, O_RDWR);
	if (IS_ERR(file)) {
		KUNIT_FAIL(test, "anon_inode_getfile: %ld", PTR_ERR(file));
		file = NULL;
		goto free;
	}
	count = file_count(m->buf->file);

	/* The last page: the vma moves to the buffer's file, at the given offset. */
	ret = map_through(file, &fw, 1, 1, &mapped);
	KUNIT_CHECK_OR_OUT(test, ret == 0 && fw.ret == 0, "mmap %ld, dma_buf_mmap %d", ret, fw.ret);
	KUNIT_CHECK_OR_OUT(test, mock_log_is(test, m, "m"), "exporter's mmap");
	KUNIT_CHECK_OR_OUT(test, m->mmap_file == m->buf->file, "vma given the buffer's file");
	KUNIT_CHECK_OR_OUT(test, m->mmap_pgoff == 1, "vm_pgoff %lu", m->mmap_pgoff);
	KUNIT_CHECK_OR_OUT(test, mapped == count + 1,
			   "the vma holds the buffer's file: %ld -> %ld", count, mapped);
	KUNIT_CHECK_OR_OUT(test, file_count(m->buf->file) == count, "unmap puts it: %ld",
			   file_count(m->buf->file));

	/* The whole buffer. */
	ret = map_through(file, &fw, 0, MOCK_PAGES, &mapped);
	KUNIT_CHECK_OR_OUT(test, ret == 0 && fw.ret == 0 && m->mmap_pgoff == 0,
			   "whole buffer: %ld", ret);

	/* Past the end, and an offset that overflows: refused before the exporter. */
	ret = map_through(file, &fw, 1, MOCK_PAGES, &mapped);
	KUNIT_CHECK_OR_OUT(test, ret == -EINVAL && fw.ret == -EINVAL, "past the end: %ld, %d",
			   ret, fw.ret);
	ret = map_through(file, &fw, ULONG_MAX, 1, &mapped);
	KUNIT_CHECK_OR_OUT(test, ret == -EOVERFLOW && fw.ret == -EOVERFLOW, "overflow: %ld, %d",
			   ret, fw.ret);
	KUNIT_CHECK_OR_OUT(test, mock_log_is(test, m, "mm"),
			   "exporter not called for refused ranges");

	/* The exporter's error is returned, and the vma's reference dropped. */
	m->mmap_err = -ENODEV;
	ret = map_through(file, &fw, 0, 1, &mapped);
	KUNIT_CHECK_OR_OUT(test, ret == -ENODEV && fw.ret == -ENODEV, "exporter error: %ld, %d",
			   ret, fw.ret);
	KUNIT_CHECK_OR_OUT(test, mock_log_is(test, m, "mmm"), "calls");
	KUNIT_CHECK_OR_OUT(test, file_count(m->buf->file) == count, "file count %ld",
			   file_count(m->buf->file));

	/* No mmap op. */
	fw.buf = bare->buf;
	ret = map_through(file, &fw, 0, 1, &mapped);
	KUNIT_CHECK_OR_OUT(test, ret == -EINVAL && fw.ret == -EINVAL, "no mmap op: %ld, %d", ret,
			   fw.ret);
	KUNIT_CHECK_OR_OUT(test, fw.calls == 6, "forwarded %u mmaps", fw.calls);
out:
	if (file)
		fput(file);
free:
	if (bare)
		mock_buf_put_last(test, bare);
	if (m)
		mock_buf_put_last(test, m);
}

static struct kunit_case cases[] = {
	KUNIT_CASE(begin_end_directions),
	KUNIT_CASE(begin_waits_for_fences),
	KUNIT_CASE(no_cpu_access_ops),
	KUNIT_CASE(vmap_counted),
	KUNIT_CASE(vmap_without_op),
	KUNIT_CASE(mmap_kernel_api),
	{}
};

static struct kunit_suite suite = {
	.name = "dmabuf_rs_buf_access",
	.test_cases = cases,
};
kunit_test_suite(suite);
