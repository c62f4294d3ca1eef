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

use super::attach::MAX_SCHEDULE_TIMEOUT;
use super::lock::ResvGuard;
use super::methods::{checked, DmaBuf, DmaBufCore, MapArg};
use crate::logic::access::Vunmap;
use crate::logic::access::{self, cpu_access_usage, mmap_range, vma_pages, IosysMap};
use crate::logic::errno::EINVAL;
use crate::resv::Held;
use crate::sys;
use crate::vfs::Vma;
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
fn wait_for_cpu_access(dmabuf: &DmaBuf, direction: dma_data_direction) -> c_int {
    let usage = cpu_access_usage(direction);
    let ret = crate::resv::wait_timeout(dmabuf.resv(), usage.as_raw(), true, MAX_SCHEDULE_TIMEOUT);
    if ret < 0 {
        // A negative errno, which fits an `int`.
        ret as c_int
    } else {
        0
    }
}

/// The checks both CPU access brackets open with: `WARN_ON(!dmabuf)`, then
/// `might_lock()` of the reservation lock, which the exporter's op or the
/// wait may take. Returns `None`, after the warning, for a NULL `dmabuf`.
#[track_caller]
#[inline(always)]
fn bracket_checks(dmabuf: Option<&DmaBuf>) -> Option<&DmaBuf> {
    let Some(dmabuf) = dmabuf else {
        sys::warn();
        return None;
    };
    dmabuf.might_lock();
    Some(dmabuf)
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
    // SAFETY: NULL or live (caller's promise).
    match bracket_checks(unsafe { checked(dmabuf) }) {
        Some(dmabuf) => begin_body(dmabuf, direction),
        None => EINVAL.to_neg(),
    }
}

/// [`dma_buf_begin_cpu_access`] on a borrowed dma-buf (`DMA_BUF_IOCTL_SYNC`).
pub(super) fn begin_cpu_access(dmabuf: &DmaBuf, direction: dma_data_direction) -> c_int {
    dmabuf.might_lock();
    begin_body(dmabuf, direction)
}

/// [`dma_buf_begin_cpu_access`] after its checks.
#[inline(always)]
fn begin_body(dmabuf: &DmaBuf, direction: dma_data_direction) -> c_int {
    let mut ret = dmabuf.begin_cpu_access_op(direction);
    // The exporter may have waited already; a second wait is then cheap.
    if ret == 0 {
        ret = wait_for_cpu_access(dmabuf, direction);
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
    // SAFETY: NULL or live (caller's promise).
    match bracket_checks(unsafe { checked(dmabuf) }) {
        Some(dmabuf) => dmabuf.end_cpu_access_op(direction),
        None => EINVAL.to_neg(),
    }
}

/// [`dma_buf_end_cpu_access`] on a borrowed dma-buf (`DMA_BUF_IOCTL_SYNC`).
pub(super) fn end_cpu_access(dmabuf: &DmaBuf, direction: dma_data_direction) -> c_int {
    dmabuf.might_lock();
    dmabuf.end_cpu_access_op(direction)
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
    // SAFETY: NULL or live (caller's promise); a non-NULL VMA is being set
    // up under its mmap lock with its bounds set (caller), and `Vma` is
    // transparent over it.
    let (dmabuf, vma) = unsafe { (checked(dmabuf), vma.cast::<Vma>().as_ref()) };
    let Some(dmabuf) = dmabuf else {
        sys::warn();
        return EINVAL.to_neg();
    };
    let Some(vma) = vma else {
        sys::warn();
        return EINVAL.to_neg();
    };
    mmap_at(dmabuf, vma, pgoff)
}

/// The body of [`dma_buf_mmap`].
#[inline(always)]
fn mmap_at(dmabuf: &DmaBuf, vma: &Vma, pgoff: c_ulong) -> c_int {
    let Some(mmap) = dmabuf.ops().mmap else {
        return EINVAL.to_neg();
    };

    let (start, end, _) = vma.bounds();
    let pages = vma_pages(start, end, bindings::PAGE_SHIFT);
    if let Err(err) = mmap_range(pgoff, pages, dmabuf.size(), bindings::PAGE_SHIFT) {
        return err.to_neg();
    }

    // SAFETY: The VMA is ours to set up (caller); the dma-buf's file lives
    // as long as the buffer, and `vma_set_file` takes its own reference.
    // Then the exporter's own buffer and the prepared VMA, without the
    // reservation lock.
    unsafe {
        let vma = vma.as_ptr();
        bindings::vma_set_file(vma, dmabuf.file().as_ptr());
        (*vma).vm_pgoff = pgoff;
        mmap(dmabuf.raw(), vma)
    }
}

/// The value of an `iosys_map`, for the rules of [`crate::logic::access`].
#[inline]
pub(super) fn iosys_map_value(map: &iosys_map) -> IosysMap {
    // SAFETY: Both members of the union are pointers sharing their storage;
    // the one that `is_iomem` names is read, as the C helpers do.
    let addr = unsafe {
        if map.is_iomem {
            map.__bindgen_anon_1.vaddr_iomem
        } else {
            map.__bindgen_anon_1.vaddr
        }
    };
    IosysMap {
        is_iomem: map.is_iomem,
        addr: addr as usize,
    }
}

/// `BUG()` for a broken vmap invariant ([`access::VmapBug`]), as C's `BUG_ON`s.
fn vmap_bug(_bug: access::VmapBug) -> ! {
    sys::bug()
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
/// `map` must be valid for writes; `dmabuf` NULL or a live dma-buf whose
/// reservation lock the caller holds.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_buf_vmap(dmabuf: *mut dma_buf, map: *mut iosys_map) -> c_int {
    // SAFETY: `map` is valid for writes, and cleared (`iosys_map_clear`)
    // before anything else; `dmabuf` is NULL or live, with its reservation
    // lock held by the caller (caller's promises).
    let (map, dmabuf) = unsafe {
        map.write(IOSYS_MAP_NULL);
        (
            &mut *map,
            checked(dmabuf).map(|d| (d, Held::assume(d.resv()))),
        )
    };
    let Some((dmabuf, held)) = dmabuf else {
        sys::warn();
        return EINVAL.to_neg();
    };
    vmap(dmabuf, held, map)
}

/// The body of [`dma_buf_vmap`], with the lock held and `map` cleared.
#[inline(always)]
fn vmap<'h>(dmabuf: &'h DmaBuf, held: Held<'h>, map: &mut iosys_map) -> c_int {
    if dmabuf.ops().vmap.is_none() {
        return EINVAL.to_neg();
    }
    let Some(state) = dmabuf.vmap_state(held) else {
        return EINVAL.to_neg();
    };
    let old_count = state.count();
    let old_map = state.stored_value();
    if old_count != 0 {
        let new_count = match access::vmap_again(old_count, old_map) {
            Ok(new_count) => new_count,
            Err(bug) => vmap_bug(bug),
        };
        state.set_count(new_count);
        *map = state.stored();
        return 0;
    }
    if let Err(bug) = access::vmap_first(old_map) {
        vmap_bug(bug);
    }
    let mut ptr = IOSYS_MAP_NULL;
    let ret = match state.vmap_op(&mut ptr) {
        Some(ret) => ret,
        None => return EINVAL.to_neg(),
    };
    if ret != 0 {
        return vmap_failed(ret);
    }
    state.set_stored(ptr);
    state.set_count(1);
    *map = ptr;
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
/// `map` must be valid for writes; `dmabuf` NULL or a live dma-buf whose
/// reservation lock the caller does not hold.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_buf_vmap_unlocked(
    dmabuf: *mut dma_buf,
    map: *mut iosys_map,
) -> c_int {
    // SAFETY: `map` is valid for writes, and cleared (`iosys_map_clear`)
    // before anything else; `dmabuf` is NULL or live (caller's promises).
    let (map, dmabuf) = unsafe {
        map.write(IOSYS_MAP_NULL);
        (&mut *map, checked(dmabuf))
    };
    let Some(dmabuf) = dmabuf else {
        sys::warn();
        return EINVAL.to_neg();
    };
    let mut lock = ResvGuard::lock(dmabuf.resv());
    vmap(dmabuf, lock.held(), map)
}

