// SPDX-License-Identifier: GPL-2.0-only
/*
 * Attachments and mappings: static and dynamic importers of static and
 * dynamic exporters (what is cached at attach, when pin/unpin run),
 * dma_buf_move_notify, dma_buf_pin/unpin, and map/unmap_attachment: the
 * direction passed through, exporter errors returned unchanged, the
 * CONFIG_DMABUF_DEBUG page-link mangling, and the static importer's wait for
 * kernel fences. The exporter's log (buf_mock.h) pins down the exact order
 * of the calls.
 */
#include <linux/device.h>
#include <linux/dma-buf.h>
#include <linux/dma-resv.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/scatterlist.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <uapi/linux/dma-buf.h>

#include "buf_mock.h"
#include "check.h"
#include "mock.h"

/* Whether the page links and bus addresses of @sgt are what an importer of @m must see. */
static bool importer_view(const struct mock_buf *m, struct sg_table *sgt)
{
	/* The debug option flips the page bits, keeping the low SG_ flag bits. */
	unsigned long flip = IS_ENABLED(CONFIG_DMABUF_DEBUG) ? ~0xffUL : 0;
	struct scatterlist *sg;
	unsigned int i;

	if (sgt->orig_nents != MOCK_PAGES || sgt->nents != MOCK_PAGES)
		return false;
	for_each_sgtable_sg(sgt, sg, i)
		if (sg->page_link != (m->links[i] ^ flip) ||
		    sg_dma_address(sg) != MOCK_DMA_BASE + i * PAGE_SIZE ||
		    sg_dma_len(sg) != PAGE_SIZE)
			return false;
	return true;
}

/* Position of @a in @buf's attachment list (0 first), -1 if absent. */
static int position(struct dma_buf *buf, struct dma_buf_attachment *a)
{
	struct dma_buf_attachment *it;
	int i = 0, at = -1;

	dma_resv_lock(buf->resv, NULL);
	list_for_each_entry(it, &buf->attachments, node) {
		if (it == a)
			at = i;
		i++;
	}
	dma_resv_unlock(buf->resv);
	return at;
}

static bool no_attachments(struct dma_buf *buf)
{
	bool empty;

	dma_resv_lock(buf->resv, NULL);
	empty = list_empty(&buf->attachments);
	dma_resv_unlock(buf->resv);
	return empty;
}

static void detach(struct mock_buf *m, struct dma_buf_attachment **a)
{
	if (!IS_ERR_OR_NULL(*a))
		dma_buf_detach(m->buf, *a);
	*a = NULL;
}

/* Undoes setup(), detaching *@a first; a failure to release fails @test. */
static void teardown(struct kunit *test, struct device *dev, struct mock_buf *m,
		     struct dma_buf_attachment **a)
{
	detach(m, a);
	mock_buf_put_last(test, m);
	mock_device_put(dev);
}

/*
 * Test set-up: a device and a mock exporter with @ops; with @a, a static
 * attachment of the device in *@a too. A failure fails @test and leaves
 * nothing to undo.
 */
static int setup(struct kunit *test, struct device **dev, struct mock_buf **m,
		 const struct dma_buf_ops *ops, struct dma_buf_attachment **a)
{
	*dev = mock_device_get();
	if (IS_ERR(*dev)) {
		KUNIT_FAIL(test, "root_device_register: %ld", PTR_ERR(*dev));
		return PTR_ERR(*dev);
	}
	*m = mock_buf_create(ops);
	if (!*m) {
		mock_device_put(*dev);
		KUNIT_FAIL(test, "mock exporter");
		return -ENOMEM;
	}
	if (!a)
		return 0;
	*a = dma_buf_attach((*m)->buf, *dev);
	if (IS_ERR(*a)) {
		KUNIT_FAIL(test, "Expected !IS_ERR(a): attach: %ld", PTR_ERR(*a));
		teardown(test, *dev, *m, a);
		return -EINVAL;
	}
	return 0;
}

/* dma_buf_map/unmap_attachment with the reservation held, as dynamic importers call them. */
static struct sg_table *map_locked(struct dma_buf_attachment *a, enum dma_data_direction dir)
{
	struct sg_table *sgt;

