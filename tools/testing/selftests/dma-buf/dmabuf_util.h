/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the dma-buf kselftests: where test buffers come from,
 * where fences come from (sw_sync), how to read what the kernel reports
 * about a buffer (procfs, debugfs, sysfs), and bad memory to hand to ioctls.
 * The macros at the end are for test files, after kselftest_harness.h.
 */
#ifndef DMABUF_UTIL_H
#define DMABUF_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/types.h>

#define SYSTEM_HEAP "/dev/dma_heap/system"
#define BUFINFO "/sys/kernel/debug/dma_buf/bufinfo"
#define SYSFS_BUFFERS "/sys/kernel/dmabuf/buffers"
#define NO_DEBUGFS "no debugfs " BUFINFO " (CONFIG_DEBUG_FS, debugfs mounted)"

/*
 * Allocate a dma-buf of @size bytes from the system heap, with the file flags
 * @fd_flags (an access mode, optionally O_CLOEXEC). Returns the dma-buf fd, or
 * -errno; -ENOENT means the heap is not in this kernel (tests skip).
 */
static inline int dmabuf_alloc_flags(size_t size, unsigned int fd_flags)
{
	struct dma_heap_allocation_data data = {
		.len = size,
		.fd_flags = fd_flags,
	};
	int heap, ret;

	heap = open(SYSTEM_HEAP, O_RDONLY | O_CLOEXEC);
	if (heap < 0)
		return -errno;
	ret = ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &data);
	ret = ret < 0 ? -errno : (int)data.fd;
	close(heap);
	return ret;
}

/* The usual test buffer: read-write, close-on-exec. */
static inline int dmabuf_alloc(size_t size)
{
	return dmabuf_alloc_flags(size, O_RDWR | O_CLOEXEC);
}

/* The inode number of @fd: a dma-buf's identity in bufinfo and sysfs. */
static inline unsigned long fd_ino(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : (unsigned long)st.st_ino;
}

/*
 * Read the whole of the (small, generated) file @path into @buf, NUL
 * terminated. Returns its length, or -errno.
 */
static inline ssize_t read_text(const char *path, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += n;
	n = n < 0 ? -errno : (ssize_t)len;
	close(fd);
	buf[len] = '\0';
	return n;
}

/* /proc/self/fdinfo/@fd into @buf. */
static inline ssize_t read_fdinfo(int fd, char *buf, size_t cap)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	return read_text(path, buf, cap);
}

/* The "count:" of dma-buf @fd's fdinfo: references on its file (-1: none). */
static inline long fdinfo_count(int fd)
{
	char text[1024], *p;

	if (read_fdinfo(fd, text, sizeof(text)) < 0)
		return -1;
	p = strstr(text, "\ncount:\t");
	return p ? strtol(p + strlen("\ncount:\t"), NULL, 10) : -1;
}

/*
 * The text of the /proc/self/fd/@fd link (the file's d_path): for a dma-buf
 * the core's dentry name, "/dmabuf:<name>". Returns its length or -errno.
 */
static inline ssize_t fd_link(int fd, char *buf, size_t cap)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, buf, cap - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

/*
 * The block debugfs bufinfo prints for the buffer with inode @ino: from the
 * start of its line to the end of its "Total N devices attached" line.
 * Returns 1 and the block in @out, 0 if bufinfo does not list @ino, -errno
 * if bufinfo cannot be read (-ENOENT: no debugfs or no CONFIG_DEBUG_FS).
 */
