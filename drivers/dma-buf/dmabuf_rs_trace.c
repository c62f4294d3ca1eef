// SPDX-License-Identifier: GPL-2.0-only
/*
 * The dma_fence tracepoints of the Rust dma-buf core: their definitions
 * (CREATE_TRACE_POINTS may appear in one file only, as in dma-fence.c), the
 * exports the C core makes, and a one-line wrapper per event that the Rust
 * code fires where the C core fires it.
 */
#include <linux/dma-fence.h>
#include <linux/dmabuf-rs.h>
#include <linux/export.h>

#define CREATE_TRACE_POINTS
#include <trace/events/dma_fence.h>

EXPORT_TRACEPOINT_SYMBOL(dma_fence_emit);
EXPORT_TRACEPOINT_SYMBOL(dma_fence_enable_signal);
EXPORT_TRACEPOINT_SYMBOL(dma_fence_signaled);

void dmabuf_rs_trace_dma_fence_init(struct dma_fence *fence)
{
	trace_dma_fence_init(fence);
}

void dmabuf_rs_trace_dma_fence_destroy(struct dma_fence *fence)
{
	trace_dma_fence_destroy(fence);
}

void dmabuf_rs_trace_dma_fence_enable_signal(struct dma_fence *fence)
{
	trace_dma_fence_enable_signal(fence);
}

void dmabuf_rs_trace_dma_fence_signaled(struct dma_fence *fence)
{
	trace_dma_fence_signaled(fence);
}

void dmabuf_rs_trace_dma_fence_wait_start(struct dma_fence *fence)
{
	trace_dma_fence_wait_start(fence);
}

void dmabuf_rs_trace_dma_fence_wait_end(struct dma_fence *fence)
{
	trace_dma_fence_wait_end(fence);
}