	dma_resv_lock(a->dmabuf->resv, NULL);
	sgt = dma_buf_map_attachment(a, dir);
	dma_resv_unlock(a->dmabuf->resv);
	return sgt;
}

static void unmap_locked(struct dma_buf_attachment *a, struct sg_table *sgt,
			 enum dma_data_direction dir)
{
	dma_resv_lock(a->dmabuf->resv, NULL);
	dma_buf_unmap_attachment(a, sgt, dir);
	dma_resv_unlock(a->dmabuf->resv);
}

static void move_notify_locked(struct dma_buf *buf)
{
	dma_resv_lock(buf->resv, NULL);
	dma_buf_move_notify(buf);
	dma_resv_unlock(buf->resv);
}

/*
 * Whether the exporter's last unmap was given @sgt and @dir, with the page
 * links its map built; says what it got if not.
 */
static bool unmapped(struct kunit *test, const struct mock_buf *m, struct sg_table *sgt,
		     enum dma_data_direction dir)
{
	if (m->unmapped == sgt && m->unmap_dir == dir && m->unmap_links_intact)
		return true;
	kunit_info(test, "unmap given %p, %d, links %s; want %p, %d", m->unmapped,
		   m->unmap_dir, m->unmap_links_intact ? "intact" : "changed", sgt, dir);
	return false;
}

static void static_attach_cached_map(struct kunit *test)
{
	struct dma_buf_attachment *a;
	struct sg_table *sgt, *again;
	struct mock_buf *m;
	struct device *dev;
	int err;

	err = setup(test, &dev, &m, &mock_cached_ops, &a);
	if (err)
		return;
	KUNIT_CHECK_OR_OUT(test, mock_log_is(test, m, "A"), "ops->attach only");
	KUNIT_CHECK_OR_OUT(test, m->attach_dev == dev && m->attach_arg == a,
			   "ops->attach arguments");
	KUNIT_CHECK_OR_OUT(test, a->dev == dev && a->dmabuf == m->buf, "attachment fields");
	KUNIT_CHECK_OR_OUT(test, !a->importer_ops && !a->importer_priv && !a->peer2peer,
			   "static importer");
	KUNIT_CHECK_OR_OUT(test, a->priv == m, "exporter's priv kept");
	KUNIT_CHECK_OR_OUT(test, !a->sgt, "nothing mapped at attach");
	KUNIT_CHECK_OR_OUT(test, position(m->buf, a) == 0, "attachment listed");

	sgt = dma_buf_map_attachment_unlocked(a, DMA_TO_DEVICE);
	KUNIT_CHECK_OR_OUT(test, !IS_ERR(sgt) && sgt == m->mapped, "map: %ld", PTR_ERR(sgt));
	KUNIT_CHECK_OR_OUT(test, mock_log_is(test, m, "AM") && m->map_dir == DMA_TO_DEVICE &&
			   m->locked_in_map, "mapped");
	KUNIT_CHECK_OR_OUT(test, a->sgt == sgt && a->dir == DMA_TO_DEVICE, "mapping cached");
	again = dma_buf_map_attachment_unlocked(a, DMA_TO_DEVICE);
	KUNIT_CHECK_OR_OUT(test, again == sgt && mock_log_is(test, m, "AM"),
			   "cached mapping returned again");
	again = dma_buf_map_attachment_unlocked(a, DMA_FROM_DEVICE);
	KUNIT_CHECK_OR_OUT(test, again == ERR_PTR(-EBUSY), "other direction: %ld", PTR_ERR(again));
	/* Unmapping the cached table leaves it to detach. */
	dma_buf_unmap_attachment_unlocked(a, sgt, DMA_TO_DEVICE);
	KUNIT_CHECK_OR_OUT(test, mock_log_is(test, m, "AM"), "cached mapping kept");

	detach(m, &a);
	KUNIT_CHECK_OR_OUT(test, mock_log_is(test, m, "AMUD"),
			   "detach unmaps, then calls ops->detach");
	KUNIT_CHECK_OR_OUT(test, unmapped(test, m, sgt, DMA_TO_DEVICE), "unmap arguments");
	KUNIT_CHECK_OR_OUT(test, no_attachments(m->buf), "attachment unlisted");
out:
	teardown(test, dev, m, &a);
}

