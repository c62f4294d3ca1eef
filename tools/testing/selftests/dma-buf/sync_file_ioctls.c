// SPDX-License-Identifier: GPL-2.0
/*
 * DMA_BUF_IOCTL_EXPORT_SYNC_FILE and DMA_BUF_IOCTL_IMPORT_SYNC_FILE: the
 * implicit fences of a dma-buf as sync_files and back.
 *
 * Export with READ gives the unsignalled write fences, with WRITE (or RW) all
 * unsignalled fences: none gives the signalled stub fence ("stub-stub0-0"),
 * one gives that fence itself, several a fence array. The new fd is
 * close-on-exec. Import adds every fence of the sync_file (a merged one is
 * unwrapped) as a write fence with WRITE or RW, a read fence with READ; a
 * later fence of the same timeline replaces an earlier one. Flags must be a
 * non-empty subset of RW (-EINVAL); the fd must be a sync_file (-EINVAL);
 * unreadable or (export) unwritable arguments are -EFAULT.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/sync_file.h>

#include "../kselftest_harness.h"
#include "dmabuf_util.h"

#define BUF_SIZE (4 * 4096)

FIXTURE(sync_file_ioctls)
{
	int buf;
	int tl[2];
	char comm[32];	/* the timelines' name: our comm */
};

FIXTURE_SETUP(sync_file_ioctls)
{
	SW_SYNC_TIMELINE_OR_SKIP(self->tl[0]);
	self->tl[1] = sw_sync_timeline();
	ASSERT_GE(self->tl[1], 0);
	DMABUF_ALLOC_OR_SKIP(self->buf, BUF_SIZE);
	ASSERT_EQ(0, own_comm(self->comm, sizeof(self->comm)));
}

FIXTURE_TEARDOWN(sync_file_ioctls)
{
	if (self->buf >= 0)
		close(self->buf);
	if (self->tl[0] >= 0)
		close(self->tl[0]);
	if (self->tl[1] >= 0)
		close(self->tl[1]);
}

/* SYNC_IOC_FILE_INFO of @sf: the count-only query (status of the whole). */
static int info_count(int sf, struct sync_file_info *info)
{
	memset(info, 0, sizeof(*info));
	return ioctl(sf, SYNC_IOC_FILE_INFO, info) ? -errno : 0;
}

/* SYNC_IOC_FILE_INFO of @sf with room for @n fences in @fi. */
static int info_fences(int sf, struct sync_file_info *info, struct sync_fence_info *fi, int n)
{
	memset(info, 0, sizeof(*info));
	memset(fi, 0, n * sizeof(*fi));
	info->num_fences = n;
	info->sync_fence_info = (uintptr_t)fi;
	return ioctl(sf, SYNC_IOC_FILE_INFO, info) ? -errno : 0;
}

/* Expect @sf to be the stub: one signalled fence, no user name. */
static void expect_stub(struct __test_metadata *_metadata, int sf)
{
	struct sync_fence_info fi[2];
	struct sync_file_info info;

	ASSERT_EQ(0, info_count(sf, &info));
	EXPECT_EQ(1, info.num_fences);
	EXPECT_EQ(1, info.status);
	EXPECT_STREQ("stub-stub0-0", info.name);
	ASSERT_EQ(0, info_fences(sf, &info, fi, 2));
	EXPECT_EQ(1, info.num_fences);
	EXPECT_EQ(1, info.status);
	EXPECT_STREQ("stub", fi[0].driver_name);
	EXPECT_STREQ("stub", fi[0].obj_name);
	EXPECT_EQ(1, fi[0].status);
}

/*
 * Expect @sf to be exactly one sw_sync fence of value @seqno on a timeline of
 * ours, with status @status.
 */
static void expect_sw_sync(struct __test_metadata *_metadata, int sf, const char *comm,
			   __u32 seqno, int status)
{
	struct sync_fence_info fi[2];
	struct sync_file_info info;
	char prefix[64], suffix[16];

	ASSERT_EQ(0, info_count(sf, &info));
	EXPECT_EQ(1, info.num_fences);
	EXPECT_EQ(status, info.status);
	/* "<driver>-<timeline><context>-<seqno>" */
	snprintf(prefix, sizeof(prefix), "sw_sync-%s", comm);
	snprintf(suffix, sizeof(suffix), "-%u", seqno);
	EXPECT_EQ(0, strncmp(info.name, prefix, strlen(prefix))) TH_LOG("name %s", info.name);
	EXPECT_STREQ(suffix, info.name + strlen(info.name) - strlen(suffix));
	ASSERT_EQ(0, info_fences(sf, &info, fi, 2));
	EXPECT_EQ(1, info.num_fences);
	EXPECT_STREQ("sw_sync", fi[0].driver_name);
	EXPECT_STREQ(comm, fi[0].obj_name);
	EXPECT_EQ(status, fi[0].status);
}

