// SPDX-License-Identifier: GPL-2.0
/*
 * Concurrency stress: threads racing on shared dma-buf and sync_file fds,
 * each case for a bounded time (dmabufrs_stress_ms in the environment, the
 * guest's kernel command line; 1500 ms by default), with its invariants
 * checked as it goes and at the end: every call returns what it may return
 * at any moment of the race, and once everything is closed the process
 * holds the fds it started with and bufinfo lists the dma-bufs it listed
 * before (nothing leaked, nothing freed twice; kmemleak and the console's
 * splat check see the rest).
 *
 *  - close versus ioctl: SYNC, EXPORT_SYNC_FILE, IMPORT_SYNC_FILE and
 *    SET_NAME on an fd number that another thread keeps closing and
 *    reopening on a new buffer;
 *  - poll versus signal versus close on the same fd number;
 *  - sync_file merge and FILE_INFO versus the timeline's increments;
 *  - fd passing over a unix socket while the sender closes its copy.
 *
 * Each case prints "# stress <case>: <n> operations" for the report.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <sys/socket.h>
#include <linux/sync_file.h>

#include "../kselftest_harness.h"
#include "dmabuf_util.h"

#define BUF_SIZE 4096
/* The fd number the racing threads share. */
#define SHARED_FD 200

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static long stress_ms(void)
{
	const char *s = getenv("dmabufrs_stress_ms");
	long ms = s ? strtol(s, NULL, 10) : 0;

	return ms > 0 ? ms : 1500;
}

/*
 * The harness kills a test after its timeout, 30 s by default: each case
 * gets its run time on top of that, so that STRESS=long (a minute per
 * case) is not cut short. Evaluated when the cases register, before main().
 */
static int case_timeout(void)
{
	return stress_ms() / 1000 + 30;
}

/*
 * SW_SYNC_LAST_REF: the threads drop the last reference to a sw_sync fence
 * only once it has signalled (or while nothing signals its timeline). In
 * 6.12's sw_sync (drivers/dma-buf/sw_sync.c, a user of the core, the same
 * on both cores) sync_timeline_signal() takes a reference to every fence
 * on the timeline's list under its lock, and a fence whose last reference
 * was just dropped stays on that list until its release takes the lock:
 * the reference taken meanwhile is an addition on zero (refcount_t warns,
 * then a use after free). Seen by this test before the rule; it is
 * sw_sync's, not the core's, and is in the closing notes for upstream.
 */

/* What one case shares between its threads. */
struct race {
	atomic_bool stop;
	atomic_long ops;
	atomic_int bad;		/* the first unexpected result, as -errno or 1 */
	char what[128];		/* ... and what it was */
	int tl;			/* a sw_sync timeline */
	atomic_uint next;	/* the next value on it */
	int sock[2];
};

/* Record the first unexpected result: @what, and the error @err (-errno or 0). */
static void bad(struct race *r, int err, const char *what)
{
	int expected = 0;

	if (atomic_compare_exchange_strong(&r->bad, &expected, err ? err : 1))
		snprintf(r->what, sizeof(r->what), "%s%s%s", what, err ? ": " : "",
			 err ? strerror(-err) : "");
}

/* An ioctl result that may be seen while the fd comes and goes. */
static void check_racy(struct race *r, int ret, const char *call)
{
	atomic_fetch_add(&r->ops, 1);
	if (ret < 0 && errno != EBADF)
		bad(r, -errno, call);
}

/* Keep SHARED_FD a new buffer, closing the old one, until told to stop. */
static void *reopener(void *arg)
{
	struct race *r = arg;

	while (!atomic_load(&r->stop)) {
		int fd = dmabuf_alloc(BUF_SIZE);

		if (fd < 0) {
			bad(r, fd, "allocating");
			break;
		}
		close(SHARED_FD);
		if (dup2(fd, SHARED_FD) != SHARED_FD)
			bad(r, -errno, "dup2");
		close(fd);
		atomic_fetch_add(&r->ops, 1);
	}
	return NULL;
}

static void *ioctl_caller(void *arg)
{
	struct race *r = arg;
	unsigned int i = 0;

	while (!atomic_load(&r->stop)) {
		struct dma_buf_sync s = { .flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW };
		struct dma_buf_export_sync_file e = { .flags = DMA_BUF_SYNC_RW, .fd = -1 };
		int ret, f;

		switch (i++ % 4) {
		case 0:
			ret = ioctl(SHARED_FD, DMA_BUF_IOCTL_SYNC, &s);
			check_racy(r, ret, "SYNC start");
			s.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW;
			ret = ioctl(SHARED_FD, DMA_BUF_IOCTL_SYNC, &s);
			check_racy(r, ret, "SYNC end");
			break;
		case 1:
			ret = ioctl(SHARED_FD, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e);
			check_racy(r, ret, "EXPORT_SYNC_FILE");
			if (!ret)
				close(e.fd);
			break;
		case 2:
			/* a fence that has already signalled: nobody waits */
			f = sw_sync_fence(r->tl, 0);
			if (f < 0) {
				bad(r, f, "sw_sync fence");
				break;
			}
			ret = dmabuf_import(SHARED_FD, f, DMA_BUF_SYNC_WRITE);
			errno = -ret;
			check_racy(r, ret, "IMPORT_SYNC_FILE");
			close(f);
			break;
		default:
			ret = ioctl(SHARED_FD, DMA_BUF_SET_NAME_B, "stress");
			/* EBUSY would mean attached: these buffers never are */
			check_racy(r, ret, "SET_NAME");
			break;
		}
	}
	return NULL;
}