static void attach_error_and_order(struct kunit *test)
{
	struct dma_buf_attachment *a, *b = NULL, *c = NULL, *was;
	struct mock_buf *m;
	struct device *dev;
	int err;

	err = setup(test, &dev, &m, &mock_static_ops, NULL);
	if (err)
		return;
	m->attach_err = -ENODEV;
	a = dma_buf_attach(m->buf, dev);
	KUNIT_CHECK_OR_OUT(test, a == ERR_PTR(-ENODEV), "attach error: %ld", PTR_ERR(a));
	KUNIT_CHECK_OR_OUT(test, mock_log_is(test, m, "A"), "no detach after a failed attach");
	KUNIT_CHECK_OR_OUT(test, no_attachments(m->buf), "failed attachment unlisted");

	/* New attachments go first in the list. */
	m->attach_err = 0;
	b = dma_buf_attach(m->buf, dev);
	KUNIT_CHECK_OR_OUT(test, !IS_ERR(b), "attach: %ld", PTR_ERR(b));
	c = dma_buf_attach(m->buf, dev);
	KUNIT_CHECK_OR_OUT(test, !IS_ERR(c), "attach: %ld", PTR_ERR(c));
	KUNIT_CHECK_OR_OUT(test, position(m->buf, c) == 0 && position(m->buf, b) == 1,
			   "list order");
	was = c;
	detach(m, &c);
	KUNIT_CHECK_OR_OUT(test, m->attach_arg == was, "ops->detach argument");
	KUNIT_CHECK_OR_OUT(test, position(m->buf, b) == 0, "other attachment kept");
	detach(m, &b);
	KUNIT_CHECK_OR_OUT(test, mock_log_is(test, m, "AAADD"), "calls");
	KUNIT_CHECK_OR_OUT(test, no_attachments(m->buf), "all unlisted");
out:
	detach(m, &c);
	teardown(test, dev, m, &b);
}

static void dynamic_exporter_static_importer(struct kunit *test)
{
	struct dma_buf_attachment *a;
	struct sg_table *sgt, *cached;
	struct mock_buf *m;
	struct device *dev;
	int err;

	/* The importer cannot follow moves: the exporter pins and maps at attach. */
	err = setup(test, &dev, &m, &mock_dynamic_ops, &a);
	if (err)
		return;
	KUNIT_CHECK_OR_OUT(test, mock_log_is(test, m, "APM"), "attach, pin, map");
	KUNIT_CHECK_OR_OUT(test, m->locked_in_pin && m->locked_in_map,
			   "pin and map with the resv held");
	KUNIT_CHECK_OR_OUT(test, m->map_dir == DMA_BIDIRECTIONAL, "map direction %d", m->map_dir);
	cached = a->sgt;
	KUNIT_CHECK_OR_OUT(test, cached == m->mapped && a->dir == DMA_BIDIRECTIONAL,
			   "mapping cached");
	KUNIT_CHECK_OR_OUT(test, importer_view(m, cached), "cached mapping as importers see it");

	sgt = dma_buf_map_attachment_unlocked(a, DMA_TO_DEVICE);
	KUNIT_CHECK_OR_OUT(test, sgt == cached, "map returns the cached table: %ld", PTR_ERR(sgt));
	dma_buf_unmap_attachment_unlocked(a, sgt, DMA_TO_DEVICE);
	sgt = dma_buf_map_attachment_unlocked(a, DMA_FROM_DEVICE);
	KUNIT_CHECK_OR_OUT(test, sgt == cached, "bidirectional serves both: %ld", PTR_ERR(sgt));
	dma_buf_unmap_attachment_unlocked(a, sgt, DMA_FROM_DEVICE);
	KUNIT_CHECK_OR_OUT(test, mock_log_is(test, m, "APM"),
			   "no exporter call for a cached mapping");

	detach(m, &a);
	KUNIT_CHECK_OR_OUT(test, mock_log_is(test, m, "APMUpD"), "detach unmaps, unpins, detaches");
	KUNIT_CHECK_OR_OUT(test, unmapped(test, m, cached, DMA_BIDIRECTIONAL), "unmap arguments");
out:
	teardown(test, dev, m, &a);
}

