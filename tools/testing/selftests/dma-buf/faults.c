// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection at every failure point of the operations that reach the
 * dma-buf core from userspace.
 *
 * The kernel's per-task fault injection (/proc/thread-self/fail-nth, with
 * CONFIG_FAULT_INJECTION, CONFIG_FAILSLAB and CONFIG_FAIL_PAGE_ALLOC) fails
 * the n-th fault point the task reaches after the write: here, the n-th slab
 * or page allocation. Each case runs its operation with n = 1, 2, 3, ...
 * until the operation completes without reaching the n-th allocation. After
 * every run the task must hold the same file descriptors and bufinfo list
 * the same dma-bufs as before it: a run that failed left nothing half-made,
 * and one that succeeded cleaned up after itself. A failed run must report
 * a clean errno (ENOMEM, or what the case names); so must a run whose
 * injected fault was absorbed, by succeeding.
 *
 * Each case prints "# fault-sweep <case>: <n> faults injected in <m> runs"
 * for the report. The guest scans kmemleak and the host reads the console
 * for splats after all suites, so a leak or a warning on any failure path
 * fails the run too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <linux/sync_file.h>
#include <linux/udmabuf.h>

#include "../kselftest_harness.h"
#include "dmabuf_util.h"

#define FAIL_NTH "/proc/thread-self/fail-nth"
#define DEBUGFS "/sys/kernel/debug"

/* More runs than any case has allocations: the sweep must end before. */
#define MAX_RUNS 2000

#define BUF_SIZE 4096
#define UDMABUF_SIZE (64 * 1024)

/*
 * The debugfs settings of the two fault types that the sweep needs: by
 * default they ignore allocations that may sleep (GFP_KERNEL, nearly all
 * of the core's), high memory and order 0, and print a stack per fault.
 */
static const struct knob {
	const char *path;
	const char *value;
} knobs[] = {
	{ DEBUGFS "/failslab/ignore-gfp-wait", "N" },
	{ DEBUGFS "/failslab/verbose", "0" },
	{ DEBUGFS "/fail_page_alloc/ignore-gfp-wait", "N" },
	{ DEBUGFS "/fail_page_alloc/ignore-gfp-highmem", "N" },
	{ DEBUGFS "/fail_page_alloc/min-order", "0" },
	{ DEBUGFS "/fail_page_alloc/verbose", "0" },
};

static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	n = n < 0 ? -errno : 0;
	close(fd);
	return n;
}

/* Arm the fault injection: the @n-th fault point from now fails (0: none). */
static int set_nth(int nth, unsigned int n)
{
	char text[16];
	int len = snprintf(text, sizeof(text), "%u", n);

	return pwrite(nth, text, len, 0) == len ? 0 : -errno;
}

/* 0 once the armed fault was injected; the points still to pass otherwise. */
static long get_nth(int nth)
{
	char text[16];
	ssize_t n = pread(nth, text, sizeof(text) - 1, 0);

	if (n <= 0)
		return -1;
	text[n] = '\0';
	return strtol(text, NULL, 10);
}

/* What a run must leave as it found it. */
struct state {
	int fds;
	int bufs;
	size_t bytes;
};

static int snapshot(struct state *s)
{
	s->fds = count_open_fds();
	if (s->fds < 0)
		return s->fds;
	return bufinfo_totals(&s->bufs, &s->bytes);
}

FIXTURE(faults)
{
	int nth;		/* this thread's fail-nth */
	char saved[ARRAY_SIZE(knobs)][16];
	int heap;		/* /dev/dma_heap/system */
	int udmabuf;		/* /dev/udmabuf, or -1 */
	int memfd;		/* sealed memfd for udmabuf */
	int idle;		/* a buffer without fences */
	int busy;		/* a buffer with a read and a write fence, pending */
	int target;		/* a buffer that imports fences */
	int tl[2];		/* two sw_sync timelines */
	int f[2];		/* a pending fence of each */
	int f1b;		/* a later fence of tl[0] */
	int merged;		/* f[0] and f[1] merged */
	int sock[2];		/* a unix socket pair, for fd passing */
	char *hole;		/* where op_mmap maps the buffer, see there */
};

/*
 * A one-page hole in an anonymous mapping whose page tables exist: the first
 * page of the 2 MiB the hole lies in is touched and stays mapped, so every
 * level of page table over the hole is present and stays (munmap keeps the
 * tables a neighbour still uses).
 */
