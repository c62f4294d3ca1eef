// SPDX-License-Identifier: GPL-2.0
/*
 * uapi_bench: userspace benchmarks of the dma-buf and sync_file uapi, for
 * `make bench` (scripts/bench.sh). Built statically against the benchmark
 * kernel's headers_install; runs in the benchmark guest over system-heap
 * dma-bufs (/dev/dma_heap/system) and sw_sync fences
 * (/sys/kernel/debug/sync/sw_sync).
 *
 * Usage: uapi_bench [-f prefix,prefix...] [-t ms]
 *
 * Prints one line per benchmark, in the format of the kernel module's:
 *
 *   @U <name> n=<elements> iters=<iterations> ns=<total> ns_op=<ns>
 *
 * Each runs once to warm up (a tenth of -t), then for -t ms of (guest)
 * time, timed with CLOCK_MONOTONIC around the loop only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/sync_file.h>

/* sw_sync's debugfs ioctls (not in uapi; as in the sync kselftest). */
struct sw_sync_create_fence_data {
	__u32 value;
	char name[32];
	__s32 fence;
};
#define SW_SYNC_IOC_MAGIC 'W'
#define SW_SYNC_IOC_CREATE_FENCE _IOWR(SW_SYNC_IOC_MAGIC, 0, struct sw_sync_create_fence_data)
#define SW_SYNC_IOC_INC _IOW(SW_SYNC_IOC_MAGIC, 1, __u32)
#define SW_SYNC "/sys/kernel/debug/sync/sw_sync"
#define SYSTEM_HEAP "/dev/dma_heap/system"

