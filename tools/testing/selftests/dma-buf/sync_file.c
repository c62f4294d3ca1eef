// SPDX-License-Identifier: GPL-2.0
/*
 * The sync_file uapi: no seeking, SYNC_IOC_MERGE (name, de-duplication,
 * argument errors), SYNC_IOC_FILE_INFO (count-only query, too-small array,
 * per-fence status), SYNC_IOC_SET_DEADLINE argument checks, poll, and
 * unknown ioctls. Fences come from sw_sync timelines (debugfs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/sync_file.h>

#include "../kselftest_harness.h"

/* sw_sync's debugfs ioctls (drivers/dma-buf/sw_sync.c; not in uapi). */
struct sw_sync_create_fence_data {
	__u32 value;
	char name[32];
	__s32 fence;
};
#define SW_SYNC_IOC_CREATE_FENCE _IOWR('W', 0, struct sw_sync_create_fence_data)
#define SW_SYNC_IOC_INC _IOW('W', 1, __u32)
#define SW_SYNC "/sys/kernel/debug/sync/sw_sync"

static int new_fence(int timeline, __u32 value)
{
	struct sw_sync_create_fence_data d = { .value = value, .name = "st" };

	if (ioctl(timeline, SW_SYNC_IOC_CREATE_FENCE, &d))
		return -1;
	return d.fence;
}

static int merge(int a, int b, const char *name, int *out)
{
	struct sync_merge_data m = { .fd2 = b };

	strncpy(m.name, name, sizeof(m.name) - 1);
	if (ioctl(a, SYNC_IOC_MERGE, &m))
		return -errno;
	*out = m.fence;
	return 0;
}

static int readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

FIXTURE(sync_file)
{
	int tl[2];
	int f[3];	/* f[0], f[1] on tl[0] (seqno 1, 2); f[2] on tl[1] */
};

FIXTURE_SETUP(sync_file)
{
	self->tl[0] = open(SW_SYNC, O_RDWR | O_CLOEXEC);
	if (self->tl[0] < 0 && errno == ENOENT)
		SKIP(return, "no sw_sync in debugfs (CONFIG_SW_SYNC)");
	ASSERT_GE(self->tl[0], 0);
	self->tl[1] = open(SW_SYNC, O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->tl[1], 0);
	self->f[0] = new_fence(self->tl[0], 1);
	self->f[1] = new_fence(self->tl[0], 2);
	self->f[2] = new_fence(self->tl[1], 1);
	ASSERT_GE(self->f[0], 0);
	ASSERT_GE(self->f[1], 0);
	ASSERT_GE(self->f[2], 0);
}

FIXTURE_TEARDOWN(sync_file)
{
	int i;

	for (i = 0; i < 3; i++)
		if (self->f[i] >= 0)
			close(self->f[i]);
	for (i = 0; i < 2; i++)
		if (self->tl[i] >= 0)
			close(self->tl[i]);
}

TEST_F(sync_file, no_llseek)
{
	errno = 0;
	EXPECT_EQ(-1, lseek(self->f[0], 0, SEEK_SET));
	EXPECT_EQ(ESPIPE, errno);
}

TEST_F(sync_file, merge_dedups_and_names)
{
	struct sync_fence_info fi[4];
	struct sync_file_info info = { .num_fences = 4, .sync_fence_info = (uintptr_t)fi };
	int m, mm;

	/* Two fences of one timeline merge into the later one. */
	ASSERT_EQ(0, merge(self->f[0], self->f[1], "same", &m));
	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, ioctl(m, SYNC_IOC_FILE_INFO, &info));
	EXPECT_EQ(1, info.num_fences);
	EXPECT_STREQ("same", info.name);

	/* With a second timeline there are two, and the flag is cloexec. */
	ASSERT_EQ(0, merge(m, self->f[2], "both", &mm));
	EXPECT_EQ(FD_CLOEXEC, fcntl(mm, F_GETFD) & FD_CLOEXEC);
	info = (struct sync_file_info){ .num_fences = 4, .sync_fence_info = (uintptr_t)fi };
	ASSERT_EQ(0, ioctl(mm, SYNC_IOC_FILE_INFO, &info));
	EXPECT_EQ(2, info.num_fences);
	EXPECT_STREQ("both", info.name);
	EXPECT_EQ(0, info.status);
	EXPECT_EQ(0, fi[0].status);
	EXPECT_EQ(0, fi[1].status);
	close(m);
	close(mm);
}