static void dynamic_exporter_attach_errors(struct kunit *test)
{
	/* What each failing step leaves in the exporter's log. */
	static const struct {
		int pin_err, map_err;
		bool map_null;
		int want;
		const char *log;
	} fails[] = {
		{ .pin_err = -ENOSPC, .want = -ENOSPC, .log = "APD" },	/* no unpin */
		{ .map_err = -EINTR, .want = -EINTR, .log = "APMpD" },
		{ .map_null = true, .want = -ENOMEM, .log = "APMpD" },
	};
	struct dma_buf_attachment *a = NULL;
	struct mock_buf *m;
	struct device *dev;
	unsigned int i;
	int err;

	err = setup(test, &dev, &m, &mock_dynamic_ops, NULL);
	if (err)
		return;
	for (i = 0; i < ARRAY_SIZE(fails); i++) {
		mock_log_clear(m);
		m->pin_err = fails[i].pin_err;
		m->map_err = fails[i].map_err;
		m->map_null = fails[i].map_null;
		a = dma_buf_attach(m->buf, dev);
		KUNIT_CHECK_OR_OUT(test, a == ERR_PTR(fails[i].want), "case %u: attach %ld", i,
				   PTR_ERR(a));
		KUNIT_CHECK_OR_OUT(test, mock_log_is(test, m, fails[i].log),
				   "case %u: unpin if pinned, ops->detach", i);
	}
	KUNIT_CHECK_OR_OUT(test, no_attachments(m->buf), "failed attachments unlisted");
out:
	teardown(test, dev, m, &a);
}

static void dynamic_importer_dynamic_exporter(struct kunit *test)
{
	struct dma_buf_attachment *a;
	struct mock_importer imp = {};
	/* Without move_notify support, a dynamic exporter pins for each mapping. */
	const char *pinned = IS_ENABLED(CONFIG_DMABUF_MOVE_NOTIFY) ? "" : "P";
	const char *unpinned = IS_ENABLED(CONFIG_DMABUF_MOVE_NOTIFY) ? "" : "p";
	struct sg_table *sgt, *cached;
	struct mock_buf *m;
	struct device *dev;
	bool view, logged;
	char want[16];
	int err, ret, ret_err;

	err = setup(test, &dev, &m, &mock_dynamic_ops, NULL);
	if (err)
		return;
	a = dma_buf_dynamic_attach(m->buf, dev, &mock_p2p_importer_ops, &imp);
	KUNIT_CHECK_OR_OUT(test, !IS_ERR(a), "attach: %ld", PTR_ERR(a));
	KUNIT_CHECK_OR_OUT(test, mock_log_is(test, m, "A"),
			   "both dynamic: nothing mapped at attach");
	KUNIT_CHECK_OR_OUT(test, !a->sgt, "no cached mapping");
	KUNIT_CHECK_OR_OUT(test, a->importer_ops == &mock_p2p_importer_ops &&
			   a->importer_priv == &imp, "importer fields");
	KUNIT_CHECK_OR_OUT(test, a->peer2peer, "allow_peer2peer copied");

	sgt = map_locked(a, DMA_FROM_DEVICE);
	KUNIT_CHECK_OR_OUT(test, !IS_ERR(sgt) && sgt == m->mapped, "map: %ld", PTR_ERR(sgt));
	/* Look, then unmap before judging, so that a failure leaks nothing. */
	view = importer_view(m, sgt);
	cached = a->sgt;
	snprintf(want, sizeof(want), "A%sM", pinned);
	logged = mock_log_is(test, m, want);
	unmap_locked(a, sgt, DMA_FROM_DEVICE);
	KUNIT_CHECK_OR_OUT(test, m->map_dir == DMA_FROM_DEVICE && m->locked_in_map,
			   "map arguments");
	KUNIT_CHECK_OR_OUT(test, !cached, "not cached");
	KUNIT_CHECK_OR_OUT(test, view, "mapping as importers see it");
	KUNIT_CHECK_OR_OUT(test, logged, "map");
	snprintf(want, sizeof(want), "A%sMU%s", pinned, unpinned);
	KUNIT_CHECK_OR_OUT(test, mock_log_is(test, m, want), "unmap");
	KUNIT_CHECK_OR_OUT(test, unmapped(test, m, sgt, DMA_FROM_DEVICE), "unmap arguments");

	/* dma_buf_pin/unpin go straight to the exporter, errors included. */
	mock_log_clear(m);
	dma_resv_lock(m->buf->resv, NULL);
	ret = dma_buf_pin(a);
	dma_buf_unpin(a);
	m->pin_err = -ENOMEM;
	ret_err = dma_buf_pin(a);
	dma_resv_unlock(m->buf->resv);
	KUNIT_CHECK_OR_OUT(test, ret == 0 && ret_err == -ENOMEM, "pin returned %d, then %d", ret,
			   ret_err);
	KUNIT_CHECK_OR_OUT(test, mock_log_is(test, m, "PpP"), "pin, unpin, failed pin");
	KUNIT_CHECK_OR_OUT(test, m->locked_in_pin, "pin with the resv held");

	detach(m, &a);
	KUNIT_CHECK_OR_OUT(test, mock_log_is(test, m, "PpPD"), "detach: nothing cached to unmap");
out:
	teardown(test, dev, m, &a);
}

