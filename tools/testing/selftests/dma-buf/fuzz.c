// SPDX-License-Identifier: GPL-2.0
/*
 * Differential fuzzing of the dma-buf and sync_file uapi: a seeded,
 * reproducible generator of syscall sequences over dma-buf (system heap and
 * udmabuf), sync_file and sw_sync fds, with random but type-aware arguments
 * (valid and invalid fds, flags, sizes, offsets, pointers, names).
 *
 * Every call is written down as one line: what was called, with which
 * arguments, what it returned and its errno, and what can be read back
 * (sizes, names, fence status and FILE_INFO contents, fdinfo), leaving out
 * what differs from boot to boot whatever the core (inode numbers, fence
 * contexts, timestamps, addresses). The lines of one seed hash to one
 * number. The same seed gives the same calls on any kernel, so the hashes
 * of the two cores must be equal: the C core is the oracle. The host
 * compares them (scripts/report.py) with the C core's hashes, kept in
 * fuzz.golden (written by `make fuzz-golden`) and, for seeds beyond those,
 * with the C core's last console.
 *
 * Usage: fuzz [-s FIRST] [-n COUNT] [-c CALLS] [-t SEED]
 *   Runs seeds FIRST .. FIRST+COUNT-1 (default 0 and 64, or
 *   dmabufrs_fuzz_seeds=FIRST:COUNT in the environment), CALLS calls each
 *   (default 200), printing "fuzz seed S: hash H calls N" per seed as a TAP
 *   case; -t prints the whole trace of one seed, for comparing two kernels.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/time.h>
#include <linux/sync_file.h>
#include <linux/udmabuf.h>

#include "../kselftest.h"
#include "dmabuf_util.h"

#define MAX_FDS 32

enum kind { K_NONE, K_BUF, K_SYNC, K_TIMELINE, K_MEMFD, K_OTHER };
static const char *const kind_name[] = { "none", "buf", "sync", "tl", "memfd", "other" };

struct slot {
	int fd;
	enum kind kind;
};

struct fuzz {
	unsigned long long rng;
	unsigned long long hash;
	bool trace;
	unsigned int calls;
	struct slot fds[MAX_FDS];
	unsigned int nfds;
	int heap, udmabuf_dev;
};

/* xorshift64*: the same numbers for a seed on every machine. */
static unsigned long long next(struct fuzz *z)
{
	z->rng ^= z->rng >> 12;
	z->rng ^= z->rng << 25;
	z->rng ^= z->rng >> 27;
	return z->rng * 0x2545f4914f6cdd1dULL;
}

static unsigned int below(struct fuzz *z, unsigned int n)
{
	return (unsigned int)(next(z) % n);
}

/* Write one line of the trace: into the hash (FNV-1a), and out with -t. */
static void emit(struct fuzz *z, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	char *p;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (p = line; *p; p++) {
		z->hash ^= (unsigned char)*p;
		z->hash *= 0x100000001b3ULL;
	}
	z->hash ^= '\n';
	z->hash *= 0x100000001b3ULL;
	if (z->trace)
		printf("%s\n", line);
}

/* The result of a call: "= ret" or "= -1 ERRNO". */
static void result(struct fuzz *z, const char *call, long ret)
{
	if (ret < 0)
		emit(z, "%s = -1 %s", call, strerrorname_np(errno) ?: "?");
	else
		emit(z, "%s = %ld", call, ret);
}

static void add_fd(struct fuzz *z, int fd, enum kind kind)
{
	if (fd < 0)
		return;
	if (z->nfds == MAX_FDS) {
		close(fd);
		return;
	}
	z->fds[z->nfds].fd = fd;
	z->fds[z->nfds].kind = kind;
	z->nfds++;
}

/*
 * An fd argument: mostly a live one (of the wanted kind if there is one, of
 * any other kind now and then), sometimes -1 or a number never opened.
 */
static int pick_fd(struct fuzz *z, enum kind want, enum kind *kind)
{
	unsigned int i, start, r = below(z, 16);

	*kind = K_NONE;
	if (r == 0)
		return -1;
	if (r == 1)
		return 900;
	if (!z->nfds)
		return 901;
	start = below(z, z->nfds);
	for (i = 0; i < z->nfds; i++) {
		struct slot *s = &z->fds[(start + i) % z->nfds];

		if (r == 2 || s->kind == want) {
			*kind = s->kind;
			return s->fd;
		}
	}
	*kind = z->fds[start].kind;
	return z->fds[start].fd;
}

