// SPDX-License-Identifier: GPL-2.0
/*
 * DMA_BUF_SET_NAME_A / _B (the same request encoded with a 4- and an 8-byte
 * size; DMA_BUF_SET_NAME is _B on 64-bit): the argument is a pointer to a NUL
 * terminated user string copied with strndup_user(, DMA_BUF_NAME_LEN), so a
 * name is at most 31 bytes, a longer one is -EINVAL and an unreadable one
 * -EFAULT, and a failed call keeps the old name. The name shows in fdinfo
 * ("name:\t<name>", only once a name was set), in debugfs bufinfo ("<none>"
 * until set) and in the file's path, "/dmabuf:<name>" (readlink of
 * /proc/self/fd/N). Renaming is allowed at any time; 6.12 no longer refuses
 * while attached (not tested here: userspace cannot attach a device to a
 * system-heap buffer without a DRM importer, absent from the test kernel).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "dmabuf_util.h"

#define BUF_SIZE (2 * 4096)

DMABUF_FIXTURE(set_name, BUF_SIZE);

static int set_name(int fd, unsigned long cmd, const void *name)
{
	return ioctl(fd, cmd, name) ? -errno : 0;
}

/*
 * The name as each of the three views shows it. @fdinfo is NULL when fdinfo
 * has no name line; @bufinfo is the last field of the bufinfo entry.
 */
struct views {
	char link[128];
	char fdinfo_text[1024];
	const char *fdinfo;
	char bufinfo_text[4096];
	const char *bufinfo;
};

static void read_views(struct __test_metadata *_metadata, int fd, unsigned long ino,
		       struct views *v)
{
	char *p, *nl;
	int i;

	ASSERT_LT(0, fd_link(fd, v->link, sizeof(v->link)));
	ASSERT_LT(0, read_fdinfo(fd, v->fdinfo_text, sizeof(v->fdinfo_text)));
	p = strstr(v->fdinfo_text, "\nname:\t");
	v->fdinfo = NULL;
	if (p) {
		v->fdinfo = p + strlen("\nname:\t");
		nl = strchr(p + 1, '\n');
		ASSERT_NE(NULL, nl);
		/* the name is the last line of a dma-buf's fdinfo */
		ASSERT_EQ('\0', nl[1]);
		*nl = '\0';
	}
	v->bufinfo = NULL;
	i = bufinfo_entry(ino, v->bufinfo_text, sizeof(v->bufinfo_text));
	if (i == -ENOENT)
		return;	/* no debugfs: the other views are still checked */
	ASSERT_EQ(1, i);
	nl = strchr(v->bufinfo_text, '\n');
	ASSERT_NE(NULL, nl);
	*nl = '\0';
	/* size flags mode count exp_name ino name: the name follows the 6th tab */
	p = v->bufinfo_text;
	for (i = 0; i < 6 && p; i++) {
		p = strchr(p, '\t');
		p = p ? p + 1 : NULL;
	}
	ASSERT_NE(NULL, p);
	v->bufinfo = p;
}

/* Expect every view to show @name (NULL: never named). */
static void expect_name(struct __test_metadata *_metadata, int fd, unsigned long ino,
			const char *name)
{
	struct views v;
	char link[128];

	read_views(_metadata, fd, ino, &v);
	snprintf(link, sizeof(link), "/dmabuf:%s", name ? name : "");
	EXPECT_STREQ(link, v.link);
	if (name) {
		ASSERT_NE(NULL, v.fdinfo) TH_LOG("no name line in fdinfo: %s", v.fdinfo_text);
		EXPECT_STREQ(name, v.fdinfo);
	} else {
		EXPECT_EQ(NULL, v.fdinfo) TH_LOG("unexpected name line in fdinfo: %s", v.fdinfo);
	}
	if (v.bufinfo)
		EXPECT_STREQ(name ? name : "<none>", v.bufinfo);
}

TEST_F(set_name, unnamed_by_default)
{
	expect_name(_metadata, self->fd, self->ino, NULL);
}

TEST_F(set_name, name_a)
{
	ASSERT_EQ(0, set_name(self->fd, DMA_BUF_SET_NAME_A, "frame-a"));
	expect_name(_metadata, self->fd, self->ino, "frame-a");
}

TEST_F(set_name, name_b_and_legacy_name)
{
	ASSERT_EQ(DMA_BUF_SET_NAME_B, DMA_BUF_SET_NAME) TH_LOG("not a 64-bit build?");
	ASSERT_EQ(0, set_name(self->fd, DMA_BUF_SET_NAME_B, "frame-b"));
	expect_name(_metadata, self->fd, self->ino, "frame-b");
	ASSERT_EQ(0, set_name(self->fd, DMA_BUF_SET_NAME, "frame"));
	expect_name(_metadata, self->fd, self->ino, "frame");
}

TEST_F(set_name, empty_name)
{
	/* A set but empty name: fdinfo has an empty name line, bufinfo an empty field. */
	ASSERT_EQ(0, set_name(self->fd, DMA_BUF_SET_NAME_A, ""));
	expect_name(_metadata, self->fd, self->ino, "");
}

