// SPDX-License-Identifier: GPL-2.0
/*
 * The Rust sample drivers through their uapi (linux/dma-buf-sample.h): the
 * exporter (/dev/rust-dma-buf-exporter) hands out page-backed dma-bufs and
 * moves their pages on request; the edu importer (/dev/rust-dma-buf-edu)
 * copies between dma-bufs with QEMU's edu DMA engine, returning a sync_file,
 * and checksums a range of a buffer with the CPU (FNV-1a, page by page or
 * through a vmap).
 *
 * Every copy is checked byte for byte against a model of both buffers (mmap,
 * inside DMA_BUF_IOCTL_SYNC brackets) and by both checksum methods; its fence
 * through the sync_file (poll, SYNC_IOC_FILE_INFO), the buffers' poll and
 * DMA_BUF_IOCTL_EXPORT_SYNC_FILE; its ordering against fences already on the
 * buffers with sw_sync fences that hold it back. Moves keep the contents for
 * the importer (which maps again: `mapped`) and for mappings taken before
 * the move. Every errno rule of the header is tried, and nothing may leak:
 * no fd, no buffer in debugfs bufinfo.
 *
 * The sample modules are always part of the test kernel: without their
 * devices this test fails, it does not skip.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <drm/drm.h>
#include <linux/dma-buf-sample.h>
#include <linux/sync_file.h>
#include <linux/udmabuf.h>

#include "../kselftest_harness.h"
#include "dmabuf_util.h"

#define MIB (1ul << 20)
/* How long a copy may take under TCG with a debug kernel before it is late. */
#define FENCE_TIMEOUT_MS 20000
/* How long a copy held back by a fence must stay pending to count as held. */
#define HELD_MS 300

/* ------------------------------------------------------------------------ */
/* The uapi, as plain calls: 0 or a new fd on success, -errno on failure.   */

/* DMA_BUF_SAMPLE_IOC_ALLOC: the new dma-buf fd, or -errno. */
static int sample_alloc(int exp, __u64 size, __u32 flags)
{
	struct dma_buf_sample_alloc a = { .size = size, .flags = flags, .fd = -1 };

	return ioctl(exp, DMA_BUF_SAMPLE_IOC_ALLOC, &a) ? -errno : a.fd;
}

/* DMA_BUF_SAMPLE_IOC_MOVE: 0 and the move count in @moves, or -errno. */
static int sample_move(int exp, int fd, __u64 *moves)
{
	struct dma_buf_sample_move m = { .fd = fd };

	if (ioctl(exp, DMA_BUF_SAMPLE_IOC_MOVE, &m))
		return -errno;
	if (moves)
		*moves = m.moves;
	return 0;
}

static struct edu_dma_buf_copy copy_arg(int src, int dst, __u64 src_off, __u64 dst_off, __u64 len)
{
	struct edu_dma_buf_copy c = {
		.src_fd = src, .dst_fd = dst, .src_offset = src_off,
		.dst_offset = dst_off, .len = len, .fence_fd = -1,
	};

	return c;
}

/* EDU_DMA_BUF_IOC_COPY with @c: 0 (fence in c->fence_fd), or -errno. */
static int edu_copy_arg(int edu, struct edu_dma_buf_copy *c)
{
	return ioctl(edu, EDU_DMA_BUF_IOC_COPY, c) ? -errno : 0;
}

/* A copy: the sync_file fd (and @mapped if non-NULL), or -errno. */
static int edu_copy(int edu, int src, int dst, __u64 src_off, __u64 dst_off, __u64 len,
		    __u32 *mapped)
{
	struct edu_dma_buf_copy c = copy_arg(src, dst, src_off, dst_off, len);
	int ret = edu_copy_arg(edu, &c);

	if (ret)
		return ret;
	if (mapped)
		*mapped = c.mapped;
	return c.fence_fd;
}

/* EDU_DMA_BUF_IOC_CHECKSUM: 0 and the sum in @sum, or -errno. */
static int edu_checksum(int edu, int fd, __u32 method, __u64 off, __u64 len, __u32 *sum)
{
	struct edu_dma_buf_checksum c = { .fd = fd, .method = method, .offset = off, .len = len };

	if (ioctl(edu, EDU_DMA_BUF_IOC_CHECKSUM, &c))
		return -errno;
	*sum = c.checksum;
	return 0;
}

/* 32-bit FNV-1a, as the header defines the checksum. */
static __u32 fnv1a(const unsigned char *p, size_t len)
{
	__u32 h = 0x811c9dc5u;

	while (len--) {
		h ^= *p++;
		h *= 0x01000193u;
	}
	return h;
}

/* ------------------------------------------------------------------------ */
/* Buffers through mmap, inside DMA_BUF_IOCTL_SYNC brackets.                 */

static int cpu_sync(int fd, __u64 flags)
{
	struct dma_buf_sync s = { .flags = flags };

	return ioctl(fd, DMA_BUF_IOCTL_SYNC, &s) ? -errno : 0;
}

/* A byte of pattern @seed at @i: not periodic in pages, so offsets show. */
static unsigned char pattern(size_t i, unsigned int seed)
{
	uint32_t x = (uint32_t)i * 0x9e3779b1u + seed * 0x85ebca6bu;

	x ^= x >> 15;
	x *= 0x2c1b3c6du;
	x ^= x >> 12;
	return (unsigned char)x;
}

/*
 * Write @len bytes of pattern @seed (or the byte -@seed - 1 if @seed < 0) at
 * @off of the @size-byte buffer @fd through mmap, and into @model too.
 * Returns 0 or -errno.
 */
static int fill(int fd, size_t size, size_t off, size_t len, int seed, unsigned char *model)
{
	unsigned char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	size_t i;
	int ret;

	if (m == MAP_FAILED)
		return -errno;
	ret = cpu_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
	if (!ret) {
		for (i = off; i < off + len; i++)
			model[i] = m[i] = seed < 0 ? (unsigned char)(-seed - 1) : pattern(i, seed);
		ret = cpu_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
	}
	munmap(m, size);
	return ret;
}

/* Read the whole @size-byte buffer @fd through mmap into @out: 0 or -errno. */
static int read_back(int fd, size_t size, unsigned char *out)
{
	unsigned char *m = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	int ret;

	if (m == MAP_FAILED)
		return -errno;
	ret = cpu_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	if (!ret) {
		memcpy(out, m, size);
		ret = cpu_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	}
	munmap(m, size);
	return ret;
}

/* The first offset where @a and @b differ, or -1. */
static long first_diff(const unsigned char *a, const unsigned char *b, size_t n)
{
	size_t i;

	if (!memcmp(a, b, n))
		return -1;
	for (i = 0; a[i] == b[i]; i++)
		;
	return (long)i;
}

/*
 * Compare the @size-byte buffer @fd with @model: -1 if they match, else the
 * first offset that differs (-2: the buffer could not be read).
 */
static long differs(int fd, size_t size, const unsigned char *model)
{
	unsigned char *got = malloc(size);
	long ret = -2;

	if (got && !read_back(fd, size, got))
		ret = first_diff(got, model, size);
	free(got);
	return ret;
}

/* ------------------------------------------------------------------------ */
/* Fences and files.                                                         */

/* poll(2) @fd for @events up to @ms: the revents (0: timed out, -1: error). */
static int revents(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n = poll(&p, 1, ms);

	if (n < 0)
		return -1;
	return n ? p.revents : 0;
}

/* SYNC_IOC_FILE_INFO of a sync_file: its status (1 signalled, 0 pending), or -errno. */
static int fence_status(int fd, __u32 *num_fences)
{
	struct sync_file_info info = { 0 };

	if (ioctl(fd, SYNC_IOC_FILE_INFO, &info))
		return -errno;
	if (num_fences)
		*num_fences = info.num_fences;
	return info.status;
}

/* Is the fd close-on-exec? (1, 0, or -1) */
static int is_cloexec(int fd)
{
	int f = fcntl(fd, F_GETFD);

	return f < 0 ? -1 : !!(f & FD_CLOEXEC);
}

/* How many fds this process has open (-1 on error). */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

