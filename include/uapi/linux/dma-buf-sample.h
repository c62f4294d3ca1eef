/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The uapi of the dmabuf-rs Rust sample drivers (samples/dma-buf/):
 *
 * - the exporter, /dev/rust-dma-buf-exporter, hands out page-backed dma-bufs
 *   and can move a buffer's backing pages while importers are attached;
 * - the importer, /dev/rust-dma-buf-edu, drives QEMU's edu PCI device: it
 *   copies a range of one dma-buf into another with the device's DMA engine
 *   and returns a sync_file that signals when the copy is done, and reads a
 *   range of a buffer with the CPU to checksum it.
 *
 * Every ioctl rejects unknown flags and non-zero padding with EINVAL; an fd
 * that is not open gets EBADF, an fd that is not a dma-buf EINVAL; a range
 * that is empty or not inside the buffer EINVAL; an unknown ioctl ENOTTY;
 * an argument pointer that cannot be read or written EFAULT. Output fields
 * are ignored on input.
 */
#ifndef _UAPI_LINUX_DMA_BUF_SAMPLE_H
#define _UAPI_LINUX_DMA_BUF_SAMPLE_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define DMA_BUF_SAMPLE_EXPORTER_PATH	"/dev/rust-dma-buf-exporter"
#define DMA_BUF_SAMPLE_EDU_PATH		"/dev/rust-dma-buf-edu"

/* The largest buffer the exporter hands out: larger sizes get EINVAL. */
#define DMA_BUF_SAMPLE_MAX_SIZE		(64ULL << 20)

/**
 * struct dma_buf_sample_alloc - DMA_BUF_SAMPLE_IOC_ALLOC argument
 * @size: in, bytes; a non-zero multiple of the page size, at most
 *	DMA_BUF_SAMPLE_MAX_SIZE (else EINVAL). The buffer starts zeroed.
 * @flags: in, flags of the new fd: O_CLOEXEC and an access mode (O_RDONLY,
 *	O_WRONLY or O_RDWR; O_RDWR allows writable shared mmap); anything
 *	else, O_ACCMODE itself included, is EINVAL
 * @fd: out, the dma-buf fd
 */
struct dma_buf_sample_alloc {
	__u64 size;
	__u32 flags;
	__s32 fd;
};

/**
 * struct dma_buf_sample_move - DMA_BUF_SAMPLE_IOC_MOVE argument
 * @fd: in, a dma-buf of this exporter (another dma-buf is EINVAL)
 * @flags: in, must be 0
 * @moves: out, how many times the buffer has moved, this move included
 *
 * Moves the buffer's contents to newly allocated pages, the way a device
 * driver evicts a buffer: under the buffer's reservation lock, after its
 * fences have signalled, dynamic importers are told (move_notify) and map
 * again on next use; CPU mappings fault the new pages in. A buffer pinned
 * by a static importer, or mapped into the kernel (vmap), cannot move:
 * EBUSY. The wait for fences is interruptible (EINTR).
 */
struct dma_buf_sample_move {
	__s32 fd;
	__u32 flags;
	__u64 moves;
};

#define DMA_BUF_SAMPLE_IOC_MAGIC	0xd8
#define DMA_BUF_SAMPLE_IOC_ALLOC \
	_IOWR(DMA_BUF_SAMPLE_IOC_MAGIC, 0x00, struct dma_buf_sample_alloc)
#define DMA_BUF_SAMPLE_IOC_MOVE \
	_IOWR(DMA_BUF_SAMPLE_IOC_MAGIC, 0x01, struct dma_buf_sample_move)

/**
 * struct edu_dma_buf_copy - EDU_DMA_BUF_IOC_COPY argument
 * @src_fd: in, dma-buf to copy from
 * @dst_fd: in, dma-buf to copy to (may be @src_fd if the ranges do not
 *	overlap; overlapping ranges are EINVAL)
 * @src_offset: in, byte offset in the source
 * @dst_offset: in, byte offset in the destination
 * @len: in, bytes to copy, non-zero; any alignment
 * @flags: in, must be 0
 * @fence_fd: out, a sync_file fd (O_CLOEXEC) that signals when the device
 *	has finished the copy; the same fence is in the destination's
 *	reservation object as a write and in the source's as a read
 * @mapped: out, how many of the two buffers had to be mapped for the
 *	device by this copy (0 when both mappings were kept from an earlier
 *	copy through the same open file, 1 or 2 after a move or at first use;
 *	a copy within one buffer counts it once). Checksums do not map
 *	anything for the device and do not change it.
 * @pad: must be 0
 *
 * The copy waits for the source's writers and for all of the
 * destination's fences before the device touches them (asynchronously:
 * the ioctl returns at once).
 */
struct edu_dma_buf_copy {
	__s32 src_fd;
	__s32 dst_fd;
	__u64 src_offset;
	__u64 dst_offset;
	__u64 len;
	__u32 flags;
	__s32 fence_fd;
	__u32 mapped;
	__u32 pad;
};

/* How EDU_DMA_BUF_IOC_CHECKSUM reads the buffer. */
#define EDU_DMA_BUF_CHECKSUM_PAGES	0	/* one page at a time */
#define EDU_DMA_BUF_CHECKSUM_VMAP	1	/* through one vmap of the buffer */

/**
 * struct edu_dma_buf_checksum - EDU_DMA_BUF_IOC_CHECKSUM argument
 * @fd: in, the dma-buf to read
 * @method: in, EDU_DMA_BUF_CHECKSUM_PAGES or EDU_DMA_BUF_CHECKSUM_VMAP
 * @offset: in, first byte
 * @len: in, bytes, non-zero
 * @checksum: out, 32-bit FNV-1a of the bytes (offset basis 0x811c9dc5,
 *	prime 0x01000193)
 * @pad: must be 0
 *
 * Reads inside a DMA_FROM_DEVICE CPU access bracket, which waits for the
 * buffer's writers first.
 */
struct edu_dma_buf_checksum {
	__s32 fd;
	__u32 method;
	__u64 offset;
	__u64 len;
	__u32 checksum;
	__u32 pad;
};

#define EDU_DMA_BUF_IOC_COPY \
	_IOWR(DMA_BUF_SAMPLE_IOC_MAGIC, 0x10, struct edu_dma_buf_copy)
#define EDU_DMA_BUF_IOC_CHECKSUM \
	_IOWR(DMA_BUF_SAMPLE_IOC_MAGIC, 0x11, struct edu_dma_buf_checksum)

#endif /* _UAPI_LINUX_DMA_BUF_SAMPLE_H */