static char *page_table_hole(struct __test_metadata *_metadata)
{
	const size_t pmd = 2 << 20;
	char *area = mmap(NULL, 2 * pmd, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *aligned;

	ASSERT_NE(MAP_FAILED, area);
	aligned = (char *)(((uintptr_t)area + pmd - 1) & ~(uintptr_t)(pmd - 1));
	aligned[0] = 1;
	ASSERT_EQ(0, munmap(aligned + BUF_SIZE, BUF_SIZE));
	return aligned + BUF_SIZE;
}

FIXTURE_SETUP(faults)
{
	struct sync_merge_data m = { .name = "faults" };
	unsigned int i;

	self->tl[0] = self->tl[1] = -1;
	self->nth = open(FAIL_NTH, O_RDWR | O_CLOEXEC);
	if (self->nth < 0)
		SKIP(return, "no %s (CONFIG_FAULT_INJECTION not set)", FAIL_NTH);
	for (i = 0; i < ARRAY_SIZE(knobs); i++) {
		ssize_t n = read_text(knobs[i].path, self->saved[i], sizeof(self->saved[i]));

		if (n == -ENOENT)
			SKIP(return, "no %s (CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC, CONFIG_FAULT_INJECTION_DEBUG_FS, debugfs)",
			     knobs[i].path);
		ASSERT_GT(n, 0) TH_LOG("reading %s: %s", knobs[i].path, strerror(-n));
		ASSERT_EQ(0, write_text(knobs[i].path, knobs[i].value)) TH_LOG("%s", knobs[i].path);
	}

	self->hole = page_table_hole(_metadata);

	self->heap = open(SYSTEM_HEAP, O_RDONLY | O_CLOEXEC);
	if (self->heap < 0)
		SKIP(return, "no system dma-heap (CONFIG_DMABUF_HEAPS_SYSTEM) in this kernel");
	self->udmabuf = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	self->memfd = memfd_create("faults", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	ASSERT_GE(self->memfd, 0);
	ASSERT_EQ(0, ftruncate(self->memfd, UDMABUF_SIZE));
	ASSERT_EQ(0, fcntl(self->memfd, F_ADD_SEALS, F_SEAL_SHRINK));

	DMABUF_ALLOC_OR_SKIP(self->idle, BUF_SIZE);
	DMABUF_ALLOC_OR_SKIP(self->busy, BUF_SIZE);
	DMABUF_ALLOC_OR_SKIP(self->target, BUF_SIZE);
	for (i = 0; i < 2; i++) {
		SW_SYNC_TIMELINE_OR_SKIP(self->tl[i]);
		self->f[i] = sw_sync_fence(self->tl[i], 1);
		ASSERT_GE(self->f[i], 0);
	}
	self->f1b = sw_sync_fence(self->tl[0], 2);
	ASSERT_GE(self->f1b, 0);
	ASSERT_EQ(0, dmabuf_import(self->busy, self->f[0], DMA_BUF_SYNC_WRITE));
	ASSERT_EQ(0, dmabuf_import(self->busy, self->f[1], DMA_BUF_SYNC_READ));
	m.fd2 = self->f[1];
	ASSERT_EQ(0, ioctl(self->f[0], SYNC_IOC_MERGE, &m));
	self->merged = m.fence;
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, self->sock));
}

FIXTURE_TEARDOWN(faults)
{
	unsigned int i;

	if (self->nth <= 0)
		return;
	set_nth(self->nth, 0);
	for (i = 0; i < ARRAY_SIZE(knobs); i++)
		if (self->saved[i][0])
			write_text(knobs[i].path, self->saved[i]);
	/* signal everything, so no fence is left pending in the buffers */
	for (i = 0; i < 2; i++)
		if (self->tl[i] >= 0)
			sw_sync_inc(self->tl[i], 2);
}

/* One operation: 0 on success (having closed what it opened), or -errno. */
typedef int (*op_fn)(FIXTURE_DATA(faults) *self);

/*
 * Run @op with the 1st, 2nd, ... allocation failing until a run reaches none
 * of them. @ok lists the errnos a failed run may report besides ENOMEM
 * (0-terminated, may be NULL).
 */
