// SPDX-License-Identifier: GPL-2.0-only

//! CPU access to a dma-buf from the kernel: the `begin`/`end` brackets
//! around it, mapping the buffer into a userspace VMA for an importer
//! (`dma_buf_mmap`), and mapping it into the kernel's address space (vmap).
//!
//! The brackets wait for the implicit fences of the buffer and let the
//! exporter make its caches coherent; only accesses between a begin and an
//! end are guaranteed to see what devices wrote and to be seen by them.
//! Userspace brackets its own mmap accesses with `DMA_BUF_IOCTL_SYNC`, which
//! lands here too.
//!
//! The kernel vmap is reference counted per buffer under the reservation
//! lock: the exporter's `vmap` op runs for the first vmap only and its
//! `vunmap` for the last vunmap only, and every caller in between gets the
//! same `struct iosys_map` (the rules are in [`crate::logic::access`]).
//!
//! C: the "cpu access" section of
//! [`drivers/dma-buf/dma-buf.c`](srctree/drivers/dma-buf/dma-buf.c); header:
//! [`include/linux/dma-buf.h`](srctree/include/linux/dma-buf.h).

use super::attach::{assert_held, might_lock, ops, MAX_SCHEDULE_TIMEOUT};
use super::lock::ResvGuard;
use crate::logic::access::Vunmap;
use crate::logic::access::{self, cpu_access_usage, mmap_range, vma_pages, IosysMap};
use crate::logic::errno::EINVAL;
use crate::sys;
use core::ptr::addr_of_mut;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::bindings::{self, dma_buf, dma_data_direction, iosys_map, vm_area_struct};
use kernel::ffi::{c_int, c_ulong};

/// A cleared `struct iosys_map` (`iosys_map_clear`): a null system-memory
/// address. A constant, where the bindgen `Default` is a call into another
/// crate on every vmap.
const IOSYS_MAP_NULL: iosys_map = iosys_map {
    __bindgen_anon_1: bindings::iosys_map__bindgen_ty_1 {
        vaddr: core::ptr::null_mut(),
    },
    is_iomem: false,
};

/// Waits (interruptibly, without a timeout) for the fences of `dmabuf` that
/// a CPU access in `direction` must wait for, as
/// `__dma_buf_begin_cpu_access()`: a writing access waits for readers and
/// writers, a reading one for writers.
///
/// Returns 0, or -ERESTARTSYS when interrupted.
///
/// # Safety
///
/// `dmabuf` must be a live dma-buf.
unsafe fn wait_for_cpu_access(dmabuf: *mut dma_buf, direction: dma_data_direction) -> c_int {
    let usage = cpu_access_usage(direction);
    // SAFETY: The dma-buf is live, so is its reservation object; the wait
    // takes no lock.
    let ret = unsafe {
        crate::resv::dma_resv_wait_timeout(
            (*dmabuf).resv,
            usage.as_raw(),
            true,
            MAX_SCHEDULE_TIMEOUT,
        )
    };
    if ret < 0 {
        // A negative errno, which fits an `int`.
        ret as c_int
    } else {
        0
    }
}

/// The checks both CPU access brackets open with: `WARN_ON(!dmabuf)`, then
/// `might_lock()` of the reservation lock, which the exporter's op or the
/// wait may take. Returns `false`, after the warning, for a NULL `dmabuf`.
///
/// # Safety
///
/// `dmabuf` must be NULL or a live dma-buf.
#[track_caller]
unsafe fn bracket_checks(dmabuf: *mut dma_buf) -> bool {
    if dmabuf.is_null() {
        sys::warn();
        return false;
    }
    // SAFETY: The dma-buf is live (caller), so is its reservation object.
    unsafe { might_lock((*dmabuf).resv) };
    true
}