static inline int bufinfo_entry(unsigned long ino, char *out, size_t cap)
{
	static char text[1 << 16];
	char exp_name[64], *line, *next, *end;
	unsigned long line_ino;
	ssize_t n;

	n = read_text(BUFINFO, text, sizeof(text));
	if (n < 0)
		return n;
	for (line = text; *line; line = next) {
		next = strchr(line, '\n');
		next = next ? next + 1 : line + strlen(line);
		/* only an object's first line starts with a digit (its size) */
		if (line[0] < '0' || line[0] > '9')
			continue;
		if (sscanf(line, "%*u\t%*x\t%*x\t%*d\t%63[^\t]\t%lu\t", exp_name, &line_ino) != 2)
			return -EINVAL;
		if (line_ino != ino)
			continue;
		end = strstr(line, " devices attached\n");
		if (!end)
			return -EINVAL;
		end += strlen(" devices attached\n");
		if ((size_t)(end - line) >= cap)
			return -ENOSPC;
		memcpy(out, line, end - line);
		out[end - line] = '\0';
		return 1;
	}
	return 0;
}

/* Is the buffer with inode @ino listed in bufinfo? (1, 0 or -errno) */
static inline int bufinfo_has(unsigned long ino)
{
	char block[4096];

	return bufinfo_entry(ino, block, sizeof(block));
}

/*
 * The numbers of bufinfo's closing "Total N objects, B bytes" line. Returns 0,
 * or -errno.
 */
static inline int bufinfo_totals(int *objects, size_t *bytes)
{
	static char text[1 << 16];
	char *last;
	ssize_t n;

	n = read_text(BUFINFO, text, sizeof(text));
	if (n < 0)
		return n;
	last = strstr(text, "\nTotal ");
	while (last && strstr(last + 1, "\nTotal "))
		last = strstr(last + 1, "\nTotal ");
	if (!last || sscanf(last, "\nTotal %d objects, %zu bytes\n", objects, bytes) != 2)
		return -EINVAL;
	return 0;
}

/* The number of open file descriptors of this process, or -errno. */
static inline int count_open_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!dir)
		return -errno;
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.')
			n++;
	closedir(dir);
	/* not counting the directory's own */
	return n - 1;
}

/*
 * sw_sync, the software fence timeline in debugfs (drivers/dma-buf/sw_sync.c;
 * its ioctls are not uapi): each open is a timeline named after the opening
 * task's comm, whose fences signal when its counter reaches their value.
 */
#define SW_SYNC "/sys/kernel/debug/sync/sw_sync"

struct sw_sync_create_fence_data {
	__u32 value;
	char name[32];
	__s32 fence;
};

#define SW_SYNC_IOC_CREATE_FENCE _IOWR('W', 0, struct sw_sync_create_fence_data)
#define SW_SYNC_IOC_INC _IOW('W', 1, __u32)