static void dynamic_importer_static_exporter(struct kunit *test)
{
	struct dma_fence *f = mock_fence(dma_fence_context_alloc(1), 1);
	struct dma_buf_attachment *a = NULL;
	struct mock_signaller safety;
	struct mock_importer imp = {};
	bool armed = false;
	struct sg_table *sgt;
	struct mock_buf *m;
	struct device *dev;
	int err;

	KUNIT_ASSERT_NOT_NULL(test, f);
	err = setup(test, &dev, &m, &mock_static_ops, NULL);
	if (err)
		goto put;
	/*
	 * A dynamic importer waits for kernel fences itself: mapping must not.
	 * The signaller only stops a wrong wait from hanging the test.
	 */
	KUNIT_CHECK_OR_OUT(test, mock_resv_add(m->buf->resv, f, DMA_RESV_USAGE_KERNEL) == 0,
			   "add a fence");
	mock_signal_after(&safety, f, 5000);
	armed = true;
	a = dma_buf_dynamic_attach(m->buf, dev, &mock_importer_ops, &imp);
	KUNIT_CHECK_OR_OUT(test, !IS_ERR(a), "attach: %ld", PTR_ERR(a));
	KUNIT_CHECK_OR_OUT(test, !dma_fence_is_signaled(f), "attach waited for a kernel fence");
	/* The exporter cannot follow moves: mapped (not pinned) at attach. */
	KUNIT_CHECK_OR_OUT(test, mock_log_is(test, m, "AM"), "attach, map");
	KUNIT_CHECK_OR_OUT(test, !a->peer2peer, "no peer2peer");
	KUNIT_CHECK_OR_OUT(test, a->sgt == m->mapped && a->dir == DMA_BIDIRECTIONAL,
			   "mapping cached");
	sgt = map_locked(a, DMA_TO_DEVICE);
	KUNIT_CHECK_OR_OUT(test, sgt == a->sgt && mock_log_is(test, m, "AM"), "cached table: %ld",
			   PTR_ERR(sgt));
	detach(m, &a);
	KUNIT_CHECK_OR_OUT(test, mock_log_is(test, m, "AMUD"), "detach");
	KUNIT_CHECK_OR_OUT(test, unmapped(test, m, sgt, DMA_BIDIRECTIONAL),
			   "unmap gets its own table");
	KUNIT_CHECK_OR_OUT(test, imp.moves == 0, "no move_notify");
out:
	if (armed)
		mock_signal_now(&safety);
	teardown(test, dev, m, &a);
put:
	mock_fence_done(f);
}