TEST_F(sync_file, merge_argument_errors)
{
	struct sync_merge_data m = { .fd2 = self->f[1], .flags = 1 };
	int out;

	EXPECT_EQ(-1, ioctl(self->f[0], SYNC_IOC_MERGE, &m));
	EXPECT_EQ(EINVAL, errno);
	m = (struct sync_merge_data){ .fd2 = self->f[1], .pad = 1 };
	EXPECT_EQ(-1, ioctl(self->f[0], SYNC_IOC_MERGE, &m));
	EXPECT_EQ(EINVAL, errno);
	/* fd2 not a sync_file (stdin-like fd: a timeline) or not an fd at all */
	EXPECT_EQ(-ENOENT, merge(self->f[0], self->tl[0], "x", &out));
	EXPECT_EQ(-ENOENT, merge(self->f[0], 9999, "x", &out));
	EXPECT_EQ(-1, ioctl(self->f[0], SYNC_IOC_MERGE, (void *)8));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(sync_file, file_info_rules)
{
	struct sync_fence_info fi[2];
	struct sync_file_info info = { 0 };
	int m;

	ASSERT_EQ(0, merge(self->f[0], self->f[2], "two", &m));
	/* Count-only query. */
	ASSERT_EQ(0, ioctl(m, SYNC_IOC_FILE_INFO, &info));
	EXPECT_EQ(2, info.num_fences);
	EXPECT_EQ(0, info.status);
	/* An array too small for the fences. */
	info = (struct sync_file_info){ .num_fences = 1, .sync_fence_info = (uintptr_t)fi };
	EXPECT_EQ(-1, ioctl(m, SYNC_IOC_FILE_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
	/* Flags and pad must be zero. */
	info = (struct sync_file_info){ .flags = 1 };
	EXPECT_EQ(-1, ioctl(m, SYNC_IOC_FILE_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
	info = (struct sync_file_info){ .pad = 1 };
	EXPECT_EQ(-1, ioctl(m, SYNC_IOC_FILE_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
	/* A bad array pointer. */
	info = (struct sync_file_info){ .num_fences = 2, .sync_fence_info = 8 };
	EXPECT_EQ(-1, ioctl(m, SYNC_IOC_FILE_INFO, &info));
	EXPECT_EQ(EFAULT, errno);
	close(m);
}

TEST_F(sync_file, status_and_poll_follow_signalling)
{
	struct sync_fence_info fi[2];
	struct sync_file_info info;
	int m;

	ASSERT_EQ(0, merge(self->f[0], self->f[2], "two", &m));
	EXPECT_FALSE(readable(m));
	ASSERT_EQ(0, ioctl(self->tl[0], SW_SYNC_IOC_INC, &(__u32){ 1 }));
	EXPECT_FALSE(readable(m));
	info = (struct sync_file_info){ .num_fences = 2, .sync_fence_info = (uintptr_t)fi };
	ASSERT_EQ(0, ioctl(m, SYNC_IOC_FILE_INFO, &info));
	EXPECT_EQ(0, info.status);
	EXPECT_EQ(1, fi[0].status + fi[1].status);
	EXPECT_TRUE(fi[0].timestamp_ns || fi[1].timestamp_ns);

	ASSERT_EQ(0, ioctl(self->tl[1], SW_SYNC_IOC_INC, &(__u32){ 1 }));
	EXPECT_TRUE(readable(m));
	info = (struct sync_file_info){ .num_fences = 2, .sync_fence_info = (uintptr_t)fi };
	ASSERT_EQ(0, ioctl(m, SYNC_IOC_FILE_INFO, &info));
	EXPECT_EQ(1, info.status);
	close(m);
}

TEST_F(sync_file, set_deadline_and_unknown_ioctls)
{
	struct sync_set_deadline d = { .deadline_ns = 1000000 };

	EXPECT_EQ(0, ioctl(self->f[0], SYNC_IOC_SET_DEADLINE, &d));
	d.pad = 1;
	EXPECT_EQ(-1, ioctl(self->f[0], SYNC_IOC_SET_DEADLINE, &d));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->f[0], _IO(SYNC_IOC_MAGIC, 0x7f)));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->f[0], SYNC_IOC_SET_DEADLINE, (void *)8));
	EXPECT_EQ(EFAULT, errno);
}

TEST_HARNESS_MAIN
