// SPDX-License-Identifier: GPL-2.0
/*
 * Buffer sharing, shown step by step: what `make run` boots into.
 *
 * Two Rust sample drivers share buffers through the dma-buf core
 * (linux/dma-buf-sample.h): an exporter, /dev/rust-dma-buf-exporter, that
 * hands out page-backed dma-bufs and can move their pages, and an importer,
 * /dev/rust-dma-buf-edu, that copies one buffer into another with QEMU's edu
 * device's DMA engine and tells userspace when it is done with a sync_file.
 *
 * Userspace fills a buffer through mmap, inside the DMA_BUF_IOCTL_SYNC
 * brackets that keep CPU caches coherent with devices, asks the device to
 * copy it, waits for the copy (its sync_file, then the buffer's own poll),
 * and checks the copy by mmap and by the importer's CPU checksum. Then the
 * exporter moves the source to new pages while the importer is attached,
 * and the copy is done and checked again.
 * Every step is checked; the program exits non-zero at the first surprise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/dma-buf.h>
#include <linux/dma-buf-sample.h>
#include <linux/sync_file.h>

/*
 * Small on purpose: the edu device spends 100 ms of virtual time on each DMA
 * transfer of at most one page, so a 16 KiB copy takes a couple of seconds.
 */
#define BUF_SIZE (16 << 10)

static int step_no;