/* Expect @sf to be an unsignalled array of two fences (by the count-only query). */
static void expect_pending_pair(struct __test_metadata *_metadata, int sf)
{
	struct sync_file_info info;

	ASSERT_EQ(0, info_count(sf, &info));
	EXPECT_EQ(2, info.num_fences);
	EXPECT_EQ(0, info.status);
	EXPECT_EQ(0, strncmp(info.name, "dma_fence_array-unbound", 23)) TH_LOG("name %s", info.name);
}

/* Export the fences of @buf for @flags and expect the stub. */
static void expect_export_stub(struct __test_metadata *_metadata, int buf, __u32 flags)
{
	int sf = dmabuf_export(buf, flags);

	ASSERT_LE(0, sf) TH_LOG("flags %u: %s", flags, strerror(-sf));
	expect_stub(_metadata, sf);
	close(sf);
}

/*
 * Export the fences of the fixture's buffer for @flags and expect one
 * sw_sync fence of value @seqno, with status @status.
 */
static void expect_export_sw_sync(struct __test_metadata *_metadata,
				  FIXTURE_DATA(sync_file_ioctls) *self, __u32 flags, __u32 seqno,
				  int status)
{
	int sf = dmabuf_export(self->buf, flags);

	ASSERT_LE(0, sf) TH_LOG("flags %u: %s", flags, strerror(-sf));
	expect_sw_sync(_metadata, sf, self->comm, seqno, status);
	close(sf);
}

/* The lowest free fd: what the next fd-creating call must return. */
static int lowest_free_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd >= 0)
		close(fd);
	return fd;
}

TEST_F(sync_file_ioctls, export_idle_gives_signalled_stub)
{
	static const __u32 flags[] = { DMA_BUF_SYNC_READ, DMA_BUF_SYNC_WRITE, DMA_BUF_SYNC_RW };
	unsigned int i;

	for (i = 0; i < 3; i++)
		expect_export_stub(_metadata, self->buf, flags[i]);
}

TEST_F(sync_file_ioctls, exported_fd_is_cloexec_sync_file)
{
	int expect_fd = lowest_free_fd();
	int sf = dmabuf_export(self->buf, DMA_BUF_SYNC_READ);

	ASSERT_LE(0, sf);
	EXPECT_EQ(expect_fd, sf);
	EXPECT_EQ(FD_CLOEXEC, fcntl(sf, F_GETFD));
	/* A sync_file cannot seek; a dma-buf can: this is not the buffer. */
	errno = 0;
	EXPECT_EQ(-1, lseek(sf, 0, SEEK_SET));
	EXPECT_EQ(ESPIPE, errno);
	close(sf);
}

TEST_F(sync_file_ioctls, write_import_then_export)
{
	int f = sw_sync_fence(self->tl[0], 1);
	int rd, wr, rw;

	ASSERT_LE(0, f);
	ASSERT_EQ(0, dmabuf_import(self->buf, f, DMA_BUF_SYNC_WRITE));
	rd = dmabuf_export(self->buf, DMA_BUF_SYNC_READ);
	wr = dmabuf_export(self->buf, DMA_BUF_SYNC_WRITE);
	rw = dmabuf_export(self->buf, DMA_BUF_SYNC_RW);
	ASSERT_LE(0, rd);
	ASSERT_LE(0, wr);
	ASSERT_LE(0, rw);
	/* A write fence is in both views, alone, so it is exported as itself. */
	expect_sw_sync(_metadata, rd, self->comm, 1, 0);
	expect_sw_sync(_metadata, wr, self->comm, 1, 0);
	expect_sw_sync(_metadata, rw, self->comm, 1, 0);

	/* The exported sync_files follow the fence. */
	ASSERT_EQ(0, sw_sync_inc(self->tl[0], 1));
	expect_sw_sync(_metadata, rd, self->comm, 1, 1);
	expect_sw_sync(_metadata, wr, self->comm, 1, 1);

	/* Signalled fences are not exported: back to the stub. */
	expect_export_stub(_metadata, self->buf, DMA_BUF_SYNC_WRITE);
	close(rd);
	close(wr);
	close(rw);
	close(f);
}

