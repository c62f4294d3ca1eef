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

/* Fail the current case with a message when @cond is false. */
#define T_EXPECT(cond, fmt, ...)						\
	do {									\
		if (!(cond)) {							\
			pr_info(T_PREFIX "# %s:%d: expected %s: " fmt "\n",	\
				__func__, __LINE__, #cond, ##__VA_ARGS__);	\
			return -EINVAL;						\
		}								\
	} while (0)

/*
 * The same for cases that own resources: sets the local `err` and jumps to
 * the case's `out` label, which releases them.
 */
#define T_CHECK(cond, fmt, ...)							\
	do {									\
		if (!(cond)) {							\
			pr_info(T_PREFIX "# %s:%d: expected %s: " fmt "\n",	\
				__func__, __LINE__, #cond, ##__VA_ARGS__);	\
			err = -EINVAL;						\
			goto out;						\
		}								\
	} while (0)

extern const struct dmabuf_rs_test dmabuf_rs_fence_tests[];
extern const unsigned int dmabuf_rs_fence_tests_count;
extern const struct dmabuf_rs_test dmabuf_rs_trace_tests[];
extern const unsigned int dmabuf_rs_trace_tests_count;
extern const struct dmabuf_rs_test dmabuf_rs_resv_tests[];
extern const unsigned int dmabuf_rs_resv_tests_count;
extern const struct dmabuf_rs_test dmabuf_rs_buf_tests[];
extern const unsigned int dmabuf_rs_buf_tests_count;
extern const struct dmabuf_rs_test dmabuf_rs_buf_attach_tests[];
extern const unsigned int dmabuf_rs_buf_attach_tests_count;
extern const struct dmabuf_rs_test dmabuf_rs_buf_access_tests[];
extern const unsigned int dmabuf_rs_buf_access_tests_count;

#endif
