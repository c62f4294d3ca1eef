// SPDX-License-Identifier: GPL-2.0
/*
 * What the kernel reports about a dma-buf, in the C core's exact formats:
 * - /proc/self/fdinfo/N: the VFS lines, then "size:\t%zu", "count:\t%ld"
 *   (references on the file, not counting procfs' own), "exp_name:\t%s" and,
 *   once a name was set, "name:\t%s";
 * - debugfs dma_buf/bufinfo: a header, per buffer a line
 *   "%08zu\t%08x\t%08x\t%08ld\t%s\t%08lu\t%s" (size, f_flags, f_mode, file
 *   references, exporter, inode, name or "<none>"), its fences, its attached
 *   devices, and a closing "Total %d objects, %zu bytes" line;
 * - sysfs dmabuf/buffers/<inode>/{exporter_name,size} (DMABUF_SYSFS_STATS);
 * - fstat/fstatfs of the fd: the size, a unique increasing inode number, the
 *   dmabuf pseudo filesystem.
 * The file's flags keep only the access mode and O_NONBLOCK of the exporter's.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "../kselftest_harness.h"
#include "dmabuf_util.h"

#define BUF_SIZE (4 * 4096)
#define NO_SYSFS_STATS "no " SYSFS_BUFFERS " (CONFIG_DMABUF_SYSFS_STATS)"

DMABUF_FIXTURE(info, BUF_SIZE);

/* The expected fdinfo of dma-buf @fd; mnt_id taken from @actual. */
static void expected_fdinfo(char *out, size_t cap, const char *actual, const char *flags,
			    unsigned long ino, size_t size, long count, const char *name_line)
{
	const char *m = strstr(actual, "\nmnt_id:\t");
	int mnt_id = m ? atoi(m + strlen("\nmnt_id:\t")) : -1;

	snprintf(out, cap,
		 "pos:\t0\nflags:\t%s\nmnt_id:\t%d\nino:\t%lu\nsize:\t%zu\ncount:\t%ld\nexp_name:\tsystem\n%s",
		 flags, mnt_id, ino, size, count, name_line);
}

static void expect_fdinfo(struct __test_metadata *_metadata, int fd, const char *flags,
			  unsigned long ino, size_t size, long count, const char *name_line)
{
	char actual[1024], want[1024];

	ASSERT_LT(0, read_fdinfo(fd, actual, sizeof(actual)));
	expected_fdinfo(want, sizeof(want), actual, flags, ino, size, count, name_line);
	EXPECT_STREQ(want, actual);
}

/* Expect bufinfo's entry for @ino, up to its devices, to be @first_line + @fences. */
static void expect_bufinfo(struct __test_metadata *_metadata, unsigned long ino,
			   const char *first_line, const char *fences)
{
	char actual[4096], want[4096];
	int ret = bufinfo_entry(ino, actual, sizeof(actual));

	ASSERT_EQ(1, ret) TH_LOG("buffer %lu not in bufinfo (%d)", ino, ret);
	snprintf(want, sizeof(want), "%s%s\tAttached Devices:\nTotal 0 devices attached\n",
		 first_line, fences);
	EXPECT_STREQ(want, actual);
}

static void bufinfo_line(char *out, size_t cap, size_t size, unsigned int flags,
			 unsigned int mode, long count, unsigned long ino, const char *name)
{
	snprintf(out, cap, "%08zu\t%08x\t%08x\t%08ld\tsystem\t%08lu\t%s\n", size, flags, mode,
		 count, ino, name);
}

/* f_mode bits of the C core's files: FMODE_READ, _WRITE, _LSEEK, _OPENED. */
#define FMODE_READ 0x1
#define FMODE_WRITE 0x2
#define FMODE_LSEEK 0x4
#define FMODE_OPENED 0x80000

TEST_F(info, fdinfo_exact)
{
	expect_fdinfo(_metadata, self->fd, "02000002", self->ino, BUF_SIZE, 1, "");
	ASSERT_EQ(0, ioctl(self->fd, DMA_BUF_SET_NAME_A, "named"));
	expect_fdinfo(_metadata, self->fd, "02000002", self->ino, BUF_SIZE, 1, "name:\tnamed\n");
}

TEST_F(info, fdinfo_count_follows_references)
{
	void *map;
	int d;

	d = dup(self->fd);
	ASSERT_LE(0, d);
	/* dup() clears close-on-exec: fdinfo shows it per fd. */
	expect_fdinfo(_metadata, d, "02", self->ino, BUF_SIZE, 2, "");
	expect_fdinfo(_metadata, self->fd, "02000002", self->ino, BUF_SIZE, 2, "");
	map = mmap(NULL, BUF_SIZE, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	expect_fdinfo(_metadata, self->fd, "02000002", self->ino, BUF_SIZE, 3, "");
	close(d);
	expect_fdinfo(_metadata, self->fd, "02000002", self->ino, BUF_SIZE, 2, "");
	munmap(map, BUF_SIZE);
	expect_fdinfo(_metadata, self->fd, "02000002", self->ino, BUF_SIZE, 1, "");
}

TEST_F(info, fdinfo_other_sizes)
{
	static const size_t sizes[] = { 4096, 3 * 4096, 64 * 4096 };
	unsigned int i;
	int fd;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		fd = dmabuf_alloc(sizes[i]);
		ASSERT_LE(0, fd);
		expect_fdinfo(_metadata, fd, "02000002", fd_ino(fd), sizes[i], 1, "");
		close(fd);
	}
}

