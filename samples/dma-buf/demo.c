// SPDX-License-Identifier: GPL-2.0
/*
 * Buffer sharing, shown step by step: what `make run` boots into.
 *
 * A producer and a consumer share one dma-buf. The producer's work is
 * represented by fences on sw_sync timelines (a software stand-in for a GPU
 * or a camera); the consumer waits for it through a merged sync_file and the
 * buffer's own poll, then reads what was written through mmap, inside the
 * DMA_BUF_IOCTL_SYNC brackets that keep CPU caches coherent with devices
 * (and that wait for the buffer's pending writers).
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
#include <unistd.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/sync_file.h>

/* sw_sync's debugfs ioctls (drivers/dma-buf/sw_sync.c; not in uapi headers). */
struct sw_sync_create_fence_data {
	uint32_t value;
	char name[32];
	int32_t fence;
};
#define SW_SYNC_IOC_CREATE_FENCE _IOWR('W', 0, struct sw_sync_create_fence_data)
#define SW_SYNC_IOC_INC _IOW('W', 1, uint32_t)
#define SW_SYNC_PATH "/sys/kernel/debug/sync/sw_sync"

#define BUF_SIZE (1 << 20)

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

static int fence_on(int timeline, uint32_t value, const char *name)
{
	struct sw_sync_create_fence_data data = { .value = value };

	snprintf(data.name, sizeof(data.name), "%s", name);
	check(ioctl(timeline, SW_SYNC_IOC_CREATE_FENCE, &data) == 0, "create a fence");
	return data.fence;
}

static int ready(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	return poll(&p, 1, 0) == 1 && (p.revents & events);
}

static void show_sync_file(int fd)
{
	struct sync_fence_info fences[4];
	struct sync_file_info info = { 0 };
	uint32_t i;

	info.num_fences = 4;
	info.sync_fence_info = (uintptr_t)fences;
	check(ioctl(fd, SYNC_IOC_FILE_INFO, &info) == 0, "SYNC_IOC_FILE_INFO");
	say("sync_file \"%s\": %u fences, status %d (1 signalled, 0 pending)",
	    info.name, info.num_fences, info.status);
	for (i = 0; i < info.num_fences; i++)
		say("  fence from %s on %s: status %d", fences[i].driver_name,
		    fences[i].obj_name, fences[i].status);
}

int main(void)
{
	struct dma_heap_allocation_data alloc = {
		.len = BUF_SIZE, .fd_flags = O_RDWR | O_CLOEXEC,
	};
	struct dma_buf_import_sync_file import = { .flags = DMA_BUF_SYNC_WRITE };
	struct dma_buf_sync sync;
	struct sync_merge_data merge = { .name = "camera+gpu" };
	int heap, buf, render_tl, scan_tl, f1, f2;
	uint32_t *map;
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("dma-buf demonstration: one buffer shared by a producer and a consumer\n");

	step("Allocate a 1 MiB buffer from the system dma-heap.");
	heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
	check(heap >= 0, "open /dev/dma_heap/system");
	check(ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &alloc) == 0, "DMA_HEAP_IOCTL_ALLOC");
	buf = alloc.fd;
	say("got dma-buf fd %d; lseek(SEEK_END) says it holds %lld bytes", buf,
	    (long long)lseek(buf, 0, SEEK_END));
	check(lseek(buf, 0, SEEK_END) == BUF_SIZE, "size from lseek");
	check(ioctl(buf, DMA_BUF_SET_NAME_B, "demo-frame") == 0, "DMA_BUF_SET_NAME");
	say("named it \"demo-frame\" (DMA_BUF_SET_NAME), as a debugging aid");

	step("The CPU fills the buffer through mmap, before any device touches it.");
	map = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	check(map != MAP_FAILED, "mmap the dma-buf");
	sync.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE;
	check(ioctl(buf, DMA_BUF_IOCTL_SYNC, &sync) == 0, "DMA_BUF_IOCTL_SYNC start");
	for (i = 0; i < BUF_SIZE / 4; i++)
		map[i] = 0xd0d00000u + i;
	sync.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE;
	check(ioctl(buf, DMA_BUF_IOCTL_SYNC, &sync) == 0, "DMA_BUF_IOCTL_SYNC end");
	say("wrote %d words between DMA_BUF_SYNC_START and DMA_BUF_SYNC_END (write)",
	    BUF_SIZE / 4);

	step("The producer has two jobs in flight: a camera capture and a GPU pass.");
	render_tl = open(SW_SYNC_PATH, O_RDWR | O_CLOEXEC);
	scan_tl = open(SW_SYNC_PATH, O_RDWR | O_CLOEXEC);
	check(render_tl >= 0 && scan_tl >= 0, "open sw_sync timelines");
	f1 = fence_on(render_tl, 1, "capture");
	f2 = fence_on(scan_tl, 1, "gpu-pass");
	say("each job is a fence, handed to userspace as a sync_file fd (%d, %d)", f1, f2);
	merge.fd2 = f2;
	check(ioctl(f1, SYNC_IOC_MERGE, &merge) == 0, "SYNC_IOC_MERGE");
	say("SYNC_IOC_MERGE joins them into one sync_file (fd %d) that signals when both do:",
	    merge.fence);
	show_sync_file(merge.fence);

	step("Attach the merged fence to the buffer as its writer.");
	import.fd = merge.fence;
	check(ioctl(buf, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &import) == 0,
	      "DMA_BUF_IOCTL_IMPORT_SYNC_FILE");
	check(!ready(buf, POLLIN), "poll must not report a buffer with a pending writer");
	say("poll(POLLIN) on the buffer now says: not ready, a writer is still busy");

	step("The capture finishes; the GPU pass has not.");
	check(ioctl(render_tl, SW_SYNC_IOC_INC, &(uint32_t){ 1 }) == 0, "SW_SYNC_IOC_INC");
	check(!ready(merge.fence, POLLIN), "merged fence must wait for both");
	show_sync_file(merge.fence);

	step("The GPU pass finishes: now the consumer may read.");
	check(ioctl(scan_tl, SW_SYNC_IOC_INC, &(uint32_t){ 1 }) == 0, "SW_SYNC_IOC_INC");
	check(ready(merge.fence, POLLIN), "merged fence signalled");
	check(ready(buf, POLLIN), "buffer readable once its writer signalled");
	show_sync_file(merge.fence);
	say("poll(POLLIN) on the buffer: ready");

	sync.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ;
	check(ioctl(buf, DMA_BUF_IOCTL_SYNC, &sync) == 0, "DMA_BUF_IOCTL_SYNC start read");
	for (i = 0; i < BUF_SIZE / 4; i++)
		if (map[i] != 0xd0d00000u + i)
			break;
	sync.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ;
	check(ioctl(buf, DMA_BUF_IOCTL_SYNC, &sync) == 0, "DMA_BUF_IOCTL_SYNC end read");
	check(i == BUF_SIZE / 4, "the consumer reads back what the producer wrote");
	say("DMA_BUF_SYNC_START (read) waited for the writers; all %d words read back intact",
	    BUF_SIZE / 4);

	step("What the kernel knows about shared buffers (debugfs dma_buf/bufinfo):");
	show_file("/sys/kernel/debug/dma_buf/bufinfo");

	step("Everyone lets go; the buffer is freed with its last reference.");
	munmap(map, BUF_SIZE);
	close(merge.fence);
	close(f1);
	close(f2);
	close(render_tl);
	close(scan_tl);
	close(buf);
	close(heap);
	show_file("/sys/kernel/debug/dma_buf/bufinfo");

	printf("\ndemonstration complete: every step checked\n");
	return 0;
}
