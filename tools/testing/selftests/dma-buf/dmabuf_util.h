/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the dma-buf kselftests: where test buffers come from. */
#ifndef DMABUF_UTIL_H
#define DMABUF_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/dma-heap.h>

#define SYSTEM_HEAP "/dev/dma_heap/system"

/*
 * Allocate a dma-buf of @size bytes from the system heap. Returns the dma-buf
 * fd, or -errno; -ENOENT means the heap is not in this kernel (tests skip).
 */
static inline int dmabuf_alloc(size_t size)
{
	struct dma_heap_allocation_data data = {
		.len = size,
		.fd_flags = O_RDWR | O_CLOEXEC,
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

#endif