static void move_notify_dynamic_only(struct kunit *test)
{
	struct dma_buf_attachment *s = NULL, *d1 = NULL, *d2 = NULL;
	struct mock_importer imp1 = {}, imp2 = {};
	struct mock_buf *m;
	struct device *dev;
	int err;

	err = setup(test, &dev, &m, &mock_dynamic_ops, NULL);
	if (err)
		return;
	d1 = dma_buf_dynamic_attach(m->buf, dev, &mock_importer_ops, &imp1);
	KUNIT_CHECK_OR_OUT(test, !IS_ERR(d1), "attach: %ld", PTR_ERR(d1));
	s = dma_buf_attach(m->buf, dev);
	KUNIT_CHECK_OR_OUT(test, !IS_ERR(s), "attach: %ld", PTR_ERR(s));
	d2 = dma_buf_dynamic_attach(m->buf, dev, &mock_importer_ops, &imp2);
	KUNIT_CHECK_OR_OUT(test, !IS_ERR(d2), "attach: %ld", PTR_ERR(d2));
	KUNIT_CHECK_OR_OUT(test, mock_log_is(test, m, "AAPMA"), "attaches");

	move_notify_locked(m->buf);
	KUNIT_CHECK_OR_OUT(test, imp1.moves == 1 && imp1.moved == d1, "first importer: %u moves",
			   imp1.moves);
	KUNIT_CHECK_OR_OUT(test, imp2.moves == 1 && imp2.moved == d2, "second importer: %u moves",
			   imp2.moves);
	KUNIT_CHECK_OR_OUT(test, imp1.locked_in_move && imp2.locked_in_move,
			   "move_notify with the resv held");
	KUNIT_CHECK_OR_OUT(test, mock_log_is(test, m, "AAPMA"), "move_notify calls no exporter op");

	/* Only attachments still listed hear of moves. */
	detach(m, &d1);
	move_notify_locked(m->buf);
	KUNIT_CHECK_OR_OUT(test, imp1.moves == 1 && imp2.moves == 2, "moves %u %u", imp1.moves,
			   imp2.moves);
out:
	detach(m, &d2);
	detach(m, &s);
	teardown(test, dev, m, &d1);
}

static void map_directions_and_mangling(struct kunit *test)
{
	static const enum dma_data_direction dirs[] = {
		DMA_TO_DEVICE, DMA_FROM_DEVICE, DMA_BIDIRECTIONAL,
	};
	struct dma_buf_attachment *a;
	struct sg_table *sgt, *other, *cached;
	struct mock_buf *m;
	struct device *dev;
	unsigned int i;
	bool view;
	int err;

	err = setup(test, &dev, &m, &mock_static_ops, &a);
	if (err)
		return;
	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		mock_log_clear(m);
		sgt = dma_buf_map_attachment_unlocked(a, dirs[i]);
		KUNIT_CHECK_OR_OUT(test, !IS_ERR(sgt) && sgt == m->mapped, "map %d: %ld", dirs[i],
				   PTR_ERR(sgt));
		/* Look, then unmap before judging, so that a failure leaks nothing. */
		view = importer_view(m, sgt);
		cached = a->sgt;
		dma_buf_unmap_attachment_unlocked(a, sgt, dirs[i]);
		KUNIT_CHECK_OR_OUT(test, m->map_dir == dirs[i] && m->locked_in_map,
				   "map direction %d", m->map_dir);
		KUNIT_CHECK_OR_OUT(test, view, "direction %d: importer's view", dirs[i]);
		KUNIT_CHECK_OR_OUT(test, !cached, "not cached");
		KUNIT_CHECK_OR_OUT(test, unmapped(test, m, sgt, dirs[i]), "unmap arguments");

		dma_resv_lock(m->buf->resv, NULL);
		sgt = dma_buf_map_attachment(a, dirs[i]);
		/* Not caching: every map is a new table. */
		other = dma_buf_map_attachment(a, dirs[i]);
		if (!IS_ERR(other))
			dma_buf_unmap_attachment(a, other, dirs[i]);
		if (!IS_ERR(sgt))
			dma_buf_unmap_attachment(a, sgt, dirs[i]);
		dma_resv_unlock(m->buf->resv);
		KUNIT_CHECK_OR_OUT(test, !IS_ERR(sgt) && !IS_ERR(other) && sgt != other,
				   "two tables");
		KUNIT_CHECK_OR_OUT(test, m->unmapped == sgt && m->unmap_dir == dirs[i],
				   "locked unmap arguments");
		KUNIT_CHECK_OR_OUT(test, mock_log_is(test, m, "MUMMUU"), "calls");
	}
