// SPDX-License-Identifier: GPL-2.0-only
/*
 * A dma-buf's life: dma_buf_export with an embedded or a supplied
 * reservation object, what the buffer keeps of the export info, the
 * reference counting of get_dma_buf/dma_buf_put (release exactly once, after
 * the last put), and dma_buf_fd/dma_buf_get.
 */
#include <linux/anon_inodes.h>
#include <linux/dma-buf.h>
#include <linux/dma-resv.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>

#include "buf_mock.h"
#include "check.h"
#include "mock.h"

/* Puts @m's buffer for the last time, folding a failure into @err. */
static int put_last(struct kunit *test, struct mock_buf *m, int err)
{
	int put_err;

	if (!m)
		return err;
	put_err = mock_buf_put_last(test, m);
	return err ?: put_err;
}

/*
 * Exports a mock buffer with the reservation object @supplied (NULL: the one
 * embedded in the buffer), checks what the buffer keeps of the export info,
 * adds a fence with @usage and releases the buffer. Release finishes an
 * embedded object, putting its fences; a supplied one belongs to the
 * exporter and keeps its fence.
 */
static void export_resv(struct kunit *test, struct dma_resv *supplied,
			enum dma_resv_usage usage)
{
	struct dma_fence *f = mock_fence(dma_fence_context_alloc(1), 1);
	struct mock_buf *m = mock_buf_alloc();
	struct dma_resv *want;
	struct dma_buf *buf;
	int refs, err = 0;

	if (!f || !m) {
		KUNIT_FAIL(test, "allocation");
		goto free;
	}
	refs = module_refcount(THIS_MODULE);
	err = mock_buf_export(m, &mock_static_ops, supplied);
	if (err) {
		KUNIT_FAIL(test, "dma_buf_export: %d", err);
		goto free;
	}
	buf = m->buf;
	want = supplied ?: (struct dma_resv *)&buf[1];
	KUNIT_CHECK_OR_OUT(test, buf->resv == want, "resv %p, want %p (buffer %p)", buf->resv,
			   want, buf);
	KUNIT_CHECK_OR_OUT(test, buf->priv == m, "priv");
	KUNIT_CHECK_OR_OUT(test, buf->ops == &mock_static_ops, "ops");
	KUNIT_CHECK_OR_OUT(test, buf->size == MOCK_SIZE, "size %zu", buf->size);
	KUNIT_CHECK_OR_OUT(test, buf->exp_name == mock_exp_name, "exp_name %s", buf->exp_name);
	KUNIT_CHECK_OR_OUT(test, buf->owner == THIS_MODULE, "owner");
	KUNIT_CHECK_OR_OUT(test, module_refcount(THIS_MODULE) == refs + 1,
			   "the buffer pins its owner: %d -> %d", refs,
			   module_refcount(THIS_MODULE));
	KUNIT_CHECK_OR_OUT(test, buf->file && file_count(buf->file) == 1, "one file reference");
	KUNIT_CHECK_OR_OUT(test, file_inode(buf->file)->i_size == MOCK_SIZE, "inode size %lld",
			   file_inode(buf->file)->i_size);
	KUNIT_CHECK_OR_OUT(test, (buf->file->f_flags & O_ACCMODE) == O_RDWR, "f_flags %#x",
			   buf->file->f_flags);
	KUNIT_CHECK_OR_OUT(test, list_empty(&buf->attachments), "no attachments");
	KUNIT_CHECK_OR_OUT(test, m->nlog == 0, "no op called by export: %s", m->log);

	KUNIT_CHECK_OR_OUT(test, mock_resv_add(buf->resv, f, usage) == 0, "add a fence");
	KUNIT_CHECK_OR_OUT(test, mock_resv_count(buf->resv, DMA_RESV_USAGE_BOOKKEEP) == 1,
			   "fence in the resv");
	KUNIT_CHECK_OR_OUT(test, kref_read(&f->refcount) == 2, "refcount %u",
			   kref_read(&f->refcount));
out:
	err = put_last(test, m, err);
	m = NULL;
	/* Only once everything above held: what release did. */
	if (!err && !supplied && kref_read(&f->refcount) != 1)
		KUNIT_FAIL(test, "release must put the resv's fences (refcount %u)",
			   kref_read(&f->refcount));
	if (!err && supplied && (mock_resv_count(supplied, DMA_RESV_USAGE_BOOKKEEP) != 1 ||
				 kref_read(&f->refcount) != 2))
		KUNIT_FAIL(test, "release touched the supplied resv (fence refcount %u)",
			   kref_read(&f->refcount));
	if (!err && module_refcount(THIS_MODULE) != refs)
		KUNIT_FAIL(test, "owner not put at release: %d -> %d",
			   refs, module_refcount(THIS_MODULE));
free:
	if (m)
		mock_buf_free(m);
	mock_fence_done(f);
}

static void export_embedded_resv(struct kunit *test)
{
	export_resv(test, NULL, DMA_RESV_USAGE_WRITE);
}

static void export_supplied_resv(struct kunit *test)
{
	struct dma_resv resv;

	dma_resv_init(&resv);
	export_resv(test, &resv, DMA_RESV_USAGE_READ);
	dma_resv_fini(&resv);
}