/// Starts a CPU access to `dmabuf` from the kernel, in `direction`.
///
/// Lets the exporter prepare (its `begin_cpu_access` op, which may wait for
/// the fences itself, more cheaply), then waits for the buffer's implicit
/// fences; coherency is guaranteed for `direction` only, until
/// [`dma_buf_end_cpu_access`]. Fences of explicitly synchronised work are
/// not waited for: their users must synchronise on their own.
///
/// May take the reservation lock, so the caller must not hold it (lockdep
/// checks that on every call); may sleep.
///
/// Returns 0, -EINVAL (with a warning) for a NULL `dmabuf`, the error of the
/// exporter's op, or -ERESTARTSYS when the wait was interrupted.
///
/// # Safety
///
/// `dmabuf` must be NULL or a live dma-buf.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_buf_begin_cpu_access(
    dmabuf: *mut dma_buf,
    direction: dma_data_direction,
) -> c_int {
    // SAFETY: NULL or live (caller).
    if !unsafe { bracket_checks(dmabuf) } {
        return EINVAL.to_neg();
    }

    let mut ret = 0;
    // SAFETY: The dma-buf is live.
    if let Some(begin) = unsafe { ops(dmabuf) }.begin_cpu_access {
        // SAFETY: The exporter's own buffer, without the reservation lock.
        ret = unsafe { begin(dmabuf, direction) };
    }
    // The exporter may have waited already; a second wait is then cheap.
    if ret == 0 {
        // SAFETY: The dma-buf is live.
        ret = unsafe { wait_for_cpu_access(dmabuf, direction) };
    }
    ret
}

/// Ends a CPU access started with [`dma_buf_begin_cpu_access`], letting the
/// exporter (its `end_cpu_access` op) flush what the CPU wrote.
///
/// May take the reservation lock, so the caller must not hold it; may sleep.
///
/// Returns 0, the error of the exporter's op, or -EINVAL (with a warning)
/// for a NULL `dmabuf`, where C warns and then dereferences it.
///
/// # Safety
///
/// `dmabuf` must be NULL or a live dma-buf.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_buf_end_cpu_access(
    dmabuf: *mut dma_buf,
    direction: dma_data_direction,
) -> c_int {
    // SAFETY: NULL or live (caller).
    if !unsafe { bracket_checks(dmabuf) } {
        return EINVAL.to_neg();
    }

    // SAFETY: The dma-buf is live.
    match unsafe { ops(dmabuf) }.end_cpu_access {
        // SAFETY: The exporter's own buffer, without the reservation lock.
        Some(end) => unsafe { end(dmabuf, direction) },
        None => 0,
    }
}

/// Sets up `vma`, which an importer is mmapping, to map `dmabuf` from page
/// `pgoff` of the buffer on.
///
/// Checks that the VMA's pages fit in the buffer from `pgoff` on, makes the
/// VMA refer to the dma-buf's file instead of the importer's (the VMA takes
/// a reference to it and drops the one to the old file) with `pgoff` as its
/// offset, and lets the exporter's `mmap` op map it. The caller must not
/// hold the reservation lock.
///
/// Returns 0, or -EINVAL (with a warning for a NULL `dmabuf` or `vma`; also
/// when the exporter cannot mmap, or the range is beyond the buffer's last
/// whole page), -EOVERFLOW when `pgoff` plus the VMA's pages wraps around,
/// or the error of the exporter's op.
///
/// # Safety
///
/// `dmabuf` must be NULL or a live dma-buf; `vma` NULL or a VMA being set up
/// by an mmap, whose mmap lock the caller holds.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_buf_mmap(
    dmabuf: *mut dma_buf,
    vma: *mut vm_area_struct,
    pgoff: c_ulong,
) -> c_int {
    if dmabuf.is_null() || vma.is_null() {
        sys::warn();
        return EINVAL.to_neg();
    }
    // SAFETY: The dma-buf is live (caller).
    let Some(mmap) = (unsafe { ops(dmabuf) }).mmap else {
        return EINVAL.to_neg();
    };

    // SAFETY: The VMA is being set up under its mmap lock (caller); its
    // bounds are set. The dma-buf is live and its size never changes.
    let (pages, size) = unsafe {
        let range = (*vma).__bindgen_anon_1.__bindgen_anon_1;
        (
            vma_pages(range.vm_start, range.vm_end, bindings::PAGE_SHIFT),
            (*dmabuf).size,
        )
    };
    if let Err(err) = mmap_range(pgoff, pages, size, bindings::PAGE_SHIFT) {
        return err.to_neg();
    }

    // SAFETY: The VMA is ours to set up (caller); the dma-buf's file lives
    // as long as the buffer, and `vma_set_file` takes its own reference.
    unsafe {
        bindings::vma_set_file(vma, (*dmabuf).file);
        (*vma).vm_pgoff = pgoff;
    }
    // SAFETY: The exporter's own buffer and the prepared VMA, without the
    // reservation lock.
    unsafe { mmap(dmabuf, vma) }
}