/* bufinfo's count of dma-bufs in the system, or -errno. */
static int bufinfo_objects(void)
{
	size_t bytes;
	int objects, ret = bufinfo_totals(&objects, &bytes);

	return ret ? ret : objects;
}

/*
 * Wait for bufinfo to list @want buffers: a buffer goes with its last
 * reference, which the importer may drop from a worker just after the fence
 * signalled. Returns the last count seen.
 */
static int bufinfo_settles(int want)
{
	int i, n = -1;

	for (i = 0; i < 100; i++) {
		n = bufinfo_objects();
		if (n == want)
			break;
		usleep(20000);
	}
	return n;
}

/* A udmabuf of @size bytes over a new memfd (in *@memfd): the fd, or -errno. */
static int udmabuf_new(size_t size, int *memfd)
{
	struct udmabuf_create c = { .flags = UDMABUF_FLAGS_CLOEXEC, .size = size };
	int dev, fd, ret;

	*memfd = memfd_create("samples-udmabuf", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (*memfd < 0)
		return -errno;
	if (ftruncate(*memfd, size) || fcntl(*memfd, F_ADD_SEALS, F_SEAL_SHRINK))
		return -errno;
	dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return -errno;
	c.memfd = *memfd;
	fd = ioctl(dev, UDMABUF_CREATE, &c);
	ret = fd < 0 ? -errno : fd;
	close(dev);
	return ret;
}

/* ------------------------------------------------------------------------ */

FIXTURE(samples)
{
	int exp, edu;
	size_t page;
};

FIXTURE_SETUP(samples)
{
	self->page = sysconf(_SC_PAGESIZE);
	self->exp = open(DMA_BUF_SAMPLE_EXPORTER_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->exp, 0) TH_LOG("%s: %s", DMA_BUF_SAMPLE_EXPORTER_PATH, strerror(errno));
	self->edu = open(DMA_BUF_SAMPLE_EDU_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->edu, 0) TH_LOG("%s: %s", DMA_BUF_SAMPLE_EDU_PATH, strerror(errno));
}

FIXTURE_TEARDOWN(samples)
{
	if (self->edu >= 0)
		close(self->edu);
	if (self->exp >= 0)
		close(self->exp);
}

/* Wait for the sync_file @f of a copy and check it signalled without error. */
#define EXPECT_FENCE_DONE(f)							\
	do {									\
		__u32 _n = 0;							\
		ASSERT_EQ(POLLIN, revents((f), POLLIN, FENCE_TIMEOUT_MS))	\
			TH_LOG("the copy's fence did not signal");		\
		EXPECT_EQ(1, fence_status((f), &_n));				\
		EXPECT_GE(_n, 1);						\
	} while (0)

/* Both checksum methods of a range of @fd against FNV-1a of @model there. */
#define EXPECT_CHECKSUMS(edu, fd, model, off, len)				\
	do {									\
		__u32 _want = fnv1a((model) + (off), (len)), _sum = 0;		\
		ASSERT_EQ(0, edu_checksum((edu), (fd), EDU_DMA_BUF_CHECKSUM_PAGES, \
					  (off), (len), &_sum));		\
		EXPECT_EQ(_want, _sum) TH_LOG("pages checksum of %zu+%zu",	\
					      (size_t)(off), (size_t)(len));	\
		_sum = 0;							\
		ASSERT_EQ(0, edu_checksum((edu), (fd), EDU_DMA_BUF_CHECKSUM_VMAP, \
					  (off), (len), &_sum));		\
		EXPECT_EQ(_want, _sum) TH_LOG("vmap checksum of %zu+%zu",	\
					      (size_t)(off), (size_t)(len));	\
	} while (0)

/* The whole buffer against its model, byte for byte through mmap. */
#define EXPECT_CONTENTS(fd, size, model, what)					\
	do {									\
		long _d = differs((fd), (size), (model));			\
		EXPECT_EQ(-1, _d) TH_LOG("%s: first wrong byte at %ld (-2: unreadable)", \
					 (what), _d);				\
	} while (0)

TEST_F(samples, checksum_is_fnv1a)
{
	size_t size = 4 * self->page, off = self->page - 3;
	unsigned char *model = calloc(1, size);
	__u32 sum = 0;
	int buf;

	ASSERT_NE(NULL, model);
	/* The test's own FNV-1a against published vectors. */
	EXPECT_EQ(0xe40c292cu, fnv1a((const unsigned char *)"a", 1));
	EXPECT_EQ(0xbf9cf968u, fnv1a((const unsigned char *)"foobar", 6));

	buf = sample_alloc(self->exp, size, O_RDWR | O_CLOEXEC);
	ASSERT_GE(buf, 0) TH_LOG("ALLOC: %s", strerror(-buf));
	/* "foobar" across a page boundary. */
	memcpy(model + off, "foobar", 6);
	{
		unsigned char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);

		ASSERT_NE(MAP_FAILED, m);
		ASSERT_EQ(0, cpu_sync(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE));
		memcpy(m + off, "foobar", 6);
		ASSERT_EQ(0, cpu_sync(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE));
		munmap(m, size);
	}
	ASSERT_EQ(0, edu_checksum(self->edu, buf, EDU_DMA_BUF_CHECKSUM_PAGES, off, 6, &sum));
	EXPECT_EQ(0xbf9cf968u, sum);
	ASSERT_EQ(0, edu_checksum(self->edu, buf, EDU_DMA_BUF_CHECKSUM_VMAP, off, 6, &sum));
	EXPECT_EQ(0xbf9cf968u, sum);
	ASSERT_EQ(0, edu_checksum(self->edu, buf, EDU_DMA_BUF_CHECKSUM_VMAP, off + 5, 1, &sum));
	EXPECT_EQ(fnv1a((const unsigned char *)"r", 1), sum);

	/* A pattern over every page; ranges at odd places, the whole, the last byte. */
	ASSERT_EQ(0, fill(buf, size, 0, size, 3, model));
	EXPECT_CHECKSUMS(self->edu, buf, model, 0, size);
	EXPECT_CHECKSUMS(self->edu, buf, model, 1, size - 1);
	EXPECT_CHECKSUMS(self->edu, buf, model, self->page - 1, 2);
	EXPECT_CHECKSUMS(self->edu, buf, model, self->page + 17, 2 * self->page + 1);
	EXPECT_CHECKSUMS(self->edu, buf, model, size - 1, 1);
	close(buf);
	free(model);
}

TEST_F(samples, alloc)
{
	size_t sizes[] = { self->page, 3 * self->page, 4 * MIB, DMA_BUF_SAMPLE_MAX_SIZE };
	unsigned char *zero, *m;
	unsigned int i;
	__u32 sum = 0;
	int buf;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		buf = sample_alloc(self->exp, sizes[i], O_RDWR | O_CLOEXEC);
		ASSERT_GE(buf, 0) TH_LOG("ALLOC %zu: %s", sizes[i], strerror(-buf));
		EXPECT_EQ((off_t)sizes[i], lseek(buf, 0, SEEK_END));
		EXPECT_EQ(1, is_cloexec(buf));
		EXPECT_EQ(O_RDWR, fcntl(buf, F_GETFL) & O_ACCMODE);
		/* It starts zeroed: through mmap and through the importer. */
		if (sizes[i] <= 4 * MIB) {
			zero = calloc(1, sizes[i]);
			ASSERT_NE(NULL, zero);
			EXPECT_CONTENTS(buf, sizes[i], zero, "new buffer");
			EXPECT_CHECKSUMS(self->edu, buf, zero, 0, sizes[i]);
			free(zero);
		}
		close(buf);
	}

	/* Read-only, and without O_CLOEXEC: no shared writable mapping. */
	buf = sample_alloc(self->exp, self->page, O_RDONLY);
	ASSERT_GE(buf, 0) TH_LOG("ALLOC O_RDONLY: %s", strerror(-buf));
	EXPECT_EQ(0, is_cloexec(buf));
	EXPECT_EQ(O_RDONLY, fcntl(buf, F_GETFL) & O_ACCMODE);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, self->page, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0));
	EXPECT_EQ(EACCES, errno);
	m = mmap(NULL, self->page, PROT_READ, MAP_SHARED, buf, 0);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(0, m[self->page - 1]);
	munmap(m, self->page);
	/* The importer reads it all the same. */
	ASSERT_EQ(0, edu_checksum(self->edu, buf, EDU_DMA_BUF_CHECKSUM_PAGES, 0, 1, &sum));
	EXPECT_EQ(fnv1a((const unsigned char[]){ 0 }, 1), sum);
	close(buf);
}

