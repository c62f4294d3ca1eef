// SPDX-License-Identifier: GPL-2.0

//! PCI drivers: registration, device enabling, BARs, interrupt vectors.
//!
//! A driver implements [`Driver`]: an ID table of the devices it handles and a `probe` that
//! returns the driver's per-device data. A pinned [`Registration`] registers it with the PCI core
//! (`pci_register_driver`) and unregisters it when dropped; a module keeps the registration in
//! its `Module` value. For each bound device the PCI core calls `probe`; the data it returns is
//! kept until the device is unbound (`remove`, driver unregistration or device removal), when
//! [`Driver::remove`] gets it back and drops it.
//!
//! In probe, a driver typically enables the device ([`Device::enable_device_mem`]), maps a BAR
//! ([`Device::iomap_region`], giving a [`Bar`] that derefs to an [`IoMem`]), turns on bus
//! mastering for DMA ([`Device::set_master`]), and sets up interrupt vectors
//! ([`Device::alloc_irq_vectors`], [`Device::irq_vector`]) to register an
//! [`irq::Registration`](crate::irq::Registration) on.
//!
//! What probe sets up on the device itself (enabling, interrupt vectors) is undone by the PCI
//! core's managed resources when the device is unbound, after the driver's data has been dropped
//! (so after the driver's BAR mappings and interrupt handlers are gone), or when probe fails.
//!
//! C header: [`include/linux/pci.h`](srctree/include/linux/pci.h).
//!
//! # Examples
//!
//! A driver for QEMU's `edu` device, registered from a module's `init`:
//!
//! ```
//! use kernel::{c_str, pci, prelude::*};
//!
//! struct Edu {
//!     regs: pci::Bar<0x100>,
//! }
//!
//! struct EduDriver;
//!
//! const EDU_IDS: pci::IdArray<1> = pci::IdArray::new([pci::DeviceId::new(0x1234, 0x11e8)]);
//!
//! impl pci::Driver for EduDriver {
//!     type Data = Pin<KBox<Edu>>;
//!
//!     const ID_TABLE: pci::IdTable = pci::IdTable::new(&EDU_IDS);
//!
//!     fn probe(dev: &pci::Device, _id: &pci::DeviceId) -> Result<Self::Data> {
//!         dev.enable_device_mem()?;
//!         let regs = dev.iomap_region_sized::<0x100>(0, c_str!("edu"))?;
//!         if regs.read32::<0x00>() >> 16 != 0x0100 {
//!             return Err(ENODEV);
//!         }
//!         Ok(KBox::pin(Edu { regs }, GFP_KERNEL)?)
//!     }
//! }
//!
//! // Not called here: registering binds the driver to real devices. A module calls this from
//! // `Module::init` and keeps the result in its `Module` value.
//! fn register(
//!     module: &'static ThisModule,
//! ) -> Result<Pin<KBox<pci::Registration<EduDriver>>>> {
//!     KBox::pin_init(pci::Registration::new(c_str!("rust_edu"), module), GFP_KERNEL)
//! }
//! let _ = register;
//! ```

use crate::{
    bindings, device,
    error::{code::*, from_result, to_result, Error, Result},
    init::{self, PinInit},
    io_mem::IoMem,
    str::CStr,
    try_pin_init,
    types::{ARef, AlwaysRefCounted, ForeignOwnable, Opaque},
    ThisModule,
};
use core::{marker::PhantomData, ops::BitOr, ops::Deref, pin::Pin, ptr::NonNull};
use macros::{pin_data, pinned_drop};

/// An entry of a PCI driver's ID table (`struct pci_device_id`).
///
/// Matches a vendor and device ID, with any subsystem IDs and any class.
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct DeviceId(bindings::pci_device_id);

impl DeviceId {
    /// The wildcard ID (`PCI_ANY_ID`) as returned by [`DeviceId::vendor`] and friends.
    pub const ANY: u32 = bindings::PCI_ANY_ID as u32;