/// The value of the `iosys_map` at `map`, for the rules of
/// [`crate::logic::access`].
///
/// # Safety
///
/// `map` must be valid for reads.
unsafe fn iosys_map_value(map: *const iosys_map) -> IosysMap {
    // SAFETY: `map` is readable (caller). Both members of the union are
    // pointers sharing their storage; the one that `is_iomem` names is read,
    // as the C helpers do.
    let (is_iomem, addr) = unsafe {
        let map = map.read();
        let addr = if map.is_iomem {
            map.__bindgen_anon_1.vaddr_iomem
        } else {
            map.__bindgen_anon_1.vaddr
        };
        (map.is_iomem, addr)
    };
    IosysMap {
        is_iomem,
        addr: addr as usize,
    }
}

/// `iosys_map_clear()`: makes the map at `map` point nowhere, in system
/// memory (all zeroes).
///
/// # Safety
///
/// `map` must be valid for writes.
unsafe fn iosys_map_clear(map: *mut iosys_map) {
    // SAFETY: `map` is writable (caller).
    unsafe { map.write(IOSYS_MAP_NULL) };
}

/// `BUG()` for a broken vmap invariant ([`access::VmapBug`]), as C's `BUG_ON`s.
fn vmap_bug(_bug: access::VmapBug) -> ! {
    // SAFETY: `BUG` has no preconditions; it does not return.
    unsafe { bindings::BUG() }
}

/// Whether the warning of a failed exporter `vmap` was given
/// (`WARN_ON_ONCE`).
static VMAP_FAILED_WARNED: AtomicBool = AtomicBool::new(false);

/// Warns, once, that an exporter's `vmap` failed with `ret`, and returns it.
///
/// Out of line and cold: kept off the registers of the vmap fast path.
#[cold]
#[inline(never)]
#[track_caller]
fn vmap_failed(ret: c_int) -> c_int {
    if !VMAP_FAILED_WARNED.swap(true, Ordering::Relaxed) {
        sys::warn();
    }
    // Opaque, so that the caller takes the value from the call rather than
    // keep its own copy in a callee-saved register (one more to save on the
    // fast path).
    core::hint::black_box(ret)
}

/// Maps `dmabuf` into the kernel's address space and returns the mapping in
/// `map`.
///
/// The first vmap of a buffer calls the exporter's `vmap` op; later ones
/// return the same mapping and count it, until as many [`dma_buf_vunmap`]s.
/// To be coherent with devices, CPU accesses through the mapping must be
/// bracketed by [`dma_buf_begin_cpu_access`] and
/// [`dma_buf_end_cpu_access`]. The caller holds the reservation lock.
///
/// Returns 0 with `map` set, or an error with `map` cleared: -EINVAL (with
/// a warning for a NULL `dmabuf`; also when the exporter cannot vmap), or
/// the error of the exporter's op (with a warning, once), for instance when
/// the vmalloc space is exhausted.
///
/// # Safety
///
/// `map` must be valid for writes; `dmabuf` NULL or a live dma-buf.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_buf_vmap(dmabuf: *mut dma_buf, map: *mut iosys_map) -> c_int {
    // SAFETY: `map` is valid for writes (caller).
    unsafe { iosys_map_clear(map) };

    if dmabuf.is_null() {
        sys::warn();
        return EINVAL.to_neg();
    }
    // SAFETY: The dma-buf is live (caller), so is its reservation object.
    unsafe { assert_held((*dmabuf).resv) };

    // SAFETY: The dma-buf is live.
    let Some(vmap_op) = (unsafe { ops(dmabuf) }).vmap else {
        return EINVAL.to_neg();
    };

    // The vmap count and map of a live dma-buf change only under the
    // reservation lock, which we hold; they are accessed through raw
    // pointers, as the exporter's op may look at the buffer too.
    // SAFETY: The dma-buf is live.
    let (count, stored) = unsafe {
        (
            addr_of_mut!((*dmabuf).vmapping_counter),
            addr_of_mut!((*dmabuf).vmap_ptr),
        )
    };
    // SAFETY: Both are readable, see above.
    let (old_count, old_map) = unsafe { (*count, iosys_map_value(stored)) };
    if old_count != 0 {
        let new_count = match access::vmap_again(old_count, old_map) {
            Ok(new_count) => new_count,
            Err(bug) => vmap_bug(bug),
        };
        // SAFETY: Both fields are ours under the lock; `map` is writable.
        unsafe {
            *count = new_count;
            *map = *stored;
        }
        return 0;
    }
    if let Err(bug) = access::vmap_first(old_map) {
        vmap_bug(bug);
    }
    let mut ptr = IOSYS_MAP_NULL;
    // SAFETY: The exporter's own buffer, with the lock held; `ptr` is ours
    // for it to fill.
    let ret = unsafe { vmap_op(dmabuf, addr_of_mut!(ptr)) };
    if ret != 0 {
        return vmap_failed(ret);
    }
    // SAFETY: As for the second vmap above.
    unsafe {
        *stored = ptr;
        *count = 1;
        *map = *stored;
    }
    0
}

