/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * C shims of the Rust dma-buf core (attach part), defined in
 * drivers/dma-buf/dmabuf_rs_attach_shims.c. include/linux/dmabuf-rs.h includes
 * this header, so that bindgen sees it.
 */
#ifndef _LINUX_DMABUF_RS_ATTACH_H
#define _LINUX_DMABUF_RS_ATTACH_H

#include <linux/types.h>

struct dma_resv;

/*
 * might_lock(&obj->lock.base): tells lockdep that the caller may take the
 * reservation lock of @obj, so that a caller that holds it is reported even
 * on paths that end up not taking it.
 */
void dmabuf_rs_might_lock_resv(struct dma_resv *obj);

/*
 * The pr_debug of dma_buf_map_attachment() under CONFIG_DMA_API_DEBUG for a
 * scatterlist entry whose DMA address or length is not page aligned (the
 * check itself is made in Rust).
 */
void dmabuf_rs_map_debug_unaligned(u64 addr, int len);

#endif /* _LINUX_DMABUF_RS_ATTACH_H */