    /// Creates an entry matching `vendor` and `device` (any subsystem, any class).
    pub const fn new(vendor: u16, device: u16) -> Self {
        Self(bindings::pci_device_id {
            vendor: vendor as u32,
            device: device as u32,
            subvendor: Self::ANY,
            subdevice: Self::ANY,
            class: 0,
            class_mask: 0,
            driver_data: 0,
            override_only: 0,
        })
    }

    /// Returns this entry with `data` as its driver data, for the driver to tell matches apart
    /// in probe (see [`DeviceId::driver_data`]).
    pub const fn with_driver_data(mut self, data: usize) -> Self {
        self.0.driver_data = data;
        self
    }

    /// Returns the vendor ID this entry matches ([`DeviceId::ANY`] for any).
    pub const fn vendor(&self) -> u32 {
        self.0.vendor
    }

    /// Returns the device ID this entry matches ([`DeviceId::ANY`] for any).
    pub const fn device(&self) -> u32 {
        self.0.device
    }

    /// Returns the driver data of this entry (0 unless set with [`DeviceId::with_driver_data`]).
    pub const fn driver_data(&self) -> usize {
        self.0.driver_data
    }

    /// The terminating entry of an ID table: all zeros.
    const fn zero() -> Self {
        Self(bindings::pci_device_id {
            vendor: 0,
            device: 0,
            subvendor: 0,
            subdevice: 0,
            class: 0,
            class_mask: 0,
            driver_data: 0,
            override_only: 0,
        })
    }
}

/// The storage of an ID table of `N` entries, followed by the terminating zero entry C expects.
///
/// Build it in a `const` or `static` and refer to it with [`IdTable::new`].
#[repr(C)]
pub struct IdArray<const N: usize> {
    ids: [DeviceId; N],
    sentinel: DeviceId,
}

impl<const N: usize> IdArray<N> {
    /// Creates a table of `ids`, terminated as C expects.
    ///
    /// An all-zero entry would end the table early: use only real vendor IDs.
    pub const fn new(ids: [DeviceId; N]) -> Self {
        Self {
            ids,
            sentinel: DeviceId::zero(),
        }
    }
}

/// A reference to a terminated ID table, as [`Driver::ID_TABLE`] takes it.
///
/// # Invariants
///
/// `ids` is the `ids` field of an [`IdArray`], so it is directly followed in memory by an all-zero
/// entry.
#[derive(Clone, Copy)]
pub struct IdTable {
    ids: &'static [DeviceId],
}

impl IdTable {
    /// Refers to the table `array` (usable in a `const`: `IdTable::new(&MY_IDS)`).
    pub const fn new<const N: usize>(array: &'static IdArray<N>) -> Self {
        // INVARIANT: `IdArray` is `repr(C)`, so `sentinel` directly follows `ids` (an array of the
        // same type has no padding after it).
        Self { ids: &array.ids }
    }

    /// Returns the entries of the table (without the terminating entry).
    pub const fn ids(&self) -> &'static [DeviceId] {
        self.ids
    }

    /// Returns the table as C expects it: an array terminated by an all-zero entry.
    fn as_ptr(&self) -> *const bindings::pci_device_id {
        self.ids.as_ptr().cast()
    }
}

/// A PCI device (`struct pci_dev`).
///
/// Drivers get a `&Device` in [`Driver::probe`] and [`Driver::remove`]; an [`ARef<Device>`]
/// (from `dev.into()`) keeps the `struct pci_dev` itself alive, but not the driver's binding to it.
///
/// # Invariants
///
/// A `Device` is a valid `struct pci_dev` whose reference count is non-zero for as long as the
/// `Device` is used (a `&Device` borrowed for a callback, or an [`ARef<Device>`]).
#[repr(transparent)]
pub struct Device(Opaque<bindings::pci_dev>);

/// The kinds of interrupt vectors [`Device::alloc_irq_vectors`] may use (`PCI_IRQ_*` flags).
///
/// Combine them with `|`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IrqTypes(u32);