static void sweep(struct __test_metadata *_metadata, FIXTURE_DATA(faults) *self,
		  const char *name, op_fn op, const int *ok)
{
	struct state before, after;
	unsigned int n, injected = 0;

	/*
	 * One run without faults first: it must work, and it touches the
	 * memory the runs use, so that no page fault of ours takes the
	 * injected failure.
	 */
	ASSERT_EQ(0, op(self)) TH_LOG("%s without fault injection", name);
	ASSERT_EQ(0, snapshot(&before));
	for (n = 1; n <= MAX_RUNS; n++) {
		long left;
		int ret;

		ASSERT_EQ(0, set_nth(self->nth, n));
		ret = op(self);
		left = get_nth(self->nth);
		ASSERT_EQ(0, set_nth(self->nth, 0));
		ASSERT_GE(left, 0);

		ASSERT_EQ(0, snapshot(&after));
		EXPECT_EQ(before.fds, after.fds) TH_LOG("%s, allocation %u failed: fds", name, n);
		EXPECT_EQ(before.bufs, after.bufs) TH_LOG("%s, allocation %u failed: dma-bufs", name, n);
		EXPECT_EQ(before.bytes, after.bytes) TH_LOG("%s, allocation %u failed: bytes", name, n);

		if (left > 0) {
			/* no n-th allocation: the operation must have worked */
			EXPECT_EQ(0, ret) TH_LOG("%s without an injected fault: %s", name, strerror(-ret));
			break;
		}
		injected++;
		if (ret && ret != -ENOMEM) {
			const int *e = ok;

			while (e && *e && *e != -ret)
				e++;
			EXPECT_TRUE(e && *e) TH_LOG("%s, allocation %u failed: errno %d (%s)",
						    name, n, -ret, strerror(-ret));
		}
		if (_metadata->exit_code)	/* stop at the first broken run */
			break;
	}
	EXPECT_LE(n, MAX_RUNS) TH_LOG("%s: still allocating after %u runs", name, MAX_RUNS);
	printf("# fault-sweep %s: %u faults injected in %u runs\n", name, injected, n);
}

/* Close @fd and return @ret: the tail of a successful operation. */
static int close_ret(int fd, int ret)
{
	close(fd);
	return ret;
}

static int op_heap_alloc(FIXTURE_DATA(faults) *self)
{
	struct dma_heap_allocation_data d = { .len = 64 * 1024, .fd_flags = O_RDWR | O_CLOEXEC };

	if (ioctl(self->heap, DMA_HEAP_IOCTL_ALLOC, &d))
		return -errno;
	return close_ret(d.fd, 0);
}

static int op_udmabuf_create(FIXTURE_DATA(faults) *self)
{
	struct udmabuf_create c = {
		.memfd = self->memfd, .flags = UDMABUF_FLAGS_CLOEXEC, .size = UDMABUF_SIZE,
	};
	int fd = ioctl(self->udmabuf, UDMABUF_CREATE, &c);

	return fd < 0 ? -errno : close_ret(fd, 0);
}

/*
 * The buffer is mapped into a hole whose page tables exist already, so that
 * the system heap's remap_pfn_range() allocates none. When a page-table
 * allocation fails inside remap_pfn_range(), 6.12's x86 PAT code warns on the
 * error path (the zap of the half-made mapping asks get_pat_info() for the
 * PFN of a page that was never mapped): a bug of mm, not of the exporter or
 * of either dma-buf core, which the sweep would hit depending on where ASLR
 * put the mapping. Every allocation of the dma-buf core and of mmap itself
 * is still swept.
 */
static int op_mmap(FIXTURE_DATA(faults) *self)
{
	void *map = mmap(self->hole, BUF_SIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED_NOREPLACE, self->idle, 0);

	if (map == MAP_FAILED)
		return -errno;
	return munmap(map, BUF_SIZE) ? -errno : 0;
}

static int op_sync(FIXTURE_DATA(faults) *self)
{
	struct dma_buf_sync s = { .flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW };

	if (ioctl(self->idle, DMA_BUF_IOCTL_SYNC, &s))
		return -errno;
	s.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW;
	return ioctl(self->idle, DMA_BUF_IOCTL_SYNC, &s) ? -errno : 0;
}

static int op_set_name(FIXTURE_DATA(faults) *self)
{
	return ioctl(self->idle, DMA_BUF_SET_NAME_B, "fault-sweep") ? -errno : 0;
}

static int op_export_sync_file(FIXTURE_DATA(faults) *self)
{
	int fd = dmabuf_export(self->busy, DMA_BUF_SYNC_RW);

	return fd < 0 ? fd : close_ret(fd, 0);
}

static int op_import_sync_file(FIXTURE_DATA(faults) *self)
{
	return dmabuf_import(self->target, self->merged, DMA_BUF_SYNC_WRITE);
}

