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
#include "harness.h"
#include "mock.h"

/* Puts @m's buffer for the last time, folding a failure into @err. */
static int put_last(struct mock_buf *m, int err)
{
	int put_err;

	if (!m)
		return err;
	put_err = mock_buf_put_last(m);
	return err ?: put_err;
}

/*
 * Exports a mock buffer with the reservation object @supplied (NULL: the one
 * embedded in the buffer), checks what the buffer keeps of the export info,
 * adds a fence with @usage and releases the buffer. Release finishes an
 * embedded object, putting its fences; a supplied one belongs to the
 * exporter and keeps its fence.
 */
static int export_resv(struct dma_resv *supplied, enum dma_resv_usage usage)
{
	struct dma_fence *f = mock_fence(dma_fence_context_alloc(1), 1);
	struct mock_buf *m = mock_buf_alloc();
	struct dma_resv *want;
	struct dma_buf *buf;
	int refs, err = 0;

	if (!f || !m) {
		err = -ENOMEM;
		goto free;
	}
	refs = module_refcount(THIS_MODULE);
	err = mock_buf_export(m, &mock_static_ops, supplied);
	if (err)
		goto free;
	buf = m->buf;
	want = supplied ?: (struct dma_resv *)&buf[1];
	T_CHECK(buf->resv == want, "resv %p, want %p (buffer %p)", buf->resv, want, buf);
	T_CHECK(buf->priv == m, "priv");
	T_CHECK(buf->ops == &mock_static_ops, "ops");
	T_CHECK(buf->size == MOCK_SIZE, "size %zu", buf->size);
	T_CHECK(buf->exp_name == mock_exp_name, "exp_name %s", buf->exp_name);
	T_CHECK(buf->owner == THIS_MODULE, "owner");
	T_CHECK(module_refcount(THIS_MODULE) == refs + 1, "the buffer pins its owner: %d -> %d",
		refs, module_refcount(THIS_MODULE));
	T_CHECK(buf->file && file_count(buf->file) == 1, "one file reference");
	T_CHECK(file_inode(buf->file)->i_size == MOCK_SIZE, "inode size %lld",
		file_inode(buf->file)->i_size);
	T_CHECK((buf->file->f_flags & O_ACCMODE) == O_RDWR, "f_flags %#x", buf->file->f_flags);
	T_CHECK(list_empty(&buf->attachments), "no attachments");
	T_CHECK(m->nlog == 0, "no op called by export: %s", m->log);

	T_CHECK(mock_resv_add(buf->resv, f, usage) == 0, "add a fence");
	T_CHECK(mock_resv_count(buf->resv, DMA_RESV_USAGE_BOOKKEEP) == 1, "fence in the resv");
	T_CHECK(kref_read(&f->refcount) == 2, "refcount %u", kref_read(&f->refcount));
out:
	err = put_last(m, err);
	m = NULL;
	if (!err && !supplied && kref_read(&f->refcount) != 1) {
		pr_info(T_PREFIX "# release must put the resv's fences (refcount %u)\n",
			kref_read(&f->refcount));
		err = -EINVAL;
	}
	if (!err && supplied && (mock_resv_count(supplied, DMA_RESV_USAGE_BOOKKEEP) != 1 ||
				 kref_read(&f->refcount) != 2)) {
		pr_info(T_PREFIX "# release touched the supplied resv (fence refcount %u)\n",
			kref_read(&f->refcount));
		err = -EINVAL;
	}
	if (!err && module_refcount(THIS_MODULE) != refs) {
		pr_info(T_PREFIX "# owner not put at release: %d -> %d\n",
			refs, module_refcount(THIS_MODULE));
		err = -EINVAL;
	}
free:
	if (m)
		mock_buf_free(m);
	mock_fence_done(f);
	return err;
}

static int export_embedded_resv(void)
{
	return export_resv(NULL, DMA_RESV_USAGE_WRITE);
}

static int export_supplied_resv(void)
{
	struct dma_resv resv;
	int err;

	dma_resv_init(&resv);
	err = export_resv(&resv, DMA_RESV_USAGE_READ);
	dma_resv_fini(&resv);
	return err;
}