/// Drops a mapping obtained with [`dma_buf_vmap`]; the last one calls the
/// exporter's `vunmap` op (if any) with `map` and forgets the mapping.
///
/// Warns and does nothing for a NULL `dmabuf`. BUGs if the buffer has no
/// vmap or `map` is not its mapping. The caller holds the reservation lock.
///
/// # Safety
///
/// `dmabuf` must be NULL or a live dma-buf whose reservation lock the caller
/// holds; `map` valid for reads.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_buf_vunmap(dmabuf: *mut dma_buf, map: *mut iosys_map) {
    // SAFETY: `dmabuf` is NULL or live, with its reservation lock held by
    // the caller; `map` is readable (caller's promises).
    let dmabuf = unsafe { checked(dmabuf).map(|d| (d, Held::assume(d.resv()), MapArg::new(map))) };
    let Some((dmabuf, held, map)) = dmabuf else {
        sys::warn();
        return;
    };
    vunmap(dmabuf, held, map);
}

/// The body of [`dma_buf_vunmap`], with the lock held.
#[inline(always)]
fn vunmap<'h>(dmabuf: &'h DmaBuf, held: Held<'h>, map: MapArg<'_>) {
    let Some(state) = dmabuf.vmap_state(held) else {
        return;
    };
    let stored = state.stored_value();
    match access::vunmap(state.count(), stored, map.value()) {
        Err(bug) => vmap_bug(bug),
        Ok(Vunmap::Keep(new_count)) => state.set_count(new_count),
        Ok(Vunmap::Last) => {
            state.set_count(0);
            // The exporter's own mapping (equal to the stored one, checked
            // above).
            state.vunmap_op(map);
            // `iosys_map_clear`.
            state.set_stored(IOSYS_MAP_NULL);
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
/// `dmabuf` must be NULL or a live dma-buf whose reservation lock the caller
/// does not hold; `map` valid for reads.
#[no_mangle]
pub(crate) unsafe extern "C" fn dma_buf_vunmap_unlocked(dmabuf: *mut dma_buf, map: *mut iosys_map) {
    // SAFETY: `dmabuf` is NULL or live, `map` readable (caller's promises).
    let (dmabuf, map) = unsafe { (checked(dmabuf), MapArg::new(map)) };
    let Some(dmabuf) = dmabuf else {
        sys::warn();
        return;
    };
    let mut lock = ResvGuard::lock(dmabuf.resv());
    vunmap(dmabuf, lock.held(), map);
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
