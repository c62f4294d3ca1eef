// SPDX-License-Identifier: GPL-2.0
/*
 * poll and epoll on a dma-buf: the implicit fences of its reservation object
 * decide readiness. EPOLLIN waits for the write fences only, EPOLLOUT for
 * every fence (read and write). With no unsignalled fence both are ready at
 * once; a fence imported with DMA_BUF_IOCTL_IMPORT_SYNC_FILE from a sw_sync
 * timeline holds them back until the timeline passes it. The core arms one
 * fence callback per direction and re-arms it on the next poll after it has
 * fired; while armed the callback holds a reference on the dma-buf's file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "dmabuf_util.h"

#define BUF_SIZE (4 * 4096)

FIXTURE(poll)
{
	int buf;
	int tl;
};

FIXTURE_SETUP(poll)
{
	SW_SYNC_TIMELINE_OR_SKIP(self->tl);
	DMABUF_ALLOC_OR_SKIP(self->buf, BUF_SIZE);
}

FIXTURE_TEARDOWN(poll)
{
	/* Closing the timeline signals what is left, which disarms the callbacks. */
	if (self->buf >= 0)
		close(self->buf);
	if (self->tl >= 0)
		close(self->tl);
}

/* poll(2) without waiting: the revents of @fd for @events (-1 on error). */
static int revents(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n = poll(&p, 1, 0);

	if (n < 0)
		return -1;
	return n ? p.revents : 0;
}

/*
 * Expect a blocking epoll_wait on @ep to return EPOLLOUT once a child has
 * advanced @tl.
 */
static void expect_epoll_wakes(struct __test_metadata *_metadata, int ep, int tl)
{
	struct epoll_event out = { 0 };
	pid_t pid = signal_later(tl);

	ASSERT_GE(pid, 0);
	EXPECT_EQ(1, epoll_wait(ep, &out, 1, 10000));
	EXPECT_EQ(EPOLLOUT, out.events);
	EXPECT_EQ(0, reap(pid));
}

TEST_F(poll, idle_buffer_is_ready)
{
	EXPECT_EQ(POLLIN | POLLOUT, revents(self->buf, POLLIN | POLLOUT));
	EXPECT_EQ(POLLIN, revents(self->buf, POLLIN));
	EXPECT_EQ(POLLOUT, revents(self->buf, POLLOUT));
	/* Events other than IN and OUT are never reported. */
	EXPECT_EQ(POLLIN, revents(self->buf, POLLIN | POLLPRI | POLLRDHUP));
	EXPECT_EQ(0, revents(self->buf, POLLPRI));
	/* Asking again gives the same answer (nothing stays armed). */
	EXPECT_EQ(POLLIN | POLLOUT, revents(self->buf, POLLIN | POLLOUT));
	EXPECT_EQ(1, fdinfo_count(self->buf));
}

TEST_F(poll, epoll_idle_buffer_is_ready)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.u32 = 42 };
	struct epoll_event out[2];
	int ep = epoll_create1(EPOLL_CLOEXEC);

	ASSERT_GE(ep, 0);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->buf, &ev));
	memset(out, 0, sizeof(out));
	ASSERT_EQ(1, epoll_wait(ep, out, 2, 0));
	EXPECT_EQ(EPOLLIN | EPOLLOUT, out[0].events);
	EXPECT_EQ(42, out[0].data.u32);
	/* Level triggered: still ready. */
	ASSERT_EQ(1, epoll_wait(ep, out, 2, 0));
	EXPECT_EQ(EPOLLIN | EPOLLOUT, out[0].events);
	close(ep);
}

TEST_F(poll, write_fence_blocks_in_and_out)
{
	ASSERT_EQ(0, sw_sync_import(self->buf, self->tl, 1, DMA_BUF_SYNC_WRITE));
	EXPECT_EQ(0, revents(self->buf, POLLIN));
	EXPECT_EQ(0, revents(self->buf, POLLOUT));
	EXPECT_EQ(0, revents(self->buf, POLLIN | POLLOUT));

	ASSERT_EQ(0, sw_sync_inc(self->tl, 1));
	EXPECT_EQ(POLLIN | POLLOUT, revents(self->buf, POLLIN | POLLOUT));
	EXPECT_EQ(POLLIN, revents(self->buf, POLLIN));
	EXPECT_EQ(POLLOUT, revents(self->buf, POLLOUT));
}

TEST_F(poll, read_fence_blocks_only_out)
{
	ASSERT_EQ(0, sw_sync_import(self->buf, self->tl, 1, DMA_BUF_SYNC_READ));
	EXPECT_EQ(POLLIN, revents(self->buf, POLLIN | POLLOUT));
	EXPECT_EQ(POLLIN, revents(self->buf, POLLIN));
	EXPECT_EQ(0, revents(self->buf, POLLOUT));

	ASSERT_EQ(0, sw_sync_inc(self->tl, 1));
	EXPECT_EQ(POLLIN | POLLOUT, revents(self->buf, POLLIN | POLLOUT));
}

TEST_F(poll, rw_import_is_a_write_fence)
{
	ASSERT_EQ(0, sw_sync_import(self->buf, self->tl, 1, DMA_BUF_SYNC_RW));
	EXPECT_EQ(0, revents(self->buf, POLLIN | POLLOUT));
	ASSERT_EQ(0, sw_sync_inc(self->tl, 1));
	EXPECT_EQ(POLLIN | POLLOUT, revents(self->buf, POLLIN | POLLOUT));
}