static int get_put_release_once(void)
{
	struct mock_buf *m = mock_buf_create(&mock_static_ops);
	struct dma_buf *buf;
	int err = 0;

	if (!m)
		return -ENOMEM;
	buf = m->buf;
	T_CHECK(file_count(buf->file) == 1, "count %ld", file_count(buf->file));
	get_dma_buf(buf);
	get_dma_buf(buf);
	T_CHECK(file_count(buf->file) == 3, "count %ld", file_count(buf->file));
	dma_buf_put(buf);
	dma_buf_put(buf);
	T_CHECK(file_count(buf->file) == 1, "count %ld", file_count(buf->file));
	T_CHECK(m->nlog == 0, "released early: %s", m->log);
out:
	return put_last(m, err);
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

static int fd_cloexec_and_get(void)
{
	struct mock_buf *m = mock_buf_create(&mock_static_ops);
	int fd_cloexec = -1, fd_plain = -1, fd_other = -1;
	/* References the test holds (an fd holds its own). */
	unsigned int held = 1;
	struct dma_buf *got, *buf;
	int err = 0;

	if (!m)
		return -ENOMEM;
	buf = m->buf;
	/* Each fd takes over the reference it is given. */
	fd_cloexec = dma_buf_fd(buf, O_CLOEXEC);
	T_CHECK(fd_cloexec >= 0, "fd %d", fd_cloexec);
	held--;
	get_dma_buf(buf);
	held++;
	fd_plain = dma_buf_fd(buf, 0);
	T_CHECK(fd_plain >= 0 && fd_plain != fd_cloexec, "fds %d %d", fd_cloexec, fd_plain);
	held--;
	T_CHECK(cloexec(fd_cloexec), "O_CLOEXEC fd %d not close-on-exec", fd_cloexec);
	T_CHECK(!cloexec(fd_plain), "fd %d close-on-exec without O_CLOEXEC", fd_plain);
	T_CHECK(file_count(buf->file) == 2, "count %ld", file_count(buf->file));

	got = dma_buf_get(fd_cloexec);
	held += got == buf;
	T_CHECK(got == buf, "dma_buf_get %p, exported %p", got, buf);
	T_CHECK(file_count(buf->file) == 3, "dma_buf_get takes a reference: %ld",
		file_count(buf->file));
	dma_buf_put(got);
	held--;
	got = dma_buf_get(fd_plain);
	held += got == buf;
	T_CHECK(got == buf, "dma_buf_get %p, exported %p", got, buf);
	close_fd(fd_cloexec);
	fd_cloexec = -1;
	close_fd(fd_plain);
	fd_plain = -1;
	T_CHECK(file_count(buf->file) == 1, "count %ld after closing the fds",
		file_count(buf->file));
	T_CHECK(m->nlog == 0, "released early: %s", m->log);

	T_CHECK(dma_buf_fd(NULL, 0) == -EINVAL, "fd of no buffer");
	got = dma_buf_get(-1);
	T_CHECK(got == ERR_PTR(-EBADF), "fd -1: %ld", PTR_ERR(got));
	fd_other = anon_inode_getfd("dmabuf-rs-not-a-buf", &not_dma_buf_fops, NULL, O_RDWR);
	T_CHECK(fd_other >= 0, "anon fd %d", fd_other);
	got = dma_buf_get(fd_other);
	T_CHECK(got == ERR_PTR(-EINVAL), "not a dma-buf fd: %ld", PTR_ERR(got));
	close_fd(fd_other);
	got = dma_buf_get(fd_other);
	fd_other = -1;
	T_CHECK(got == ERR_PTR(-EBADF), "closed fd: %ld", PTR_ERR(got));
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
	return put_last(m, err);
}

static const struct dmabuf_rs_test tests[] = {
	{ "buf/export_embedded_resv", export_embedded_resv },
	{ "buf/export_supplied_resv", export_supplied_resv },
	{ "buf/get_put_release_once", get_put_release_once },
	{ "buf/fd_cloexec_and_get", fd_cloexec_and_get },
};
const struct dmabuf_rs_suite dmabuf_rs_buf_suite = { tests, ARRAY_SIZE(tests) };