/// [`dma_buf_vmap`] for callers that do not hold the reservation lock:
/// takes it around the call.
///
/// Returns what [`dma_buf_vmap`] returns; -EINVAL (with a warning, `map`
/// cleared) for a NULL `dmabuf`. May sleep.
///
/// # Safety
///
/// As [`dma_buf_vmap`].
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_buf_vmap_unlocked(
    dmabuf: *mut dma_buf,
    map: *mut iosys_map,
) -> c_int {
    // SAFETY: `map` is valid for writes (caller).
    unsafe { iosys_map_clear(map) };

    if dmabuf.is_null() {
        sys::warn();
        return EINVAL.to_neg();
    }
    // SAFETY: The dma-buf is live, so is its reservation object; the caller
    // does not hold its lock (locking convention).
    let _lock = unsafe { ResvGuard::lock((*dmabuf).resv) };
    // SAFETY: As the caller promised; we hold the lock.
    unsafe { dma_buf_vmap(dmabuf, map) }
}

/// Drops a mapping obtained with [`dma_buf_vmap`]; the last one calls the
/// exporter's `vunmap` op (if any) with `map` and forgets the mapping.
///
/// Warns and does nothing for a NULL `dmabuf`. BUGs if the buffer has no
/// vmap or `map` is not its mapping. The caller holds the reservation lock.
///
/// # Safety
///
/// `dmabuf` must be NULL or a live dma-buf; `map` valid for reads.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_buf_vunmap(dmabuf: *mut dma_buf, map: *mut iosys_map) {
    if dmabuf.is_null() {
        sys::warn();
        return;
    }
    // SAFETY: The dma-buf is live (caller), so is its reservation object.
    unsafe { assert_held((*dmabuf).resv) };

    // As in `dma_buf_vmap`, raw pointers: `map` may even be the stored map.
    // SAFETY: The dma-buf is live.
    let (count, stored) = unsafe {
        (
            addr_of_mut!((*dmabuf).vmapping_counter),
            addr_of_mut!((*dmabuf).vmap_ptr),
        )
    };
    // SAFETY: The count and the stored map are ours under the lock we hold;
    // `map` is readable (caller).
    let plan = unsafe { access::vunmap(*count, iosys_map_value(stored), iosys_map_value(map)) };
    match plan {
        Err(bug) => vmap_bug(bug),
        // SAFETY: As above.
        Ok(Vunmap::Keep(new_count)) => unsafe { *count = new_count },
        Ok(Vunmap::Last) => {
            // SAFETY: As above.
            unsafe { *count = 0 };
            // SAFETY: The dma-buf is live.
            if let Some(vunmap) = unsafe { ops(dmabuf) }.vunmap {
                // SAFETY: The exporter's own buffer and mapping (equal to the
                // stored one, checked above), with the lock held.
                unsafe { vunmap(dmabuf, map) };
            }
            // SAFETY: As above.
            unsafe { iosys_map_clear(stored) };
        }
    }
}

/// [`dma_buf_vunmap`] for callers that do not hold the reservation lock:
/// takes it around the call.
///
/// Warns and does nothing for a NULL `dmabuf`. May sleep.
///
/// # Safety
///
/// As [`dma_buf_vunmap`].
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_buf_vunmap_unlocked(dmabuf: *mut dma_buf, map: *mut iosys_map) {
    if dmabuf.is_null() {
        sys::warn();
        return;
    }
    // SAFETY: The dma-buf is live, so is its reservation object; the caller
    // does not hold its lock (locking convention).
    let _lock = unsafe { ResvGuard::lock((*dmabuf).resv) };
    // SAFETY: As the caller promised; we hold the lock.
    unsafe { dma_buf_vunmap(dmabuf, map) };
}

c_abi!(
    dma_buf_begin_cpu_access,
    dma_buf_end_cpu_access,
    dma_buf_mmap,
    dma_buf_vmap,
    dma_buf_vmap_unlocked,
    dma_buf_vunmap,
    dma_buf_vunmap_unlocked,
);
