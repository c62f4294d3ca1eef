// SPDX-License-Identifier: GPL-2.0
/*
 * mmap of a dma-buf: any page range inside the buffer maps (the exporter's
 * mmap fills it), a range reaching past the end is -EINVAL from the core,
 * whatever the offset; the VFS turns away a zero length or unaligned offset
 * (-EINVAL), an offset+length beyond what it can address (-EOVERFLOW), a
 * shared writable mapping of a read-only buffer and any mapping of a
 * write-only one (-EACCES): the core keeps the exporter's access mode in the
 * file's flags, which decide these. A mapping holds a reference on the
 * buffer: it outlives every fd.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "dmabuf_util.h"

#define PAGES 4

FIXTURE(mmap)
{
	int fd;
	long page;
	size_t size;
};

FIXTURE_SETUP(mmap)
{
	self->page = sysconf(_SC_PAGESIZE);
	self->size = PAGES * self->page;
	self->fd = dmabuf_alloc(self->size);
	if (self->fd == -ENOENT)
		SKIP(return, "no system dma-heap (CONFIG_DMABUF_HEAPS_SYSTEM) in this kernel");
	ASSERT_GE(self->fd, 0) TH_LOG("allocating a dma-buf: %s", strerror(-self->fd));
}

FIXTURE_TEARDOWN(mmap)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* The raw syscall, so that libc does not judge the offset: 0 or -errno. */
static long try_map(int fd, size_t len, unsigned long off, int prot)
{
	long ret = syscall(SYS_mmap, NULL, len, prot, MAP_SHARED, fd, off);

	if (ret == -1)
		return -errno;
	munmap((void *)ret, len);
	return 0;
}

/* The byte a pattern puts at offset @i of page @p. */
static unsigned char pattern(size_t p, size_t i)
{
	return (unsigned char)(p * 31 + i * 7 + 1);
}

TEST_F(mmap, full_mapping_round_trips)
{
	unsigned char *m, *m2;
	size_t p, i, bad = 0;

	m = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	/* The system heap hands out zeroed memory. */
	for (i = 0; i < self->size; i++)
		bad += m[i] != 0;
	EXPECT_EQ(0, bad);
	for (p = 0; p < PAGES; p++)
		for (i = 0; i < (size_t)self->page; i++)
			m[p * self->page + i] = pattern(p, i);

	/* A second mapping, while the first is there, and after it is gone. */
	m2 = mmap(NULL, self->size, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, m2);
	EXPECT_EQ(0, memcmp(m, m2, self->size));
	munmap(m, self->size);
	for (p = 0, bad = 0; p < PAGES; p++)
		for (i = 0; i < (size_t)self->page; i++)
			bad += m2[p * self->page + i] != pattern(p, i);
	EXPECT_EQ(0, bad);
	munmap(m2, self->size);
}

TEST_F(mmap, partial_mappings_see_their_pages)
{
	unsigned char *m, *part;
	size_t p, off, len;

	m = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	for (p = 0; p < PAGES; p++)
		memset(m + p * self->page, 'A' + p, self->page);

	/* Every page range inside the buffer. */
	for (off = 0; off < PAGES; off++) {
		for (len = 1; off + len <= PAGES; len++) {
			part = mmap(NULL, len * self->page, PROT_READ | PROT_WRITE, MAP_SHARED,
				    self->fd, off * self->page);
			ASSERT_NE(MAP_FAILED, part) TH_LOG("pages %zu+%zu: %s", off, len, strerror(errno));
			for (p = 0; p < len; p++) {
				EXPECT_EQ('A' + off + p, part[p * self->page]);
				EXPECT_EQ('A' + off + p, part[p * self->page + self->page - 1]);
			}
			part[0] = 'a' + off;
			EXPECT_EQ('a' + off, m[off * self->page]);
			part[0] = 'A' + off;
			munmap(part, len * self->page);
		}
	}
	/* A length that is not a page multiple is rounded up, still inside. */
	part = mmap(NULL, self->size - 100, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, part);
	EXPECT_EQ('A' + PAGES - 1, part[self->size - 1]);
	munmap(part, self->size - 100);
	munmap(m, self->size);
}