static void step(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("\nStep %d: ", ++step_no);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("    ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

static void check(int ok, const char *what)
{
	if (ok)
		return;
	printf("    FAILED: %s (errno %d: %s)\n", what, errno, strerror(errno));
	exit(1);
}

static void show_file(const char *path)
{
	char line[256];
	FILE *f = fopen(path, "r");

	check(f != NULL, path);
	while (fgets(line, sizeof(line), f))
		printf("    | %s", line);
	fclose(f);
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* 32-bit FNV-1a, the importer's checksum. */
static uint32_t fnv1a(const unsigned char *p, size_t len)
{
	uint32_t h = 0x811c9dc5u;

	while (len--) {
		h ^= *p++;
		h *= 0x01000193u;
	}
	return h;
}

static unsigned char pattern(size_t i, unsigned int seed)
{
	uint32_t x = (uint32_t)i * 0x9e3779b1u + seed * 0x85ebca6bu;

	x ^= x >> 15;
	x *= 0x2c1b3c6du;
	return (unsigned char)(x ^ (x >> 12));
}

static void cpu_access(int buf, uint64_t flags, const char *what)
{
	struct dma_buf_sync sync = { .flags = flags };

	check(ioctl(buf, DMA_BUF_IOCTL_SYNC, &sync) == 0, what);
}

/* A new buffer from the exporter, named for bufinfo. */
static int alloc_buffer(int exporter, const char *name)
{
	struct dma_buf_sample_alloc alloc = {
		.size = BUF_SIZE, .flags = O_RDWR | O_CLOEXEC,
	};

	check(ioctl(exporter, DMA_BUF_SAMPLE_IOC_ALLOC, &alloc) == 0, "DMA_BUF_SAMPLE_IOC_ALLOC");
	check(lseek(alloc.fd, 0, SEEK_END) == BUF_SIZE, "the buffer's size from lseek");
	check(ioctl(alloc.fd, DMA_BUF_SET_NAME_B, name) == 0, "DMA_BUF_SET_NAME");
	say("dma-buf \"%s\": fd %d, %d bytes (lseek(SEEK_END) agrees)", name, alloc.fd, BUF_SIZE);
	return alloc.fd;
}

/* Fill @map (of @buf) with pattern @seed, or zeros if @seed is 0. */
static void cpu_fill(int buf, unsigned char *map, unsigned int seed)
{
	size_t i;

	cpu_access(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE, "DMA_BUF_IOCTL_SYNC start write");
	for (i = 0; i < BUF_SIZE; i++)
		map[i] = seed ? pattern(i, seed) : 0;
	cpu_access(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE, "DMA_BUF_IOCTL_SYNC end write");
}

static int ready(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	return poll(&p, 1, 0) == 1 && (p.revents & events);
}

/* What a sync_file holds, in plain counts. */
static void show_sync_file(int fd)
{
	struct sync_fence_info fences[4];
	struct sync_file_info info = { 0 };
	unsigned int i, done = 0, pending = 0, failed = 0;

	info.num_fences = 4;
	info.sync_fence_info = (uintptr_t)fences;
	check(ioctl(fd, SYNC_IOC_FILE_INFO, &info) == 0, "SYNC_IOC_FILE_INFO");
	for (i = 0; i < info.num_fences && i < 4; i++) {
		if (fences[i].status > 0)
			done++;
		else if (fences[i].status == 0)
			pending++;
		else
			failed++;
	}
	say("sync_file \"%s\": %u fence(s): %u signalled, %u pending", info.name,
	    info.num_fences, done + failed, pending);
	if (failed)
		say("%u of the signalled fences carry an error", failed);
	for (i = 0; i < info.num_fences && i < 4; i++)
		say("  fence from %s on %s: %s", fences[i].driver_name, fences[i].obj_name,
		    fences[i].status > 0 ? "signalled" :
		    fences[i].status == 0 ? "pending" : "signalled with an error");
	check(!failed, "no fence may fail");
}

/* Ask the edu device to copy all of @src into @dst: the sync_file fd. */
static int device_copy(int edu, int src, int dst, uint32_t expect_mapped)
{
	struct edu_dma_buf_copy copy = {
		.src_fd = src, .dst_fd = dst, .len = BUF_SIZE,
	};

	check(ioctl(edu, EDU_DMA_BUF_IOC_COPY, &copy) == 0, "EDU_DMA_BUF_IOC_COPY");
	say("EDU_DMA_BUF_IOC_COPY returned at once, with sync_file fd %d for the copy", copy.fence_fd);
	say("the importer had to map %u of the two buffers for the device (mapped = %u)",
	    copy.mapped, copy.mapped);
	check(copy.mapped == expect_mapped, "the number of buffers mapped for this copy");
	show_sync_file(copy.fence_fd);
	return copy.fence_fd;
}

/* The edu device's completion interrupts so far, from /proc/interrupts. */
static unsigned long edu_interrupts(void)
{
	FILE *f = fopen("/proc/interrupts", "r");
	char line[512];
	unsigned long total = 0;

	check(f != NULL, "open /proc/interrupts");
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ':');

		if (!p || !strstr(line, "rust_dma_buf_edu"))
			continue;
		for (p++;;) {
			char *end;
			unsigned long n = strtoul(p, &end, 10);

			if (end == p)
				break;
			total += n;
			p = end;
		}
	}
	fclose(f);
	return total;
}

/* Wait for the copy: its sync_file, then the destination's poll. */
static void wait_copy(int fence, int dst)
{
	struct pollfd p = { .fd = fence, .events = POLLIN };
	unsigned long irqs = edu_interrupts();
	double t0 = now_ms();

	check(poll(&p, 1, 30000) == 1 && (p.revents & POLLIN), "poll on the sync_file");
	say("poll(POLLIN) on the sync_file: signalled after %.1f ms", now_ms() - t0);
	irqs = edu_interrupts() - irqs;
	say("the edu device raised %lu DMA completion interrupt(s) meanwhile", irqs);
	check(irqs > 0, "the copy completes by interrupt");
	show_sync_file(fence);
	check(ready(dst, POLLIN), "the destination is readable once its writer signalled");
	check(ready(dst, POLLOUT), "the destination is idle once the copy is done");
	say("poll on the destination: POLLIN (its writer, the copy, is done) and POLLOUT");
	say("(every fence on it has signalled)");
	close(fence);
}

/* Check the destination against the source's bytes: by mmap, by checksum. */
static void check_copy(int edu, int dst, const unsigned char *dst_map, const unsigned char *want)
{
	static const char *method[] = { "page by page", "through a vmap" };
	uint32_t sum = fnv1a(want, BUF_SIZE);
	size_t i;
	int m;

	cpu_access(dst, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ, "DMA_BUF_IOCTL_SYNC start read");
	for (i = 0; i < BUF_SIZE && dst_map[i] == want[i]; i++)
		;
	cpu_access(dst, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ, "DMA_BUF_IOCTL_SYNC end read");
	if (i < BUF_SIZE)
		say("byte %zu is %#x, not %#x", i, dst_map[i], want[i]);
	check(i == BUF_SIZE, "the destination holds the source's bytes");
	say("mmap, inside DMA_BUF_SYNC_START/END (read): all %d bytes are the source's", BUF_SIZE);
	for (m = EDU_DMA_BUF_CHECKSUM_PAGES; m <= EDU_DMA_BUF_CHECKSUM_VMAP; m++) {
		struct edu_dma_buf_checksum c = { .fd = dst, .method = m, .len = BUF_SIZE };

		check(ioctl(edu, EDU_DMA_BUF_IOC_CHECKSUM, &c) == 0, "EDU_DMA_BUF_IOC_CHECKSUM");
		say("importer's FNV-1a %s: %08x (expected %08x)", method[m], c.checksum, sum);
		check(c.checksum == sum, "the importer's checksum");
	}
}

int main(void)
{
	struct dma_buf_sample_move move = { 0 };
	unsigned char *src_map, *dst_map, *want;
	int exporter, edu, src, dst, fence;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("dma-buf demonstration: a Rust exporter's buffers, copied by QEMU's edu device\n");
	printf("through a Rust importer\n");

	step("Open the two sample drivers.");
	exporter = open(DMA_BUF_SAMPLE_EXPORTER_PATH, O_RDWR | O_CLOEXEC);
	check(exporter >= 0, "open " DMA_BUF_SAMPLE_EXPORTER_PATH " (rust_dma_buf_exporter.ko)");
	say("%s: the exporter, hands out dma-bufs", DMA_BUF_SAMPLE_EXPORTER_PATH);
	edu = open(DMA_BUF_SAMPLE_EDU_PATH, O_RDWR | O_CLOEXEC);
	check(edu >= 0, "open " DMA_BUF_SAMPLE_EDU_PATH " (rust_dma_buf_edu.ko, edu device)");
	say("%s: the importer, drives the edu device's DMA engine", DMA_BUF_SAMPLE_EDU_PATH);

	step("Allocate two 16 KiB buffers from the exporter.");
	src = alloc_buffer(exporter, "demo-source");
	dst = alloc_buffer(exporter, "demo-destination");
	src_map = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, src, 0);
	check(src_map != MAP_FAILED, "mmap the source");
	dst_map = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, dst, 0);
	check(dst_map != MAP_FAILED, "mmap the destination");
	want = malloc(BUF_SIZE);
	check(want != NULL, "malloc");

	step("The CPU fills the source through mmap.");
	cpu_fill(src, src_map, 1);
	memcpy(want, src_map, BUF_SIZE);
	say("wrote %d bytes between DMA_BUF_SYNC_START and DMA_BUF_SYNC_END (write)", BUF_SIZE);

	step("The edu device copies the source into the destination.");
	fence = device_copy(edu, src, dst, 2);

	step("Wait for the copy.");
	wait_copy(fence, dst);

	step("Check the destination.");
	check_copy(edu, dst, dst_map, want);

	step("The exporter moves the source to new pages; the importer stays attached.");
	move.fd = src;
	check(ioctl(exporter, DMA_BUF_SAMPLE_IOC_MOVE, &move) == 0, "DMA_BUF_SAMPLE_IOC_MOVE");
	check(move.moves == 1, "the source's move count");
	say("DMA_BUF_SAMPLE_IOC_MOVE: moved (this buffer's move number %llu); the importer",
	    (unsigned long long)move.moves);
	say("was told (move_notify) and maps it again on next use");
	cpu_access(src, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ, "DMA_BUF_IOCTL_SYNC start read");
	check(memcmp(src_map, want, BUF_SIZE) == 0, "the source's bytes after the move");
	cpu_access(src, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ, "DMA_BUF_IOCTL_SYNC end read");
	say("the mapping taken before the move reads the same %d bytes from the new pages",
	    BUF_SIZE);
	cpu_fill(dst, dst_map, 0);
	say("cleared the destination, so that the next copy has something to prove");

	step("Copy again, after the move.");
	fence = device_copy(edu, src, dst, 1);
	wait_copy(fence, dst);
	check_copy(edu, dst, dst_map, want);

	step("What the kernel knows about shared buffers (debugfs dma_buf/bufinfo):");
	show_file("/sys/kernel/debug/dma_buf/bufinfo");

	step("Everyone lets go; the buffers are freed with their last references.");
	munmap(src_map, BUF_SIZE);
	munmap(dst_map, BUF_SIZE);
	close(src);
	close(dst);
	close(edu);
	close(exporter);
	free(want);
	show_file("/sys/kernel/debug/dma_buf/bufinfo");

	printf("\ndemonstration complete: every step checked\n");
	return 0;
}