TEST_F(samples, alloc_errors)
{
	__u64 bad_sizes[] = {
		0, 1, self->page - 1, self->page + 1, 3 * self->page + 7,
		DMA_BUF_SAMPLE_MAX_SIZE + self->page, 2 * DMA_BUF_SAMPLE_MAX_SIZE,
		1ull << 40, 1ull << 63, -(__u64)self->page, UINT64_MAX,
	};
	__u32 bad_flags[] = {
		O_NONBLOCK, O_APPEND, O_CREAT, O_TRUNC, O_SYNC, O_DIRECT,
		O_RDWR | O_NONBLOCK, O_CLOEXEC | O_EXCL, 0x80000000u,
	};
	int fds = count_fds(), before = bufinfo_objects();
	unsigned int i;

	ASSERT_GE(fds, 0);
	ASSERT_GE(before, 0) TH_LOG("%s", NO_DEBUGFS);
	for (i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		EXPECT_EQ(-EINVAL, sample_alloc(self->exp, bad_sizes[i], O_RDWR | O_CLOEXEC))
			TH_LOG("size %llu", (unsigned long long)bad_sizes[i]);
	}
	for (i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++) {
		EXPECT_EQ(-EINVAL, sample_alloc(self->exp, self->page, bad_flags[i]))
			TH_LOG("flags %#x", bad_flags[i]);
	}
	EXPECT_EQ(-1, ioctl(self->exp, DMA_BUF_SAMPLE_IOC_ALLOC, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(fds, count_fds());
	EXPECT_EQ(before, bufinfo_objects());
}

/*
 * The size and offset matrix: each copy lands on a poisoned destination range
 * and must leave every other byte of both buffers as it was.
 */
TEST_F_TIMEOUT(samples, copy_sizes_and_offsets, 900)
{
	const size_t size = 4 * MIB, page = self->page, odd = 2 * self->page + 777;
	const size_t lens[] = { 1, 7, 4095, 4096, 4097, 3 * 4096 + 13 };
	const size_t offs[][2] = {
		{ 0, 0 }, { 1, 0 }, { 0, page - 1 }, { page - 1, 1 }, { odd, 0 }, { 1, odd },
	};
	unsigned char *src_model = calloc(1, size), *dst_model = calloc(1, size);
	unsigned int l, o, n = 0;
	int src, dst, f;
	__u32 mapped;

	ASSERT_NE(NULL, src_model);
	ASSERT_NE(NULL, dst_model);
	src = sample_alloc(self->exp, size, O_RDWR | O_CLOEXEC);
	ASSERT_GE(src, 0);
	dst = sample_alloc(self->exp, size, O_RDWR | O_CLOEXEC);
	ASSERT_GE(dst, 0);
	ASSERT_EQ(0, fill(src, size, 0, size, 1, src_model));

	for (l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
		for (o = 0; o < sizeof(offs) / sizeof(offs[0]); o++, n++) {
			size_t so = offs[o][0], d = offs[o][1], len = lens[l];

			/* Poison the destination range, so a copy that does nothing shows. */
			ASSERT_EQ(0, fill(dst, size, d, len, -(int)(n % 200) - 2, dst_model));
			f = edu_copy(self->edu, src, dst, so, d, len, &mapped);
			ASSERT_GE(f, 0) TH_LOG("copy %zu bytes %zu -> %zu: %s", len, so, d,
					       strerror(-f));
			memmove(dst_model + d, src_model + so, len);
			/* Both buffers mapped by the first copy, kept after it. */
			EXPECT_EQ(n ? 0 : 2, mapped) TH_LOG("copy %u", n);
			EXPECT_EQ(1, is_cloexec(f));
			if (n % 2) {
				/*
				 * The checksum waits for the buffer's writers itself:
				 * ask before waiting for the fence.
				 */
				EXPECT_CHECKSUMS(self->edu, dst, dst_model, d, len);
				EXPECT_FENCE_DONE(f);
			} else {
				EXPECT_FENCE_DONE(f);
				EXPECT_CHECKSUMS(self->edu, dst, dst_model, d, len);
			}
			/* Done: nothing left for the buffers' poll to wait for. */
			EXPECT_EQ(POLLIN | POLLOUT, revents(dst, POLLIN | POLLOUT, 0));
			EXPECT_EQ(POLLIN | POLLOUT, revents(src, POLLIN | POLLOUT, 0));
			close(f);
			EXPECT_CONTENTS(dst, size, dst_model, "destination");
			EXPECT_CONTENTS(src, size, src_model, "source");
			if (_metadata->exit_code)
				TH_LOG("failing copy: %zu bytes from %zu to %zu", len, so, d);
			ASSERT_EQ(0, _metadata->exit_code);
		}
	}
	/* The source, read by the importer, is untouched as a whole. */
	EXPECT_CHECKSUMS(self->edu, src, src_model, 0, size);
	close(src);
	close(dst);
	free(src_model);
	free(dst_model);
}

/*
 * The copy's fence, watched while it cannot signal: a sw_sync fence already on
 * the destination (as a reader: the copy waits for all of the destination's
 * fences) holds the device back. Then on the source, a writer holds it back
 * and a reader does not.
 */
TEST_F_TIMEOUT(samples, copy_waits_for_fences, 120)
{
	size_t size = 4 * self->page;
	unsigned char *src_model = calloc(1, size), *dst_model = calloc(1, size), *m;
	int src, dst, tl, f, e1, e2, e3;
	__u32 n = 0;

	ASSERT_NE(NULL, src_model);
	ASSERT_NE(NULL, dst_model);
	SW_SYNC_TIMELINE_OR_SKIP(tl);
	src = sample_alloc(self->exp, size, O_RDWR | O_CLOEXEC);
	ASSERT_GE(src, 0);
	dst = sample_alloc(self->exp, size, O_RDWR | O_CLOEXEC);
	ASSERT_GE(dst, 0);
	ASSERT_EQ(0, fill(src, size, 0, size, 7, src_model));
	m = mmap(NULL, size, PROT_READ, MAP_SHARED, dst, 0);
	ASSERT_NE(MAP_FAILED, m);

	/* 1. A reader on the destination holds the copy back. */
	ASSERT_EQ(0, sw_sync_import(dst, tl, 1, DMA_BUF_SYNC_READ));
	f = edu_copy(self->edu, src, dst, 0, 0, size, NULL);
	ASSERT_GE(f, 0) TH_LOG("copy: %s", strerror(-f));
	EXPECT_EQ(0, revents(f, POLLIN, HELD_MS)) TH_LOG("copied before the destination's fence");
	EXPECT_EQ(0, fence_status(f, &n));
	EXPECT_GE(n, 1);
	/* The device has not touched the destination (a peek, no bracket). */
	EXPECT_EQ(0, m[0]);
	EXPECT_EQ(0, m[size - 1]);
	/* The destination has a pending writer: neither POLLIN nor POLLOUT. */
	EXPECT_EQ(0, revents(dst, POLLIN | POLLOUT, 0));
	/* The source has a pending reader: POLLIN (no writer), not POLLOUT. */
	EXPECT_EQ(POLLIN, revents(src, POLLIN | POLLOUT, 0));
	/* EXPORT_SYNC_FILE sees the copy as the destination's writer ... */
	e1 = dmabuf_export(dst, DMA_BUF_SYNC_READ);
	ASSERT_GE(e1, 0);
	EXPECT_EQ(0, fence_status(e1, NULL));
	e2 = dmabuf_export(dst, DMA_BUF_SYNC_WRITE);
	ASSERT_GE(e2, 0);
	EXPECT_EQ(0, fence_status(e2, NULL));
	/* ... and as the source's reader only. */
	e3 = dmabuf_export(src, DMA_BUF_SYNC_READ);
	ASSERT_GE(e3, 0);
	EXPECT_EQ(1, fence_status(e3, NULL));
	close(e3);
	e3 = dmabuf_export(src, DMA_BUF_SYNC_WRITE);
	ASSERT_GE(e3, 0);
	EXPECT_EQ(0, fence_status(e3, NULL));
	/* A checksum of the source waits for writers only: it has none. */
	EXPECT_CHECKSUMS(self->edu, src, src_model, 0, size);

	ASSERT_EQ(0, sw_sync_inc(tl, 1));
	EXPECT_FENCE_DONE(f);
	memcpy(dst_model, src_model, size);
	EXPECT_EQ(POLLIN, revents(e1, POLLIN, FENCE_TIMEOUT_MS));
	EXPECT_EQ(1, fence_status(e1, NULL));
	EXPECT_EQ(1, fence_status(e2, NULL));
	EXPECT_EQ(1, fence_status(e3, NULL));
	EXPECT_EQ(POLLIN | POLLOUT, revents(dst, POLLIN | POLLOUT, 0));
	EXPECT_EQ(POLLIN | POLLOUT, revents(src, POLLIN | POLLOUT, 0));
	EXPECT_CONTENTS(dst, size, dst_model, "destination after the held copy");
	EXPECT_CHECKSUMS(self->edu, dst, dst_model, 0, size);
	close(e1);
	close(e2);
	close(e3);
	close(f);

	/* 2. A writer on the source holds the copy back too. */
	ASSERT_EQ(0, fill(dst, size, 0, size, -1, dst_model));
	ASSERT_EQ(0, sw_sync_import(src, tl, 2, DMA_BUF_SYNC_WRITE));
	f = edu_copy(self->edu, src, dst, self->page, 1, self->page, NULL);
	ASSERT_GE(f, 0);
	EXPECT_EQ(0, revents(f, POLLIN, HELD_MS)) TH_LOG("copied before the source's writer");
	EXPECT_EQ(0, fence_status(f, NULL));
	EXPECT_EQ(0, m[1]);
	ASSERT_EQ(0, sw_sync_inc(tl, 1));
	EXPECT_FENCE_DONE(f);
	memcpy(dst_model + 1, src_model + self->page, self->page);
	EXPECT_CONTENTS(dst, size, dst_model, "destination after a source writer");
	close(f);

	/* 3. A reader on the source does not. */
	ASSERT_EQ(0, sw_sync_import(src, tl, 3, DMA_BUF_SYNC_READ));
	f = edu_copy(self->edu, src, dst, 0, 2 * self->page, self->page, NULL);
	ASSERT_GE(f, 0);
	EXPECT_FENCE_DONE(f);
	memcpy(dst_model + 2 * self->page, src_model, self->page);
	EXPECT_CONTENTS(dst, size, dst_model, "destination despite a source reader");
	close(f);
	/* The source still has its pending reader. */
	EXPECT_EQ(POLLIN, revents(src, POLLIN | POLLOUT, 0));
	ASSERT_EQ(0, sw_sync_inc(tl, 1));
	EXPECT_EQ(POLLIN | POLLOUT, revents(src, POLLIN | POLLOUT, 0));

	munmap(m, size);
	close(src);
	close(dst);
	close(tl);
	free(src_model);
	free(dst_model);
}

/*
 * The buffers' own poll as the way to wait: POLLOUT on the destination waits
 * for all of its fences, the copy's among them; POLLIN for its writers, the
 * copy again; POLLOUT on the source for its readers, the copy.
 */
TEST_F_TIMEOUT(samples, copy_polled_through_buffers, 120)
{
	const size_t size = 4 * MIB, len = 3 * self->page + 13;
	unsigned char *src_model = calloc(1, size), *dst_model = calloc(1, size);
	short ev[] = { POLLOUT, POLLIN, POLLOUT };
	int src, dst, f, i, fd;

	ASSERT_NE(NULL, src_model);
	ASSERT_NE(NULL, dst_model);
	src = sample_alloc(self->exp, size, O_RDWR | O_CLOEXEC);
	ASSERT_GE(src, 0);
	dst = sample_alloc(self->exp, size, O_RDWR | O_CLOEXEC);
	ASSERT_GE(dst, 0);
	for (i = 0; i < 3; i++) {
		fd = i < 2 ? dst : src;
		ASSERT_EQ(0, fill(src, size, 0, size, 20 + i, src_model));
		f = edu_copy(self->edu, src, dst, 5 + i, 11 * i, len, NULL);
		ASSERT_GE(f, 0);
		memmove(dst_model + 11 * i, src_model + 5 + i, len);
		EXPECT_EQ(ev[i], revents(fd, ev[i], FENCE_TIMEOUT_MS)) TH_LOG("round %d", i);
		/* What the buffer waited for includes the copy's fence. */
		EXPECT_EQ(1, fence_status(f, NULL)) TH_LOG("round %d", i);
		close(f);
		EXPECT_CONTENTS(dst, size, dst_model, "destination");
	}
	close(src);
	close(dst);
	free(src_model);
	free(dst_model);
}

/*
 * One copy of several MiB at odd offsets, checked byte for byte. The edu
 * device spends 100 ms of virtual time per transfer of at most 4095 bytes,
 * so this one case takes about two minutes under TCG.
 */
TEST_F_TIMEOUT(samples, copy_several_mib, 900)
{
	const size_t size = 3 * MIB, len = 2 * MIB + 13;
	unsigned char *src_model = calloc(1, size), *dst_model = calloc(1, size);
	int src, dst, f;

	ASSERT_NE(NULL, src_model);
	ASSERT_NE(NULL, dst_model);
	src = sample_alloc(self->exp, size, O_RDWR | O_CLOEXEC);
	ASSERT_GE(src, 0);
	dst = sample_alloc(self->exp, size, O_RDWR | O_CLOEXEC);
	ASSERT_GE(dst, 0);
	ASSERT_EQ(0, fill(src, size, 0, size, 77, src_model));
	f = edu_copy(self->edu, src, dst, 5, 4099, len, NULL);
	ASSERT_GE(f, 0);
	memcpy(dst_model + 4099, src_model + 5, len);
	ASSERT_EQ(POLLIN, revents(f, POLLIN, 600000)) TH_LOG("the copy's fence did not signal");
	EXPECT_EQ(1, fence_status(f, NULL));
	close(f);
	EXPECT_CONTENTS(dst, size, dst_model, "destination");
	EXPECT_CONTENTS(src, size, src_model, "source");
	EXPECT_CHECKSUMS(self->edu, dst, dst_model, 4099, len);
	close(src);
	close(dst);
	free(src_model);
	free(dst_model);
}

/* src == dst: ranges that do not overlap copy; overlapping ones are EINVAL. */
TEST_F(samples, copy_within_one_buffer)
{
	const size_t page = self->page, size = 4 * self->page;
	unsigned char *model = calloc(1, size);
	int buf, other, f, fds;
	__u32 mapped;

	ASSERT_NE(NULL, model);
	buf = sample_alloc(self->exp, size, O_RDWR | O_CLOEXEC);
	ASSERT_GE(buf, 0);
	other = sample_alloc(self->exp, page, O_RDWR | O_CLOEXEC);
	ASSERT_GE(other, 0);
	ASSERT_EQ(0, fill(buf, size, 0, size, 9, model));
	/* Map both for this importer fd first: the copies below map nothing. */
	f = edu_copy(self->edu, buf, other, 0, 0, page, &mapped);
	ASSERT_GE(f, 0);
	EXPECT_EQ(2, mapped);
	EXPECT_FENCE_DONE(f);
	close(f);

	struct { size_t s, d, len; } ok[] = {
		{ 0, page, page },			/* adjacent pages */
		{ 2 * page, 0, page },			/* backwards */
		{ 1, 1001, 1000 },			/* adjacent, unaligned */
		{ 3 * page + 100, 5, page - 100 },	/* from the last page */
		{ 0, size - 1, 1 },			/* one byte to the end */
	};
	for (unsigned int i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		f = edu_copy(self->edu, buf, buf, ok[i].s, ok[i].d, ok[i].len, &mapped);
		ASSERT_GE(f, 0) TH_LOG("%zu -> %zu (%zu): %s", ok[i].s, ok[i].d, ok[i].len,
				       strerror(-f));
		EXPECT_EQ(0, mapped);
		memmove(model + ok[i].d, model + ok[i].s, ok[i].len);
		EXPECT_FENCE_DONE(f);
		close(f);
		EXPECT_CONTENTS(buf, size, model, "after a copy within the buffer");
	}

	fds = count_fds();
	struct { size_t s, d, len; } bad[] = {
		{ 0, 0, 1 },				/* the same range */
		{ 0, page - 1, page },			/* one byte in common */
		{ page - 1, 0, page },			/* the same, backwards */
		{ 100, 101, 2 },
		{ 0, 1, size - 1 },
	};
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, edu_copy(self->edu, buf, buf, bad[i].s, bad[i].d, bad[i].len, NULL))
			TH_LOG("%zu -> %zu (%zu)", bad[i].s, bad[i].d, bad[i].len);
	}
	EXPECT_EQ(fds, count_fds());
	EXPECT_CONTENTS(buf, size, model, "after refused copies");
	close(buf);
	close(other);
	free(model);
}

