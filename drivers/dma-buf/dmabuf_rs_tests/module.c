// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmabuf_rs_tests.ko: one KUnit suite per topic file (fence, trace, resv,
 * buf, buf_attach, buf_access, faults, stress), which KUnit runs when the
 * module loads, printing KTAP on the kernel log. The module always loads;
 * the verdict is in the KTAP, read by the host.
 */
#include <linux/module.h>

MODULE_DESCRIPTION("dmabuf-rs: KUnit tests of the dma-buf core API");
MODULE_LICENSE("GPL");
/* dma_buf_* are exported in the DMA_BUF namespace, by either core. */
MODULE_IMPORT_NS(DMA_BUF);
