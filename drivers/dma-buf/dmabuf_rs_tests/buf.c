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

/* How many fences of @obj a locked walk at BOOKKEEP usage sees. */
static unsigned int fences_in(struct dma_resv *obj)
{
	struct dma_resv_iter cursor;
	struct dma_fence *f;
	unsigned int n = 0;

	dma_resv_lock(obj, NULL);
	dma_resv_for_each_fence(&cursor, obj, DMA_RESV_USAGE_BOOKKEEP, f)
		n++;
	dma_resv_unlock(obj);
	return n;
}

/* Puts @m's buffer for the last time, folding a failure into @err. */
static int put_last(struct mock_buf *m, int err)
{
	int put_err;

	if (!m)
		return err;
	put_err = mock_buf_put_last(m);
	return err ?: put_err;
}

static int export_embedded_resv(void)
{
	struct dma_fence *f = mock_fence(dma_fence_context_alloc(1), 1);
	struct mock_buf *m = mock_buf_alloc();
	struct dma_buf *buf;
	int refs, err = 0;

	if (!f || !m) {
		err = -ENOMEM;
		goto free;
	}
	refs = module_refcount(THIS_MODULE);
	err = mock_buf_export(m, &mock_static_ops, NULL);
	if (err)
		goto free;
	buf = m->buf;
	T_CHECK(buf->resv == (struct dma_resv *)&buf[1], "resv %p, buffer %p", buf->resv, buf);
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

	/* The embedded object works, and is finished (its fences put) at release. */
	T_CHECK(mock_resv_add(buf->resv, f, DMA_RESV_USAGE_WRITE) == 0, "add a fence");
	T_CHECK(fences_in(buf->resv) == 1, "fence in the embedded resv");
	T_CHECK(kref_read(&f->refcount) == 2, "refcount %u", kref_read(&f->refcount));
out:
	err = put_last(m, err);
	m = NULL;
	if (!err && kref_read(&f->refcount) != 1) {
		pr_info(T_PREFIX "# release must put the resv's fences (refcount %u)\n",
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
	if (f) {
		dma_fence_signal(f);
		dma_fence_put(f);
	}
	return err;
}

static int export_supplied_resv(void)
{
	struct dma_fence *f = mock_fence(dma_fence_context_alloc(1), 1);
	struct mock_buf *m = mock_buf_alloc();
	struct dma_resv resv;
	int err = 0;

	if (!f || !m) {
		err = -ENOMEM;
		goto free;
	}
	dma_resv_init(&resv);
	err = mock_buf_export(m, &mock_static_ops, &resv);
	if (err)
		goto fini;
	T_CHECK(m->buf->resv == &resv, "resv %p, supplied %p", m->buf->resv, &resv);
	T_CHECK(mock_resv_add(&resv, f, DMA_RESV_USAGE_READ) == 0, "add a fence");
	T_CHECK(fences_in(m->buf->resv) == 1, "the buffer sees the supplied resv's fence");
out:
	err = put_last(m, err);
	m = NULL;
	/* The supplied object belongs to the exporter: release leaves it alone. */
	if (!err && (fences_in(&resv) != 1 || kref_read(&f->refcount) != 2)) {
		pr_info(T_PREFIX "# release touched the supplied resv (fence refcount %u)\n",
			kref_read(&f->refcount));
		err = -EINVAL;
	}
fini:
	dma_resv_fini(&resv);
free:
	if (m)
		mock_buf_free(m);
	if (f) {
		dma_fence_signal(f);
		dma_fence_put(f);
	}
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

const struct dmabuf_rs_test dmabuf_rs_buf_tests[] = {
	{ "buf/export_embedded_resv", export_embedded_resv },
	{ "buf/export_supplied_resv", export_supplied_resv },
	{ "buf/get_put_release_once", get_put_release_once },
	{ "buf/fd_cloexec_and_get", fd_cloexec_and_get },
};
const unsigned int dmabuf_rs_buf_tests_count = ARRAY_SIZE(dmabuf_rs_buf_tests);