static int op_sw_sync_fence(FIXTURE_DATA(faults) *self)
{
	int fd = sw_sync_fence(self->tl[1], 5);

	return fd < 0 ? fd : close_ret(fd, 0);
}

static int merge(int a, int b)
{
	struct sync_merge_data m = { .name = "fault-sweep", .fd2 = b };

	if (ioctl(a, SYNC_IOC_MERGE, &m))
		return -errno;
	return close_ret(m.fence, 0);
}

static int op_merge_contexts(FIXTURE_DATA(faults) *self)
{
	return merge(self->f[0], self->f[1]);
}

static int op_merge_same_context(FIXTURE_DATA(faults) *self)
{
	return merge(self->f[0], self->f1b);
}

static int op_merge_array(FIXTURE_DATA(faults) *self)
{
	return merge(self->merged, self->f1b);
}

static int op_file_info(FIXTURE_DATA(faults) *self)
{
	struct sync_fence_info fi[2];
	struct sync_file_info info = {
		.num_fences = 2,
		.sync_fence_info = (uintptr_t)fi,
	};

	return ioctl(self->merged, SYNC_IOC_FILE_INFO, &info) ? -errno : 0;
}

static int op_set_deadline(FIXTURE_DATA(faults) *self)
{
	struct sync_set_deadline d = { .deadline_ns = 1 };

	return ioctl(self->f[0], SYNC_IOC_SET_DEADLINE, &d) ? -errno : 0;
}

static int op_poll(FIXTURE_DATA(faults) *self)
{
	struct pollfd p[2] = {
		{ .fd = self->busy, .events = POLLIN | POLLOUT },
		{ .fd = self->merged, .events = POLLIN },
	};
	int n = poll(p, 2, 1);

	return n < 0 ? -errno : 0;
}

/*
 * Send the idle buffer's fd over the socket pair and receive it. A failed
 * receive, or one that could not install the fd (MSG_CTRUNC), is retried
 * once the injected fault is spent, so that no fd stays in flight.
 */
static int op_pass_fd(FIXTURE_DATA(faults) *self)
{
	char data = 'x', cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	int ret = 0, fd;

	memset(cbuf, 0, sizeof(cbuf));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &self->idle, sizeof(int));
	if (sendmsg(self->sock[0], &msg, 0) != 1)
		return -errno;

	for (;;) {
		memset(cbuf, 0, sizeof(cbuf));
		msg.msg_controllen = sizeof(cbuf);
		msg.msg_flags = 0;
		if (recvmsg(self->sock[1], &msg, MSG_CMSG_CLOEXEC) == 1)
			break;
		if (!ret)
			ret = -errno;
		if (errno != ENOMEM && errno != ENOBUFS)
			return ret;
	}
	c = CMSG_FIRSTHDR(&msg);
	if (msg.msg_flags & MSG_CTRUNC || !c || c->cmsg_type != SCM_RIGHTS)
		return ret ? ret : -ENOMEM;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return close_ret(fd, ret);
}

static const int sock_errnos[] = { ENOBUFS, 0 };

#define SWEEP(op, ok) sweep(_metadata, self, #op, op_##op, ok)

TEST_F(faults, heap_alloc) { SWEEP(heap_alloc, NULL); }
TEST_F(faults, mmap) { SWEEP(mmap, NULL); }
TEST_F(faults, sync_start_end) { SWEEP(sync, NULL); }
TEST_F(faults, set_name) { SWEEP(set_name, NULL); }
TEST_F(faults, export_sync_file) { SWEEP(export_sync_file, NULL); }
TEST_F(faults, import_sync_file) { SWEEP(import_sync_file, NULL); }
TEST_F(faults, sw_sync_fence) { SWEEP(sw_sync_fence, NULL); }
TEST_F(faults, merge_two_contexts) { SWEEP(merge_contexts, NULL); }
TEST_F(faults, merge_same_context) { SWEEP(merge_same_context, NULL); }
TEST_F(faults, merge_with_array) { SWEEP(merge_array, NULL); }
TEST_F(faults, file_info) { SWEEP(file_info, NULL); }
TEST_F(faults, set_deadline) { SWEEP(set_deadline, NULL); }
TEST_F(faults, poll) { SWEEP(poll, NULL); }
TEST_F(faults, pass_fd) { SWEEP(pass_fd, sock_errnos); }

TEST_F(faults, udmabuf_create)
{
	if (self->udmabuf < 0)
		SKIP(return, "no /dev/udmabuf (CONFIG_UDMABUF)");
	SWEEP(udmabuf_create, NULL);
}

TEST_HARNESS_MAIN
