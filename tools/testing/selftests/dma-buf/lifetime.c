// SPDX-License-Identifier: GPL-2.0
/*
 * How long a dma-buf lives: as long as anything holds a reference on its file
 * - an fd in any process, an fd in flight in a unix socket, a mapping, an
 * armed poll callback - and not a moment longer: once the last one goes, the
 * buffer leaves debugfs bufinfo and sysfs before the releasing syscall
 * returns. Fds are close-on-exec only if asked (the heap asks); a dup or an
 * fd received over SCM_RIGHTS is the same buffer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/sync_file.h>

#include "../kselftest_harness.h"
#include "dmabuf_util.h"

#define BUF_SIZE (4 * 4096)

/*
 * The exec'd side of cloexec_across_exec: this program run again with
 * EXEC_CHECK="<cloexec fd>:<other fd>:<size>:<count>" in its environment. It
 * exits with EXEC_CHECKED and a bit set for each thing that is wrong.
 */
#define EXEC_CHECK "DMABUF_LIFETIME_EXEC_CHECK"
#define EXEC_CHECKED 32	/* always set: the check ran (not the test harness) */
#define EXEC_CLOEXEC_FD_OPEN 1
#define EXEC_FD_NOT_THE_BUFFER 2
#define EXEC_WRONG_COUNT 4
#define EXEC_BAD_ARGS 64

__attribute__((constructor)) static void exec_check(void)
{
	const char *arg = getenv(EXEC_CHECK);
	int cloexec_fd, fd, code = EXEC_CHECKED;
	char link[64];
	long size, count;

	if (!arg)
		return;
	if (sscanf(arg, "%d:%d:%ld:%ld", &cloexec_fd, &fd, &size, &count) != 4)
		_exit(EXEC_BAD_ARGS);
	if (fcntl(cloexec_fd, F_GETFD) != -1 || errno != EBADF)
		code |= EXEC_CLOEXEC_FD_OPEN;
	if (lseek(fd, 0, SEEK_END) != size || fd_link(fd, link, sizeof(link)) < 0 ||
	    strncmp(link, "/dmabuf:", 8))
		code |= EXEC_FD_NOT_THE_BUFFER;
	if (fdinfo_count(fd) != count)
		code |= EXEC_WRONG_COUNT;
	_exit(code);
}

DMABUF_FIXTURE(lifetime, BUF_SIZE);

/* Is the buffer with inode @ino still in sysfs? (-1: no sysfs stats) */
static int in_sysfs(unsigned long ino)
{
	char path[128];

	if (access(SYSFS_BUFFERS, F_OK))
		return -1;
	snprintf(path, sizeof(path), SYSFS_BUFFERS "/%lu", ino);
	return access(path, F_OK) == 0;
}

/* Expect the buffer @ino to exist (@alive) or be gone everywhere. */
static void expect_alive(struct __test_metadata *_metadata, unsigned long ino, int alive)
{
	int sysfs = in_sysfs(ino);

	EXPECT_EQ(alive, bufinfo_has(ino)) TH_LOG("buffer %lu in bufinfo", ino);
	if (sysfs >= 0)
		EXPECT_EQ(alive, sysfs) TH_LOG("buffer %lu in sysfs", ino);
}

/* The count field of the buffer's bufinfo line: references on its file. */
static long bufinfo_count(unsigned long ino)
{
	char block[4096];
	long count;

	if (bufinfo_entry(ino, block, sizeof(block)) != 1)
		return -1;
	if (sscanf(block, "%*u\t%*x\t%*x\t%ld\t", &count) != 1)
		return -1;
	return count;
}

/* A one-byte message with room for one fd (SCM_RIGHTS). */
struct fd_msg {
	char data;
	struct iovec iov;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr msg;
};

static void fd_msg_init(struct fd_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->data = 'F';
	m->iov = (struct iovec){ .iov_base = &m->data, .iov_len = 1 };
	m->msg = (struct msghdr){
		.msg_iov = &m->iov, .msg_iovlen = 1,
		.msg_control = m->ctl.buf, .msg_controllen = sizeof(m->ctl.buf),
	};
}

static int send_fd(int sock, int fd)
{
	struct fd_msg m;
	struct cmsghdr *c;

	fd_msg_init(&m);
	c = CMSG_FIRSTHDR(&m.msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &m.msg, 0) == 1 ? 0 : -errno;
}

