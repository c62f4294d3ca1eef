// SPDX-License-Identifier: GPL-2.0
/*
 * DMA_BUF_IOCTL_SYNC: brackets CPU access through a mapping. The flags are a
 * direction (READ, WRITE or RW: one is required) and START (0) or END; any
 * other bit is -EINVAL, as is no direction. The core does not track the
 * brackets (END without START is fine). START waits, interruptibly, for the
 * implicit fences the direction conflicts with: READ for the write fences,
 * WRITE and RW for all; END never waits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/sync_file.h>

#include "../kselftest_harness.h"
#include "dmabuf_util.h"

#define BUF_SIZE (4 * 4096)

DMABUF_FIXTURE(sync_ioctl, BUF_SIZE);

static int sync_flags(int fd, __u64 flags)
{
	struct dma_buf_sync s = { .flags = flags };

	return ioctl(fd, DMA_BUF_IOCTL_SYNC, &s) ? -errno : 0;
}

/* Status of the (single) fence of sync_file @sf: 0 pending, 1 signalled. */
static int fence_status(int sf)
{
	struct sync_file_info info = { 0 };

	if (ioctl(sf, SYNC_IOC_FILE_INFO, &info))
		return -errno;
	return info.status;
}

TEST_F(sync_ioctl, start_then_end_each_direction)
{
	static const __u64 dirs[] = { DMA_BUF_SYNC_READ, DMA_BUF_SYNC_WRITE, DMA_BUF_SYNC_RW };
	unsigned int i;
	char *map;

	map = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0, sync_flags(self->fd, DMA_BUF_SYNC_START | dirs[i]));
		map[i] = 'a' + i;
		EXPECT_EQ(0, sync_flags(self->fd, DMA_BUF_SYNC_END | dirs[i]));
	}
	EXPECT_EQ(0, sync_flags(self->fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(0, memcmp(map, "abc", 3));
	EXPECT_EQ(0, sync_flags(self->fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	munmap(map, BUF_SIZE);
}

TEST_F(sync_ioctl, brackets_are_not_tracked)
{
	/* END without START, START twice, END twice: all accepted. */
	EXPECT_EQ(0, sync_flags(self->fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	EXPECT_EQ(0, sync_flags(self->fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE));
	EXPECT_EQ(0, sync_flags(self->fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE));
	EXPECT_EQ(0, sync_flags(self->fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	EXPECT_EQ(0, sync_flags(self->fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
}

TEST_F(sync_ioctl, no_direction_rejected)
{
	EXPECT_EQ(-EINVAL, sync_flags(self->fd, 0));
	EXPECT_EQ(-EINVAL, sync_flags(self->fd, DMA_BUF_SYNC_START));
	EXPECT_EQ(-EINVAL, sync_flags(self->fd, DMA_BUF_SYNC_END));
}

TEST_F(sync_ioctl, unknown_bits_rejected)
{
	static const __u64 bits[] = { 1ull << 3, 1ull << 4, 1ull << 31, 1ull << 32, 1ull << 63,
				      ~(__u64)DMA_BUF_SYNC_VALID_FLAGS_MASK };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bits); i++) {
		EXPECT_EQ(-EINVAL, sync_flags(self->fd, bits[i] | DMA_BUF_SYNC_READ))
			TH_LOG("flags %#llx", (unsigned long long)bits[i]);
		EXPECT_EQ(-EINVAL, sync_flags(self->fd, bits[i] | DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END))
			TH_LOG("flags %#llx", (unsigned long long)bits[i]);
	}
	EXPECT_EQ(-EINVAL, sync_flags(self->fd, ~0ull));
}

TEST_F(sync_ioctl, bad_pointer)
{
	long page = sysconf(_SC_PAGESIZE);
	void *bad[] = { BAD_POINTERS, NULL };
	unsigned int i;
	char *map;

	map = map_page_before_hole(page, 0);
	ASSERT_NE(MAP_FAILED, map);
	/* Half of the __u64 readable. */
	bad[ARRAY_SIZE(bad) - 1] = map + page - 4;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-1, ioctl(self->fd, DMA_BUF_IOCTL_SYNC, bad[i]));
		EXPECT_EQ(EFAULT, errno) TH_LOG("%p", bad[i]);
	}
	/* The argument is only read: a read-only one is fine. */
	*(__u64 *)map = DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW;
	ASSERT_EQ(0, mprotect(map, page, PROT_READ));
	EXPECT_EQ(0, ioctl(self->fd, DMA_BUF_IOCTL_SYNC, map));
	munmap(map, 2 * page);
}

/* The fence-waiting cases: a sw_sync fence imported into the buffer. */
FIXTURE(sync_wait)
{
	int fd;
	int tl;
	int fence;
};

FIXTURE_SETUP(sync_wait)
{
	SW_SYNC_TIMELINE_OR_SKIP(self->tl);
	DMABUF_ALLOC_OR_SKIP(self->fd, BUF_SIZE);
	self->fence = sw_sync_fence(self->tl, 1);
	ASSERT_GE(self->fence, 0);
}

FIXTURE_TEARDOWN(sync_wait)
{
	if (self->fence >= 0)
		close(self->fence);
	if (self->fd >= 0)
		close(self->fd);
	if (self->tl >= 0)
		close(self->tl);
}

/* Expect START|@dir to return only once the fence has signalled. */
static void expect_start_waits(struct __test_metadata *_metadata, FIXTURE_DATA(sync_wait) *self,
			       __u64 dir)
{
	pid_t pid = signal_later(self->tl);

	ASSERT_GE(pid, 0);
	EXPECT_EQ(0, sync_flags(self->fd, DMA_BUF_SYNC_START | dir));
	/* Had it not waited, the helper would (almost surely) still be asleep. */
	EXPECT_EQ(1, fence_status(self->fence)) TH_LOG("START %#llx returned before the fence signalled",
						       (unsigned long long)dir);
	EXPECT_EQ(0, reap(pid));
	EXPECT_EQ(0, sync_flags(self->fd, DMA_BUF_SYNC_END | dir));
}

TEST_F(sync_wait, start_read_waits_for_write_fence)
{
	ASSERT_EQ(0, dmabuf_import(self->fd, self->fence, DMA_BUF_SYNC_WRITE));
	/* END does not wait. */
	EXPECT_EQ(0, sync_flags(self->fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	EXPECT_EQ(0, fence_status(self->fence));
	expect_start_waits(_metadata, self, DMA_BUF_SYNC_READ);
}

TEST_F(sync_wait, start_write_waits_for_write_fence)
{
	ASSERT_EQ(0, dmabuf_import(self->fd, self->fence, DMA_BUF_SYNC_WRITE));
	expect_start_waits(_metadata, self, DMA_BUF_SYNC_WRITE);
}

TEST_F(sync_wait, start_read_ignores_read_fence)
{
	ASSERT_EQ(0, dmabuf_import(self->fd, self->fence, DMA_BUF_SYNC_READ));
	EXPECT_EQ(0, sync_flags(self->fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(0, fence_status(self->fence));
	EXPECT_EQ(0, sync_flags(self->fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	EXPECT_EQ(0, sync_flags(self->fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	EXPECT_EQ(0, fence_status(self->fence));
	/* ... but a writer waits for readers. */
	expect_start_waits(_metadata, self, DMA_BUF_SYNC_RW);
}

static void on_alarm(int sig)
{
	(void)sig;
}

TEST_F(sync_wait, start_wait_is_interruptible)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	/* Repeating, so that one lands while we wait however late we get there. */
	struct itimerval it = { .it_value = { .tv_usec = 100000 },
				.it_interval = { .tv_usec = 100000 } };
	struct itimerval off = { 0 };

	ASSERT_EQ(0, dmabuf_import(self->fd, self->fence, DMA_BUF_SYNC_WRITE));
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	EXPECT_EQ(-EINTR, sync_flags(self->fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &off, NULL));
	EXPECT_EQ(0, fence_status(self->fence));
	/* Once signalled, START goes through. */
	ASSERT_EQ(0, sw_sync_inc(self->tl, 1));
	EXPECT_EQ(0, sync_flags(self->fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	EXPECT_EQ(0, sync_flags(self->fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
}

TEST_HARNESS_MAIN
