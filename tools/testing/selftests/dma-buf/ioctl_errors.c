// SPDX-License-Identifier: GPL-2.0
/*
 * The dma-buf ioctl dispatch: a request is recognised by its whole number
 * (type 'b', nr, direction and size), so anything else - another type, an
 * unknown nr, a known nr with another size or direction - is -ENOTTY, before
 * the argument is looked at. Every known request that takes a pointer
 * answers -EFAULT for one it cannot read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/fs.h>

#include "../kselftest_harness.h"
#include "dmabuf_util.h"

#define BUF_SIZE 4096

DMABUF_FIXTURE(ioctl_errors, BUF_SIZE);

/*
 * Expect -ENOTTY for each of @cmds, both with a harmless readable and
 * writable zeroed argument and with NULL (the argument is never looked at).
 */
static void expect_enotty(struct __test_metadata *_metadata, int fd, const unsigned long *cmds,
			  unsigned int n)
{
	__u64 arg[8];
	unsigned int i;

	for (i = 0; i < n; i++) {
		memset(arg, 0, sizeof(arg));
		errno = 0;
		EXPECT_EQ(-1, ioctl(fd, cmds[i], arg)) TH_LOG("cmd %#lx", cmds[i]);
		EXPECT_EQ(ENOTTY, errno) TH_LOG("cmd %#lx", cmds[i]);
		errno = 0;
		EXPECT_EQ(-1, ioctl(fd, cmds[i], NULL)) TH_LOG("cmd %#lx", cmds[i]);
		EXPECT_EQ(ENOTTY, errno) TH_LOG("cmd %#lx", cmds[i]);
	}
}

TEST_F(ioctl_errors, wrong_type)
{
	static const unsigned long cmds[] = {
		_IOW('a', 0, struct dma_buf_sync),
		_IOW('c', 0, struct dma_buf_sync),
		_IOW('B', 0, struct dma_buf_sync),	/* 'b' uppercased */
		_IOW('H', 0, struct dma_heap_allocation_data),
		_IOWR('H', 0, struct dma_heap_allocation_data),	/* DMA_HEAP_IOCTL_ALLOC */
		_IOW('c', 1, __u64),
		_IOWR('W', 0, struct dma_buf_export_sync_file),
		0,
	};

	expect_enotty(_metadata, self->fd, cmds, ARRAY_SIZE(cmds));
}

TEST_F(ioctl_errors, unknown_nr)
{
	static const unsigned long cmds[] = {
		_IO('b', 0), _IO('b', 4), _IO('b', 0xff),
		_IOW('b', 4, struct dma_buf_sync),
		_IOWR('b', 4, struct dma_buf_export_sync_file),
		_IOW('b', 5, struct dma_buf_import_sync_file),
		_IOW('b', 0x80, __u64),
		_IOR('b', 0xff, __u32),
	};

	expect_enotty(_metadata, self->fd, cmds, ARRAY_SIZE(cmds));
}

TEST_F(ioctl_errors, known_nr_wrong_size_or_direction)
{
	static const unsigned long cmds[] = {
		/* DMA_BUF_IOCTL_SYNC is _IOW('b', 0, __u64) */
		_IOW('b', 0, __u32), _IOW('b', 0, __u8), _IOW('b', 0, char[16]),
		_IOR('b', 0, struct dma_buf_sync), _IOWR('b', 0, struct dma_buf_sync),
		/* SET_NAME_A and _B are _IOW('b', 1, __u32 / __u64) */
		_IOW('b', 1, __u16), _IOW('b', 1, char[16]), _IOW('b', 1, char[32]),
		_IOR('b', 1, __u32), _IOR('b', 1, __u64), _IOWR('b', 1, __u64), _IO('b', 1),
		/* EXPORT is _IOWR('b', 2, 8 bytes), IMPORT _IOW('b', 3, 8 bytes) */
		_IOW('b', 2, struct dma_buf_export_sync_file),
		_IOR('b', 2, struct dma_buf_export_sync_file),
		_IOWR('b', 2, __u32), _IOWR('b', 2, char[16]), _IO('b', 2),
		_IOWR('b', 3, struct dma_buf_import_sync_file),
		_IOR('b', 3, struct dma_buf_import_sync_file),
		_IOW('b', 3, __u32), _IOW('b', 3, char[16]), _IO('b', 3),
	};

	expect_enotty(_metadata, self->fd, cmds, ARRAY_SIZE(cmds));
}

