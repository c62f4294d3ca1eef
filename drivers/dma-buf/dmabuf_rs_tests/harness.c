// SPDX-License-Identifier: GPL-2.0-only
/*
 * Runs every test of the module at load time and reports TAP on the kernel
 * log. The module always loads (the guest unloads it afterwards); the verdict
 * is in the "ok"/"not ok" lines, read by the host.
 */
#include <linux/module.h>

#include "harness.h"

static const struct dmabuf_rs_suite *const suites[] = {
	&dmabuf_rs_fence_suite,
	&dmabuf_rs_trace_suite,
	&dmabuf_rs_resv_suite,
	&dmabuf_rs_buf_suite,
	&dmabuf_rs_buf_attach_suite,
	&dmabuf_rs_buf_access_suite,
};

static int __init dmabuf_rs_tests_init(void)
{
	unsigned int s, i, n = 0, total = 0;

	for (s = 0; s < ARRAY_SIZE(suites); s++)
		total += suites[s]->count;
	pr_info(T_PREFIX "TAP version 13\n");
	pr_info(T_PREFIX "1..%u\n", total);
	for (s = 0; s < ARRAY_SIZE(suites); s++) {
		for (i = 0; i < suites[s]->count; i++) {
			const struct dmabuf_rs_test *t = &suites[s]->tests[i];
			int err = t->run();

			n++;
			if (err == -EOPNOTSUPP)
				pr_info(T_PREFIX "ok %u - %s # SKIP not in this kernel's config\n",
					n, t->name);
			else if (err)
				pr_info(T_PREFIX "not ok %u - %s # error %d\n", n, t->name, err);
			else
				pr_info(T_PREFIX "ok %u - %s\n", n, t->name);
		}
	}
	return 0;
}

static void __exit dmabuf_rs_tests_exit(void)
{
}

module_init(dmabuf_rs_tests_init);
module_exit(dmabuf_rs_tests_exit);
MODULE_DESCRIPTION("dmabuf-rs: in-kernel tests of the dma-buf core API");
MODULE_LICENSE("GPL");
/* dma_buf_* are exported in the DMA_BUF namespace, by either core. */
MODULE_IMPORT_NS(DMA_BUF);