/* Importing and signalling fences on SHARED_FD. */
static void *signaller(void *arg)
{
	struct race *r = arg;

	while (!atomic_load(&r->stop)) {
		unsigned int v = atomic_fetch_add(&r->next, 1) + 1;
		int f = sw_sync_fence(r->tl, v), ret;

		if (f < 0) {
			bad(r, f, "sw_sync fence");
			break;
		}
		ret = dmabuf_import(SHARED_FD, f, v & 1 ? DMA_BUF_SYNC_WRITE : DMA_BUF_SYNC_READ);
		errno = -ret;
		check_racy(r, ret, "IMPORT_SYNC_FILE");
		/* signal before dropping our reference: see SW_SYNC_LAST_REF */
		ret = sw_sync_inc(r->tl, 1);
		if (ret)
			bad(r, ret, "SW_SYNC_IOC_INC");
		close(f);
	}
	return NULL;
}

static void *poller(void *arg)
{
	struct race *r = arg;

	while (!atomic_load(&r->stop)) {
		struct pollfd p = { .fd = SHARED_FD, .events = POLLIN | POLLOUT };
		int n = poll(&p, 1, 2);

		atomic_fetch_add(&r->ops, 1);
		if (n < 0)
			bad(r, -errno, "poll");
		else if (n == 1 && p.revents & ~(POLLIN | POLLOUT | POLLNVAL))
			bad(r, 0, "poll: unexpected revents");
	}
	return NULL;
}

/* Merge a fence of the timeline with one of another and check FILE_INFO. */
static void *merger(void *arg)
{
	struct race *r = arg;
	int other = sw_sync_timeline();

	if (other < 0) {
		bad(r, other, "second timeline");
		return NULL;
	}
	while (!atomic_load(&r->stop)) {
		unsigned int v = atomic_load(&r->next) + 1;
		struct sync_merge_data m = { .name = "stress" };
		struct sync_fence_info fi[2];
		struct sync_file_info info = { .num_fences = 2, .sync_fence_info = (uintptr_t)fi };
		int a = sw_sync_fence(r->tl, v), b = sw_sync_fence(other, 1), i, all = 1;

		if (a < 0 || b < 0) {
			bad(r, a < 0 ? a : b, "sw_sync fence");
			break;
		}
		m.fd2 = b;
		if (ioctl(a, SYNC_IOC_MERGE, &m)) {
			bad(r, -errno, "SYNC_IOC_MERGE");
		} else {
			if (ioctl(m.fence, SYNC_IOC_FILE_INFO, &info))
				bad(r, -errno, "SYNC_IOC_FILE_INFO");
			/* a merge leaves out what has signalled: a may be gone */
			else if (info.num_fences != 2 && info.num_fences != 1)
				bad(r, 0, "FILE_INFO: neither 1 nor 2 fences");
			/* the merged status is the fold of the statuses it reports */
			for (i = 0; i < (int)info.num_fences && i < 2; i++)
				all = all && fi[i].status == 1;
			if (info.status != (all ? 1 : 0))
				bad(r, 0, "FILE_INFO: status does not fold its fences'");
			close(m.fence);
		}
		/*
		 * a's last reference goes once it has signalled (SW_SYNC_LAST_REF);
		 * once told to stop, the incrementer may be gone: signal it here.
		 */
		for (;;) {
			struct pollfd p = { .fd = a, .events = POLLIN };

			if (poll(&p, 1, 10) != 0)
				break;
			if (atomic_load(&r->stop))
				sw_sync_inc(r->tl, 1u << 20);
		}
		close(a);
		close(b);
		atomic_fetch_add(&r->ops, 1);
	}
	sw_sync_inc(other, 1);
	close(other);
	return NULL;
}

static void *incrementer(void *arg)
{
	struct race *r = arg;

	while (!atomic_load(&r->stop)) {
		int ret = sw_sync_inc(r->tl, 1);

		atomic_fetch_add(&r->next, 1);
		if (ret)
			bad(r, ret, "SW_SYNC_IOC_INC");
		atomic_fetch_add(&r->ops, 1);
	}
	return NULL;
}

