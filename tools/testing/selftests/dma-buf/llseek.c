// SPDX-License-Identifier: GPL-2.0
/*
 * llseek on a dma-buf fd: the only seeks allowed are offset 0 with SEEK_END,
 * which reports the buffer size (the idiomatic way to learn it), and offset 0
 * with SEEK_SET, which goes back to the start. Everything else is -EINVAL.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "dmabuf_util.h"

#define BUF_SIZE (4 * 4096)

DMABUF_FIXTURE(llseek, BUF_SIZE);

TEST_F(llseek, end_zero_gives_size)
{
	EXPECT_EQ(BUF_SIZE, lseek(self->fd, 0, SEEK_END));
}

TEST_F(llseek, set_zero_gives_zero)
{
	ASSERT_EQ(BUF_SIZE, lseek(self->fd, 0, SEEK_END));
	EXPECT_EQ(0, lseek(self->fd, 0, SEEK_SET));
}

static void expect_einval(struct __test_metadata *_metadata, int fd, off_t off, int whence)
{
	errno = 0;
	EXPECT_EQ(-1, lseek(fd, off, whence)) TH_LOG("lseek(%lld, %d)", (long long)off, whence);
	EXPECT_EQ(EINVAL, errno) TH_LOG("lseek(%lld, %d)", (long long)off, whence);
}

TEST_F(llseek, nonzero_offsets_rejected)
{
	static const off_t offs[] = { 1, -1, 4096, BUF_SIZE, BUF_SIZE + 1 };
	unsigned int i;

	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		expect_einval(_metadata, self->fd, offs[i], SEEK_END);
		expect_einval(_metadata, self->fd, offs[i], SEEK_SET);
	}
}

TEST_F(llseek, other_whence_rejected)
{
	static const int whences[] = { SEEK_CUR, SEEK_DATA, SEEK_HOLE, 5, -1 };
	unsigned int i;

	for (i = 0; i < sizeof(whences) / sizeof(whences[0]); i++) {
		expect_einval(_metadata, self->fd, 0, whences[i]);
		expect_einval(_metadata, self->fd, 1, whences[i]);
	}
}

TEST_HARNESS_MAIN