impl IrqTypes {
    /// Legacy INTx interrupts (`PCI_IRQ_INTX`): one vector, possibly shared with other devices.
    pub const INTX: IrqTypes = IrqTypes(bindings::PCI_IRQ_INTX);
    /// MSI (`PCI_IRQ_MSI`).
    pub const MSI: IrqTypes = IrqTypes(bindings::PCI_IRQ_MSI);
    /// MSI-X (`PCI_IRQ_MSIX`).
    pub const MSIX: IrqTypes = IrqTypes(bindings::PCI_IRQ_MSIX);
    /// Any of the above, preferring MSI-X, then MSI, then INTx (`PCI_IRQ_ALL_TYPES`).
    pub const ALL: IrqTypes = IrqTypes(bindings::PCI_IRQ_ALL_TYPES);

    /// Returns the C value.
    pub const fn as_raw(self) -> u32 {
        self.0
    }
}

impl BitOr for IrqTypes {
    type Output = IrqTypes;

    fn bitor(self, rhs: IrqTypes) -> IrqTypes {
        IrqTypes(self.0 | rhs.0)
    }
}

/// Devres action undoing one `pci_enable_device_mem`.
///
/// # Safety
///
/// `pdev` must be a valid `struct pci_dev` that was enabled once for this action.
unsafe extern "C" fn disable_device_action(pdev: *mut crate::ffi::c_void) {
    // SAFETY: By the safety requirements `pdev` is a valid, enabled `struct pci_dev`.
    unsafe { bindings::pci_disable_device(pdev.cast()) };
}

/// Devres action undoing `pci_alloc_irq_vectors`.
///
/// # Safety
///
/// `pdev` must be a valid `struct pci_dev`.
unsafe extern "C" fn free_irq_vectors_action(pdev: *mut crate::ffi::c_void) {
    // SAFETY: By the safety requirements `pdev` is a valid `struct pci_dev`.
    unsafe { bindings::pci_free_irq_vectors(pdev.cast()) };
}

