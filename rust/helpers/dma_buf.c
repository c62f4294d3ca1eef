// SPDX-License-Identifier: GPL-2.0

#include <linux/dma-fence.h>

/* The core is only there when something selects DMA_SHARED_BUFFER. */
#ifdef CONFIG_DMA_SHARED_BUFFER

struct dma_fence *rust_helper_dma_fence_get(struct dma_fence *fence)
{
	return dma_fence_get(fence);
}

void rust_helper_dma_fence_put(struct dma_fence *fence)
{
	dma_fence_put(fence);
}

bool rust_helper_dma_fence_is_signaled(struct dma_fence *fence)
{
	return dma_fence_is_signaled(fence);
}

#endif