TEST_F(sync_file_ioctls, read_import_then_export)
{
	int f = sw_sync_fence(self->tl[0], 1);
	int wr;

	ASSERT_LE(0, f);
	ASSERT_EQ(0, dmabuf_import(self->buf, f, DMA_BUF_SYNC_READ));
	/* Readers need not wait for a read fence; writers must. */
	expect_export_stub(_metadata, self->buf, DMA_BUF_SYNC_READ);
	wr = dmabuf_export(self->buf, DMA_BUF_SYNC_WRITE);
	ASSERT_LE(0, wr);
	expect_sw_sync(_metadata, wr, self->comm, 1, 0);
	ASSERT_EQ(0, sw_sync_inc(self->tl[0], 1));
	expect_sw_sync(_metadata, wr, self->comm, 1, 1);
	close(wr);
	close(f);
}

TEST_F(sync_file_ioctls, rw_import_is_a_write_fence)
{
	int f = sw_sync_fence(self->tl[0], 1);

	ASSERT_LE(0, f);
	ASSERT_EQ(0, dmabuf_import(self->buf, f, DMA_BUF_SYNC_RW));
	expect_export_sw_sync(_metadata, self, DMA_BUF_SYNC_READ, 1, 0);
	close(f);
}

TEST_F(sync_file_ioctls, several_fences_export_as_array)
{
	struct sync_fence_info fi[4];
	struct sync_file_info info;
	int w = sw_sync_fence(self->tl[0], 1);
	int r = sw_sync_fence(self->tl[1], 1);
	unsigned int i;
	int all, rd;

	ASSERT_LE(0, w);
	ASSERT_LE(0, r);
	ASSERT_EQ(0, dmabuf_import(self->buf, w, DMA_BUF_SYNC_WRITE));
	ASSERT_EQ(0, dmabuf_import(self->buf, r, DMA_BUF_SYNC_READ));
	all = dmabuf_export(self->buf, DMA_BUF_SYNC_WRITE);
	rd = dmabuf_export(self->buf, DMA_BUF_SYNC_READ);
	ASSERT_LE(0, all);
	ASSERT_LE(0, rd);

	expect_pending_pair(_metadata, all);
	ASSERT_EQ(0, info_fences(all, &info, fi, 4));
	EXPECT_EQ(2, info.num_fences);
	EXPECT_EQ(0, info.status);
	for (i = 0; i < 2; i++) {
		EXPECT_STREQ("sw_sync", fi[i].driver_name);
		EXPECT_EQ(0, fi[i].status);
	}
	/* Readers only wait for the write fence. */
	expect_sw_sync(_metadata, rd, self->comm, 1, 0);

	/* The array signals once both have. */
	ASSERT_EQ(0, sw_sync_inc(self->tl[0], 1));
	ASSERT_EQ(0, info_count(all, &info));
	EXPECT_EQ(0, info.status);
	expect_sw_sync(_metadata, rd, self->comm, 1, 1);
	ASSERT_EQ(0, sw_sync_inc(self->tl[1], 1));
	ASSERT_EQ(0, info_count(all, &info));
	EXPECT_EQ(1, info.status);
	close(all);
	close(rd);
	close(w);
	close(r);
}

TEST_F(sync_file_ioctls, merged_sync_file_is_unwrapped)
{
	struct sync_merge_data m = { .name = "merged" };
	int a = sw_sync_fence(self->tl[0], 1);
	int b = sw_sync_fence(self->tl[1], 1);
	int out;

	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	m.fd2 = b;
	ASSERT_EQ(0, ioctl(a, SYNC_IOC_MERGE, &m));
	/* Import the merged file as one read fence... but it is two fences. */
	ASSERT_EQ(0, dmabuf_import(self->buf, m.fence, DMA_BUF_SYNC_READ));
	out = dmabuf_export(self->buf, DMA_BUF_SYNC_WRITE);
	ASSERT_LE(0, out);
	expect_pending_pair(_metadata, out);
	close(out);

	/* Once one has signalled only the other is exported, as itself. */
	ASSERT_EQ(0, sw_sync_inc(self->tl[0], 1));
	expect_export_sw_sync(_metadata, self, DMA_BUF_SYNC_WRITE, 1, 0);
	close(m.fence);
	close(a);
	close(b);
}

TEST_F(sync_file_ioctls, later_fence_of_a_timeline_replaces_earlier)
{
	int f1 = sw_sync_fence(self->tl[0], 1);
	int f2 = sw_sync_fence(self->tl[0], 2);

	ASSERT_LE(0, f1);
	ASSERT_LE(0, f2);
	ASSERT_EQ(0, dmabuf_import(self->buf, f1, DMA_BUF_SYNC_WRITE));
	ASSERT_EQ(0, dmabuf_import(self->buf, f2, DMA_BUF_SYNC_WRITE));
	expect_export_sw_sync(_metadata, self, DMA_BUF_SYNC_WRITE, 2, 0);

	/* The replaced fence is gone: signalling it leaves the later one. */
	ASSERT_EQ(0, sw_sync_inc(self->tl[0], 1));
	expect_export_sw_sync(_metadata, self, DMA_BUF_SYNC_READ, 2, 0);
	close(f1);
	close(f2);
}

