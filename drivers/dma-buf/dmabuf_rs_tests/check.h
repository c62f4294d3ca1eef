/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the KUnit cases of dmabuf_rs_tests.ko share on top of KUnit's own
 * KUNIT_ASSERT and KUNIT_EXPECT macros.
 */
#ifndef DMABUF_RS_TESTS_CHECK_H
#define DMABUF_RS_TESTS_CHECK_H

#include <kunit/test.h>

/*
 * KUNIT_EXPECT_TRUE_MSG() for a case that owns resources: when @cond is
 * false, fails @test with @cond as the caller spelt it and the message, sets
 * the case's local `err` and jumps to its `out` label, which releases them.
 * (A failed KUNIT_ASSERT ends the case's thread at once, leaking them.)
 * @cond is evaluated once.
 */
#define KUNIT_CHECK_OR_OUT(test, cond, fmt, ...)				\
	do {									\
		if (!(cond)) {							\
			KUNIT_FAIL(test, "Expected %s: " fmt, #cond,		\
				   ##__VA_ARGS__);				\
			err = -EINVAL;						\
			goto out;						\
		}								\
	} while (0)

#endif
