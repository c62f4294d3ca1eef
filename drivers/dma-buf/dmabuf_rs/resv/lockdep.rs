// SPDX-License-Identifier: GPL-2.0-only

//! Teaching lockdep, at boot, where the reservation lock sits among the
//! memory-management locks (only built with CONFIG_LOCKDEP).
//!
//! Lockdep only reports an inversion once it has seen both orders, which for
//! these locks may take a rare shrinker or MMU-notifier path. Taking them once,
//! in the one order that is allowed, records that order up front, so that any
//! driver taking them the other way is reported the first time it does:
//!
//! mmap_lock, then a reservation lock, then reclaim (`fs_reclaim`, with the
//! `i_mmap_rwsem` that shrinkers take to unmap buffers), then the MMU notifier
//! invalidation map, and inside all of those, waiting for a fence.
//!
//! The work is done on throwaway objects: a fresh `mm_struct`, a reservation
//! object and an `address_space` on the stack.

use crate::sys;
use core::mem::MaybeUninit;
use core::ptr::addr_of_mut;
use kernel::bindings::{self, address_space, dma_resv, ww_acquire_ctx};
use kernel::ffi::c_int;

/// Records the allowed order of the reservation lock against the mm locks,
/// reclaim and fence waits (the C core's `dma_resv_lockdep`).
///
/// Called once, at subsys_initcall level, from `dmabuf_rs_resv_shims.c`.
/// Returns 0, or -ENOMEM if no `mm_struct` could be allocated. Sleeps.
#[no_mangle]
pub(crate) extern "C" fn dmabuf_rs_resv_lockdep() -> c_int {
    // SAFETY: No preconditions; we run in process context at boot.
    let mm = unsafe { bindings::mm_alloc() };
    if mm.is_null() {
        return sys::neg(bindings::ENOMEM);
    }

    let mut obj = dma_resv::default();
    let mut ctx = ww_acquire_ctx::default();
    let mut mapping = MaybeUninit::<address_space>::zeroed();
    let obj = addr_of_mut!(obj);
    let ctx = addr_of_mut!(ctx);
    let mapping = mapping.as_mut_ptr();

    // SAFETY: `mm` is a new, live mm that we hold a reference to; `obj`,
    // `ctx` and `mapping` live on this stack frame, are initialised before
    // use and stay in place until every lock in them has been released below.
    // The class is the static reservation class. Locks are released in the
    // reverse order of taking them, as lockdep expects.
    unsafe {
        let lock = addr_of_mut!((*obj).lock);
        super::dma_resv_init(obj);
        bindings::address_space_init_once(mapping);

        bindings::dmabuf_rs_mmap_read_lock(mm);
        bindings::dmabuf_rs_ww_acquire_init(ctx, addr_of_mut!(bindings::reservation_ww_class));
        // `dma_resv_lock()`: with CONFIG_DEBUG_WW_MUTEX_SLOWPATH it may fail
        // with -EDEADLK on purpose, and the slow path must then be taken.
        if bindings::ww_mutex_lock(lock, ctx) == sys::neg(bindings::EDEADLK) {
            bindings::dmabuf_rs_ww_mutex_lock_slow(lock, ctx);
        }
        bindings::fs_reclaim_acquire(bindings::GFP_KERNEL);
        // Shrinkers call unmap_mapping_range() on trylocked buffer objects.
        bindings::dmabuf_rs_i_mmap_lock_write(mapping);
        bindings::dmabuf_rs_i_mmap_unlock_write(mapping);
        #[cfg(CONFIG_MMU_NOTIFIER)]
        bindings::dmabuf_rs_mmu_notifier_map_acquire();
        crate::fence::lockdep::might_wait();
        #[cfg(CONFIG_MMU_NOTIFIER)]
        bindings::dmabuf_rs_mmu_notifier_map_release();
        bindings::fs_reclaim_release(bindings::GFP_KERNEL);
        bindings::ww_mutex_unlock(lock);
        bindings::dmabuf_rs_ww_acquire_fini(ctx);
        bindings::dmabuf_rs_mmap_read_unlock(mm);

        bindings::mmput(mm);
    }
    0
}

c_abi!(dmabuf_rs_resv_lockdep);