/* Send new buffers' fds, closing each right after sending it. */
static void *fd_sender(void *arg)
{
	struct race *r = arg;

	while (!atomic_load(&r->stop)) {
		char data = 'b', cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
		struct iovec iov = { .iov_base = &data, .iov_len = 1 };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
				      .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		int fd = dmabuf_alloc(BUF_SIZE);

		if (fd < 0) {
			bad(r, fd, "allocating");
			break;
		}
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
		if (sendmsg(r->sock[0], &msg, 0) != 1)
			bad(r, -errno, "sendmsg");
		close(fd);
		atomic_fetch_add(&r->ops, 1);
	}
	/* the end: a message without an fd */
	send(r->sock[0], "e", 1, 0);
	return NULL;
}

static void *fd_receiver(void *arg)
{
	struct race *r = arg;

	for (;;) {
		char data, cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { .iov_base = &data, .iov_len = 1 };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
				      .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *c;
		int fd;

		if (recvmsg(r->sock[1], &msg, MSG_CMSG_CLOEXEC) != 1) {
			bad(r, -errno, "recvmsg");
			break;
		}
		if (data == 'e')
			break;
		c = CMSG_FIRSTHDR(&msg);
		if (!c || c->cmsg_type != SCM_RIGHTS) {
			bad(r, 0, "recvmsg: no fd");
			continue;
		}
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
		/* the sender closed its copy: ours must still be the buffer */
		if (bufinfo_has(fd_ino(fd)) != 1 || fdinfo_count(fd) < 1)
			bad(r, 0, "received fd: the passed buffer is gone");
		close(fd);
	}
	return NULL;
}

FIXTURE(stress)
{
	struct race r;
	int fds, bufs;		/* what the process held before the race */
	size_t bytes;
};

FIXTURE_SETUP(stress)
{
	int fd;

	DMABUF_ALLOC_OR_SKIP(fd, BUF_SIZE);
	close(fd);
	SW_SYNC_TIMELINE_OR_SKIP(self->r.tl);
	ASSERT_EQ(0, bufinfo_totals(&self->bufs, &self->bytes));
	self->fds = count_open_fds();
	ASSERT_GE(self->fds, 0);
}

FIXTURE_TEARDOWN(stress)
{
	if (self->r.tl > 0)
		close(self->r.tl);
}

/* Run @fns, one thread each, for the case's time; then check the end state. */
static void race(struct __test_metadata *_metadata, FIXTURE_DATA(stress) *self,
		 const char *name, void *(**fns)(void *), int n)
{
	struct race *r = &self->r;
	long long end = now_ms() + stress_ms();
	pthread_t t[8];
	int i, objects;
	size_t bytes;

	ASSERT_LE(n, 8);
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, fns[i], r));
	while (now_ms() < end && !atomic_load(&r->bad))
		usleep(20000);
	atomic_store(&r->stop, true);
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);

	/* signal whatever is left pending, and drop the shared fd */
	sw_sync_inc(r->tl, 1u << 20);
	close(SHARED_FD);

	EXPECT_EQ(0, atomic_load(&r->bad)) TH_LOG("%s: %s", name, r->what);
	ASSERT_EQ(0, bufinfo_totals(&objects, &bytes));
	EXPECT_EQ(self->bufs, objects) TH_LOG("%s: dma-bufs left behind", name);
	EXPECT_EQ(self->bytes, bytes);
	EXPECT_EQ(self->fds, count_open_fds()) TH_LOG("%s: fds left open", name);
	EXPECT_GT(atomic_load(&r->ops), 0);
	printf("# stress %s: %ld operations\n", name, atomic_load(&r->ops));
}

TEST_F_TIMEOUT(stress, close_vs_ioctl, case_timeout())
{
	void *(*fns[])(void *) = { reopener, ioctl_caller, ioctl_caller, ioctl_caller };

	race(_metadata, self, "close_vs_ioctl", fns, ARRAY_SIZE(fns));
}

TEST_F_TIMEOUT(stress, poll_vs_signal_vs_close, case_timeout())
{
	void *(*fns[])(void *) = { reopener, signaller, poller, poller };

	race(_metadata, self, "poll_vs_signal_vs_close", fns, ARRAY_SIZE(fns));
}

TEST_F_TIMEOUT(stress, merge_vs_timeline_inc, case_timeout())
{
	void *(*fns[])(void *) = { merger, merger, incrementer };

	race(_metadata, self, "merge_vs_timeline_inc", fns, ARRAY_SIZE(fns));
}

TEST_F_TIMEOUT(stress, pass_fd_while_closing, case_timeout())
{
	void *(*fns[])(void *) = { fd_sender, fd_receiver };

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, self->r.sock));
	self->fds += 2;
	race(_metadata, self, "pass_fd_while_closing", fns, ARRAY_SIZE(fns));
	close(self->r.sock[0]);
	close(self->r.sock[1]);
}

TEST_HARNESS_MAIN