static const char *filter = "";
static long time_ms = 1000;
static int failed;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "uapi_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int selected(const char *name)
{
	const char *p = filter;

	if (!*p)
		return 1;
	while (*p) {
		size_t len = strcspn(p, ",");

		if (len && !strncmp(name, p, len))
			return 1;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* A benchmark body: runs @iters iterations and returns the ns they took (<0: error). */
typedef int64_t (*bench_fn)(unsigned int n, uint64_t iters);

static void run(const char *name, unsigned int n, bench_fn fn)
{
	uint64_t target = (uint64_t)time_ms * 1000000ull, iters = 1;
	int64_t t;

	if (!selected(name))
		return;
	for (;;) {
		t = fn(n, iters);
		if (t < 0)
			goto fail;
		if ((uint64_t)t >= target / 10 || iters >= (1ull << 40))
			break;
		iters *= 2;
	}
	iters = iters * target / (t > 0 ? (uint64_t)t : 1);
	if (!iters)
		iters = 1;
	t = fn(n, iters);
	if (t < 0)
		goto fail;
	printf("@U %s n=%u iters=%llu ns=%lld ns_op=%.3f\n", name, n, (unsigned long long)iters,
	       (long long)t, (double)t / iters);
	fflush(stdout);
	return;
fail:
	printf("@U %s n=%u FAILED %lld (%s)\n", name, n, (long long)t, strerror(errno));
	fflush(stdout);
	failed++;
}

static int heap_fd;

static int buf_alloc(size_t size)
{
	struct dma_heap_allocation_data data = { .len = size, .fd_flags = O_RDWR | O_CLOEXEC };

	if (ioctl(heap_fd, DMA_HEAP_IOCTL_ALLOC, &data))
		return -1;
	return data.fd;
}

static int timeline(void)
{
	int fd = open(SW_SYNC, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		die(SW_SYNC);
	return fd;
}

static int sw_fence(int tl, unsigned int value)
{
	struct sw_sync_create_fence_data d = { .value = value };

	strcpy(d.name, "bench");
	if (ioctl(tl, SW_SYNC_IOC_CREATE_FENCE, &d))
		die("SW_SYNC_IOC_CREATE_FENCE");
	return d.fence;
}

static int merge(int a, int b)
{
	struct sync_merge_data d = { .fd2 = b };

	strcpy(d.name, "merged");
	if (ioctl(a, SYNC_IOC_MERGE, &d))
		return -1;
	return d.fence;
}

#define LOOP_BEGIN uint64_t t0 = now_ns(); while (iters--) {
#define LOOP_END } return now_ns() - t0;

/* ---- dma-buf ioctls on a 4 KiB system-heap buffer ---- */

static int64_t alloc_close(unsigned int n, uint64_t iters)
{
	LOOP_BEGIN
		int fd = buf_alloc(4096);

		if (fd < 0)
			return -1;
		close(fd);
	LOOP_END
}

static int small_buf;

static int64_t sync_start_end(unsigned int n, uint64_t iters)
{
	struct dma_buf_sync start = { DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW };
	struct dma_buf_sync end = { DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW };

	LOOP_BEGIN
		if (ioctl(small_buf, DMA_BUF_IOCTL_SYNC, &start) ||
		    ioctl(small_buf, DMA_BUF_IOCTL_SYNC, &end))
			return -1;
	LOOP_END
}

static int64_t export_sync_file(unsigned int n, uint64_t iters)
{
	LOOP_BEGIN
		struct dma_buf_export_sync_file e = { .flags = DMA_BUF_SYNC_RW, .fd = -1 };

		if (ioctl(small_buf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e))
			return -1;
		close(e.fd);
	LOOP_END
}

static int signalled_sync_file;

static int64_t import_sync_file(unsigned int n, uint64_t iters)
{
	struct dma_buf_import_sync_file im = { .flags = DMA_BUF_SYNC_RW, .fd = signalled_sync_file };

	LOOP_BEGIN
		if (ioctl(small_buf, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &im))
			return -1;
	LOOP_END
}

static int64_t set_name(unsigned int n, uint64_t iters)
{
	LOOP_BEGIN
		if (ioctl(small_buf, DMA_BUF_SET_NAME_B, "bench"))
			return -1;
	LOOP_END
}

/*
 * A buffer of its own, with no fence ever: small_buf has the fence that
 * import_sync_file left when that ran first, so a poll of it measured one
 * thing in a full run and another in a subset.
 */
static int idle_buf;

static int64_t poll_idle(unsigned int n, uint64_t iters)
{
	LOOP_BEGIN
		struct pollfd p = { .fd = idle_buf, .events = POLLIN | POLLOUT };

		if (poll(&p, 1, 0) != 1)
			return -1;
	LOOP_END
}

/* ---- sync_file ---- */

/* Sync files of 1, 2, 4, ... 128 unsignalled fences, each of its own timeline. */
#define MAX_HALF 128
static int halves[2][9];	/* [which][log2(n)]: a sync_file of n fences */

static void make_halves(void)
{
	int w, k;

	for (w = 0; w < 2; w++) {
		for (k = 0; (1 << k) <= MAX_HALF; k++) {
			unsigned int i;
			int f = -1;

			for (i = 0; i < (1u << k); i++) {
				int tl = timeline();	/* kept open: its fence stays unsignalled */
				int g = sw_fence(tl, 1), m;

				if (f < 0) {
					f = g;
					continue;
				}
				m = merge(f, g);
				if (m < 0)
					die("SYNC_IOC_MERGE");
				close(f);
				close(g);
				f = m;
			}
			halves[w][k] = f;
		}
	}
}

static int ilog2u(unsigned int n)
{
	int k = 0;

	while ((1u << (k + 1)) <= n)
		k++;
	return k;
}

/* Merge two sync files of n/2 fences each (all of distinct timelines) into one of n. */
static int64_t merge_n(unsigned int n, uint64_t iters)
{
	int a = halves[0][ilog2u(n / 2)], b = halves[1][ilog2u(n / 2)];

	LOOP_BEGIN
		int m = merge(a, b);

		if (m < 0)
			return -1;
		close(m);
	LOOP_END
}

static int64_t file_info_n(unsigned int n, uint64_t iters)
{
	int f = merge(halves[0][ilog2u(n / 2)], halves[1][ilog2u(n / 2)]);
	struct sync_fence_info *info = calloc(n, sizeof(*info));
	int64_t t;

	if (f < 0 || !info)
		return -1;
	{
		LOOP_BEGIN
			struct sync_file_info fi = {
				.num_fences = n,
				.sync_fence_info = (uintptr_t)info,
			};

			if (ioctl(f, SYNC_IOC_FILE_INFO, &fi) || fi.num_fences != n)
				return -1;
		}
		t = now_ns() - t0;
	}
	close(f);
	free(info);
	return t;
}

/* ---- mmap bandwidth, 64 MiB ---- */

#define BIG (64u << 20)
static void *anon_a, *anon_b, *big_map;
static int big_buf;

static void cpu_sync(unsigned long flags)
{
	struct dma_buf_sync s = { flags };

	if (ioctl(big_buf, DMA_BUF_IOCTL_SYNC, &s))
		die("DMA_BUF_IOCTL_SYNC");
}

static int64_t mmap_read(unsigned int n, uint64_t iters)
{
	LOOP_BEGIN
		cpu_sync(DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
		memcpy(anon_a, big_map, BIG);
		cpu_sync(DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	LOOP_END
}

static int64_t mmap_write(unsigned int n, uint64_t iters)
{
	LOOP_BEGIN
		cpu_sync(DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
		memcpy(big_map, anon_a, BIG);
		cpu_sync(DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
	LOOP_END
}

static int64_t anon_memcpy(unsigned int n, uint64_t iters)
{
	LOOP_BEGIN
		memcpy(anon_b, anon_a, BIG);
	LOOP_END
}

int main(int argc, char **argv)
{
	unsigned int n;
	int opt, tl;

	while ((opt = getopt(argc, argv, "f:t:")) != -1) {
		switch (opt) {
		case 'f': filter = optarg; break;
		case 't': time_ms = atol(optarg); break;
		default:
			fprintf(stderr, "usage: %s [-f prefix,...] [-t ms]\n", argv[0]);
			return 2;
		}
	}
	heap_fd = open(SYSTEM_HEAP, O_RDONLY | O_CLOEXEC);
	if (heap_fd < 0)
		die(SYSTEM_HEAP);
	small_buf = buf_alloc(4096);
	idle_buf = buf_alloc(4096);
	if (small_buf < 0 || idle_buf < 0)
		die("DMA_HEAP_IOCTL_ALLOC");
	tl = timeline();
	signalled_sync_file = sw_fence(tl, 1);
	if (ioctl(tl, SW_SYNC_IOC_INC, &(__u32){ 1 }))
		die("SW_SYNC_IOC_INC");

	run("uapi/heap_alloc_close", 1, alloc_close);
	run("uapi/sync_start_end", 1, sync_start_end);
	run("uapi/export_sync_file", 1, export_sync_file);
	run("uapi/import_sync_file", 1, import_sync_file);
	run("uapi/set_name", 1, set_name);
	run("uapi/poll_idle", 1, poll_idle);

	if (selected("uapi/merge") || selected("uapi/file_info")) {
		make_halves();
		for (n = 2; n <= 2 * MAX_HALF; n *= 2)
			run("uapi/merge", n, merge_n);
		run("uapi/file_info", 2, file_info_n);
		run("uapi/file_info", 16, file_info_n);
		run("uapi/file_info", 256, file_info_n);
	}

	if (selected("uapi/mmap") || selected("uapi/anon")) {
		big_buf = buf_alloc(BIG);
		if (big_buf < 0)
			die("DMA_HEAP_IOCTL_ALLOC 64 MiB");
		big_map = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_SHARED, big_buf, 0);
		anon_a = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		anon_b = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (big_map == MAP_FAILED || anon_a == MAP_FAILED || anon_b == MAP_FAILED)
			die("mmap");
		memset(anon_a, 0x5a, BIG);
		memset(anon_b, 0xa5, BIG);
		run("uapi/mmap_read", 64, mmap_read);
		run("uapi/mmap_write", 64, mmap_write);
		run("uapi/anon_memcpy", 64, anon_memcpy);
	}
	printf("@U done failed=%d\n", failed);
	return failed ? 1 : 0;
}
