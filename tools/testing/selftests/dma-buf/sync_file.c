// SPDX-License-Identifier: GPL-2.0
/*
 * The sync_file uapi: no seeking, SYNC_IOC_MERGE (name, de-duplication,
 * argument errors), SYNC_IOC_FILE_INFO (count-only query, too-small array,
 * per-fence status, the generated name), SYNC_IOC_SET_DEADLINE argument
 * checks, poll, and unknown ioctls. Fences come from sw_sync timelines (debugfs).
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
#include "dmabuf_util.h"

/* SYNC_IOC_MERGE of @a and @b into a sync_file named @name: its fd, or -errno. */
static int merge(int a, int b, const char *name)
{
	struct sync_merge_data m = { .fd2 = b };

	snprintf(m.name, sizeof(m.name), "%s", name);
	if (ioctl(a, SYNC_IOC_MERGE, &m))
		return -errno;
	return m.fence;
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
	SW_SYNC_TIMELINE_OR_SKIP(self->tl[0]);
	self->tl[1] = sw_sync_timeline();
	ASSERT_GE(self->tl[1], 0);
	self->f[0] = sw_sync_fence(self->tl[0], 1);
	self->f[1] = sw_sync_fence(self->tl[0], 2);
	self->f[2] = sw_sync_fence(self->tl[1], 1);
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
	m = merge(self->f[0], self->f[1], "same");
	ASSERT_LE(0, m);
	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, ioctl(m, SYNC_IOC_FILE_INFO, &info));
	EXPECT_EQ(1, info.num_fences);
	EXPECT_STREQ("same", info.name);

	/* With a second timeline there are two, and the flag is cloexec. */
	mm = merge(m, self->f[2], "both");
	ASSERT_LE(0, mm);
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

	EXPECT_EQ(-1, ioctl(self->f[0], SYNC_IOC_MERGE, &m));
	EXPECT_EQ(EINVAL, errno);
	m = (struct sync_merge_data){ .fd2 = self->f[1], .pad = 1 };
	EXPECT_EQ(-1, ioctl(self->f[0], SYNC_IOC_MERGE, &m));
	EXPECT_EQ(EINVAL, errno);
	/* fd2 not a sync_file (stdin-like fd: a timeline) or not an fd at all */
	EXPECT_EQ(-ENOENT, merge(self->f[0], self->tl[0], "x"));
	EXPECT_EQ(-ENOENT, merge(self->f[0], 9999, "x"));
	EXPECT_EQ(-1, ioctl(self->f[0], SYNC_IOC_MERGE, (void *)8));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(sync_file, file_info_rules)
{
	struct sync_fence_info fi[2];
	struct sync_file_info info = { 0 };
	int m;

	m = merge(self->f[0], self->f[2], "two");
	ASSERT_LE(0, m);
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

/*
 * An unmerged sync_file is named after its fence when asked,
 * "<driver>-<timeline><context>-<seqno>", written as snprintf writes it: the
 * bytes of the name field past the terminator stay as userspace passed them.
 */
TEST_F(sync_file, file_info_generated_name)
{
	struct sync_file_info info = { 0 };
	size_t len, i;

	memset(info.name, 'Z', sizeof(info.name));
	ASSERT_EQ(0, ioctl(self->f[1], SYNC_IOC_FILE_INFO, &info));
	len = strnlen(info.name, sizeof(info.name));
	ASSERT_LT(len, sizeof(info.name));
	EXPECT_EQ(0, strncmp(info.name, "sw_sync-", 8)) TH_LOG("name %s", info.name);
	EXPECT_STREQ("-2", info.name + len - 2);
	for (i = len + 1; i < sizeof(info.name); i++)
		EXPECT_EQ('Z', info.name[i]) TH_LOG("byte %zu of \"%s\"", i, info.name);
}

TEST_F(sync_file, status_and_poll_follow_signalling)
{
	struct sync_fence_info fi[2];
	struct sync_file_info info;
	int m;

	m = merge(self->f[0], self->f[2], "two");
	ASSERT_LE(0, m);
	EXPECT_FALSE(readable(m));
	ASSERT_EQ(0, sw_sync_inc(self->tl[0], 1));
	EXPECT_FALSE(readable(m));
	info = (struct sync_file_info){ .num_fences = 2, .sync_fence_info = (uintptr_t)fi };
	ASSERT_EQ(0, ioctl(m, SYNC_IOC_FILE_INFO, &info));
	EXPECT_EQ(0, info.status);
	EXPECT_EQ(1, fi[0].status + fi[1].status);
	EXPECT_TRUE(fi[0].timestamp_ns || fi[1].timestamp_ns);

	ASSERT_EQ(0, sw_sync_inc(self->tl[1], 1));
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
