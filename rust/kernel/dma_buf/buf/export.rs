// SPDX-License-Identifier: GPL-2.0

//! The exporter's side: `struct dma_buf_ops` as a trait.

use super::DmaBuf;
use crate::{
    alloc::{flags::GFP_KERNEL, KBox, KVec},
    bindings,
    device::Device,
    dma::DataDirection,
    error::{code::*, from_err_ptr, from_result, Result},
    mm::{VMap, Vma},
    scatterlist::DmaSgTable,
    str::CStr,
    sync::Arc,
    types::{ARef, Opaque},
    ThisModule,
};
use core::{cell::UnsafeCell, marker::PhantomData, ptr::NonNull};

/// The operations of an exported buffer (`struct dma_buf_ops`), implemented
/// by the exporter's per-buffer data.
///
/// What the API does so that an exporter cannot get it wrong:
///
/// - every DMA mapping [`Exporter::map`] returns is kept by the API and
///   unmapped when the importer unmaps it, or at detach;
/// - before [`Exporter::begin_cpu_access`] the API syncs every live mapping
///   of the buffer for the CPU, and after [`Exporter::end_cpu_access`] for
///   the devices (`dma_sync_sgtable_for_cpu/device`): cache maintenance for
///   mapped attachments cannot be forgotten;
/// - a kernel mapping ([`Exporter::vmap`]) is kept alive by the API until
///   the core's vunmap, so importers never read through a stale address;
/// - `release` is the drop of `Self`, after the last reference.
///
/// Optional operations left out become `NULL` in the C table, so the core
/// behaves as for a C exporter without them (mmap `EINVAL`, vmap `EINVAL`).
/// Implementing `pin` (and `unpin`) makes the buffer dynamic: it may move
/// while dynamic importers are attached (see [`DmaBuf::move_notify`]).
#[macros::vtable]
pub trait Exporter: Send + Sync + Sized + 'static {
    /// The exporter's name, shown in debugfs `bufinfo` and fdinfo.
    const NAME: &'static CStr;

    /// What the exporter keeps per attachment.
    type AttachData: Send + Sync;

    /// A device attaches (`attach`); returns the per-attachment data.
    fn attach(&self, attach: &Attachment<Self>) -> Result<Self::AttachData>;

    /// A device detaches (`detach`); the data is dropped after.
    fn detach(&self, _attach: &Attachment<Self>) {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Makes the buffer's pages reachable by the attached device in
    /// direction `dir` (`map_dma_buf`, called with the reservation lock
    /// held): an sg table DMA-mapped for `attach.dev()`.
    fn map(&self, attach: &Attachment<Self>, dir: DataDirection) -> Result<DmaSgTable>;

    /// Pins the backing storage for a static importer (`pin`, under the
    /// reservation lock): the buffer must not move until `unpin`.
    fn pin(&self, _attach: &Attachment<Self>) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Undoes one `pin`.
    fn unpin(&self, _attach: &Attachment<Self>) {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// CPU access in direction `dir` starts; mappings are already synced for
    /// the CPU.
    fn begin_cpu_access(&self, _dir: DataDirection) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// CPU access in direction `dir` ends; mappings are synced for the
    /// devices after this returns.
    fn end_cpu_access(&self, _dir: DataDirection) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Maps the buffer into a user address space (`mmap`); the core has
    /// checked that the range lies inside the buffer.
    fn mmap(&self, _vma: &Vma) -> Result {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Maps the whole buffer into the kernel (`vmap`, called once until the
    /// matching vunmap, which drops the returned mapping).
    fn vmap(&self) -> Result<Arc<VMap>> {
        crate::build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }
}

/// What the core's `priv` points to: the exporter's data and the kernel
/// mapping the API keeps for it.
struct Exported<T: Exporter> {
    data: T,
    /// Guarded by the reservation lock: the core calls vmap and vunmap with
    /// it held.
    vmap: UnsafeCell<Option<Arc<VMap>>>,
}

/// What an attachment's `priv` points to.
struct AttachState<T: Exporter> {
    data: T::AttachData,
    /// The live DMA mappings of this attachment. Guarded by the reservation
    /// lock, under which the core maps and unmaps (and the API syncs).
    mappings: UnsafeCell<KVec<Option<DmaSgTable>>>,
}

/// An attachment as its exporter sees it (`struct dma_buf_attachment`).
///
/// # Invariants
///
/// The attachment is live and its `priv` is an `AttachState<T>` once the
/// exporter's `attach` has returned.
#[repr(transparent)]
pub struct Attachment<T: Exporter>(Opaque<bindings::dma_buf_attachment>, PhantomData<T>);

impl<T: Exporter> Attachment<T> {
    /// # Safety
    ///
    /// `ptr` is a live attachment of a buffer exported with `T`.
    unsafe fn from_raw<'a>(ptr: *mut bindings::dma_buf_attachment) -> &'a Self {
        // SAFETY: `repr(transparent)` (the marker is zero-sized).
        unsafe { &*ptr.cast() }
    }

    fn raw(&self) -> *mut bindings::dma_buf_attachment {
        self.0.get()
    }

    /// Returns the importing device.
    pub fn dev(&self) -> &Device {
        // SAFETY: The device outlives its attachment.
        unsafe { Device::as_ref((*self.raw()).dev) }
    }

    /// Returns whether the importer is dynamic (handles moves itself).
    pub fn is_dynamic(&self) -> bool {
        // SAFETY: The attachment is live.
        unsafe { !(*self.raw()).importer_ops.is_null() }
    }

    /// Returns the exporter's data for this attachment.
    pub fn data(&self) -> &T::AttachData {
        // SAFETY: Set by `attach` before any other op sees the attachment.
        unsafe { &(*(*self.raw()).priv_.cast::<AttachState<T>>()).data }
    }

    fn state(&self) -> *mut AttachState<T> {
        // SAFETY: As in `data`.
        unsafe { (*self.raw()).priv_.cast() }
    }
}

struct Adapter<T: Exporter>(PhantomData<T>);

impl<T: Exporter> Adapter<T> {
    const OPS: bindings::dma_buf_ops = bindings::dma_buf_ops {
        cache_sgt_mapping: false,
        attach: Some(Self::attach),
        detach: Some(Self::detach),
        pin: if T::HAS_PIN { Some(Self::pin) } else { None },
        unpin: if T::HAS_PIN { Some(Self::unpin) } else { None },
        map_dma_buf: Some(Self::map),
        unmap_dma_buf: Some(Self::unmap),
        release: Some(Self::release),
        begin_cpu_access: Some(Self::begin_cpu_access),
        end_cpu_access: Some(Self::end_cpu_access),
        mmap: if T::HAS_MMAP { Some(Self::mmap) } else { None },
        vmap: if T::HAS_VMAP { Some(Self::vmap) } else { None },
        vunmap: if T::HAS_VMAP {
            Some(Self::vunmap)
        } else {
            None
        },
    };

    /// # Safety
    ///
    /// `buf` is a live buffer exported with `T`.
    unsafe fn exported<'a>(buf: *mut bindings::dma_buf) -> &'a Exported<T> {
        // SAFETY: `priv` was set by `export` and lives until `release`.
        unsafe { &*(*buf).priv_.cast::<Exported<T>>() }
    }

    unsafe extern "C" fn attach(
        buf: *mut bindings::dma_buf,
        attach: *mut bindings::dma_buf_attachment,
    ) -> i32 {
        from_result(|| {
            // SAFETY: The core calls ops with live objects of a `T` buffer.
            let (exp, att) = unsafe { (Self::exported(buf), Attachment::<T>::from_raw(attach)) };
            let data = exp.data.attach(att)?;
            let state = KBox::new(
                AttachState::<T> {
                    data,
                    mappings: UnsafeCell::new(KVec::new()),
                },
                GFP_KERNEL,
            )?;
            // SAFETY: The attachment is not visible to anyone else yet.
            unsafe { (*attach).priv_ = KBox::into_raw(state).cast() };
            Ok(0)
        })
    }

    unsafe extern "C" fn detach(
        buf: *mut bindings::dma_buf,
        attach: *mut bindings::dma_buf_attachment,
    ) {
        // SAFETY: As in `attach`.
        let (exp, att) = unsafe { (Self::exported(buf), Attachment::<T>::from_raw(attach)) };
        if T::HAS_DETACH {
            exp.data.detach(att);
        }
        // SAFETY: `priv` is ours since `attach`; nothing uses the attachment
        // after detach.
        drop(unsafe { KBox::from_raw(att.state()) });
    }

    unsafe extern "C" fn pin(attach: *mut bindings::dma_buf_attachment) -> i32 {
        // SAFETY: As in `attach`.
        let (exp, att) = unsafe {
            (
                Self::exported((*attach).dmabuf),
                Attachment::<T>::from_raw(attach),
            )
        };
        from_result(|| exp.data.pin(att).map(|()| 0))
    }

    unsafe extern "C" fn unpin(attach: *mut bindings::dma_buf_attachment) {
        // SAFETY: As in `attach`.
        let (exp, att) = unsafe {
            (
                Self::exported((*attach).dmabuf),
                Attachment::<T>::from_raw(attach),
            )
        };
        exp.data.unpin(att);
    }

    unsafe extern "C" fn map(
        attach: *mut bindings::dma_buf_attachment,
        dir: bindings::dma_data_direction,
    ) -> *mut bindings::sg_table {
        // SAFETY: As in `attach`.
        let (exp, att) = unsafe {
            (
                Self::exported((*attach).dmabuf),
                Attachment::<T>::from_raw(attach),
            )
        };
        let res = (|| -> Result<*mut bindings::sg_table> {
            let dir = DataDirection::from_raw(dir).ok_or(EINVAL)?;
            let table = exp.data.map(att, dir)?;
            let raw = table.as_raw();
            // SAFETY: The core maps with the reservation lock held, which
            // guards `mappings`.
            let list = unsafe { &mut *(*att.state()).mappings.get() };
            match list.as_mut_slice().iter_mut().find(|t| t.is_none()) {
                Some(free) => *free = Some(table),
                None => list.push(Some(table), GFP_KERNEL)?,
            }
            Ok(raw)
        })();
        match res {
            Ok(raw) => raw,
            Err(e) => e.to_ptr(),
        }
    }

    unsafe extern "C" fn unmap(
        attach: *mut bindings::dma_buf_attachment,
        sgt: *mut bindings::sg_table,
        _dir: bindings::dma_data_direction,
    ) {
        // SAFETY: As in `attach`.
        let att = unsafe { Attachment::<T>::from_raw(attach) };
        // SAFETY: The core unmaps with the reservation lock held.
        let list = unsafe { &mut *(*att.state()).mappings.get() };
        for slot in list.as_mut_slice() {
            if slot.as_ref().is_some_and(|t| t.as_raw() == sgt) {
                // Dropping the table unmaps it from the device and frees it.
                *slot = None;
                break;
            }
        }
    }

    unsafe extern "C" fn release(buf: *mut bindings::dma_buf) {
        // SAFETY: The last reference is gone; `priv` came from `KBox::into_raw`
        // in `export`.
        drop(unsafe { KBox::from_raw((*buf).priv_.cast::<Exported<T>>()) });
    }

    /// Syncs every live mapping of the buffer for the CPU or the devices,
    /// under the reservation lock that guards them.
    ///
    /// # Safety
    ///
    /// `buf` is a live buffer exported with `T`.
    unsafe fn sync_all(buf: *mut bindings::dma_buf, for_cpu: bool) {
        // SAFETY: The buffer is live.
        let buf_ref = unsafe { DmaBuf::from_raw(buf) };
        let _guard = buf_ref.resv().lock();
        // SAFETY: The attachment list is protected by the reservation lock,
        // held; every entry is an attachment of this `T` buffer.
        unsafe {
            let head = &raw mut (*buf).attachments;
            let mut node = (*head).next;
            while node != head {
                let attach =
                    crate::container_of!(node, bindings::dma_buf_attachment, node).cast_mut();
                let state = (*attach).priv_.cast::<AttachState<T>>();
                if !state.is_null() {
                    for table in (*(*state).mappings.get()).iter().flatten() {
                        if for_cpu {
                            table.sync_for_cpu();
                        } else {
                            table.sync_for_device();
                        }
                    }
                }
                node = (*node).next;
            }
        }
    }

    unsafe extern "C" fn begin_cpu_access(
        buf: *mut bindings::dma_buf,
        dir: bindings::dma_data_direction,
    ) -> i32 {
        // SAFETY: The core calls ops with a live buffer of this exporter.
        unsafe { Self::sync_all(buf, true) };
        if !T::HAS_BEGIN_CPU_ACCESS {
            return 0;
        }
        // SAFETY: As above.
        let exp = unsafe { Self::exported(buf) };
        from_result(|| {
            exp.data
                .begin_cpu_access(DataDirection::from_raw(dir).ok_or(EINVAL)?)?;
            Ok(0)
        })
    }

    unsafe extern "C" fn end_cpu_access(
        buf: *mut bindings::dma_buf,
        dir: bindings::dma_data_direction,
    ) -> i32 {
        // SAFETY: As above.
        let exp = unsafe { Self::exported(buf) };
        let ret = if T::HAS_END_CPU_ACCESS {
            from_result(|| {
                exp.data
                    .end_cpu_access(DataDirection::from_raw(dir).ok_or(EINVAL)?)?;
                Ok(0)
            })
        } else {
            0
        };
        // SAFETY: As above.
        unsafe { Self::sync_all(buf, false) };
        ret
    }

    unsafe extern "C" fn mmap(
        buf: *mut bindings::dma_buf,
        vma: *mut bindings::vm_area_struct,
    ) -> i32 {
        // SAFETY: The core calls ops with live objects; the vma is being set
        // up under the mm's lock for the duration of the call.
        let (exp, vma) = unsafe { (Self::exported(buf), Vma::from_raw(vma)) };
        from_result(|| exp.data.mmap(vma).map(|()| 0))
    }

    unsafe extern "C" fn vmap(buf: *mut bindings::dma_buf, map: *mut bindings::iosys_map) -> i32 {
        // SAFETY: As above.
        let exp = unsafe { Self::exported(buf) };
        from_result(|| {
            let mapping = exp.data.vmap()?;
            // SAFETY: The core calls vmap with the reservation lock held, which
            // guards the slot, and only when no vmap is live.
            unsafe {
                (*map).__bindgen_anon_1.vaddr = mapping.as_ptr().cast();
                (*map).is_iomem = false;
                *exp.vmap.get() = Some(mapping);
            }
            Ok(0)
        })
    }

    unsafe extern "C" fn vunmap(buf: *mut bindings::dma_buf, _map: *mut bindings::iosys_map) {
        // SAFETY: As above; vunmap comes with the reservation lock held.
        unsafe { *Self::exported(buf).vmap.get() = None };
    }
}

impl DmaBuf {
    /// Exports `data` as a new buffer of `size` bytes (`dma_buf_export`).
    ///
    /// `writable` sets `O_RDWR` on the buffer's file (else read-only), so
    /// that shared writable mappings are allowed. `module` keeps the
    /// exporter's module loaded while the buffer lives. `data` is dropped
    /// when the last reference goes, also if export fails.
    ///
    /// # Examples
    ///
    /// A buffer of two pages that importers read through a kernel mapping:
    ///
    /// ```
    /// use kernel::{c_str, prelude::*, str::CStr, sync::Arc};
    /// use kernel::dma::DataDirection;
    /// use kernel::dma_buf::buf::{Attachment, DmaBuf, Exporter};
    /// use kernel::mm::VMap;
    /// use kernel::page::{Page, PAGE_SIZE};
    /// use kernel::scatterlist::DmaSgTable;
    ///
    /// struct Pages(KVec<Page>);
    ///
    /// #[vtable]
    /// impl Exporter for Pages {
    ///     const NAME: &'static CStr = c_str!("doctest");
    ///     type AttachData = ();
    ///     fn attach(&self, _attach: &Attachment<Self>) -> Result<()> {
    ///         Ok(())
    ///     }
    ///     fn map(&self, _attach: &Attachment<Self>, _dir: DataDirection) -> Result<DmaSgTable> {
    ///         Err(ENODEV)
    ///     }
    ///     fn vmap(&self) -> Result<Arc<VMap>> {
    ///         Ok(Arc::new(VMap::new(&self.0)?, GFP_KERNEL)?)
    ///     }
    /// }
    ///
    /// // SAFETY: Doctests are built into the kernel image, whose `THIS_MODULE` is NULL.
    /// static THIS_MODULE: ThisModule = unsafe { ThisModule::from_ptr(core::ptr::null_mut()) };
    ///
    /// let mut pages = KVec::new();
    /// for _ in 0..2 {
    ///     pages.push(Page::alloc_page(GFP_KERNEL | __GFP_ZERO)?, GFP_KERNEL)?;
    /// }
    /// let mut hello = VMap::new(&pages)?;
    /// hello.write(PAGE_SIZE, b"hello")?;
    /// let buf = DmaBuf::export(Pages(pages), 2 * PAGE_SIZE, true, &THIS_MODULE)?;
    /// assert_eq!(buf.size(), 2 * PAGE_SIZE);
    /// assert!(buf.exporter::<Pages>().is_some());
    /// assert!(!buf.is_dynamic());
    ///
    /// let map = buf.vmap()?;
    /// let mut word = [0u8; 5];
    /// map.read(PAGE_SIZE, &mut word)?;
    /// assert_eq!(&word, b"hello");
    /// assert!(map.read(2 * PAGE_SIZE - 4, &mut word).is_err());
    /// drop(map);
    ///
    /// let mut cpu = buf.begin_cpu_access(DataDirection::FromDevice)?;
    /// let mut page = [0u8; 5];
    /// cpu.read_page(1, &mut page)?;
    /// assert_eq!(&page, b"hello");
    /// assert!(cpu.read_page(2, &mut page).is_err());
    /// {
    ///     let guard = buf.resv().lock();
    ///     assert_eq!(buf.vmap_count(&guard)?, 1);
    /// }
    /// drop(cpu);
    /// let guard = buf.resv().lock();
    /// assert_eq!(buf.vmap_count(&guard)?, 0);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn export<T: Exporter>(
        data: T,
        size: usize,
        writable: bool,
        module: &'static ThisModule,
    ) -> Result<ARef<DmaBuf>> {
        if size == 0 {
            return Err(EINVAL);
        }
        let exported = KBox::new(
            Exported {
                data,
                vmap: UnsafeCell::new(None),
            },
            GFP_KERNEL,
        )?;
        let raw_priv = KBox::into_raw(exported);
        let info = bindings::dma_buf_export_info {
            exp_name: T::NAME.as_char_ptr(),
            owner: module.as_ptr(),
            ops: &Adapter::<T>::OPS,
            size,
            flags: if writable {
                bindings::O_RDWR as i32
            } else {
                bindings::O_RDONLY as i32
            },
            resv: core::ptr::null_mut(),
            priv_: raw_priv.cast(),
        };
        // SAFETY: `info` is complete; on success the buffer owns `raw_priv`.
        match from_err_ptr(unsafe { bindings::dma_buf_export(&info) }) {
            // SAFETY: A new buffer comes with one reference.
            Ok(buf) => Ok(unsafe { ARef::from_raw(NonNull::new_unchecked(buf.cast())) }),
            Err(e) => {
                // SAFETY: On failure the core did not keep `priv`.
                drop(unsafe { KBox::from_raw(raw_priv) });
                Err(e)
            }
        }
    }

    /// Returns the exporter data if this buffer was exported with `T`.
    pub fn exporter<T: Exporter>(&self) -> Option<&T> {
        // SAFETY: `ops` never changes after export.
        let ops = unsafe { (*self.as_raw()).ops };
        if !core::ptr::eq(ops, &Adapter::<T>::OPS) {
            return None;
        }
        // SAFETY: Exported with `T`, so `priv` is an `Exported<T>` that lives as
        // long as the buffer.
        Some(unsafe { &Adapter::<T>::exported(self.as_raw()).data })
    }
}
