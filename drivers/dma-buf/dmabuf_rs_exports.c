// SPDX-License-Identifier: GPL-2.0-only
/*
 * Export table of the Rust dma-buf core.
 *
 * The functions are defined in Rust (dmabuf_rs.rs and its modules); 6.12's
 * Rust cannot emit EXPORT_SYMBOL entries, so they are exported here with the
 * same name, GPL-ness, namespace and config conditions as the C core exports
 * them. The tracepoint exports are in dmabuf_rs_trace.c.
 */
#include <linux/dma-buf.h>
#include <linux/dma-fence.h>
#include <linux/dma-fence-array.h>
#include <linux/dma-fence-chain.h>
#include <linux/dma-fence-unwrap.h>
#include <linux/dma-resv.h>
#include <linux/export.h>
#include <linux/sync_file.h>

/* dma-buf.c: buffers (buf/export.rs) */
EXPORT_SYMBOL_NS_GPL(dma_buf_export, DMA_BUF);
EXPORT_SYMBOL_NS_GPL(dma_buf_fd, DMA_BUF);
EXPORT_SYMBOL_NS_GPL(dma_buf_get, DMA_BUF);
EXPORT_SYMBOL_NS_GPL(dma_buf_put, DMA_BUF);
/* dma-buf.c: importers (buf/attach.rs, buf/attach/map.rs) */
EXPORT_SYMBOL_NS_GPL(dma_buf_dynamic_attach, DMA_BUF);
EXPORT_SYMBOL_NS_GPL(dma_buf_attach, DMA_BUF);
EXPORT_SYMBOL_NS_GPL(dma_buf_detach, DMA_BUF);
EXPORT_SYMBOL_NS_GPL(dma_buf_pin, DMA_BUF);
EXPORT_SYMBOL_NS_GPL(dma_buf_unpin, DMA_BUF);
EXPORT_SYMBOL_NS_GPL(dma_buf_map_attachment, DMA_BUF);
EXPORT_SYMBOL_NS_GPL(dma_buf_map_attachment_unlocked, DMA_BUF);
EXPORT_SYMBOL_NS_GPL(dma_buf_unmap_attachment, DMA_BUF);
EXPORT_SYMBOL_NS_GPL(dma_buf_unmap_attachment_unlocked, DMA_BUF);
EXPORT_SYMBOL_NS_GPL(dma_buf_move_notify, DMA_BUF);
/* dma-buf.c: CPU access and mappings (buf/access.rs) */
EXPORT_SYMBOL_NS_GPL(dma_buf_begin_cpu_access, DMA_BUF);
EXPORT_SYMBOL_NS_GPL(dma_buf_end_cpu_access, DMA_BUF);
EXPORT_SYMBOL_NS_GPL(dma_buf_mmap, DMA_BUF);
EXPORT_SYMBOL_NS_GPL(dma_buf_vmap, DMA_BUF);
EXPORT_SYMBOL_NS_GPL(dma_buf_vmap_unlocked, DMA_BUF);
EXPORT_SYMBOL_NS_GPL(dma_buf_vunmap, DMA_BUF);
EXPORT_SYMBOL_NS_GPL(dma_buf_vunmap_unlocked, DMA_BUF);

/* dma-fence.c */
EXPORT_SYMBOL(dma_fence_get_stub);
EXPORT_SYMBOL(dma_fence_allocate_private_stub);
EXPORT_SYMBOL(dma_fence_context_alloc);
#ifdef CONFIG_LOCKDEP
EXPORT_SYMBOL(dma_fence_begin_signalling);
EXPORT_SYMBOL(dma_fence_end_signalling);
#endif
EXPORT_SYMBOL(dma_fence_signal_timestamp_locked);
EXPORT_SYMBOL(dma_fence_signal_timestamp);
EXPORT_SYMBOL(dma_fence_signal_locked);
EXPORT_SYMBOL(dma_fence_signal);
EXPORT_SYMBOL(dma_fence_wait_timeout);
EXPORT_SYMBOL(dma_fence_release);
EXPORT_SYMBOL(dma_fence_free);
EXPORT_SYMBOL(dma_fence_enable_sw_signaling);
EXPORT_SYMBOL(dma_fence_add_callback);
EXPORT_SYMBOL(dma_fence_get_status);
EXPORT_SYMBOL(dma_fence_remove_callback);
EXPORT_SYMBOL(dma_fence_default_wait);
EXPORT_SYMBOL(dma_fence_wait_any_timeout);
EXPORT_SYMBOL(dma_fence_set_deadline);
EXPORT_SYMBOL(dma_fence_describe);
EXPORT_SYMBOL(dma_fence_init);

/* dma-fence-array.c */
EXPORT_SYMBOL(dma_fence_array_ops);
EXPORT_SYMBOL(dma_fence_array_alloc);
EXPORT_SYMBOL(dma_fence_array_init);
EXPORT_SYMBOL(dma_fence_array_create);
EXPORT_SYMBOL(dma_fence_match_context);
EXPORT_SYMBOL(dma_fence_array_first);
EXPORT_SYMBOL(dma_fence_array_next);

/* dma-fence-chain.c */
EXPORT_SYMBOL(dma_fence_chain_walk);
EXPORT_SYMBOL(dma_fence_chain_find_seqno);
EXPORT_SYMBOL(dma_fence_chain_ops);
EXPORT_SYMBOL(dma_fence_chain_init);

/* dma-fence-unwrap.c */
EXPORT_SYMBOL_GPL(dma_fence_unwrap_first);
EXPORT_SYMBOL_GPL(dma_fence_unwrap_next);
EXPORT_SYMBOL_GPL(__dma_fence_unwrap_merge);

/* dma-resv.c (reservation_ww_class is defined in dmabuf_rs_resv_shims.c) */
EXPORT_SYMBOL(reservation_ww_class);
EXPORT_SYMBOL(dma_resv_init);
EXPORT_SYMBOL(dma_resv_fini);
EXPORT_SYMBOL(dma_resv_reserve_fences);
#ifdef CONFIG_DEBUG_MUTEXES
EXPORT_SYMBOL(dma_resv_reset_max_fences);
#endif
EXPORT_SYMBOL(dma_resv_add_fence);
EXPORT_SYMBOL(dma_resv_replace_fences);
EXPORT_SYMBOL(dma_resv_iter_first_unlocked);
EXPORT_SYMBOL(dma_resv_iter_next_unlocked);
EXPORT_SYMBOL_GPL(dma_resv_iter_first);
EXPORT_SYMBOL_GPL(dma_resv_iter_next);
EXPORT_SYMBOL(dma_resv_copy_fences);
EXPORT_SYMBOL_GPL(dma_resv_get_fences);
EXPORT_SYMBOL_GPL(dma_resv_get_singleton);
EXPORT_SYMBOL_GPL(dma_resv_wait_timeout);
EXPORT_SYMBOL_GPL(dma_resv_set_deadline);
EXPORT_SYMBOL_GPL(dma_resv_test_signaled);
EXPORT_SYMBOL_GPL(dma_resv_describe);

/* sync_file.c (sync_file_get_name is not exported: sync_debug is built in) */
#ifdef CONFIG_SYNC_FILE
EXPORT_SYMBOL(sync_file_create);
EXPORT_SYMBOL(sync_file_get_fence);
#endif