out:
	teardown(test, dev, m, &a);
}

static void map_errors_unchanged(struct kunit *test)
{
	struct dma_buf_attachment *a;
	struct sg_table *sgt;
	struct mock_buf *m;
	struct device *dev;
	int err;

	/* A caching exporter: a failed map must not be cached either. */
	err = setup(test, &dev, &m, &mock_cached_ops, &a);
	if (err)
		return;
	m->map_err = -EINTR;
	sgt = dma_buf_map_attachment_unlocked(a, DMA_TO_DEVICE);
	KUNIT_CHECK_OR_OUT(test, sgt == ERR_PTR(-EINTR), "unlocked: %ld", PTR_ERR(sgt));
	m->map_err = -ENOSPC;
	sgt = map_locked(a, DMA_TO_DEVICE);
	KUNIT_CHECK_OR_OUT(test, sgt == ERR_PTR(-ENOSPC), "locked: %ld", PTR_ERR(sgt));
	m->map_err = 0;
	m->map_null = true;
	sgt = dma_buf_map_attachment_unlocked(a, DMA_TO_DEVICE);
	KUNIT_CHECK_OR_OUT(test, sgt == ERR_PTR(-ENOMEM), "NULL table: %ld", PTR_ERR(sgt));
	KUNIT_CHECK_OR_OUT(test, !a->sgt, "nothing cached");
	KUNIT_CHECK_OR_OUT(test, mock_log_is(test, m, "AMMM"), "no unmap of a failed map");

	m->map_null = false;
	sgt = dma_buf_map_attachment_unlocked(a, DMA_FROM_DEVICE);
	KUNIT_CHECK_OR_OUT(test, !IS_ERR(sgt) && a->sgt == sgt && a->dir == DMA_FROM_DEVICE,
			   "map after errors");
	detach(m, &a);
	KUNIT_CHECK_OR_OUT(test, mock_log_is(test, m, "AMMMMUD"), "calls");
	KUNIT_CHECK_OR_OUT(test, unmapped(test, m, sgt, DMA_FROM_DEVICE), "unmap");
out:
	teardown(test, dev, m, &a);
}

static void map_static_importer_waits_kernel_fences(struct kunit *test)
{
	struct dma_fence *k = mock_fence(dma_fence_context_alloc(1), 1);
	struct dma_fence *r = mock_fence(dma_fence_context_alloc(1), 1);
	struct dma_buf_attachment *a;
	struct mock_signaller sk, sr;
	bool armed = false, k_done, r_done;
	struct sg_table *sgt = NULL;
	struct mock_buf *m = NULL;
	struct device *dev;
	int err;

	if (!k || !r) {
		KUNIT_FAIL(test, "allocation");
		goto put;
	}
	err = setup(test, &dev, &m, &mock_static_ops, &a);
	if (err)
		goto put;
	KUNIT_CHECK_OR_OUT(test, mock_resv_add(m->buf->resv, k, DMA_RESV_USAGE_KERNEL) == 0,
			   "add a fence");
	KUNIT_CHECK_OR_OUT(test, mock_resv_add(m->buf->resv, r, DMA_RESV_USAGE_READ) == 0,
			   "add a fence");
	/* k signals soon; r only stops a wrong wait from hanging the test. */
	mock_signal_after(&sk, k, 500);
	mock_signal_after(&sr, r, 5000);
	armed = true;
	m->watch = k;
	sgt = dma_buf_map_attachment_unlocked(a, DMA_BIDIRECTIONAL);
	k_done = dma_fence_is_signaled(k);
	r_done = dma_fence_is_signaled(r);
	KUNIT_CHECK_OR_OUT(test, !IS_ERR(sgt), "map: %ld", PTR_ERR(sgt));
	dma_buf_unmap_attachment_unlocked(a, sgt, DMA_BIDIRECTIONAL);
	KUNIT_CHECK_OR_OUT(test, m->watch_pending_in_map, "the exporter maps before the wait");
	KUNIT_CHECK_OR_OUT(test, k_done, "map returned before the kernel fence signalled");
	KUNIT_CHECK_OR_OUT(test, !r_done, "map waited for a read fence");
	KUNIT_CHECK_OR_OUT(test, mock_log_is(test, m, "AMU"), "calls");
out:
	if (armed) {
		mock_signal_now(&sk);
		mock_signal_now(&sr);
	}
	teardown(test, dev, m, &a);
put:
	mock_fence_done(k);
	mock_fence_done(r);
}

