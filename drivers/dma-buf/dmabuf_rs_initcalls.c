// SPDX-License-Identifier: GPL-2.0-only
/*
 * Initcalls of the Rust dma-buf core. The work is done in Rust; C only places
 * it at the initcall level the C core uses, which 6.12's Rust cannot choose.
 */
#include <linux/dmabuf-rs-buf.h>
#include <linux/dmabuf-rs-resv.h>
#include <linux/init.h>

/*
 * dma-buf.c's subsys_initcall(dma_buf_init): see dmabuf_rs/buf.rs. It runs
 * first, as dma-buf.o is linked before dma-resv.o in the C core.
 */
static int __init dmabuf_rs_buf_init_call(void)
{
	return dmabuf_rs_buf_init();
}
subsys_initcall(dmabuf_rs_buf_init_call);

#if IS_ENABLED(CONFIG_LOCKDEP)
/* dma-resv.c's subsys_initcall(dma_resv_lockdep): see resv/lockdep.rs. */
static int __init dmabuf_rs_resv_lockdep_init(void)
{
	return dmabuf_rs_resv_lockdep();
}
subsys_initcall(dmabuf_rs_resv_lockdep_init);
#endif
