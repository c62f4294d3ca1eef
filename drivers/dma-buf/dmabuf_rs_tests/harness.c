// SPDX-License-Identifier: GPL-2.0-only
/*
 * Runs every test of the module at load time and reports TAP on the kernel
 * log. The module always loads (the guest unloads it afterwards); the verdict
 * is in the "ok"/"not ok" lines, read by the host.
 */
#include <linux/module.h>

#include "harness.h"

static int __init dmabuf_rs_tests_init(void)
{
	unsigned int i;

	pr_info(T_PREFIX "TAP version 13\n");
	pr_info(T_PREFIX "1..%u\n", dmabuf_rs_fence_tests_count);
	for (i = 0; i < dmabuf_rs_fence_tests_count; i++) {
		const struct dmabuf_rs_test *t = &dmabuf_rs_fence_tests[i];
		int err = t->run();

		if (err)
			pr_info(T_PREFIX "not ok %u - %s # error %d\n", i + 1, t->name, err);
		else
			pr_info(T_PREFIX "ok %u - %s\n", i + 1, t->name);
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
