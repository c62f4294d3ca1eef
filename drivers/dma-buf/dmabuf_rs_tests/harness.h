/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A tiny in-kernel test harness that prints TAP on the kernel log, one line
 * per case, prefixed "dmabuf-rs-tests: " so the guest can pick them out.
 */
#ifndef DMABUF_RS_TESTS_HARNESS_H
#define DMABUF_RS_TESTS_HARNESS_H

#include <linux/printk.h>

struct dmabuf_rs_test {
	const char *name;
	/*
	 * 0 on success, -errno (after printing why) on failure, -EOPNOTSUPP
	 * when the kernel lacks what the test needs (reported as a skip).
	 */
	int (*run)(void);
};

#define T_PREFIX "dmabuf-rs-tests: "

/*
 * Whether @cond is false, printing why the case fails if so; @text is @cond
 * as the caller spelt it (stringified there, before macro expansion).
 */
#define T_FAILED(cond, text, fmt, ...)						\
	(!(cond) && (pr_info(T_PREFIX "# %s:%d: expected %s: " fmt "\n",	\
			     __func__, __LINE__, text, ##__VA_ARGS__), true))

/* Fail the current case with a message when @cond is false. */
#define T_EXPECT(cond, fmt, ...)						\
	do {									\
		if (T_FAILED(cond, #cond, fmt, ##__VA_ARGS__))			\
			return -EINVAL;						\
	} while (0)

/*
 * The same for cases that own resources: sets the local `err` and jumps to
 * the case's `out` label, which releases them.
 */
#define T_CHECK(cond, fmt, ...)							\
	do {									\
		if (T_FAILED(cond, #cond, fmt, ##__VA_ARGS__)) {		\
			err = -EINVAL;						\
			goto out;						\
		}								\
	} while (0)

/* The cases of one file, in the order they run. */
struct dmabuf_rs_suite {
	const struct dmabuf_rs_test *tests;
	unsigned int count;
};

extern const struct dmabuf_rs_suite dmabuf_rs_fence_suite, dmabuf_rs_trace_suite,
	dmabuf_rs_resv_suite, dmabuf_rs_buf_suite, dmabuf_rs_buf_attach_suite,
	dmabuf_rs_buf_access_suite;

#endif