TEST_F(mmap, offset_past_end)
{
	EXPECT_EQ(-EINVAL, try_map(self->fd, self->page, self->size, PROT_READ));
	EXPECT_EQ(-EINVAL, try_map(self->fd, self->page, self->size + self->page, PROT_READ));
	EXPECT_EQ(-EINVAL, try_map(self->fd, self->page, 1ul << 40, PROT_READ));
	EXPECT_EQ(-EINVAL, try_map(self->fd, self->size, self->size, PROT_READ | PROT_WRITE));
	/* The last page itself is fine. */
	EXPECT_EQ(0, try_map(self->fd, self->page, self->size - self->page, PROT_READ));
}

TEST_F(mmap, length_past_end)
{
	EXPECT_EQ(-EINVAL, try_map(self->fd, self->size + self->page, 0, PROT_READ));
	/* Rounded up to a page: one byte too many is a page too many. */
	EXPECT_EQ(-EINVAL, try_map(self->fd, self->size + 1, 0, PROT_READ));
	EXPECT_EQ(-EINVAL, try_map(self->fd, 64 * self->size, 0, PROT_READ));
	/* In range at the start, past the end at the other. */
	EXPECT_EQ(-EINVAL, try_map(self->fd, self->size, self->page, PROT_READ));
	EXPECT_EQ(-EINVAL, try_map(self->fd, 2 * self->page, self->size - self->page, PROT_READ));
	EXPECT_EQ(0, try_map(self->fd, self->size, 0, PROT_READ));
}

TEST_F(mmap, offset_plus_length_overflow)
{
	unsigned long top = -(unsigned long)self->page;	/* the last page offset */

	/* Past what the VFS can address for a file that is not regular. */
	EXPECT_EQ(-EOVERFLOW, try_map(self->fd, self->page, top, PROT_READ));
	EXPECT_EQ(-EOVERFLOW, try_map(self->fd, self->size, top - self->page, PROT_READ));
	/* Just below that limit it reaches the core, which says -EINVAL. */
	EXPECT_EQ(-EINVAL, try_map(self->fd, self->page, top - self->page, PROT_READ));
	EXPECT_EQ(-EINVAL, try_map(self->fd, self->page, 1ul << 63, PROT_READ));
}

TEST_F(mmap, vfs_argument_checks)
{
	EXPECT_EQ(-EINVAL, try_map(self->fd, 0, 0, PROT_READ));
	EXPECT_EQ(-EINVAL, try_map(self->fd, self->page, 1, PROT_READ));
	EXPECT_EQ(-EINVAL, try_map(self->fd, self->page, self->page / 2, PROT_READ));
}

TEST_F(mmap, read_only_buffer)
{
	int ro = dmabuf_alloc_flags(self->size, O_RDONLY | O_CLOEXEC);
	void *m;

	ASSERT_LE(0, ro);
	EXPECT_EQ(0, try_map(ro, self->size, 0, PROT_READ));
	EXPECT_EQ(-EACCES, try_map(ro, self->size, 0, PROT_READ | PROT_WRITE));
	/* Nor can a read-only shared mapping be made writable. */
	m = mmap(NULL, self->size, PROT_READ, MAP_SHARED, ro, 0);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(-1, mprotect(m, self->size, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	munmap(m, self->size);
	close(ro);
}

TEST_F(mmap, write_only_buffer)
{
	int wo = dmabuf_alloc_flags(self->size, O_WRONLY | O_CLOEXEC);

	ASSERT_LE(0, wo);
	/* Every mapping needs read access to the file. */
	EXPECT_EQ(-EACCES, try_map(wo, self->size, 0, PROT_READ));
	EXPECT_EQ(-EACCES, try_map(wo, self->size, 0, PROT_WRITE));
	EXPECT_EQ(-EACCES, try_map(wo, self->size, 0, PROT_READ | PROT_WRITE));
	close(wo);
}

TEST_F(mmap, mapping_keeps_buffer_alive)
{
	unsigned long ino = fd_ino(self->fd);
	unsigned char *m;
	size_t i, bad = 0;
	int debugfs = access(BUFINFO, R_OK) == 0;

	m = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	memset(m, 0x5a, self->size);
	close(self->fd);
	self->fd = -1;

	/* No fd left: the mapping still reads and writes the buffer. */
	if (debugfs)
		EXPECT_EQ(1, bufinfo_has(ino));
	for (i = 0; i < self->size; i++)
		bad += m[i] != 0x5a;
	EXPECT_EQ(0, bad);
	m[self->size - 1] = 0x33;
	EXPECT_EQ(0x33, m[self->size - 1]);

	munmap(m, self->size);
	if (debugfs)
		EXPECT_EQ(0, bufinfo_has(ino));
}

TEST_HARNESS_MAIN