/* Our comm, which names the timelines we open: 0 or -errno. */
static inline int own_comm(char *buf, size_t cap)
{
	ssize_t n = read_text("/proc/self/comm", buf, cap);

	if (n <= 0)
		return n < 0 ? n : -EINVAL;
	if (buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

/* A new timeline, or -errno (-ENOENT: no CONFIG_SW_SYNC, tests skip). */
static inline int sw_sync_timeline(void)
{
	int fd = open(SW_SYNC, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* A sync_file fd of a fence that signals at @value on @timeline, or -errno. */
static inline int sw_sync_fence(int timeline, __u32 value)
{
	struct sw_sync_create_fence_data d = { .value = value, .name = "dmabuf-test" };

	if (ioctl(timeline, SW_SYNC_IOC_CREATE_FENCE, &d))
		return -errno;
	return d.fence;
}

/* Advance @timeline by @step, signalling the fences it reaches. */
static inline int sw_sync_inc(int timeline, __u32 step)
{
	return ioctl(timeline, SW_SYNC_IOC_INC, &step) ? -errno : 0;
}

/* DMA_BUF_IOCTL_IMPORT_SYNC_FILE: 0 or -errno. */
static inline int dmabuf_import(int buf, int sync_file, __u32 flags)
{
	struct dma_buf_import_sync_file arg = { .flags = flags, .fd = sync_file };

	return ioctl(buf, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &arg) ? -errno : 0;
}

/* Import into @buf with @flags a new fence of @timeline that signals at @value. */
static inline int sw_sync_import(int buf, int timeline, __u32 value, __u32 flags)
{
	int f = sw_sync_fence(timeline, value);
	int ret;

	if (f < 0)
		return f;
	ret = dmabuf_import(buf, f, flags);
	close(f);
	return ret;
}

/* How long signal_later() waits, so that the caller blocks first. */
#define SIGNAL_DELAY_US 200000

/* A child that advances @timeline by one after SIGNAL_DELAY_US; its pid. */
static inline pid_t signal_later(int timeline)
{
	pid_t pid = fork();

	if (pid == 0) {
		usleep(SIGNAL_DELAY_US);
		_exit(sw_sync_inc(timeline, 1) ? 1 : 0);
	}
	return pid;
}

/* Wait for the child @pid: its exit code (0: it signalled), or -1. */
static inline int reap(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* DMA_BUF_IOCTL_EXPORT_SYNC_FILE: the new sync_file fd, or -errno. */
static inline int dmabuf_export(int buf, __u32 flags)
{
	struct dma_buf_export_sync_file arg = { .flags = flags, .fd = -1 };

	return ioctl(buf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &arg) ? -errno : arg.fd;
}

/*
 * Addresses no argument can be read from: NULL, low ones, the top page and
 * the kernel half. Cases add one next to a hole (map_page_before_hole).
 */
#define BAD_POINTERS \
	NULL, (void *)1, (void *)8, (void *)(uintptr_t)-4096, (void *)0xffff888000000000ul

/*
 * Two pages of anonymous memory, the first read-write and filled with @fill,
 * the second inaccessible: readable memory ends at the first page's end.
 * Returns the start, or MAP_FAILED; munmap(map, 2 * @page) frees both.
 */
static inline char *map_page_before_hole(long page, int fill)
{
	char *map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (map == MAP_FAILED)
		return map;
	if (mprotect(map + page, page, PROT_NONE)) {
		munmap(map, 2 * page);
		return MAP_FAILED;
	}
	memset(map, fill, page);
	return map;
}

/*
 * For kselftest_harness set-ups and cases: store in @fd a new read-write
 * @size-byte buffer, skipping when the kernel has no system heap.
 */
#define DMABUF_ALLOC_OR_SKIP(fd, size)						\
	do {									\
		(fd) = dmabuf_alloc(size);					\
		if ((fd) == -ENOENT)						\
			SKIP(return, "no system dma-heap (CONFIG_DMABUF_HEAPS_SYSTEM) in this kernel"); \
		ASSERT_GE((fd), 0) TH_LOG("allocating a dma-buf: %s", strerror(-(fd))); \
	} while (0)

/* The same for a new sw_sync timeline in @tl. */
#define SW_SYNC_TIMELINE_OR_SKIP(tl)						\
	do {									\
		(tl) = sw_sync_timeline();					\
		if ((tl) == -ENOENT)						\
			SKIP(return, "no sw_sync in debugfs (CONFIG_SW_SYNC, debugfs mounted)"); \
		ASSERT_GE((tl), 0) TH_LOG("opening sw_sync: %s", strerror(-(tl))); \
	} while (0)

/*
 * The fixture @name of the suites that work on one buffer: a new read-write
 * @size-byte buffer in self->fd, its inode number in self->ino. A case that
 * closes self->fd sets it to -1.
 */
#define DMABUF_FIXTURE(name, size)						\
	FIXTURE(name)								\
	{									\
		int fd;								\
		unsigned long ino;						\
	};									\
	FIXTURE_SETUP(name)							\
	{									\
		DMABUF_ALLOC_OR_SKIP(self->fd, size);				\
		self->ino = fd_ino(self->fd);					\
		ASSERT_NE(0, self->ino);					\
	}									\
	FIXTURE_TEARDOWN(name)							\
	{									\
		if (self->fd >= 0)						\
			close(self->fd);					\
	}

#endif