TEST_F(ioctl_errors, generic_requests_not_handled)
{
	/* Requests the VFS passes on for non-regular files: not the core's. */
	static const unsigned long cmds[] = { FIONREAD, FS_IOC_GETFLAGS, TCGETS };

	expect_enotty(_metadata, self->fd, cmds, ARRAY_SIZE(cmds));
}

TEST_F(ioctl_errors, bad_pointers_every_ioctl)
{
	static const unsigned long cmds[] = {
		DMA_BUF_IOCTL_SYNC, DMA_BUF_SET_NAME_A, DMA_BUF_SET_NAME_B,
		DMA_BUF_IOCTL_EXPORT_SYNC_FILE, DMA_BUF_IOCTL_IMPORT_SYNC_FILE,
	};
	long page = sysconf(_SC_PAGESIZE);
	void *bad[] = { BAD_POINTERS, NULL };
	unsigned int c, i;
	char *map;

	map = map_page_before_hole(page, 0);
	ASSERT_NE(MAP_FAILED, map);
	/* A valid-looking page that cannot be read. */
	bad[ARRAY_SIZE(bad) - 1] = map + page;
	for (c = 0; c < ARRAY_SIZE(cmds); c++) {
		for (i = 0; i < ARRAY_SIZE(bad); i++) {
			errno = 0;
			EXPECT_EQ(-1, ioctl(self->fd, cmds[c], bad[i])) TH_LOG("cmd %#lx %p", cmds[c], bad[i]);
			EXPECT_EQ(EFAULT, errno) TH_LOG("cmd %#lx %p", cmds[c], bad[i]);
		}
	}
	munmap(map, 2 * page);
}

TEST_F(ioctl_errors, arguments_ending_in_a_hole)
{
	long page = sysconf(_SC_PAGESIZE);
	char *map, *end;

	map = map_page_before_hole(page, 0);
	ASSERT_NE(MAP_FAILED, map);
	end = map + page;
	/* Each 8-byte argument with its last byte in the hole: -EFAULT. */
	*(__u32 *)(end - 7) = DMA_BUF_SYNC_READ;
	EXPECT_EQ(-1, ioctl(self->fd, DMA_BUF_IOCTL_SYNC, end - 7));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, end - 7));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, end - 7));
	EXPECT_EQ(EFAULT, errno);
	/* The same arguments fully readable: the errors are the usual ones. */
	*(__u64 *)(end - 8) = DMA_BUF_SYNC_READ;
	EXPECT_EQ(0, ioctl(self->fd, DMA_BUF_IOCTL_SYNC, end - 8));
	*(__u32 *)(end - 8) = DMA_BUF_SYNC_READ;
	*(__s32 *)(end - 4) = -1;
	EXPECT_EQ(-1, ioctl(self->fd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, end - 8));
	EXPECT_EQ(EINVAL, errno);
	munmap(map, 2 * page);
}

TEST_F(ioctl_errors, enotty_is_not_sticky)
{
	struct dma_buf_sync s = { .flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ };

	/* After rejected requests the buffer still answers known ones. */
	EXPECT_EQ(-1, ioctl(self->fd, _IO('b', 0x42)));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(0, ioctl(self->fd, DMA_BUF_IOCTL_SYNC, &s));
	s.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ;
	EXPECT_EQ(0, ioctl(self->fd, DMA_BUF_IOCTL_SYNC, &s));
	EXPECT_EQ(0, ioctl(self->fd, DMA_BUF_SET_NAME_A, "still-fine"));
}

TEST_HARNESS_MAIN