/*
 * DMA_BUF_SET_NAME_B through the buffer's own ioctl while a device is
 * attached: 6.12 no longer refuses (-EBUSY was dropped), the name is
 * replaced, and the exporter is not called. Userspace cannot attach a device
 * without a DRM driver, so the case calls the file's ioctl itself, with the
 * name in an anonymous user mapping (kunit_vm_mmap() gives the case's
 * kernel thread a user address space).
 */
static void set_name_while_attached(struct kunit *test)
{
	static const char name[] = "attached";
	struct dma_buf_attachment *a;
	unsigned long addr;
	struct mock_buf *m;
	struct device *dev;
	long ret;
	int err;

	err = setup(test, &dev, &m, &mock_static_ops, &a);
	if (err)
		return;
	mock_log_clear(m);
	addr = kunit_vm_mmap(test, NULL, 0, PAGE_SIZE, PROT_READ | PROT_WRITE,
			     MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_CHECK_OR_OUT(test, addr && !IS_ERR_VALUE(addr), "vm_mmap: %ld", (long)addr);
	if (copy_to_user((void __user *)addr, name, sizeof(name))) {
		vm_munmap(addr, PAGE_SIZE);
		KUNIT_CHECK_OR_OUT(test, false, "copy_to_user of the name");
	}
	ret = m->buf->file->f_op->unlocked_ioctl(m->buf->file, DMA_BUF_SET_NAME_B, addr);
	vm_munmap(addr, PAGE_SIZE);
	KUNIT_CHECK_OR_OUT(test, ret == 0, "SET_NAME_B while attached: %ld", ret);
	spin_lock(&m->buf->name_lock);
	ret = m->buf->name && !strcmp(m->buf->name, name);
	spin_unlock(&m->buf->name_lock);
	KUNIT_CHECK_OR_OUT(test, ret, "the name is replaced");
	KUNIT_CHECK_OR_OUT(test, position(m->buf, a) == 0, "still attached");
	KUNIT_CHECK_OR_OUT(test, mock_log_is(test, m, ""), "no exporter op called");
out:
	teardown(test, dev, m, &a);
}

static struct kunit_case cases[] = {
	KUNIT_CASE(static_attach_cached_map),
	KUNIT_CASE(attach_error_and_order),
	KUNIT_CASE(set_name_while_attached),
	KUNIT_CASE(dynamic_exporter_static_importer),
	KUNIT_CASE(dynamic_exporter_attach_errors),
	KUNIT_CASE(dynamic_importer_dynamic_exporter),
	KUNIT_CASE(dynamic_importer_static_exporter),
	KUNIT_CASE(move_notify_dynamic_only),
	KUNIT_CASE(map_directions_and_mangling),
	KUNIT_CASE(map_errors_unchanged),
	KUNIT_CASE(map_static_importer_waits_kernel_fences),
	{}
};

static struct kunit_suite suite = {
	.name = "dmabuf_rs_buf_attach",
	.test_cases = cases,
};
kunit_test_suite(suite);