/* Receive one fd (with recvmsg @flags); returns it or -errno. */
static int recv_fd(int sock, int flags)
{
	struct fd_msg m;
	struct cmsghdr *c;
	int fd;

	fd_msg_init(&m);
	if (recvmsg(sock, &m.msg, flags) != 1)
		return -errno;
	c = CMSG_FIRSTHDR(&m.msg);
	if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
		return -EBADMSG;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

TEST_F(lifetime, cloexec_across_exec)
{
	char arg[64];
	int d, status;
	pid_t pid;

	/* The heap made the fd close-on-exec; a dup is not. */
	ASSERT_EQ(FD_CLOEXEC, fcntl(self->fd, F_GETFD));
	d = dup(self->fd);
	ASSERT_LE(0, d);
	ASSERT_EQ(0, fcntl(d, F_GETFD));

	/* After exec: our two fds plus the child's one that survived. */
	snprintf(arg, sizeof(arg), "%d:%d:%d:%d", self->fd, d, BUF_SIZE, 3);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		setenv(EXEC_CHECK, arg, 1);
		execl("/proc/self/exe", "lifetime-exec-check", (char *)NULL);
		_exit(127);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status) & EXEC_CLOEXEC_FD_OPEN) TH_LOG("close-on-exec fd survived exec");
	EXPECT_EQ(0, WEXITSTATUS(status) & EXEC_FD_NOT_THE_BUFFER) TH_LOG("dup'd fd is not the buffer after exec");
	EXPECT_EQ(0, WEXITSTATUS(status) & EXEC_WRONG_COUNT) TH_LOG("wrong count in fdinfo after exec");
	EXPECT_EQ(EXEC_CHECKED, WEXITSTATUS(status));
	close(d);
}

TEST_F(lifetime, child_process_keeps_buffer_alive)
{
	int go[2], status;
	char c;
	pid_t pid;

	if (access(BUFINFO, R_OK))
		SKIP(return, NO_DEBUGFS);
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* Hold the inherited fd until the parent closes the pipe. */
		close(go[1]);
		_exit(read(go[0], &c, 1) == 0 ? 0 : 1);
	}
	close(go[0]);
	EXPECT_EQ(2, bufinfo_count(self->ino));
	close(self->fd);
	self->fd = -1;
	expect_alive(_metadata, self->ino, 1);
	EXPECT_EQ(1, bufinfo_count(self->ino));
	close(go[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	expect_alive(_metadata, self->ino, 0);
}

TEST_F(lifetime, scm_rights_gives_the_same_buffer)
{
	long page = sysconf(_SC_PAGESIZE);
	char link_a[64], link_b[64];
	struct stat a, b;
	unsigned char *ma, *mb;
	int sv[2], r, i;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	ASSERT_EQ(0, send_fd(sv[0], self->fd));
	r = recv_fd(sv[1], 0);
	ASSERT_LE(0, r) TH_LOG("recv_fd: %s", strerror(-r));
	EXPECT_NE(self->fd, r);
	/* recvmsg without MSG_CMSG_CLOEXEC: the new fd is not close-on-exec. */
	EXPECT_EQ(0, fcntl(r, F_GETFD));

	ASSERT_EQ(0, fstat(self->fd, &a));
	ASSERT_EQ(0, fstat(r, &b));
	EXPECT_EQ(a.st_dev, b.st_dev);
	EXPECT_EQ(a.st_ino, b.st_ino);
	EXPECT_EQ(BUF_SIZE, lseek(r, 0, SEEK_END));
	ASSERT_EQ(0, ioctl(r, DMA_BUF_SET_NAME_A, "passed"));
	ASSERT_LT(0, fd_link(self->fd, link_a, sizeof(link_a)));
	ASSERT_LT(0, fd_link(r, link_b, sizeof(link_b)));
	EXPECT_STREQ("/dmabuf:passed", link_a);
	EXPECT_STREQ(link_a, link_b);

	/* Written through one mapping, read through the other. */
	ma = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	mb = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, r, 0);
	ASSERT_NE(MAP_FAILED, ma);
	ASSERT_NE(MAP_FAILED, mb);
	for (i = 0; i < BUF_SIZE; i++)
		ma[i] = (unsigned char)(i * 7 + 3);
	for (i = 0; i < BUF_SIZE; i++)
		if (mb[i] != (unsigned char)(i * 7 + 3))
			break;
	EXPECT_EQ(BUF_SIZE, i);
	mb[page + 5] = 0xa5;
	EXPECT_EQ(0xa5, ma[page + 5]);
	munmap(ma, BUF_SIZE);
	munmap(mb, BUF_SIZE);

	/* Received with MSG_CMSG_CLOEXEC it is close-on-exec. */
	ASSERT_EQ(0, send_fd(sv[0], self->fd));
	i = recv_fd(sv[1], MSG_CMSG_CLOEXEC);
	ASSERT_LE(0, i);
	EXPECT_EQ(FD_CLOEXEC, fcntl(i, F_GETFD));
	ASSERT_EQ(0, fstat(i, &b));
	EXPECT_EQ(a.st_ino, b.st_ino);
	close(i);
	close(r);
	close(sv[0]);
	close(sv[1]);
}

