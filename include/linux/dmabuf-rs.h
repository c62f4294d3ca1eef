/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * C shims of the Rust dma-buf core (drivers/dma-buf/dmabuf_rs_shims.c and
 * dmabuf_rs_trace.c).
 *
 * Each wraps one macro or static inline that Rust cannot call directly, or
 * defines a static object that 6.12's Rust cannot initialise (a spinlock with
 * its lockdep class). They are declared here, and rust/bindings/bindings_helper.h
 * includes this header, so the Rust side calls them through bindgen's
 * prototypes instead of hand-written declarations.
 */
#ifndef _LINUX_DMABUF_RS_H
#define _LINUX_DMABUF_RS_H

#include <linux/dmabuf-rs-buf.h>
#include <linux/dmabuf-rs-resv.h>
#include <linux/dmabuf-rs-sync-file.h>
#include <linux/spinlock_types.h>
#include <linux/tracepoint-defs.h>
#include <linux/types.h>

struct dma_fence;
struct dma_fence_array;
struct dma_fence_chain;
struct file;
struct irq_work;
struct list_head;
struct poll_table_struct;
struct wait_queue_head;

/* The lock of the stub fences (DEFINE_SPINLOCK, the C core's lock name). */
extern spinlock_t dma_fence_stub_lock;

/*
 * WARN on behalf of Rust: the backtrace goes through the Rust caller, and the
 * message names its source location (file is not NUL-terminated).
 */
void dmabuf_rs_warn(int file_len, const char *file, unsigned int line);
/* dma_fence_release()'s warning, with the C core's exact text. */
void dmabuf_rs_warn_fence_released(const char *driver, const char *timeline,
				   u64 context, u64 seqno);

void dmabuf_rs_lockdep_assert_held(spinlock_t *lock);

/*
 * spin_lock_irq()/spin_unlock_irq(), for kernels where the macro is not a call
 * of an exported function (inlined, uniprocessor or PREEMPT_RT); elsewhere
 * Rust calls the exported _raw_spin_*() functions itself. The irqsave pair
 * has its helpers in rust/helpers/irq.c.
 */
void dmabuf_rs_spin_lock_irq(spinlock_t *lock);
void dmabuf_rs_spin_unlock_irq(spinlock_t *lock);

void dmabuf_rs_list_add(struct list_head *entry, struct list_head *head);
void dmabuf_rs_list_add_tail(struct list_head *entry, struct list_head *head);
void dmabuf_rs_list_del(struct list_head *entry);
void dmabuf_rs_list_del_init(struct list_head *entry);

/*
 * poll_wait(), barrier included: for the poll of both the dma-buf file and the
 * sync_file.
 */
void dmabuf_rs_poll_wait(struct file *filp, struct wait_queue_head *wait_address,
			 struct poll_table_struct *p);

void dmabuf_rs_might_sleep(void);
bool dmabuf_rs_in_atomic(void);
void dmabuf_rs_set_current_state(unsigned int state);
void dmabuf_rs___set_current_state(unsigned int state);

/*
 * spin_lock_init() of the container fences' locks: one lockdep class each,
 * named "&array->lock" and "&chain->lock" as in the C core.
 */
void dmabuf_rs_array_lock_init(struct dma_fence_array *array);
void dmabuf_rs_chain_lock_init(struct dma_fence_chain *chain);

#ifdef CONFIG_LOCKDEP
/*
 * The Rust side of dma_fence_begin/end_signalling(): the exported functions
 * are C wrappers that pass their caller's address (_RET_IP_), so lockdep
 * reports name the driver's call site as with the C core.
 */
bool dmabuf_rs_fence_begin_signalling(unsigned long ip);
void dmabuf_rs_fence_end_signalling(bool cookie, unsigned long ip);
#endif

void dmabuf_rs_init_irq_work(struct irq_work *work, void (*func)(struct irq_work *));

void dmabuf_rs_rcu_read_lock(void);
void dmabuf_rs_rcu_read_unlock(void);


/*
 * The dma_fence tracepoints (include/trace/events/dma_fence.h): the Rust core
 * reads each one's key, as the trace_*() inlines do, and calls the wrapper
 * only when the event may be traced.
 */
extern struct tracepoint __tracepoint_dma_fence_init;
extern struct tracepoint __tracepoint_dma_fence_destroy;
extern struct tracepoint __tracepoint_dma_fence_enable_signal;
extern struct tracepoint __tracepoint_dma_fence_signaled;
extern struct tracepoint __tracepoint_dma_fence_wait_start;
extern struct tracepoint __tracepoint_dma_fence_wait_end;
void dmabuf_rs_trace_dma_fence_init(struct dma_fence *fence);
void dmabuf_rs_trace_dma_fence_destroy(struct dma_fence *fence);
void dmabuf_rs_trace_dma_fence_enable_signal(struct dma_fence *fence);
void dmabuf_rs_trace_dma_fence_signaled(struct dma_fence *fence);
void dmabuf_rs_trace_dma_fence_wait_start(struct dma_fence *fence);
void dmabuf_rs_trace_dma_fence_wait_end(struct dma_fence *fence);

#endif /* _LINUX_DMABUF_RS_H */
