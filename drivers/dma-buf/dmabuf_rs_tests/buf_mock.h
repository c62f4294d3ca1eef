/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A mock dma-buf exporter and importer for the in-kernel tests. The exporter
 * logs every op it is called with, one letter each, so that a case can assert
 * the exact order of calls the core makes; it hands out fake two-page
 * mappings and records what it is given back.
 */
#ifndef DMABUF_RS_TESTS_BUF_MOCK_H
#define DMABUF_RS_TESTS_BUF_MOCK_H

#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/dma-buf.h>
#include <linux/dma-direction.h>
#include <linux/dma-resv.h>
#include <linux/iosys-map.h>
#include <linux/workqueue.h>

/* The letters of the exporter's log. */
#define LOG_ATTACH 'A'
#define LOG_DETACH 'D'
#define LOG_PIN 'P'
#define LOG_UNPIN 'p'
#define LOG_MAP 'M'
#define LOG_UNMAP 'U'
#define LOG_RELEASE 'R'
#define LOG_BEGIN 'B'
#define LOG_END 'E'
#define LOG_VMAP 'V'
#define LOG_VUNMAP 'v'
#define LOG_MMAP 'm'

#define MOCK_PAGES 2
#define MOCK_SIZE (MOCK_PAGES * PAGE_SIZE)
/* The fake bus address of the first page of every mapping. */
#define MOCK_DMA_BASE 0x40000000ULL

struct mock_buf {
	struct dma_buf *buf;
	struct page *pages;		/* MOCK_PAGES contiguous pages */
	struct completion released;

	/* What the next call of an op returns; 0 means succeed. */
	int attach_err;
	int pin_err;
	int map_err;			/* map_dma_buf returns ERR_PTR(map_err) */
	bool map_null;			/* map_dma_buf returns NULL */
	int begin_err;
	int end_err;
	int mmap_err;

	/* One letter per op call, in order; '+' once it is full. */
	char log[32];
	unsigned int nlog;

	/* Arguments the ops saw last. */
	struct device *attach_dev;
	struct dma_buf_attachment *attach_arg;
	enum dma_data_direction map_dir, unmap_dir, begin_dir, end_dir;
	struct sg_table *mapped;	/* the table map_dma_buf handed out last */
	struct sg_table *unmapped;	/* the table unmap_dma_buf was given last */
	bool unmap_links_intact;	/* ... holding the page links map built */
	unsigned long links[MOCK_PAGES];/* the page links map builds */
	bool locked_in_pin, locked_in_map, locked_in_vmap;
	struct iosys_map vmap_given;	/* what vmap handed out */
	struct iosys_map vunmap_got;	/* what vunmap was given */
	struct file *mmap_file;		/* vma->vm_file the exporter's mmap saw */
	unsigned long mmap_pgoff;	/* vma->vm_pgoff it saw */

	/* A fence whose state the ops record when they run (may be NULL). */
	struct dma_fence *watch;
	bool watch_pending_in_map, watch_pending_in_begin;
};

/* The exp_name every mock buffer is exported with. */
extern const char mock_exp_name[];

/*
 * Exporters: map/unmap/release only; every op; every op and caching the
 * mapping (cache_sgt_mapping); every op and pin/unpin (dynamic).
 */
extern const struct dma_buf_ops mock_bare_ops;
extern const struct dma_buf_ops mock_static_ops;
extern const struct dma_buf_ops mock_cached_ops;
extern const struct dma_buf_ops mock_dynamic_ops;

/* A new mock exporter state, not exported yet; NULL without memory. */
struct mock_buf *mock_buf_alloc(void);
/* Exports @m with @ops and @resv (NULL: embedded) and stores the buffer. */
int mock_buf_export(struct mock_buf *m, const struct dma_buf_ops *ops, struct dma_resv *resv);
/* Both of the above; NULL on failure. */
struct mock_buf *mock_buf_create(const struct dma_buf_ops *ops);
/* Frees a state whose buffer has been released (or never exported). */
void mock_buf_free(struct mock_buf *m);
/*
 * Drops the last reference to @m's buffer, waits for the release and frees
 * @m. Fails @test and returns -EINVAL (and @m is left allocated) when
 * release did not run exactly once.
 */
int mock_buf_put_last(struct kunit *test, struct mock_buf *m);
/* How many times the exporter logged @op. */
unsigned int mock_calls(const struct mock_buf *m, char op);
/* Whether the log reads @want; says on @test's log what it reads if not. */
bool mock_log_is(struct kunit *test, const struct mock_buf *m, const char *want);
/* Forgets the log. */
void mock_log_clear(struct mock_buf *m);

/* A dynamic importer: counts move_notify and records the lock state. */
struct mock_importer {
	unsigned int moves;
	bool locked_in_move;		/* every move_notify ran with the resv held */
	struct dma_buf_attachment *moved;
};

extern const struct dma_buf_attach_ops mock_importer_ops;
extern const struct dma_buf_attach_ops mock_p2p_importer_ops;

/* A device to attach with (a root device); ERR_PTR on failure. */
struct device *mock_device_get(void);
void mock_device_put(struct device *dev);

/* Signals @fence from a work item @ms milliseconds from now. */
struct mock_signaller {
	struct delayed_work work;
	struct dma_fence *fence;
};

void mock_signal_after(struct mock_signaller *s, struct dma_fence *fence, unsigned int ms);
/*
 * Cancels the signaller if it has not run and signals the fence now; every
 * mock_signal_after() needs one (the work item lives on the caller's stack).
 */
void mock_signal_now(struct mock_signaller *s);

#endif