static void drop_fd(struct fuzz *z, int fd)
{
	unsigned int i;

	for (i = 0; i < z->nfds; i++) {
		if (z->fds[i].fd == fd) {
			z->fds[i] = z->fds[--z->nfds];
			return;
		}
	}
}

/* A user pointer argument: usually @good, sometimes an unreadable one. */
static void *pick_ptr(struct fuzz *z, void *good)
{
	switch (below(z, 12)) {
	case 0:
		return NULL;
	case 1:
		return (void *)1;
	default:
		return good;
	}
}

/*
 * Sizes for allocations and mappings. The system heap has no limit of its
 * own (it allocates until memory runs out, and the OOM killer ends the
 * fuzzer), so a size beyond memory is only for udmabuf, which refuses it.
 */
static const unsigned long long sizes[] = {
	0, 1, 4096, 4097, 12288, 65536,
};
#define TOO_LARGE (1ULL << 40)

static void describe_buf(struct fuzz *z, int fd)
{
	char text[1024], *line, *save;

	if (read_fdinfo(fd, text, sizeof(text)) < 0) {
		emit(z, "  fdinfo: -1 %s", strerrorname_np(errno) ?: "?");
		return;
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (!strncmp(line, "size:", 5) || !strncmp(line, "flags:", 6) ||
		    !strncmp(line, "mode:", 5) || !strncmp(line, "exp_name:", 9) ||
		    !strncmp(line, "name:", 5) || !strncmp(line, "count:", 6))
			emit(z, "  %s", line);
}

static void file_info(struct fuzz *z)
{
	struct sync_fence_info fi[4];
	struct sync_file_info info;
	char call[64];
	enum kind k;
	int fd = pick_fd(z, K_SYNC, &k), i;
	long ret;

	memset(&info, 0, sizeof(info));
	memset(fi, 0, sizeof(fi));
	info.num_fences = below(z, 3) ? below(z, 5) : 0;
	info.flags = below(z, 10) ? 0 : 1;
	info.pad = below(z, 10) ? 0 : 7;
	info.sync_fence_info = (uintptr_t)pick_ptr(z, fi);
	ret = ioctl(fd, SYNC_IOC_FILE_INFO, &info);
	snprintf(call, sizeof(call), "FILE_INFO %s %u %#x %#x", kind_name[k], info.num_fences,
		 info.flags, info.pad);
	result(z, call, ret);
	if (ret)
		return;
	emit(z, "  status %d num_fences %u name %s", info.status, info.num_fences,
	     strncmp(info.name, "fz", 2) ? "(generated)" : info.name);
	for (i = 0; i < 4 && i < (int)info.num_fences && info.sync_fence_info == (uintptr_t)fi; i++)
		emit(z, "  fence %s %s status %d flags %u", fi[i].obj_name, fi[i].driver_name,
		     fi[i].status, fi[i].flags);
}

static void sigalrm(int sig)
{
	(void)sig;
}

/* DMA_BUF_IOCTL_SYNC, cut short after 20 ms if it waits for a fence. */
static long sync_ioctl(int fd, struct dma_buf_sync *s)
{
	struct itimerval t = { .it_value = { .tv_usec = 20000 } };
	struct itimerval off = { 0 };
	long ret;

	setitimer(ITIMER_REAL, &t, NULL);
	ret = ioctl(fd, DMA_BUF_IOCTL_SYNC, s);
	setitimer(ITIMER_REAL, &off, NULL);
	return ret;
}

/*
 * Signal every fence of a timeline before its fd may be its last: sw_sync's
 * release signals what is pending with the timeline's lock held, and a
 * callback that drops a fence's last reference then (a dma-buf poll
 * callback does) takes that lock again in the fence's release, a deadlock
 * in upstream sw_sync (drivers/dma-buf/sw_sync.c, not the core) that
 * lockdep reports on either core. Advancing the timeline takes references
 * around the signalling.
 */
static void settle(int timeline)
{
	__u32 step = 1u << 30;

	ioctl(timeline, SW_SYNC_IOC_INC, &step);
}

static void one_call(struct fuzz *z)
{
	char name[40], call[64];
	enum kind k, k2;
	int fd;
	long ret;

	switch (below(z, 20)) {
	case 0: { /* a buffer from the system heap */
		struct dma_heap_allocation_data d = {
			.len = sizes[below(z, ARRAY_SIZE(sizes))],
			.fd_flags = below(z, 8) ? O_RDWR | O_CLOEXEC : below(z, 4) ? O_RDONLY : 0xdead,
			.heap_flags = below(z, 10) ? 0 : 1,
		};

		ret = ioctl(z->heap, DMA_HEAP_IOCTL_ALLOC, &d);
		snprintf(call, sizeof(call), "heap_alloc %llu %#x %#llx", (unsigned long long)d.len,
			 d.fd_flags, (unsigned long long)d.heap_flags);
		result(z, call, ret ? ret : d.fd);
		if (!ret) {
			add_fd(z, d.fd, K_BUF);
			describe_buf(z, d.fd);
		}
		break;
	}
	case 1: { /* a udmabuf over a memfd of ours */
		struct udmabuf_create c = {
			.flags = below(z, 6) ? UDMABUF_FLAGS_CLOEXEC : below(z, 2) ? 0 : 0x80,
			.offset = below(z, 6) ? 0 : sizes[below(z, 4)],
			.size = below(z, 10) ? sizes[below(z, ARRAY_SIZE(sizes))] : TOO_LARGE,
		};

		if (z->udmabuf_dev < 0)
			break;
		c.memfd = pick_fd(z, K_MEMFD, &k);
		ret = ioctl(z->udmabuf_dev, UDMABUF_CREATE, &c);
		snprintf(call, sizeof(call), "udmabuf %s %#x %llu %llu", kind_name[k], c.flags,
			 (unsigned long long)c.offset, (unsigned long long)c.size);
		result(z, call, ret);
		if (ret >= 0) {
			add_fd(z, ret, K_BUF);
			describe_buf(z, ret);
		}
		break;
	}
	case 2: /* a new timeline */
		ret = sw_sync_timeline();
		errno = ret < 0 ? -ret : 0;
		result(z, "timeline", ret < 0 ? -1 : ret);
		add_fd(z, ret, K_TIMELINE);
		break;
	case 3: { /* a fence on a timeline */
		struct sw_sync_create_fence_data d = { .value = below(z, 8) };

		fd = pick_fd(z, K_TIMELINE, &k);
		snprintf(d.name, sizeof(d.name), "f%u", below(z, 100));
		ret = ioctl(fd, SW_SYNC_IOC_CREATE_FENCE, &d);
		snprintf(call, sizeof(call), "sw_sync_fence %s %u", kind_name[k], d.value);
		result(z, call, ret ? ret : d.fence);
		if (!ret)
			add_fd(z, d.fence, K_SYNC);
		break;
	}
	case 4: { /* advance a timeline */
		__u32 step = below(z, 4);

		fd = pick_fd(z, K_TIMELINE, &k);
		snprintf(call, sizeof(call), "sw_sync_inc %s %u", kind_name[k], step);
		result(z, call, ioctl(fd, SW_SYNC_IOC_INC, &step));
		break;
	}
	case 5: { /* merge */
		struct sync_merge_data m = { .flags = below(z, 10) ? 0 : 1 };

		fd = pick_fd(z, K_SYNC, &k);
		m.fd2 = pick_fd(z, K_SYNC, &k2);
		snprintf(m.name, sizeof(m.name), "fz%u", below(z, 100));
		ret = ioctl(fd, SYNC_IOC_MERGE, pick_ptr(z, &m));
		snprintf(call, sizeof(call), "merge %s %s %#x", kind_name[k], kind_name[k2], m.flags);
		result(z, call, ret ? ret : m.fence);
		if (!ret)
			add_fd(z, m.fence, K_SYNC);
		break;
	}
	case 6:
	case 7:
		file_info(z);
		break;
	case 8: { /* SYNC */
		struct dma_buf_sync s = { .flags = below(z, 8) ? below(z, 2) * DMA_BUF_SYNC_END | (below(z, 3) + 1)
						       : next(z) & 0xff };

		fd = pick_fd(z, K_BUF, &k);
		snprintf(call, sizeof(call), "SYNC %s %#llx", kind_name[k], (unsigned long long)s.flags);
		result(z, call, sync_ioctl(fd, pick_ptr(z, &s)));
		break;
	}
	case 9: /* SET_NAME */
		fd = pick_fd(z, K_BUF, &k);
		memset(name, 'n', sizeof(name));
		name[below(z, 40)] = '\0';
		ret = ioctl(fd, below(z, 2) ? DMA_BUF_SET_NAME_A : DMA_BUF_SET_NAME_B,
			    pick_ptr(z, name));
		snprintf(call, sizeof(call), "SET_NAME %s %zu", kind_name[k], strnlen(name, 40));
		result(z, call, ret);
		if (!ret)
			describe_buf(z, fd);
		break;
	case 10: { /* EXPORT_SYNC_FILE */
		struct dma_buf_export_sync_file e = {
			.flags = below(z, 8) ? below(z, 3) + 1 : next(z) & 0xf, .fd = -1,
		};

		fd = pick_fd(z, K_BUF, &k);
		ret = ioctl(fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, pick_ptr(z, &e));
		snprintf(call, sizeof(call), "EXPORT_SYNC_FILE %s %#x", kind_name[k], e.flags);
		result(z, call, ret ? ret : e.fd);
		if (!ret)
			add_fd(z, e.fd, K_SYNC);
		break;
	}
	case 11: { /* IMPORT_SYNC_FILE */
		struct dma_buf_import_sync_file im = {
			.flags = below(z, 8) ? below(z, 3) + 1 : next(z) & 0xf,
		};

		fd = pick_fd(z, K_BUF, &k);
		im.fd = pick_fd(z, K_SYNC, &k2);
		ret = ioctl(fd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, pick_ptr(z, &im));
		snprintf(call, sizeof(call), "IMPORT_SYNC_FILE %s %s %#x", kind_name[k], kind_name[k2],
			 im.flags);
		result(z, call, ret);
		break;
	}
	case 12: { /* SET_DEADLINE */
		struct sync_set_deadline d = { .deadline_ns = next(z), .pad = below(z, 8) ? 0 : 1 };

		fd = pick_fd(z, K_SYNC, &k);
		snprintf(call, sizeof(call), "SET_DEADLINE %s %llu", kind_name[k],
			 (unsigned long long)d.pad);
		result(z, call, ioctl(fd, SYNC_IOC_SET_DEADLINE, pick_ptr(z, &d)));
		break;
	}
	case 13: { /* poll, without waiting */
		struct pollfd p = { .events = POLLIN | POLLOUT | POLLPRI };

		p.fd = pick_fd(z, below(z, 2) ? K_BUF : K_SYNC, &k);
		ret = poll(&p, 1, 0);
		snprintf(call, sizeof(call), "poll %s", kind_name[k]);
		result(z, call, ret);
		if (ret >= 0)
			emit(z, "  revents %#x", p.revents);
		break;
	}
	case 14: { /* mmap, touch, munmap */
		size_t len = sizes[below(z, 5)];
		off_t off = below(z, 6) ? 0 : sizes[below(z, 4)];
		int prot = below(z, 4) ? PROT_READ | PROT_WRITE : PROT_READ;
		char *map;

		fd = pick_fd(z, K_BUF, &k);
		map = mmap(NULL, len, prot, below(z, 6) ? MAP_SHARED : MAP_PRIVATE, fd, off);
		snprintf(call, sizeof(call), "mmap %s %zu %lld %#x", kind_name[k], len, (long long)off,
			 prot);
		result(z, call, map == MAP_FAILED ? -1 : 0);
		if (map != MAP_FAILED) {
			if (prot & PROT_WRITE)
				map[0] = 'x';
			emit(z, "  first byte %d", map[0]);
			munmap(map, len);
		}
		break;
	}
	case 15: { /* llseek */
		off_t off = below(z, 3) ? 0 : (off_t)sizes[below(z, 4)];
		int whence = below(z, 4);

		fd = pick_fd(z, K_BUF, &k);
		snprintf(call, sizeof(call), "lseek %s %lld %d", kind_name[k], (long long)off, whence);
		result(z, call, lseek(fd, off, whence));
		break;
	}
	case 16: /* read or write on a dma-buf or sync_file */
		fd = pick_fd(z, below(z, 2) ? K_BUF : K_SYNC, &k);
		if (below(z, 2))
			ret = read(fd, name, sizeof(name));
		else
			ret = write(fd, name, sizeof(name));
		snprintf(call, sizeof(call), "rw %s", kind_name[k]);
		result(z, call, ret);
		break;
	case 17: /* dup */
		fd = pick_fd(z, K_BUF, &k);
		ret = dup(fd);
		snprintf(call, sizeof(call), "dup %s", kind_name[k]);
		result(z, call, ret);
		add_fd(z, ret, k);
		break;
	case 18: /* close */
	case 19:
		fd = pick_fd(z, below(z, 2) ? K_BUF : K_SYNC, &k);
		if (k == K_TIMELINE)
			settle(fd);
		ret = close(fd);
		snprintf(call, sizeof(call), "close %s", kind_name[k]);
		result(z, call, ret);
		if (!ret)
			drop_fd(z, fd);
		break;
	}
	z->calls++;
}

static unsigned long long run_seed(unsigned long long seed, unsigned int calls, bool trace)
{
	struct fuzz z = { .rng = seed * 0x9e3779b97f4a7c15ULL + 1, .hash = 0xcbf29ce484222325ULL,
			  .trace = trace };
	unsigned int i;
	int memfd;

	z.heap = open(SYSTEM_HEAP, O_RDONLY | O_CLOEXEC);
	z.udmabuf_dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	memfd = memfd_create("fuzz", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (memfd >= 0 && !ftruncate(memfd, 65536) && !fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK))
		add_fd(&z, memfd, K_MEMFD);
	/* a file of another kind, for the wrong-fd cases */
	add_fd(&z, open("/proc/self/comm", O_RDONLY | O_CLOEXEC), K_OTHER);
	emit(&z, "seed %llu heap %d udmabuf %d", seed, z.heap >= 0, z.udmabuf_dev >= 0);

	for (i = 0; i < calls; i++)
		one_call(&z);

	/* everything goes: timelines settled first (see settle()) */
	for (i = 0; i < z.nfds; i++)
		if (z.fds[i].kind == K_TIMELINE)
			settle(z.fds[i].fd);
	for (i = 0; i < z.nfds; i++)
		close(z.fds[i].fd);
	close(z.heap);
	close(z.udmabuf_dev);
	return z.hash;
}

int main(int argc, char **argv)
{
	unsigned long long first = 0, count = 64, seed;
	unsigned int calls = 200;
	const char *env = getenv("dmabufrs_fuzz_seeds");
	struct sigaction sa = { .sa_handler = sigalrm };
	long long trace = -1;
	int opt, fd, before, objects;
	size_t bytes;

	if (env)
		sscanf(env, "%llu:%llu", &first, &count);
	while ((opt = getopt(argc, argv, "s:n:c:t:")) != -1) {
		switch (opt) {
		case 's': first = strtoull(optarg, NULL, 0); break;
		case 'n': count = strtoull(optarg, NULL, 0); break;
		case 'c': calls = strtoul(optarg, NULL, 0); break;
		case 't': trace = strtoll(optarg, NULL, 0); break;
		default: return 2;
		}
	}
	/* no SA_RESTART: a SYNC that waits returns EINTR at the alarm */
	sigaction(SIGALRM, &sa, NULL);
	if (trace >= 0) {
		run_seed(trace, calls, true);
		return 0;
	}

	ksft_print_header();
	fd = dmabuf_alloc(4096);
	if (fd == -ENOENT)
		ksft_exit_skip("no system dma-heap (CONFIG_DMABUF_HEAPS_SYSTEM) in this kernel\n");
	close(fd);
	fd = sw_sync_timeline();
	if (fd < 0)
		ksft_exit_skip("no sw_sync in debugfs (CONFIG_SW_SYNC, debugfs mounted)\n");
	close(fd);
	if (bufinfo_totals(&before, &bytes))
		ksft_exit_skip("%s\n", NO_DEBUGFS);
	ksft_set_plan(count + 1);
	for (seed = first; seed < first + count; seed++) {
		unsigned long long h = run_seed(seed, calls, false);

		ksft_test_result_pass("fuzz seed %llu: hash %016llx calls %u\n", seed, h, calls);
	}
	/* every buffer the seeds made is gone */
	if (bufinfo_totals(&objects, &bytes) == 0 && objects == before)
		ksft_test_result_pass("no dma-buf left\n");
	else
		ksft_test_result_fail("dma-bufs left: %d\n", objects - before);
	ksft_finished();
}