TEST_F(set_name, length_limit)
{
	char name[DMA_BUF_NAME_LEN + 16];
	unsigned long cmds[] = { DMA_BUF_SET_NAME_A, DMA_BUF_SET_NAME_B };
	unsigned int c;

	for (c = 0; c < 2; c++) {
		/* 31 bytes and the NUL fill DMA_BUF_NAME_LEN exactly. */
		memset(name, 'a' + c, sizeof(name));
		name[DMA_BUF_NAME_LEN - 1] = '\0';
		ASSERT_EQ(0, set_name(self->fd, cmds[c], name));
		expect_name(_metadata, self->fd, self->ino, name);

		memset(name, 'x', sizeof(name));
		name[DMA_BUF_NAME_LEN] = '\0';		/* 32 bytes */
		EXPECT_EQ(-EINVAL, set_name(self->fd, cmds[c], name));
		name[DMA_BUF_NAME_LEN] = 'x';
		name[DMA_BUF_NAME_LEN + 1] = '\0';	/* 33 bytes */
		EXPECT_EQ(-EINVAL, set_name(self->fd, cmds[c], name));
		name[DMA_BUF_NAME_LEN + 1] = 'x';
		name[sizeof(name) - 1] = '\0';		/* 47 bytes */
		EXPECT_EQ(-EINVAL, set_name(self->fd, cmds[c], name));

		/* The failures left the 31-byte name in place. */
		memset(name, 'a' + c, sizeof(name));
		name[DMA_BUF_NAME_LEN - 1] = '\0';
		expect_name(_metadata, self->fd, self->ino, name);
	}
}

TEST_F(set_name, bad_pointers)
{
	const void *bad[] = { BAD_POINTERS };
	unsigned int i;

	ASSERT_EQ(0, set_name(self->fd, DMA_BUF_SET_NAME_B, "kept"));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EFAULT, set_name(self->fd, DMA_BUF_SET_NAME_A, bad[i])) TH_LOG("%p", bad[i]);
		EXPECT_EQ(-EFAULT, set_name(self->fd, DMA_BUF_SET_NAME_B, bad[i])) TH_LOG("%p", bad[i]);
	}
	expect_name(_metadata, self->fd, self->ino, "kept");
}

/*
 * A name that runs into an inaccessible page: strndup_user() reads at most
 * DMA_BUF_NAME_LEN bytes, so what decides is where within those the string
 * ends or the readable memory does.
 */
TEST_F(set_name, name_at_end_of_readable_memory)
{
	long page = sysconf(_SC_PAGESIZE);
	char *map, *end;

	map = map_page_before_hole(page, 'n');
	ASSERT_NE(MAP_FAILED, map);
	end = map + page;

	/* 31 bytes whose NUL is the page's last byte: fine. */
	end[-1] = '\0';
	ASSERT_EQ(0, set_name(self->fd, DMA_BUF_SET_NAME_A, end - DMA_BUF_NAME_LEN));
	expect_name(_metadata, self->fd, self->ino, end - DMA_BUF_NAME_LEN);

	/* 31 bytes and no NUL before the fault: -EFAULT. */
	end[-1] = 'n';
	EXPECT_EQ(-EFAULT, set_name(self->fd, DMA_BUF_SET_NAME_A, end - (DMA_BUF_NAME_LEN - 1)));
	/* 32 bytes and no NUL: too long is found before the fault, -EINVAL. */
	EXPECT_EQ(-EINVAL, set_name(self->fd, DMA_BUF_SET_NAME_A, end - DMA_BUF_NAME_LEN));
	/* 1 byte then the fault: -EFAULT. */
	EXPECT_EQ(-EFAULT, set_name(self->fd, DMA_BUF_SET_NAME_B, end - 1));
	/* Starting in the inaccessible page: -EFAULT. */
	EXPECT_EQ(-EFAULT, set_name(self->fd, DMA_BUF_SET_NAME_B, end));

	memset(map, 'n', page);
	end[-1] = '\0';
	expect_name(_metadata, self->fd, self->ino, end - DMA_BUF_NAME_LEN);
	munmap(map, 2 * page);
}

TEST_F(set_name, rename)
{
	static const char *const names[] = { "one", "a-much-longer-second-name", "3", "", "four" };
	unsigned int i;
	int dup_fd;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		ASSERT_EQ(0, set_name(self->fd, i % 2 ? DMA_BUF_SET_NAME_B : DMA_BUF_SET_NAME_A,
				      names[i]));
		expect_name(_metadata, self->fd, self->ino, names[i]);
	}

	/* The name belongs to the buffer: a dup shows it and can change it. */
	dup_fd = dup(self->fd);
	ASSERT_GE(dup_fd, 0);
	expect_name(_metadata, dup_fd, self->ino, "four");
	ASSERT_EQ(0, set_name(dup_fd, DMA_BUF_SET_NAME_A, "five"));
	expect_name(_metadata, self->fd, self->ino, "five");
	close(dup_fd);
}

TEST_F(set_name, names_are_per_buffer)
{
	int other = dmabuf_alloc(BUF_SIZE);
	unsigned long other_ino;

	ASSERT_GE(other, 0);
	other_ino = fd_ino(other);
	ASSERT_EQ(0, set_name(self->fd, DMA_BUF_SET_NAME_A, "first"));
	expect_name(_metadata, other, other_ino, NULL);
	ASSERT_EQ(0, set_name(other, DMA_BUF_SET_NAME_A, "second"));
	expect_name(_metadata, self->fd, self->ino, "first");
	expect_name(_metadata, other, other_ino, "second");
	close(other);
}

TEST_HARNESS_MAIN