TEST_F(poll, signalled_fence_does_not_block)
{
	int f = sw_sync_fence(self->tl, 1);

	ASSERT_GE(f, 0);
	ASSERT_EQ(0, sw_sync_inc(self->tl, 1));
	ASSERT_EQ(0, dmabuf_import(self->buf, f, DMA_BUF_SYNC_WRITE));
	EXPECT_EQ(POLLIN | POLLOUT, revents(self->buf, POLLIN | POLLOUT));
	close(f);
}

TEST_F(poll, every_fence_must_signal)
{
	int tl2 = sw_sync_timeline();

	ASSERT_GE(tl2, 0);
	/* Two write fences of different timelines: both stay in the buffer. */
	ASSERT_EQ(0, sw_sync_import(self->buf, self->tl, 1, DMA_BUF_SYNC_WRITE));
	ASSERT_EQ(0, sw_sync_import(self->buf, tl2, 1, DMA_BUF_SYNC_WRITE));
	EXPECT_EQ(0, revents(self->buf, POLLIN | POLLOUT));
	ASSERT_EQ(0, sw_sync_inc(tl2, 1));
	EXPECT_EQ(0, revents(self->buf, POLLIN | POLLOUT));
	ASSERT_EQ(0, sw_sync_inc(self->tl, 1));
	EXPECT_EQ(POLLIN | POLLOUT, revents(self->buf, POLLIN | POLLOUT));
	close(tl2);
}

TEST_F(poll, repeated_polls_rearm)
{
	__u32 seq;
	int i;

	for (seq = 1; seq <= 3; seq++) {
		ASSERT_EQ(0, sw_sync_import(self->buf, self->tl, seq, DMA_BUF_SYNC_WRITE));
		/* Armed by the first poll, still pending on the next ones. */
		for (i = 0; i < 3; i++) {
			EXPECT_EQ(0, revents(self->buf, POLLOUT)) TH_LOG("fence %u, poll %d", seq, i);
			EXPECT_EQ(0, revents(self->buf, POLLIN)) TH_LOG("fence %u, poll %d", seq, i);
		}
		ASSERT_EQ(0, sw_sync_inc(self->tl, 1));
		/* Fired: the next polls find the buffer idle, every time. */
		for (i = 0; i < 3; i++) {
			EXPECT_EQ(POLLIN | POLLOUT, revents(self->buf, POLLIN | POLLOUT))
				TH_LOG("fence %u, poll %d", seq, i);
		}
	}
}

TEST_F(poll, armed_callback_holds_a_file_reference)
{
	ASSERT_EQ(1, fdinfo_count(self->buf));
	ASSERT_EQ(0, sw_sync_import(self->buf, self->tl, 1, DMA_BUF_SYNC_WRITE));
	EXPECT_EQ(1, fdinfo_count(self->buf));
	/* One reference per armed direction. */
	EXPECT_EQ(0, revents(self->buf, POLLOUT));
	EXPECT_EQ(2, fdinfo_count(self->buf));
	EXPECT_EQ(0, revents(self->buf, POLLOUT));
	EXPECT_EQ(2, fdinfo_count(self->buf));
	EXPECT_EQ(0, revents(self->buf, POLLIN));
	EXPECT_EQ(3, fdinfo_count(self->buf));
	/* Signalling fires both callbacks, which drop their references. */
	ASSERT_EQ(0, sw_sync_inc(self->tl, 1));
	EXPECT_EQ(1, fdinfo_count(self->buf));
	EXPECT_EQ(POLLIN | POLLOUT, revents(self->buf, POLLIN | POLLOUT));
	EXPECT_EQ(1, fdinfo_count(self->buf));
}

TEST_F(poll, blocking_poll_wakes_on_signal)
{
	struct pollfd p = { .fd = self->buf, .events = POLLIN };
	pid_t pid;

	ASSERT_EQ(0, sw_sync_import(self->buf, self->tl, 1, DMA_BUF_SYNC_WRITE));
	pid = signal_later(self->tl);
	ASSERT_GE(pid, 0);
	/* Only one direction asked: the wake-up reports exactly it. */
	EXPECT_EQ(1, poll(&p, 1, 10000));
	EXPECT_EQ(POLLIN, p.revents);
	EXPECT_EQ(0, reap(pid));
	EXPECT_EQ(POLLIN | POLLOUT, revents(self->buf, POLLIN | POLLOUT));
}

TEST_F(poll, blocking_epoll_wakes_and_rearms)
{
	struct epoll_event ev = { .events = EPOLLOUT };
	struct epoll_event out;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	ASSERT_GE(ep, 0);
	ASSERT_EQ(0, sw_sync_import(self->buf, self->tl, 1, DMA_BUF_SYNC_READ));
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->buf, &ev));
	EXPECT_EQ(0, epoll_wait(ep, &out, 1, 0));
	expect_epoll_wakes(_metadata, ep, self->tl);
	EXPECT_EQ(1, epoll_wait(ep, &out, 1, 0));

	/* A new read fence blocks it again, and signalling it wakes us again. */
	ASSERT_EQ(0, sw_sync_import(self->buf, self->tl, 2, DMA_BUF_SYNC_READ));
	EXPECT_EQ(0, epoll_wait(ep, &out, 1, 0));
	expect_epoll_wakes(_metadata, ep, self->tl);
	close(ep);
}

TEST_HARNESS_MAIN