impl Device {
    /// Returns a `&Device` for a raw `struct pci_dev` pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `struct pci_dev` whose reference count stays non-zero for the
    /// lifetime `'a`.
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::pci_dev) -> &'a Self {
        // SAFETY: `Device` is a `repr(transparent)` wrapper of `struct pci_dev`; the caller
        // guarantees validity for `'a`.
        unsafe { &*ptr.cast() }
    }

    /// Returns the raw `struct pci_dev` pointer.
    pub(crate) fn as_raw(&self) -> *mut bindings::pci_dev {
        self.0.get()
    }

    /// Returns the generic device of this PCI device (for logging, DMA, ...).
    pub fn as_dev(&self) -> &device::Device {
        // SAFETY: By the type invariants `self.as_raw()` is valid; its embedded `struct device`
        // shares its reference count and lives as long as `self` is borrowed.
        unsafe { device::Device::as_ref(core::ptr::addr_of_mut!((*self.as_raw()).dev)) }
    }

    /// Returns the vendor ID.
    pub fn vendor_id(&self) -> u16 {
        // SAFETY: By the type invariants `self.as_raw()` is valid; the field is set at enumeration
        // and not changed afterwards.
        unsafe { (*self.as_raw()).vendor }
    }

    /// Returns the device ID.
    pub fn device_id(&self) -> u16 {
        // SAFETY: As in `vendor_id`.
        unsafe { (*self.as_raw()).device }
    }

    /// Returns the subsystem vendor ID.
    pub fn subsystem_vendor_id(&self) -> u16 {
        // SAFETY: As in `vendor_id`.
        unsafe { (*self.as_raw()).subsystem_vendor }
    }

    /// Returns the subsystem device ID.
    pub fn subsystem_device_id(&self) -> u16 {
        // SAFETY: As in `vendor_id`.
        unsafe { (*self.as_raw()).subsystem_device }
    }

    /// Returns the revision ID.
    pub fn revision_id(&self) -> u8 {
        // SAFETY: As in `vendor_id`.
        unsafe { (*self.as_raw()).revision }
    }

    /// Enables the device's memory BARs and wakes it up (`pci_enable_device_mem`).
    ///
    /// Call it from [`Driver::probe`]: the device is disabled again (`pci_disable_device`, which
    /// also turns bus mastering off) when the driver is unbound from it or probe fails, after
    /// the driver's data is dropped.
    pub fn enable_device_mem(&self) -> Result {
        // SAFETY: By the type invariants `self.as_raw()` is valid.
        to_result(unsafe { bindings::pci_enable_device_mem(self.as_raw()) })?;
        // SAFETY: `disable_device_action` undoes the enabling above, once, which is sound at any
        // later time.
        unsafe { self.add_action(disable_device_action) }
    }

    /// Enables bus mastering, so the device can do DMA (`pci_set_master`).
    ///
    /// Bus mastering is turned off again when the device is disabled (see
    /// [`Device::enable_device_mem`]).
    pub fn set_master(&self) {
        // SAFETY: By the type invariants `self.as_raw()` is valid.
        unsafe { bindings::pci_set_master(self.as_raw()) };
    }

    /// Returns the length in bytes of BAR `bar` (0 if the BAR is not implemented).
    ///
    /// Returns [`EINVAL`] if `bar` is not a standard BAR number (0 to 5).
    pub fn resource_len(&self, bar: u32) -> Result<u64> {
        let bar = Self::check_bar(bar)?;
        // SAFETY: By the type invariants `self.as_raw()` is valid, and `bar` is in bounds of
        // its resource array.
        Ok(unsafe { bindings::pci_resource_len(self.as_raw(), bar) })
    }

    /// Requests and maps memory BAR `bar` in full (`pci_request_region`, `pci_iomap`).
    ///
    /// `name` is the owner shown in `/proc/iomem`. The returned [`Bar`] unmaps and releases the
    /// region when dropped. Returns [`EINVAL`] for a BAR number above 5 or a BAR that is not
    /// memory, [`ENODEV`] for a BAR the device does not implement, [`EBUSY`] if the region is
    /// already taken, [`ENOMEM`] if it cannot be mapped.
    pub fn iomap_region(&self, bar: u32, name: &'static CStr) -> Result<Bar> {
        self.iomap_region_sized::<0>(bar, name)
    }

    /// Like [`Device::iomap_region`], for a BAR that must be at least `SIZE` bytes long, so that
    /// accesses below `SIZE` can be checked at compile time.
    ///
    /// Returns [`EINVAL`] if the BAR is shorter than `SIZE` bytes, and the errors of
    /// [`Device::iomap_region`].
    pub fn iomap_region_sized<const SIZE: usize>(
        &self,
        bar: u32,
        name: &'static CStr,
    ) -> Result<Bar<SIZE>> {
        let num = Self::check_bar(bar)?;
        let pdev = self.as_raw();
        // SAFETY: By the type invariants `pdev` is valid; `num` is a standard BAR number.
        let (len, flags) = unsafe {
            (
                bindings::pci_resource_len(pdev, num),
                bindings::pci_resource_flags(pdev, num),
            )
        };
        if len == 0 {
            return Err(ENODEV);
        }
        if flags & bindings::IORESOURCE_MEM as crate::ffi::c_ulong == 0 {
            return Err(EINVAL);
        }
        let len = usize::try_from(len).map_err(|_| EINVAL)?;

        // SAFETY: `pdev` is valid; `name` is NUL-terminated and lives forever, as the resource
        // keeps the pointer.
        to_result(unsafe { bindings::pci_request_region(pdev, num, name.as_char_ptr()) })?;
        // SAFETY: `pdev` is valid and BAR `num` is a memory BAR this call requested.
        let addr = unsafe { bindings::pci_iomap(pdev, num, 0) };
        // SAFETY: `pci_iomap` of a memory BAR with no length limit maps it in full with
        // `ioremap`; the mapping stays until `Bar::drop` or the error path below unmaps it.
        let io = match unsafe { IoMem::<SIZE>::new(addr, len) } {
            Ok(io) => io,
            Err(e) => {
                if !addr.is_null() {
                    // SAFETY: `addr` was mapped by `pci_iomap` above and is not used any more.
                    unsafe { bindings::pci_iounmap(pdev, addr) };
                }
                // SAFETY: The region was requested above.
                unsafe { bindings::pci_release_region(pdev, num) };
                return Err(if addr.is_null() { ENOMEM } else { e });
            }
        };
        // INVARIANT: Region `num` was requested above and `io` is its mapping.
        Ok(Bar {
            pdev: self.into(),
            io,
            num,
        })
    }

    /// Allocates between `min` and `max` interrupt vectors of the allowed `types`
    /// (`pci_alloc_irq_vectors`), and returns how many were allocated.
    ///
    /// Call it from [`Driver::probe`]; get each vector's Linux interrupt number with
    /// [`Device::irq_vector`]. The vectors are freed (`pci_free_irq_vectors`) when the driver is
    /// unbound or probe fails, after the driver's data is dropped: interrupt handlers registered
    /// on them must be part of that data, so they are freed first. Returns [`ENOSPC`] if fewer
    /// than `min` vectors are available, and [`EINVAL`] for invalid arguments.
    pub fn alloc_irq_vectors(&self, min: u32, max: u32, types: IrqTypes) -> Result<u32> {
        // SAFETY: By the type invariants `self.as_raw()` is valid.
        let ret =
            unsafe { bindings::pci_alloc_irq_vectors(self.as_raw(), min, max, types.as_raw()) };
        to_result(ret)?;
        // SAFETY: `free_irq_vectors_action` frees the vectors allocated above, which is sound at
        // any later time (freeing unallocated vectors does nothing).
        unsafe { self.add_action(free_irq_vectors_action) }?;
        // `ret` is positive here (a count of vectors).
        Ok(ret as u32)
    }

    /// Returns the Linux interrupt number of vector `index` (`pci_irq_vector`), to pass to
    /// [`irq::Registration::new`](crate::irq::Registration::new).
    ///
    /// Returns [`EINVAL`] if `index` is not an allocated vector, and [`ENODEV`] if the device has
    /// no interrupt.
    pub fn irq_vector(&self, index: u32) -> Result<u32> {
        // Without MSI support only vector 0 (INTx) exists, and the C stub warns for others.
        if index > 0 && !cfg!(CONFIG_PCI_MSI) {
            return Err(EINVAL);
        }
        // SAFETY: By the type invariants `self.as_raw()` is valid.
        let ret = unsafe { bindings::pci_irq_vector(self.as_raw(), index) };
        to_result(ret)?;
        if ret == 0 {
            return Err(ENODEV);
        }
        // `ret` is positive here.
        Ok(ret as u32)
    }

    /// Checks a standard BAR number and converts it for C.
    fn check_bar(bar: u32) -> Result<crate::ffi::c_int> {
        if bar < bindings::PCI_STD_NUM_BARS {
            // `bar < 6`, so the conversion is lossless.
            Ok(bar as crate::ffi::c_int)
        } else {
            Err(EINVAL)
        }
    }

    /// Adds `action` on this device as a managed resource, run when the driver is unbound (or
    /// probe fails); runs it at once if that fails.
    ///
    /// # Safety
    ///
    /// `action` must be sound to call once with this device's `struct pci_dev` pointer, at any
    /// later time while the `struct pci_dev` exists.
    unsafe fn add_action(&self, action: unsafe extern "C" fn(*mut crate::ffi::c_void)) -> Result {
        let pdev = self.as_raw();
        // SAFETY: `pdev` is valid, and so is the embedded device; the device core calls
        // `action(pdev)` once when it releases the device's managed resources, while `pdev` is
        // still valid (managed resources are released before the device is freed).
        let ret = unsafe {
            bindings::__devm_add_action(
                core::ptr::addr_of_mut!((*pdev).dev),
                Some(action),
                pdev.cast(),
                crate::c_str!("pci").as_char_ptr(),
            )
        };
        if ret != 0 {
            // SAFETY: The caller guarantees `action` may be called now with `pdev`.
            unsafe { action(pdev.cast()) };
        }
        to_result(ret)
    }
}