TEST_F(info, bufinfo_header_and_totals)
{
	static char text[1 << 16];
	static const char header[] = "\nDma-buf Objects:\n"
				     "size    \tflags   \tmode    \tcount   \texp_name\tino     \tname\n";
	int objects, objects2, n;
	size_t bytes, bytes2;
	char tail[128];
	ssize_t len;
	int fd;

	len = read_text(BUFINFO, text, sizeof(text));
	if (len == -ENOENT)
		SKIP(return, NO_DEBUGFS);
	ASSERT_LT(0, len);
	EXPECT_EQ(0, strncmp(text, header, strlen(header))) TH_LOG("bufinfo starts: %.120s", text);
	ASSERT_EQ(0, bufinfo_totals(&objects, &bytes));
	/* The totals line ends the file. */
	n = snprintf(tail, sizeof(tail), "\nTotal %d objects, %zu bytes\n", objects, bytes);
	ASSERT_LE(n, len);
	EXPECT_STREQ(tail, text + len - n);
	EXPECT_LE(1, objects);
	EXPECT_LE(BUF_SIZE, bytes);

	fd = dmabuf_alloc(3 * 4096);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bufinfo_totals(&objects2, &bytes2));
	EXPECT_EQ(objects + 1, objects2);
	EXPECT_EQ(bytes + 3 * 4096, bytes2);
	close(fd);
	ASSERT_EQ(0, bufinfo_totals(&objects2, &bytes2));
	EXPECT_EQ(objects, objects2);
	EXPECT_EQ(bytes, bytes2);
}

TEST_F(info, bufinfo_entry_exact)
{
	char line[256];
	void *map;
	int d;

	if (access(BUFINFO, R_OK))
		SKIP(return, NO_DEBUGFS);

	bufinfo_line(line, sizeof(line), BUF_SIZE, O_RDWR,
		     FMODE_READ | FMODE_WRITE | FMODE_LSEEK | FMODE_OPENED, 1, self->ino, "<none>");
	expect_bufinfo(_metadata, self->ino, line, "");

	/* count is every reference on the file: fds and mappings. */
	d = dup(self->fd);
	ASSERT_LE(0, d);
	map = mmap(NULL, BUF_SIZE, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, ioctl(self->fd, DMA_BUF_SET_NAME_B, "info-test"));
	bufinfo_line(line, sizeof(line), BUF_SIZE, O_RDWR,
		     FMODE_READ | FMODE_WRITE | FMODE_LSEEK | FMODE_OPENED, 3, self->ino, "info-test");
	expect_bufinfo(_metadata, self->ino, line, "");
	munmap(map, BUF_SIZE);
	close(d);
}

TEST_F(info, bufinfo_access_modes)
{
	static const struct {
		unsigned int open_flags, mode;
		const char *fdinfo_flags;
	} modes[] = {
		{ O_RDONLY, FMODE_READ | FMODE_LSEEK | FMODE_OPENED, "02000000" },
		{ O_WRONLY, FMODE_WRITE | FMODE_LSEEK | FMODE_OPENED, "02000001" },
		{ O_RDWR, FMODE_READ | FMODE_WRITE | FMODE_LSEEK | FMODE_OPENED, "02000002" },
	};
	char line[256];
	unsigned int i;
	int fd;

	if (access(BUFINFO, R_OK))
		SKIP(return, NO_DEBUGFS);

	for (i = 0; i < ARRAY_SIZE(modes); i++) {
		fd = dmabuf_alloc_flags(4096, modes[i].open_flags | O_CLOEXEC);
		ASSERT_LE(0, fd);
		EXPECT_EQ(modes[i].open_flags, fcntl(fd, F_GETFL));
		expect_fdinfo(_metadata, fd, modes[i].fdinfo_flags, fd_ino(fd), 4096, 1, "");
		bufinfo_line(line, sizeof(line), 4096, modes[i].open_flags, modes[i].mode, 1,
			     fd_ino(fd), "<none>");
		expect_bufinfo(_metadata, fd_ino(fd), line, "");
		close(fd);
	}
}