/*
 * Moves while the importer keeps its (dynamic) attachments: it maps the moved
 * buffer again on next use (`mapped`), the contents move along, and a mapping
 * taken before the move faults the new pages in, for reading and writing.
 */
TEST_F_TIMEOUT(samples, move_keeps_contents, 120)
{
	const size_t size = 16 * self->page;
	unsigned char *src_model = calloc(1, size), *dst_model = calloc(1, size);
	unsigned char *ms, *md;
	int src, dst, f, edu2;
	__u64 moves = 0;
	__u32 mapped;

	ASSERT_NE(NULL, src_model);
	ASSERT_NE(NULL, dst_model);
	src = sample_alloc(self->exp, size, O_RDWR | O_CLOEXEC);
	ASSERT_GE(src, 0);
	dst = sample_alloc(self->exp, size, O_RDWR | O_CLOEXEC);
	ASSERT_GE(dst, 0);
	ASSERT_EQ(0, fill(src, size, 0, size, 31, src_model));
	ms = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, src, 0);
	ASSERT_NE(MAP_FAILED, ms);
	md = mmap(NULL, size, PROT_READ, MAP_SHARED, dst, 0);
	ASSERT_NE(MAP_FAILED, md);
	/* Touch every page of both mappings before the moves. */
	ASSERT_EQ(0, cpu_sync(src, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(-1, first_diff(ms, src_model, size));
	ASSERT_EQ(0, cpu_sync(src, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	ASSERT_EQ(0, cpu_sync(dst, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(-1, first_diff(md, dst_model, size));
	ASSERT_EQ(0, cpu_sync(dst, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));

#define COPY_EXPECT_MAPPED(edu, want)						\
	do {									\
		f = edu_copy((edu), src, dst, 0, 0, size, &mapped);		\
		ASSERT_GE(f, 0) TH_LOG("copy: %s", strerror(-f));		\
		EXPECT_EQ((want), mapped);					\
		EXPECT_FENCE_DONE(f);						\
		close(f);							\
		memcpy(dst_model, src_model, size);				\
		EXPECT_CONTENTS(dst, size, dst_model, "destination");		\
	} while (0)

	COPY_EXPECT_MAPPED(self->edu, 2);	/* first use: both mapped */
	COPY_EXPECT_MAPPED(self->edu, 0);	/* both kept */

	/* Move the source: the importer keeps its attachments, maps it again. */
	ASSERT_EQ(0, sample_move(self->exp, src, &moves));
	EXPECT_EQ(1, moves);
	EXPECT_CONTENTS(src, size, src_model, "source after its move (new mapping)");
	ASSERT_EQ(0, cpu_sync(src, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(-1, first_diff(ms, src_model, size)) TH_LOG("mapping from before the move");
	ASSERT_EQ(0, cpu_sync(src, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	ASSERT_EQ(0, fill(dst, size, 0, size, -0x5b, dst_model));
	COPY_EXPECT_MAPPED(self->edu, 1);	/* the moved source only */
	COPY_EXPECT_MAPPED(self->edu, 0);
	/* (Checksums only now: reading a buffer may map it for the importer too.) */
	EXPECT_CHECKSUMS(self->edu, src, src_model, 0, size);

	/* Writes through the old mapping land in the new pages the device reads. */
	ASSERT_EQ(0, cpu_sync(src, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE));
	for (size_t i = 0; i < size; i += 97)
		src_model[i] = ms[i] = (unsigned char)~src_model[i];
	ASSERT_EQ(0, cpu_sync(src, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE));
	COPY_EXPECT_MAPPED(self->edu, 0);
	EXPECT_CHECKSUMS(self->edu, src, src_model, 0, size);

	/* Move the destination: the old read-only mapping sees what lands there. */
	ASSERT_EQ(0, sample_move(self->exp, dst, &moves));
	EXPECT_EQ(1, moves);
	ASSERT_EQ(0, fill(src, size, 0, size, 32, src_model));
	COPY_EXPECT_MAPPED(self->edu, 1);	/* the moved destination only */
	ASSERT_EQ(0, cpu_sync(dst, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(-1, first_diff(md, dst_model, size)) TH_LOG("mapping from before the move");
	ASSERT_EQ(0, cpu_sync(dst, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));

	/* Both moved: both mapped again; the counters count per buffer. */
	ASSERT_EQ(0, sample_move(self->exp, src, &moves));
	EXPECT_EQ(2, moves);
	ASSERT_EQ(0, sample_move(self->exp, dst, &moves));
	EXPECT_EQ(2, moves);
	ASSERT_EQ(0, sample_move(self->exp, dst, &moves));
	EXPECT_EQ(3, moves);
	ASSERT_EQ(0, fill(src, size, 0, size, 33, src_model));
	COPY_EXPECT_MAPPED(self->edu, 2);

	/* Another open importer has its own mappings; the first keeps its own. */
	edu2 = open(DMA_BUF_SAMPLE_EDU_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_GE(edu2, 0);
	COPY_EXPECT_MAPPED(edu2, 2);
	COPY_EXPECT_MAPPED(edu2, 0);
	COPY_EXPECT_MAPPED(self->edu, 0);
	/* A move of a buffer attached through two importer fds. */
	ASSERT_EQ(0, sample_move(self->exp, src, &moves));
	EXPECT_EQ(3, moves);
	COPY_EXPECT_MAPPED(edu2, 1);
	COPY_EXPECT_MAPPED(self->edu, 1);
	close(edu2);
#undef COPY_EXPECT_MAPPED

	/* A moved buffer is still whole by mmap and by the importer. */
	EXPECT_CONTENTS(src, size, src_model, "source at the end");
	EXPECT_CHECKSUMS(self->edu, src, src_model, 0, size);
	EXPECT_CHECKSUMS(self->edu, dst, dst_model, 0, size);
	munmap(ms, size);
	munmap(md, size);
	close(src);
	close(dst);
	free(src_model);
	free(dst_model);
}

/*
 * A move waits for the buffer's fences: for a copy in flight that reads it
 * (held back here by a sw_sync fence a child signals later), and for a
 * fence imported as a writer.
 */
TEST_F_TIMEOUT(samples, move_waits_for_fences, 120)
{
	size_t size = 4 * self->page;
	unsigned char *src_model = calloc(1, size), *dst_model = calloc(1, size);
	int src, dst, tl, f, sw;
	pid_t pid;
	__u64 moves = 0;

	ASSERT_NE(NULL, src_model);
	ASSERT_NE(NULL, dst_model);
	SW_SYNC_TIMELINE_OR_SKIP(tl);
	src = sample_alloc(self->exp, size, O_RDWR | O_CLOEXEC);
	ASSERT_GE(src, 0);
	dst = sample_alloc(self->exp, size, O_RDWR | O_CLOEXEC);
	ASSERT_GE(dst, 0);
	ASSERT_EQ(0, fill(src, size, 0, size, 41, src_model));

	/* A copy held back by a fence on the destination reads the source. */
	ASSERT_EQ(0, sw_sync_import(dst, tl, 1, DMA_BUF_SYNC_WRITE));
	f = edu_copy(self->edu, src, dst, 0, 0, size, NULL);
	ASSERT_GE(f, 0);
	EXPECT_EQ(0, fence_status(f, NULL));
	pid = signal_later(tl);
	ASSERT_GE(pid, 0);
	ASSERT_EQ(0, sample_move(self->exp, src, &moves));
	EXPECT_EQ(1, moves);
	/* The move waited for the copy that was reading the source. */
	EXPECT_EQ(1, fence_status(f, NULL)) TH_LOG("moved while the device read the buffer");
	EXPECT_EQ(0, reap(pid));
	EXPECT_FENCE_DONE(f);
	close(f);
	memcpy(dst_model, src_model, size);
	EXPECT_CONTENTS(dst, size, dst_model, "destination");
	EXPECT_CONTENTS(src, size, src_model, "moved source");

	/* A writer's fence on the buffer itself. */
	sw = sw_sync_fence(tl, 2);
	ASSERT_GE(sw, 0);
	ASSERT_EQ(0, dmabuf_import(dst, sw, DMA_BUF_SYNC_WRITE));
	pid = signal_later(tl);
	ASSERT_GE(pid, 0);
	ASSERT_EQ(0, sample_move(self->exp, dst, &moves));
	EXPECT_EQ(1, moves);
	EXPECT_EQ(1, fence_status(sw, NULL)) TH_LOG("moved before the writer signalled");
	EXPECT_EQ(0, reap(pid));
	close(sw);
	EXPECT_CONTENTS(dst, size, dst_model, "moved destination");
	EXPECT_CHECKSUMS(self->edu, dst, dst_model, 0, size);

	close(src);
	close(dst);
	close(tl);
	free(src_model);
	free(dst_model);
}

/* vgem's import is a static attachment, which pins a dynamic exporter's buffer. */
TEST_F(samples, move_pinned_is_ebusy)
{
	struct drm_prime_handle prime = { .flags = DRM_CLOEXEC };
	struct drm_gem_close gem_close = { 0 };
	unsigned char zero[1] = { 0 };
	char name[16] = "";
	struct drm_version v = { .name = name, .name_len = sizeof(name) - 1 };
	int card, buf;
	__u64 moves = 0;

	card = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	if (card < 0 || ioctl(card, DRM_IOCTL_VERSION, &v) || strcmp(name, "vgem")) {
		if (card >= 0)
			close(card);
		SKIP(return, "no vgem at /dev/dri/card0 (CONFIG_DRM_VGEM): no static importer");
	}
	buf = sample_alloc(self->exp, self->page, O_RDWR | O_CLOEXEC);
	ASSERT_GE(buf, 0);
	prime.fd = buf;
	ASSERT_EQ(0, ioctl(card, DRM_IOCTL_PRIME_FD_TO_HANDLE, &prime)) TH_LOG("vgem import: %s",
									    strerror(errno));
	EXPECT_EQ(-EBUSY, sample_move(self->exp, buf, &moves));
	/* The importer itself still works with a pinned buffer. */
	EXPECT_CHECKSUMS(self->edu, buf, zero, 0, 1);
	/* Let go of the import: unpinned, it moves. */
	gem_close.handle = prime.handle;
	ASSERT_EQ(0, ioctl(card, DRM_IOCTL_GEM_CLOSE, &gem_close));
	EXPECT_EQ(0, sample_move(self->exp, buf, &moves));
	EXPECT_EQ(1, moves);
	close(buf);
	close(card);
}

/*
 * A dma-buf of another exporter (udmabuf over a memfd): the importer copies
 * from and to it and reads it; the exporter refuses to move it.
 */
TEST_F(samples, other_exporter)
{
	const size_t size = 16 * self->page;
	unsigned char *u_model = calloc(1, size), *s_model = calloc(1, size), *mem;
	int memfd, ubuf, sbuf, f;
	__u64 moves = 0;
	__u32 mapped;

	ASSERT_NE(NULL, u_model);
	ASSERT_NE(NULL, s_model);
	ubuf = udmabuf_new(size, &memfd);
	ASSERT_GE(ubuf, 0) TH_LOG("udmabuf: %s", strerror(-ubuf));
	sbuf = sample_alloc(self->exp, size, O_RDWR | O_CLOEXEC);
	ASSERT_GE(sbuf, 0);
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	ASSERT_NE(MAP_FAILED, mem);
	for (size_t i = 0; i < size; i++)
		u_model[i] = mem[i] = pattern(i, 51);

	/* udmabuf -> sample */
	f = edu_copy(self->edu, ubuf, sbuf, 3, 0, size - 3, &mapped);
	ASSERT_GE(f, 0) TH_LOG("copy from a udmabuf: %s", strerror(-f));
	EXPECT_EQ(2, mapped);
	EXPECT_FENCE_DONE(f);
	close(f);
	memcpy(s_model, u_model + 3, size - 3);
	EXPECT_CONTENTS(sbuf, size, s_model, "copy of a udmabuf");
	EXPECT_CHECKSUMS(self->edu, ubuf, u_model, 0, size);
	EXPECT_CHECKSUMS(self->edu, ubuf, u_model, self->page - 1, self->page + 2);

	/* sample -> udmabuf, seen through the udmabuf and through the memfd */
	ASSERT_EQ(0, fill(sbuf, size, 0, size, 52, s_model));
	f = edu_copy(self->edu, sbuf, ubuf, 1, 2 * self->page + 1, 3 * self->page, &mapped);
	ASSERT_GE(f, 0) TH_LOG("copy to a udmabuf: %s", strerror(-f));
	EXPECT_EQ(0, mapped);
	EXPECT_FENCE_DONE(f);
	close(f);
	memcpy(u_model + 2 * self->page + 1, s_model + 1, 3 * self->page);
	EXPECT_CONTENTS(ubuf, size, u_model, "udmabuf after a copy into it");
	EXPECT_EQ(-1, first_diff(mem, u_model, size)) TH_LOG("the memfd under the udmabuf");
	EXPECT_CHECKSUMS(self->edu, ubuf, u_model, 0, size);

	/* Not the exporter's buffer: no move. */
	EXPECT_EQ(-EINVAL, sample_move(self->exp, ubuf, &moves));
	EXPECT_CONTENTS(ubuf, size, u_model, "udmabuf after a refused move");

	munmap(mem, size);
	close(ubuf);
	close(memfd);
	close(sbuf);
	free(u_model);
	free(s_model);
}

/* Descriptors that are not there or not dma-bufs, for every fd argument. */
struct bad_fds {
	int closed, pipe_r, pipe_w, sync_file, heap_buf, tl;
};

static void bad_fds_open(struct __test_metadata *_metadata, struct bad_fds *b)
{
	int p[2];

	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	b->pipe_r = p[0];
	b->pipe_w = p[1];
	/* An fd that was open and is closed: high, so that nothing reuses it. */
	b->closed = 999;
	ASSERT_EQ(b->closed, dup2(p[0], b->closed));
	close(b->closed);
	b->tl = sw_sync_timeline();
	ASSERT_GE(b->tl, 0) TH_LOG("sw_sync: %s", strerror(-b->tl));
	b->sync_file = sw_sync_fence(b->tl, 1);
	ASSERT_GE(b->sync_file, 0);
	/* The system heap's dma-bufs: another exporter, when the kernel has it. */
	b->heap_buf = dmabuf_alloc(1 << 16);
}

static void bad_fds_close(struct bad_fds *b)
{
	close(b->pipe_r);
	close(b->pipe_w);
	close(b->sync_file);
	close(b->tl);
	if (b->heap_buf >= 0)
		close(b->heap_buf);
}

TEST_F(samples, move_errors)
{
	struct bad_fds b;
	int buf, fds, before;
	struct dma_buf_sample_move m;

	before = bufinfo_objects();
	ASSERT_GE(before, 0) TH_LOG("%s", NO_DEBUGFS);
	bad_fds_open(_metadata, &b);
	fds = count_fds();
	buf = sample_alloc(self->exp, self->page, O_RDWR | O_CLOEXEC);
	ASSERT_GE(buf, 0);

	EXPECT_EQ(-EBADF, sample_move(self->exp, -1, NULL));
	EXPECT_EQ(-EBADF, sample_move(self->exp, b.closed, NULL));
	EXPECT_EQ(-EBADF, sample_move(self->exp, INT32_MAX, NULL));
	EXPECT_EQ(-EINVAL, sample_move(self->exp, b.pipe_r, NULL));
	EXPECT_EQ(-EINVAL, sample_move(self->exp, b.sync_file, NULL));
	EXPECT_EQ(-EINVAL, sample_move(self->exp, self->exp, NULL));
	EXPECT_EQ(-EINVAL, sample_move(self->exp, self->edu, NULL));
	if (b.heap_buf >= 0)
		EXPECT_EQ(-EINVAL, sample_move(self->exp, b.heap_buf, NULL));
	m = (struct dma_buf_sample_move){ .fd = buf, .flags = 1 };
	EXPECT_EQ(-1, ioctl(self->exp, DMA_BUF_SAMPLE_IOC_MOVE, &m));
	EXPECT_EQ(EINVAL, errno);
	m = (struct dma_buf_sample_move){ .fd = buf, .flags = 0x80000000u };
	EXPECT_EQ(-1, ioctl(self->exp, DMA_BUF_SAMPLE_IOC_MOVE, &m));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->exp, DMA_BUF_SAMPLE_IOC_MOVE, NULL));
	EXPECT_EQ(EFAULT, errno);
	/* None of those moved it. */
	m = (struct dma_buf_sample_move){ .fd = buf };
	ASSERT_EQ(0, ioctl(self->exp, DMA_BUF_SAMPLE_IOC_MOVE, &m));
	EXPECT_EQ(1, m.moves);

	close(buf);
	EXPECT_EQ(fds, count_fds());
	bad_fds_close(&b);
	EXPECT_EQ(before, bufinfo_settles(before));
}

TEST_F(samples, copy_errors)
{
	const size_t size = 2 * self->page;
	unsigned char *model = calloc(1, size);
	struct edu_dma_buf_copy c;
	struct bad_fds b;
	int src, dst, fds, i, f;

	ASSERT_NE(NULL, model);
	bad_fds_open(_metadata, &b);
	src = sample_alloc(self->exp, size, O_RDWR | O_CLOEXEC);
	ASSERT_GE(src, 0);
	dst = sample_alloc(self->exp, size, O_RDWR | O_CLOEXEC);
	ASSERT_GE(dst, 0);
	ASSERT_EQ(0, fill(src, size, 0, size, 61, model));
	memset(model, 0, size);	/* the destination's model: zero, and it must stay so */
	fds = count_fds();

	/* fds: not open, and not dma-bufs, on either side */
	int not_open[] = { -1, b.closed, INT32_MAX };
	int not_dmabuf[] = { b.pipe_r, b.pipe_w, b.sync_file, b.tl, self->exp, self->edu };

	for (i = 0; i < 3; i++) {
		EXPECT_EQ(-EBADF, edu_copy(self->edu, not_open[i], dst, 0, 0, 1, NULL));
		EXPECT_EQ(-EBADF, edu_copy(self->edu, src, not_open[i], 0, 0, 1, NULL));
	}
	for (i = 0; i < 6; i++) {
		EXPECT_EQ(-EINVAL, edu_copy(self->edu, not_dmabuf[i], dst, 0, 0, 1, NULL)) TH_LOG("%d", i);
		EXPECT_EQ(-EINVAL, edu_copy(self->edu, src, not_dmabuf[i], 0, 0, 1, NULL)) TH_LOG("%d", i);
	}

	/* ranges: empty, past the end, and offset + len wrapping around u64 */
	struct { __u64 so, d, len; } bad[] = {
		{ 0, 0, 0 },
		{ size, 0, 1 }, { 0, size, 1 },
		{ size - 1, 0, 2 }, { 0, size - 1, 2 },
		{ 0, 0, size + 1 }, { 1, 0, size }, { 0, 1, size },
		{ 1ull << 40, 0, 1 }, { 0, 1ull << 40, 1 },
		{ UINT64_MAX, 0, 1 }, { 0, UINT64_MAX, 1 },
		{ UINT64_MAX - 1, 0, 4 }, { 0, UINT64_MAX - 1, 4 },	/* end wraps to 2 */
		{ 1, 0, UINT64_MAX }, { 0, 1, UINT64_MAX },		/* end wraps to 0 */
		{ 0, 0, UINT64_MAX }, { 0, 0, 1ull << 63 },
		{ 1ull << 63, 0, 1ull << 63 }, { 0, 1ull << 63, 1ull << 63 },
	};
	for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++) {
		EXPECT_EQ(-EINVAL, edu_copy(self->edu, src, dst, bad[i].so, bad[i].d, bad[i].len, NULL))
			TH_LOG("src %llu dst %llu len %llu", (unsigned long long)bad[i].so,
			       (unsigned long long)bad[i].d, (unsigned long long)bad[i].len);
	}

	/* flags, padding, and the output fields given non-zero (they are outputs: fine) */
	c = copy_arg(src, dst, 0, 0, 1);
	c.flags = 1;
	EXPECT_EQ(-EINVAL, edu_copy_arg(self->edu, &c));
	c = copy_arg(src, dst, 0, 0, 1);
	c.flags = 0x80000000u;
	EXPECT_EQ(-EINVAL, edu_copy_arg(self->edu, &c));
	c = copy_arg(src, dst, 0, 0, 1);
	c.pad = 1;
	EXPECT_EQ(-EINVAL, edu_copy_arg(self->edu, &c));
	EXPECT_EQ(-1, ioctl(self->edu, EDU_DMA_BUF_IOC_COPY, NULL));
	EXPECT_EQ(EFAULT, errno);

	/* Nothing was created, nothing was copied, no fence was left behind. */
	EXPECT_EQ(fds, count_fds());
	EXPECT_EQ(POLLIN | POLLOUT, revents(dst, POLLIN | POLLOUT, 0));
	EXPECT_EQ(POLLIN | POLLOUT, revents(src, POLLIN | POLLOUT, 0));
	EXPECT_CONTENTS(dst, size, model, "destination after refused copies");

	/* And the importer still works: the largest valid ranges. */
	c = copy_arg(src, dst, 0, 0, size);
	c.fence_fd = 12345;
	c.mapped = 77;
	ASSERT_EQ(0, edu_copy_arg(self->edu, &c));
	f = c.fence_fd;
	EXPECT_FENCE_DONE(f);
	close(f);
	f = edu_copy(self->edu, src, dst, size - 1, 0, 1, NULL);
	ASSERT_GE(f, 0);
	EXPECT_FENCE_DONE(f);
	close(f);
	close(src);
	close(dst);
	bad_fds_close(&b);
	free(model);
}

TEST_F(samples, checksum_errors)
{
	const size_t size = 2 * self->page;
	struct edu_dma_buf_checksum c;
	struct bad_fds b;
	int buf, i;
	__u32 sum = 0;

	bad_fds_open(_metadata, &b);
	buf = sample_alloc(self->exp, size, O_RDWR | O_CLOEXEC);
	ASSERT_GE(buf, 0);

	EXPECT_EQ(-EBADF, edu_checksum(self->edu, -1, 0, 0, 1, &sum));
	EXPECT_EQ(-EBADF, edu_checksum(self->edu, b.closed, 0, 0, 1, &sum));
	EXPECT_EQ(-EINVAL, edu_checksum(self->edu, b.pipe_r, 0, 0, 1, &sum));
	EXPECT_EQ(-EINVAL, edu_checksum(self->edu, b.sync_file, 0, 0, 1, &sum));
	EXPECT_EQ(-EINVAL, edu_checksum(self->edu, self->edu, 0, 0, 1, &sum));

	/* unknown methods */
	EXPECT_EQ(-EINVAL, edu_checksum(self->edu, buf, 2, 0, 1, &sum));
	EXPECT_EQ(-EINVAL, edu_checksum(self->edu, buf, 0x80000000u, 0, 1, &sum));
	EXPECT_EQ(-EINVAL, edu_checksum(self->edu, buf, UINT32_MAX, 0, 1, &sum));

	struct { __u64 off, len; } bad[] = {
		{ 0, 0 }, { size, 1 }, { size - 1, 2 }, { 0, size + 1 }, { 1ull << 40, 1 },
		{ UINT64_MAX, 1 }, { UINT64_MAX - 1, 4 }, { 1, UINT64_MAX }, { 0, UINT64_MAX },
	};
	for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++) {
		EXPECT_EQ(-EINVAL, edu_checksum(self->edu, buf, EDU_DMA_BUF_CHECKSUM_PAGES,
						bad[i].off, bad[i].len, &sum))
			TH_LOG("pages %llu+%llu", (unsigned long long)bad[i].off,
			       (unsigned long long)bad[i].len);
		EXPECT_EQ(-EINVAL, edu_checksum(self->edu, buf, EDU_DMA_BUF_CHECKSUM_VMAP,
						bad[i].off, bad[i].len, &sum))
			TH_LOG("vmap %llu+%llu", (unsigned long long)bad[i].off,
			       (unsigned long long)bad[i].len);
	}
	c = (struct edu_dma_buf_checksum){ .fd = buf, .len = 1, .pad = 1 };
	EXPECT_EQ(-1, ioctl(self->edu, EDU_DMA_BUF_IOC_CHECKSUM, &c));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->edu, EDU_DMA_BUF_IOC_CHECKSUM, NULL));
	EXPECT_EQ(EFAULT, errno);
	/* The checksum field is an output: any value in it is fine. */
	c = (struct edu_dma_buf_checksum){ .fd = buf, .offset = size - 1, .len = 1, .checksum = ~0u };
	ASSERT_EQ(0, ioctl(self->edu, EDU_DMA_BUF_IOC_CHECKSUM, &c));
	EXPECT_EQ(fnv1a((const unsigned char[]){ 0 }, 1), c.checksum);
	close(buf);
	bad_fds_close(&b);
}

TEST_F(samples, unknown_ioctls)
{
	struct edu_dma_buf_copy c = { 0 };
	char arg[64] = { 0 };
	int buf;

	/* The exporter knows ALLOC and MOVE, the importer COPY and CHECKSUM. */
	EXPECT_EQ(-1, ioctl(self->exp, EDU_DMA_BUF_IOC_COPY, &c));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->exp, EDU_DMA_BUF_IOC_CHECKSUM, arg));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->edu, DMA_BUF_SAMPLE_IOC_ALLOC, arg));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->edu, DMA_BUF_SAMPLE_IOC_MOVE, arg));
	EXPECT_EQ(ENOTTY, errno);
	/* The next numbers, another size, another direction, another magic. */
	EXPECT_EQ(-1, ioctl(self->exp, _IOWR(DMA_BUF_SAMPLE_IOC_MAGIC, 0x02, struct dma_buf_sample_move), arg));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->edu, _IOWR(DMA_BUF_SAMPLE_IOC_MAGIC, 0x12, struct edu_dma_buf_copy), arg));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->exp, _IOWR(DMA_BUF_SAMPLE_IOC_MAGIC, 0x00, __u64), arg));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->edu, _IOW(DMA_BUF_SAMPLE_IOC_MAGIC, 0x10, struct edu_dma_buf_copy), arg));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->edu, _IOWR('b', 0x10, struct edu_dma_buf_copy), arg));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->exp, 0, arg));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->edu, 0, arg));
	EXPECT_EQ(ENOTTY, errno);
	/* The buffers are the core's files: its ioctls, not the exporter's. */
	buf = sample_alloc(self->exp, self->page, O_RDWR | O_CLOEXEC);
	ASSERT_GE(buf, 0);
	EXPECT_EQ(-1, ioctl(buf, DMA_BUF_SAMPLE_IOC_ALLOC, arg));
	EXPECT_EQ(ENOTTY, errno);
	close(buf);
}