TEST_F(sync_file_ioctls, bad_flags)
{
	static const __u32 bad[] = { 0, DMA_BUF_SYNC_END, DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END,
				     DMA_BUF_SYNC_READ | 8, 1u << 31, ~0u };
	struct dma_buf_export_sync_file ex;
	int f = sw_sync_fence(self->tl[0], 1);
	unsigned int i;
	int expect_fd;

	ASSERT_LE(0, f);
	expect_fd = lowest_free_fd();
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ex = (struct dma_buf_export_sync_file){ .flags = bad[i], .fd = 1234 };
		EXPECT_EQ(-1, ioctl(self->buf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &ex));
		EXPECT_EQ(EINVAL, errno) TH_LOG("export flags %#x", bad[i]);
		EXPECT_EQ(1234, ex.fd);
		EXPECT_EQ(-EINVAL, dmabuf_import(self->buf, f, bad[i])) TH_LOG("import flags %#x", bad[i]);
	}
	/* No fd was left behind, and nothing was imported. */
	EXPECT_EQ(expect_fd, lowest_free_fd());
	expect_export_stub(_metadata, self->buf, DMA_BUF_SYNC_WRITE);
	close(f);
}

TEST_F(sync_file_ioctls, import_needs_a_sync_file)
{
	int not_sync[] = { -1, 9999, self->buf, self->tl[0], 0 };
	unsigned int i;

	not_sync[4] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, not_sync[4]);
	for (i = 0; i < ARRAY_SIZE(not_sync); i++) {
		EXPECT_EQ(-EINVAL, dmabuf_import(self->buf, not_sync[i], DMA_BUF_SYNC_WRITE))
			TH_LOG("fd %d", not_sync[i]);
		EXPECT_EQ(-EINVAL, dmabuf_import(self->buf, not_sync[i], DMA_BUF_SYNC_READ))
			TH_LOG("fd %d", not_sync[i]);
	}
	close(not_sync[4]);
	expect_export_stub(_metadata, self->buf, DMA_BUF_SYNC_WRITE);
}

TEST_F(sync_file_ioctls, bad_pointers)
{
	long page = sysconf(_SC_PAGESIZE);
	void *bad[] = { BAD_POINTERS, NULL };
	struct dma_buf_export_sync_file *ro;
	int expect_fd, f;
	unsigned int i;
	char *map;

	map = map_page_before_hole(page, 0);
	ASSERT_NE(MAP_FAILED, map);
	/* An argument straddling into the inaccessible page. */
	bad[ARRAY_SIZE(bad) - 1] = map + page - 4;
	*(__u32 *)(map + page - 4) = DMA_BUF_SYNC_WRITE;

	f = sw_sync_fence(self->tl[0], 1);
	ASSERT_LE(0, f);
	expect_fd = lowest_free_fd();
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-1, ioctl(self->buf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, bad[i]));
		EXPECT_EQ(EFAULT, errno) TH_LOG("export %p", bad[i]);
		EXPECT_EQ(-1, ioctl(self->buf, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, bad[i]));
		EXPECT_EQ(EFAULT, errno) TH_LOG("import %p", bad[i]);
	}

	/*
	 * Export into a read-only argument: the request reads fine, the sync_file
	 * is made, then writing the fd back faults; the fd is not installed.
	 */
	ro = (void *)map;
	ro->flags = DMA_BUF_SYNC_WRITE;
	ro->fd = 77;
	ASSERT_EQ(0, mprotect(map, page, PROT_READ));
	EXPECT_EQ(-1, ioctl(self->buf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, ro));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(77, ro->fd);
	/* Import only reads its argument: read-only is fine. */
	ASSERT_EQ(0, mprotect(map, page, PROT_READ | PROT_WRITE));
	((struct dma_buf_import_sync_file *)map)->flags = DMA_BUF_SYNC_WRITE;
	((struct dma_buf_import_sync_file *)map)->fd = f;
	ASSERT_EQ(0, mprotect(map, page, PROT_READ));
	EXPECT_EQ(0, ioctl(self->buf, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, map));
	EXPECT_EQ(expect_fd, lowest_free_fd());
	expect_export_sw_sync(_metadata, self, DMA_BUF_SYNC_READ, 1, 0);
	close(f);
	munmap(map, 2 * page);
}

TEST_HARNESS_MAIN