static void get_put_release_once(struct kunit *test)
{
	struct mock_buf *m = mock_buf_create(&mock_static_ops);
	struct dma_buf *buf;
	int err = 0;

	KUNIT_ASSERT_NOT_NULL(test, m);
	buf = m->buf;
	KUNIT_CHECK_OR_OUT(test, file_count(buf->file) == 1, "count %ld", file_count(buf->file));
	get_dma_buf(buf);
	get_dma_buf(buf);
	KUNIT_CHECK_OR_OUT(test, file_count(buf->file) == 3, "count %ld", file_count(buf->file));
	dma_buf_put(buf);
	dma_buf_put(buf);
	KUNIT_CHECK_OR_OUT(test, file_count(buf->file) == 1, "count %ld", file_count(buf->file));
	KUNIT_CHECK_OR_OUT(test, m->nlog == 0, "released early: %s", m->log);
out:
	put_last(test, m, err);
}

/* Whether @fd of the current task is closed on exec. */
static bool cloexec(int fd)
{
	bool set;

	rcu_read_lock();
	set = close_on_exec(fd, current->files);
	rcu_read_unlock();
	return set;
}

static const struct file_operations not_dma_buf_fops = {};

static void fd_cloexec_and_get(struct kunit *test)
{
	struct mock_buf *m = mock_buf_create(&mock_static_ops);
	int fd_cloexec = -1, fd_plain = -1, fd_other = -1;
	/* References the test holds (an fd holds its own). */
	unsigned int held = 1;
	struct dma_buf *got, *buf;
	int err = 0;

	KUNIT_ASSERT_NOT_NULL(test, m);
	buf = m->buf;
	/* Each fd takes over the reference it is given. */
	fd_cloexec = dma_buf_fd(buf, O_CLOEXEC);
	KUNIT_CHECK_OR_OUT(test, fd_cloexec >= 0, "fd %d", fd_cloexec);
	held--;
	get_dma_buf(buf);
	held++;
	fd_plain = dma_buf_fd(buf, 0);
	KUNIT_CHECK_OR_OUT(test, fd_plain >= 0 && fd_plain != fd_cloexec, "fds %d %d", fd_cloexec,
			   fd_plain);
	held--;
	KUNIT_CHECK_OR_OUT(test, cloexec(fd_cloexec), "O_CLOEXEC fd %d not close-on-exec",
			   fd_cloexec);
	KUNIT_CHECK_OR_OUT(test, !cloexec(fd_plain), "fd %d close-on-exec without O_CLOEXEC",
			   fd_plain);
	KUNIT_CHECK_OR_OUT(test, file_count(buf->file) == 2, "count %ld", file_count(buf->file));

	got = dma_buf_get(fd_cloexec);
	held += got == buf;
	KUNIT_CHECK_OR_OUT(test, got == buf, "dma_buf_get %p, exported %p", got, buf);
	KUNIT_CHECK_OR_OUT(test, file_count(buf->file) == 3, "dma_buf_get takes a reference: %ld",
			   file_count(buf->file));
	dma_buf_put(got);
	held--;
	got = dma_buf_get(fd_plain);
	held += got == buf;
	KUNIT_CHECK_OR_OUT(test, got == buf, "dma_buf_get %p, exported %p", got, buf);
	close_fd(fd_cloexec);
	fd_cloexec = -1;
	close_fd(fd_plain);
	fd_plain = -1;
	KUNIT_CHECK_OR_OUT(test, file_count(buf->file) == 1, "count %ld after closing the fds",
			   file_count(buf->file));
	KUNIT_CHECK_OR_OUT(test, m->nlog == 0, "released early: %s", m->log);

	KUNIT_CHECK_OR_OUT(test, dma_buf_fd(NULL, 0) == -EINVAL, "fd of no buffer");
	got = dma_buf_get(-1);
	KUNIT_CHECK_OR_OUT(test, got == ERR_PTR(-EBADF), "fd -1: %ld", PTR_ERR(got));
	fd_other = anon_inode_getfd("dmabuf-rs-not-a-buf", &not_dma_buf_fops, NULL, O_RDWR);
	KUNIT_CHECK_OR_OUT(test, fd_other >= 0, "anon fd %d", fd_other);
	got = dma_buf_get(fd_other);
	KUNIT_CHECK_OR_OUT(test, got == ERR_PTR(-EINVAL), "not a dma-buf fd: %ld", PTR_ERR(got));
	close_fd(fd_other);
	got = dma_buf_get(fd_other);
	fd_other = -1;
	KUNIT_CHECK_OR_OUT(test, got == ERR_PTR(-EBADF), "closed fd: %ld", PTR_ERR(got));
out:
	if (fd_other >= 0)
		close_fd(fd_other);
	/* Keep one reference of the test's own, then let the fds go. */
	if (!held) {
		get_dma_buf(buf);
		held++;
	}
	if (fd_cloexec >= 0)
		close_fd(fd_cloexec);
	if (fd_plain >= 0)
		close_fd(fd_plain);
	for (; held > 1; held--)
		dma_buf_put(buf);
	put_last(test, m, err);
}

static struct kunit_case cases[] = {
	KUNIT_CASE(export_embedded_resv),
	KUNIT_CASE(export_supplied_resv),
	KUNIT_CASE(get_put_release_once),
	KUNIT_CASE(fd_cloexec_and_get),
	{}
};

static struct kunit_suite suite = {
	.name = "dmabuf_rs_buf",
	.test_cases = cases,
};
kunit_test_suite(suite);