TEST_F(lifetime, fd_in_flight_keeps_buffer_alive)
{
	unsigned char *m;
	int sv[2], r;

	if (access(BUFINFO, R_OK))
		SKIP(return, NO_DEBUGFS);
	m = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	m[100] = 42;
	munmap(m, BUF_SIZE);

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));
	ASSERT_EQ(0, send_fd(sv[0], self->fd));
	close(self->fd);
	self->fd = -1;
	/* Only the message holds it now. */
	expect_alive(_metadata, self->ino, 1);
	EXPECT_EQ(1, bufinfo_count(self->ino));

	r = recv_fd(sv[1], MSG_CMSG_CLOEXEC);
	ASSERT_LE(0, r);
	EXPECT_EQ(self->ino, fd_ino(r));
	m = mmap(NULL, BUF_SIZE, PROT_READ, MAP_SHARED, r, 0);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(42, m[100]);
	munmap(m, BUF_SIZE);
	close(r);
	expect_alive(_metadata, self->ino, 0);
	close(sv[0]);
	close(sv[1]);
}

TEST_F(lifetime, closing_everything_releases)
{
	static const size_t sizes[] = { 4096, 2 * 4096, 5 * 4096 };
	int objects0, objects1, objects, fds[3], dups[3];
	size_t bytes0, bytes1, bytes;
	unsigned long inos[3];
	void *map;
	int i;

	if (access(BUFINFO, R_OK))
		SKIP(return, NO_DEBUGFS);
	ASSERT_EQ(0, bufinfo_totals(&objects0, &bytes0));
	for (i = 0; i < 3; i++) {
		fds[i] = dmabuf_alloc(sizes[i]);
		ASSERT_LE(0, fds[i]);
		dups[i] = dup(fds[i]);
		ASSERT_LE(0, dups[i]);
		inos[i] = fd_ino(fds[i]);
		expect_alive(_metadata, inos[i], 1);
	}
	map = mmap(NULL, sizes[2], PROT_READ, MAP_SHARED, fds[2], 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, bufinfo_totals(&objects1, &bytes1));
	EXPECT_EQ(objects0 + 3, objects1);
	EXPECT_EQ(bytes0 + sizes[0] + sizes[1] + sizes[2], bytes1);

	/* One of two fds closed: all still there. */
	for (i = 0; i < 3; i++)
		close(fds[i]);
	for (i = 0; i < 3; i++)
		expect_alive(_metadata, inos[i], 1);
	ASSERT_EQ(0, bufinfo_totals(&objects, &bytes));
	EXPECT_EQ(objects1, objects);

	/* Every fd closed: only the mapped one is left. */
	for (i = 0; i < 3; i++)
		close(dups[i]);
	expect_alive(_metadata, inos[0], 0);
	expect_alive(_metadata, inos[1], 0);
	expect_alive(_metadata, inos[2], 1);
	EXPECT_EQ(1, bufinfo_count(inos[2]));
	ASSERT_EQ(0, bufinfo_totals(&objects, &bytes));
	EXPECT_EQ(objects0 + 1, objects);
	EXPECT_EQ(bytes0 + sizes[2], bytes);

	munmap(map, sizes[2]);
	expect_alive(_metadata, inos[2], 0);
	ASSERT_EQ(0, bufinfo_totals(&objects, &bytes));
	EXPECT_EQ(objects0, objects);
	EXPECT_EQ(bytes0, bytes);
}

TEST_F(lifetime, armed_poll_keeps_buffer_alive)
{
	struct pollfd p = { .events = POLLOUT };
	int tl;

	if (access(BUFINFO, R_OK))
		SKIP(return, NO_DEBUGFS);
	SW_SYNC_TIMELINE_OR_SKIP(tl);
	ASSERT_EQ(0, sw_sync_import(self->fd, tl, 1, DMA_BUF_SYNC_WRITE));

	p.fd = self->fd;
	EXPECT_EQ(0, poll(&p, 1, 0));
	close(self->fd);
	self->fd = -1;
	/* The armed fence callback holds the last reference. */
	expect_alive(_metadata, self->ino, 1);
	EXPECT_EQ(1, bufinfo_count(self->ino));
	ASSERT_EQ(0, sw_sync_inc(tl, 1));
	expect_alive(_metadata, self->ino, 0);
	close(tl);
}

TEST_F(lifetime, exported_fence_outlives_buffer)
{
	struct sync_file_info info;
	int tl, sf;

	if (access(BUFINFO, R_OK))
		SKIP(return, NO_DEBUGFS);
	SW_SYNC_TIMELINE_OR_SKIP(tl);
	ASSERT_EQ(0, sw_sync_import(self->fd, tl, 1, DMA_BUF_SYNC_WRITE));
	sf = dmabuf_export(self->fd, DMA_BUF_SYNC_READ);
	ASSERT_LE(0, sf);

	/* The sync_file holds the fence, not the buffer. */
	close(self->fd);
	self->fd = -1;
	expect_alive(_metadata, self->ino, 0);
	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, ioctl(sf, SYNC_IOC_FILE_INFO, &info));
	EXPECT_EQ(0, info.status);
	ASSERT_EQ(0, sw_sync_inc(tl, 1));
	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, ioctl(sf, SYNC_IOC_FILE_INFO, &info));
	EXPECT_EQ(1, info.status);
	close(sf);
	close(tl);
}

TEST_HARNESS_MAIN