// SAFETY: Instances of `Device` are always reference-counted (`pci_dev_get`/`pci_dev_put`).
unsafe impl AlwaysRefCounted for Device {
    fn inc_ref(&self) {
        // SAFETY: The existence of a shared reference guarantees that the refcount is non-zero.
        unsafe { bindings::pci_dev_get(self.as_raw()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The safety requirements guarantee that the refcount is non-zero.
        unsafe { bindings::pci_dev_put(obj.cast().as_ptr()) }
    }
}

// SAFETY: A `struct pci_dev` may be used and released (`pci_dev_put`) from any thread.
unsafe impl Send for Device {}

// SAFETY: The methods of `Device` that take `&self` are safe to call concurrently: they read
// fields fixed at enumeration, or call C functions that do their own locking.
unsafe impl Sync for Device {}

/// A requested and mapped memory BAR of a PCI device, at least `SIZE` bytes long.
///
/// Derefs to [`IoMem`] for the register accessors. Dropping it unmaps the BAR (`pci_iounmap`)
/// and releases the region (`pci_release_region`): keep it in the driver's data, so that it is
/// dropped when the device is unbound.
///
/// # Invariants
///
/// Region `num` of `pdev` was requested by this object, and `io` is its mapping by `pci_iomap`.
pub struct Bar<const SIZE: usize = 0> {
    pdev: ARef<Device>,
    io: IoMem<SIZE>,
    num: crate::ffi::c_int,
}

impl<const SIZE: usize> Bar<SIZE> {
    /// Returns the BAR number.
    pub fn index(&self) -> u32 {
        // `num` is a standard BAR number (0 to 5).
        self.num as u32
    }
}

impl<const SIZE: usize> Deref for Bar<SIZE> {
    type Target = IoMem<SIZE>;

    fn deref(&self) -> &IoMem<SIZE> {
        &self.io
    }
}

impl<const SIZE: usize> Drop for Bar<SIZE> {
    fn drop(&mut self) {
        let pdev = self.pdev.as_raw();
        // SAFETY: By the type invariants the mapping and the region are owned by this object;
        // nothing borrows `self.io` any more.
        unsafe {
            bindings::pci_iounmap(pdev, self.io.as_ptr());
            bindings::pci_release_region(pdev, self.num);
        }
    }
}

/// A PCI driver.
///
/// Register it with a [`Registration`]. See the [module documentation](self) for an example.
pub trait Driver {
    /// The driver's per-device data, returned by [`Driver::probe`] and kept (by the PCI device's
    /// driver data pointer) until the device is unbound, when [`Driver::remove`] gets it back.
    /// Typically `Pin<KBox<T>>` or `Arc<T>`.
    type Data: ForeignOwnable + Send;

    /// The devices this driver handles.
    const ID_TABLE: IdTable;

    /// Binds the driver to `dev`, which matched the table entry `id`.
    ///
    /// Runs in process context and may sleep. An error fails the binding; what was set up on
    /// the device by then through this module's managed APIs is undone.
    fn probe(dev: &Device, id: &DeviceId) -> Result<Self::Data>;

    /// Unbinds the driver from `dev`, and gets back the data `probe` returned.
    ///
    /// Runs in process context and may sleep. The default drops `data`; a driver may quiesce
    /// the device first. The device is disabled after this returns.
    fn remove(dev: &Device, data: Self::Data) {
        let _ = dev;
        drop(data);
    }
}

/// A registered PCI driver: `pci_register_driver` on creation, `pci_unregister_driver` on drop.
///
/// It must be pinned, as the PCI core keeps the address of its `struct pci_driver`; build it with
/// `KBox::pin_init(Registration::new(..), GFP_KERNEL)` or in a pinned struct. Dropping it unbinds
/// every device (each [`Driver::remove`] has returned by then).
///
/// # Invariants
///
/// `drv` is a `struct pci_driver` registered with the PCI core, with the callbacks of `T`.
#[pin_data(PinnedDrop)]
pub struct Registration<T: Driver> {
    #[pin]
    drv: Opaque<bindings::pci_driver>,
    _p: PhantomData<T>,
}

// SAFETY: The registration is only used by the PCI core, which synchronises its accesses to the
// `struct pci_driver`; `pci_unregister_driver` may run in any thread. `T` is not stored.
unsafe impl<T: Driver> Send for Registration<T> {}

// SAFETY: `Registration` has no methods taking `&self` that touch the `struct pci_driver`.
unsafe impl<T: Driver> Sync for Registration<T> {}

impl<T: Driver> Registration<T> {
    /// Registers the driver `T` under `name`, for `module` (`pci_register_driver`).
    ///
    /// Devices that match [`Driver::ID_TABLE`] may be probed before this returns. Call it in
    /// process context (e.g. from `Module::init`).
    pub fn new(name: &'static CStr, module: &'static ThisModule) -> impl PinInit<Self, Error> {
        let register = move |slot: *mut Opaque<bindings::pci_driver>| {
            let drv = Opaque::raw_get(slot);
            // SAFETY: `drv` is valid for writes. An all-zero `struct pci_driver` is valid (what a
            // C `static` starts as); the PCI core initialises the rest.
            unsafe {
                drv.write(bindings::pci_driver {
                    name: name.as_char_ptr(),
                    id_table: T::ID_TABLE.as_ptr(),
                    probe: Some(Self::probe_callback),
                    remove: Some(Self::remove_callback),
                    ..core::mem::zeroed()
                })
            };
            // SAFETY: `drv` is initialised; `name` (also the module name for built-in drivers)
            // lives forever, as does the ID table, terminated by the invariants of `IdTable`.
            to_result(unsafe {
                bindings::__pci_register_driver(drv, module.as_ptr(), name.as_char_ptr())
            })
        };
        // SAFETY: `register` initialises the slot fully before registering it, returns an error
        // only if the registration failed (leaving nothing registered), and the slot is pinned,
        // so the registered address stays valid until `drop`.
        let drv = unsafe { init::pin_init_from_closure(register) };
        // INVARIANT: `drv` is registered by the initialiser above.
        try_pin_init!(Self {
            drv <- drv,
            _p: PhantomData,
        })
    }

    /// The C `probe` callback.
    ///
    /// # Safety
    ///
    /// Called by the PCI core with a valid `pdev` being bound, and a valid `id`.
    unsafe extern "C" fn probe_callback(
        pdev: *mut bindings::pci_dev,
        id: *const bindings::pci_device_id,
    ) -> crate::ffi::c_int {
        from_result(|| {
            // SAFETY: The PCI core holds a reference to `pdev` for the duration of probe.
            let dev = unsafe { Device::from_raw(pdev) };
            // SAFETY: `id` is a valid `struct pci_device_id` (an entry of our table, or a dynamic
            // or `driver_override` one of the PCI core) for the call; `DeviceId` is a
            // `repr(transparent)` wrapper of it.
            let id = unsafe { &*id.cast::<DeviceId>() };
            let data = T::probe(dev, id)?;
            // SAFETY: `pdev` is valid and being bound to this driver, so its driver data is ours;
            // `remove_callback` takes it back.
            unsafe { bindings::pci_set_drvdata(pdev, data.into_foreign().cast_mut()) };
            Ok(0)
        })
    }

    /// The C `remove` callback.
    ///
    /// # Safety
    ///
    /// Called by the PCI core with a valid `pdev` that `probe_callback` bound successfully.
    unsafe extern "C" fn remove_callback(pdev: *mut bindings::pci_dev) {
        // SAFETY: `pdev` is valid for the duration of remove.
        let ptr = unsafe { bindings::pci_get_drvdata(pdev) };
        // SAFETY: `ptr` was set by `into_foreign` in a successful probe, and remove is called
        // once per successful probe, so it is converted back only once; no borrow of it remains.
        let data = unsafe { T::Data::from_foreign(ptr) };
        // SAFETY: The PCI core holds a reference to `pdev` for the duration of remove.
        let dev = unsafe { Device::from_raw(pdev) };
        T::remove(dev, data);
    }
}

#[pinned_drop]
impl<T: Driver> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: By the type invariants `drv` is registered; unregistering unbinds all devices
        // (their `remove_callback` has returned when this returns).
        unsafe { bindings::pci_unregister_driver(self.drv.get()) };
    }
}
