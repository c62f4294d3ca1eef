// SPDX-License-Identifier: GPL-2.0

#include <linux/dma-buf.h>
#include <linux/dma-fence.h>
#include <linux/dma-fence-array.h>
#include <linux/dma-fence-chain.h>
#include <linux/dma-resv.h>
#include <linux/ww_mutex.h>

/* The core is only there when something selects DMA_SHARED_BUFFER. */
#ifdef CONFIG_DMA_SHARED_BUFFER

/* dma_fence_get()/_put() are inline Rust: kernel::dma_buf::fence::refs. */

bool rust_helper_dma_fence_is_signaled(struct dma_fence *fence)
{
	return dma_fence_is_signaled(fence);
}

bool rust_helper_dma_fence_is_array(struct dma_fence *fence)
{
	return dma_fence_is_array(fence);
}

bool rust_helper_dma_fence_is_chain(struct dma_fence *fence)
{
	return dma_fence_is_chain(fence);
}

#ifndef CONFIG_LOCKDEP
/* Without lockdep these are static inlines (empty); with it, real functions. */
bool rust_helper_dma_fence_begin_signalling(void)
{
	return dma_fence_begin_signalling();
}

void rust_helper_dma_fence_end_signalling(bool cookie)
{
	dma_fence_end_signalling(cookie);
}
#endif

struct dma_fence_chain *rust_helper_dma_fence_chain_alloc(void)
{
	return dma_fence_chain_alloc();
}

int rust_helper_dma_resv_lock(struct dma_resv *obj, struct ww_acquire_ctx *ctx)
{
	return dma_resv_lock(obj, ctx);
}

int rust_helper_dma_resv_lock_interruptible(struct dma_resv *obj, struct ww_acquire_ctx *ctx)
{
	return dma_resv_lock_interruptible(obj, ctx);
}

void rust_helper_dma_resv_lock_slow(struct dma_resv *obj, struct ww_acquire_ctx *ctx)
{
	dma_resv_lock_slow(obj, ctx);
}

int rust_helper_dma_resv_lock_slow_interruptible(struct dma_resv *obj, struct ww_acquire_ctx *ctx)
{
	return dma_resv_lock_slow_interruptible(obj, ctx);
}

bool rust_helper_dma_resv_trylock(struct dma_resv *obj)
{
	return dma_resv_trylock(obj);
}

void rust_helper_dma_resv_unlock(struct dma_resv *obj)
{
	dma_resv_unlock(obj);
}

void rust_helper_dma_resv_assert_held(struct dma_resv *obj)
{
	dma_resv_assert_held(obj);
}

void rust_helper_ww_acquire_init(struct ww_acquire_ctx *ctx, struct ww_class *ww_class)
{
	ww_acquire_init(ctx, ww_class);
}

void rust_helper_ww_acquire_done(struct ww_acquire_ctx *ctx)
{
	ww_acquire_done(ctx);
}

void rust_helper_ww_acquire_fini(struct ww_acquire_ctx *ctx)
{
	ww_acquire_fini(ctx);
}

struct dma_buf *rust_helper_get_dma_buf(struct dma_buf *dmabuf)
{
	get_dma_buf(dmabuf);
	return dmabuf;
}

bool rust_helper_dma_buf_is_dynamic(struct dma_buf *dmabuf)
{
	return dma_buf_is_dynamic(dmabuf);
}

#endif
