// SPDX-License-Identifier: GPL-2.0-only
/*
 * Export table of the Rust dma-buf core.
 *
 * The functions are defined in Rust (dmabuf_rs.rs and its modules); 6.12's
 * Rust cannot emit EXPORT_SYMBOL entries, so they are exported here with the
 * same name, GPL-ness and namespace as the C core exports them.
 */
#include <linux/dma-fence.h>
#include <linux/export.h>

/* dma-fence.c */
EXPORT_SYMBOL(dma_fence_context_alloc);