TEST_F(info, flags_follow_fcntl)
{
	char line[256];

	if (access(BUFINFO, R_OK))
		SKIP(return, NO_DEBUGFS);

	ASSERT_EQ(O_RDWR, fcntl(self->fd, F_GETFL));
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, O_NONBLOCK));
	EXPECT_EQ(O_RDWR | O_NONBLOCK, fcntl(self->fd, F_GETFL));
	expect_fdinfo(_metadata, self->fd, "02004002", self->ino, BUF_SIZE, 1, "");
	bufinfo_line(line, sizeof(line), BUF_SIZE, O_RDWR | O_NONBLOCK,
		     FMODE_READ | FMODE_WRITE | FMODE_LSEEK | FMODE_OPENED, 1, self->ino, "<none>");
	expect_bufinfo(_metadata, self->ino, line, "");
}

TEST_F(info, bufinfo_lists_fences)
{
	char line[256], fences[512], comm[32];
	int tl, tl2;

	if (access(BUFINFO, R_OK))
		SKIP(return, NO_DEBUGFS);

	SW_SYNC_TIMELINE_OR_SKIP(tl);
	tl2 = sw_sync_timeline();
	ASSERT_LE(0, tl2);
	ASSERT_EQ(0, own_comm(comm, sizeof(comm)));

	ASSERT_EQ(0, sw_sync_import(self->fd, tl, 1, DMA_BUF_SYNC_WRITE));
	ASSERT_EQ(0, sw_sync_import(self->fd, tl2, 5, DMA_BUF_SYNC_READ));

	bufinfo_line(line, sizeof(line), BUF_SIZE, O_RDWR,
		     FMODE_READ | FMODE_WRITE | FMODE_LSEEK | FMODE_OPENED, 1, self->ino, "<none>");
	snprintf(fences, sizeof(fences),
		 "\twrite fence:sw_sync %s seq 1 unsignalled\n"
		 "\tread fence:sw_sync %s seq 5 unsignalled\n", comm, comm);
	expect_bufinfo(_metadata, self->ino, line, fences);

	/* Signalled fences stay listed until replaced. */
	ASSERT_EQ(0, sw_sync_inc(tl, 1));
	snprintf(fences, sizeof(fences),
		 "\twrite fence:sw_sync %s seq 1 signalled\n"
		 "\tread fence:sw_sync %s seq 5 unsignalled\n", comm, comm);
	expect_bufinfo(_metadata, self->ino, line, fences);
	close(tl2);
	close(tl);
}

TEST_F(info, sysfs_stats)
{
	char path[128], text[64];
	struct dirent *de;
	int names = 0, others = 0;
	DIR *dir;
	int fd;

	if (access(SYSFS_BUFFERS, F_OK))
		SKIP(return, NO_SYSFS_STATS);
	snprintf(path, sizeof(path), SYSFS_BUFFERS "/%lu/exporter_name", self->ino);
	ASSERT_LT(0, read_text(path, text, sizeof(text)));
	EXPECT_STREQ("system\n", text);
	snprintf(path, sizeof(path), SYSFS_BUFFERS "/%lu/size", self->ino);
	ASSERT_LT(0, read_text(path, text, sizeof(text)));
	EXPECT_STREQ("16384\n", text);

	/* Those two attributes and nothing else. */
	snprintf(path, sizeof(path), SYSFS_BUFFERS "/%lu", self->ino);
	dir = opendir(path);
	ASSERT_NE(NULL, dir);
	while ((de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!strcmp(de->d_name, "exporter_name") || !strcmp(de->d_name, "size"))
			names++;
		else
			others++;
	}
	closedir(dir);
	EXPECT_EQ(2, names);
	EXPECT_EQ(0, others);

	/* Another buffer has its own directory, gone with the buffer. */
	fd = dmabuf_alloc(3 * 4096);
	ASSERT_LE(0, fd);
	snprintf(path, sizeof(path), SYSFS_BUFFERS "/%lu/size", fd_ino(fd));
	ASSERT_LT(0, read_text(path, text, sizeof(text)));
	EXPECT_STREQ("12288\n", text);
	close(fd);
	EXPECT_EQ(-ENOENT, read_text(path, text, sizeof(text)));
}

TEST_F(info, fstat_of_a_dmabuf)
{
	struct stat st, st2;
	struct statfs sfs;
	int fd;

	ASSERT_EQ(0, fstat(self->fd, &st));
	/* An anonymous inode: no file type, owner read-write. */
	EXPECT_EQ(0600, st.st_mode);
	EXPECT_EQ(BUF_SIZE, st.st_size);
	EXPECT_EQ(BUF_SIZE / 512, st.st_blocks);
	ASSERT_EQ(0, fstatfs(self->fd, &sfs));
	EXPECT_EQ(DMA_BUF_MAGIC, sfs.f_type);

	/* Inode numbers count the buffers exported (none in between here). */
	fd = dmabuf_alloc(4096);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fstat(fd, &st2));
	EXPECT_EQ(st.st_dev, st2.st_dev);
	EXPECT_EQ(st.st_ino + 1, st2.st_ino);
	EXPECT_EQ(4096, st2.st_size);
	close(fd);
}

TEST_HARNESS_MAIN