/*
 * Everything at once, counted: the fds this process holds and the buffers
 * debugfs lists are back where they were once every fd is closed, importer
 * and exporter included.
 */
TEST_F_TIMEOUT(samples, nothing_leaks, 120)
{
	const size_t size = 8 * self->page;
	unsigned char *model = calloc(1, size);
	int fds, before, exp, edu, a, b, c, f, i, n, tl;
	__u64 moves = 0;
	__u32 sum = 0;

	ASSERT_NE(NULL, model);
	/* Take the fixture's fds out of the picture. */
	close(self->edu);
	close(self->exp);
	self->edu = self->exp = -1;
	fds = count_fds();
	before = bufinfo_objects();
	ASSERT_GE(fds, 0);
	ASSERT_GE(before, 0) TH_LOG("%s", NO_DEBUGFS);

	for (n = 0; n < 3; n++) {
		exp = open(DMA_BUF_SAMPLE_EXPORTER_PATH, O_RDWR | O_CLOEXEC);
		ASSERT_GE(exp, 0);
		edu = open(DMA_BUF_SAMPLE_EDU_PATH, O_RDWR | O_CLOEXEC);
		ASSERT_GE(edu, 0);
		tl = sw_sync_timeline();
		ASSERT_GE(tl, 0);
		a = sample_alloc(exp, size, O_RDWR | O_CLOEXEC);
		b = sample_alloc(exp, size, O_RDWR | O_CLOEXEC);
		c = sample_alloc(exp, size, O_RDWR | O_CLOEXEC);
		ASSERT_GE(a, 0);
		ASSERT_GE(b, 0);
		ASSERT_GE(c, 0);
		EXPECT_EQ(before + 3, bufinfo_objects());
		ASSERT_EQ(0, fill(a, size, 0, size, 70 + n, model));
		for (i = 0; i < 4; i++) {
			f = edu_copy(edu, i % 2 ? b : a, i % 2 ? c : b, i, 2 * i, size - 2 * i, NULL);
			ASSERT_GE(f, 0);
			EXPECT_FENCE_DONE(f);
			close(f);
			EXPECT_EQ(-EINVAL, edu_copy(edu, a, a, 0, 1, 2, NULL));
			EXPECT_EQ(-EBADF, edu_copy(edu, a, -1, 0, 0, 1, NULL));
			EXPECT_EQ(0, edu_checksum(edu, c, i % 2, 0, size, &sum));
			ASSERT_EQ(0, sample_move(exp, i % 2 ? a : c, &moves));
		}
		/* A copy still held back when everything is closed: the timeline's
		 * release signals it (with an error), and the copy lets go. */
		ASSERT_EQ(0, sw_sync_import(c, tl, 1, DMA_BUF_SYNC_WRITE));
		f = edu_copy(edu, a, c, 0, 0, size, NULL);
		ASSERT_GE(f, 0);
		if (n == 1) {
			/* ... or the fds go first, the importer's among them */
			close(a);
			close(b);
			close(c);
			close(edu);
			close(exp);
			close(tl);
		} else {
			close(tl);
			close(a);
			close(b);
			close(c);
			close(edu);
			close(exp);
		}
		EXPECT_EQ(POLLIN, revents(f, POLLIN, FENCE_TIMEOUT_MS));
		close(f);
		EXPECT_EQ(fds, count_fds()) TH_LOG("round %d", n);
		EXPECT_EQ(before, bufinfo_settles(before)) TH_LOG("round %d", n);
	}
	free(model);
}

int main(int argc, char **argv)
{
	const char *dev[] = { DMA_BUF_SAMPLE_EXPORTER_PATH, DMA_BUF_SAMPLE_EDU_PATH };
	const char *mod[] = { "rust_dma_buf_exporter", "rust_dma_buf_edu" };
	int i;

	/* The sample modules are always in the test kernel: no device is a failure. */
	for (i = 0; i < 2; i++)
		if (access(dev[i], R_OK | W_OK))
			ksft_exit_fail_msg("no %s (%s): is %s.ko loaded%s?\n", dev[i], strerror(errno),
					   mod[i], i ? " and QEMU's edu device present" : "");
	return test_harness_run(argc, argv);
}
