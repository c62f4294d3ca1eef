// SPDX-License-Identifier: GPL-2.0

//! Misc character devices with ioctl handlers.
//!
//! A misc device is a character device with major number 10 and a dynamically allocated minor,
//! which appears as `/dev/<name>`. A driver describes its file operations with the
//! [`MiscDevice`] trait and registers a device with a pinned [`Registration`]; the device is
//! deregistered when the registration is dropped.
//!
//! C header: [`include/linux/miscdevice.h`](srctree/include/linux/miscdevice.h).

use crate::{
    bindings,
    device::Device,
    error::{from_result, to_result, Error, Result, VTABLE_DEFAULT_ERROR},
    ffi::{c_int, c_long, c_uint, c_ulong},
    init::{self, PinInit},
    mm::Vma,
    prelude::*,
    str::{CStr, CString},
    types::{ForeignOwnable, Opaque},
    uaccess::{UserPtr, UserSlice, UserSliceReader, UserSliceWriter},
};
use core::{fmt, marker::PhantomData, mem::MaybeUninit, pin::Pin};

/// The file operations of a misc device.
///
/// One value of [`MiscDevice::Ptr`] exists per open file: [`MiscDevice::open`] makes it, the
/// other operations borrow it, and [`MiscDevice::release`] gets it back when the last reference
/// to the file goes away. Data that all open files share is [`MiscDevice::Shared`]; it is given to
/// [`Registration::new`] and lives in the registration.
///
/// Operations other than `open` and `release` are optional: leave them out and the file has no
/// such operation (`ioctl` then fails with `ENOTTY`, `mmap` with `ENODEV`).
///
/// # Examples
///
/// A device that counts its opens and answers one ioctl with the count:
///
/// ```
/// use core::sync::atomic::{AtomicU32, Ordering};
/// use kernel::ioctl::_IOR;
/// use kernel::miscdevice::{ioctl_writer, MiscDevice, Registration};
/// use kernel::prelude::*;
/// use kernel::sync::Arc;
///
/// const GET_OPENS: u32 = _IOR::<u32>(b'x' as u32, 1);
///
/// struct Counter {
///     opens: Arc<AtomicU32>,
/// }
///
/// // A module uses the `THIS_MODULE` that `module!` makes.
/// // SAFETY: Doctests are built into the kernel image, whose `THIS_MODULE` is NULL.
/// static THIS_MODULE: ThisModule = unsafe { ThisModule::from_ptr(core::ptr::null_mut()) };
///
/// #[vtable]
/// impl MiscDevice for Counter {
///     const OWNER: &'static ThisModule = &THIS_MODULE;
///     type Shared = Arc<AtomicU32>;
///     type Ptr = KBox<Self>;
///
///     fn open(opens: &Arc<AtomicU32>) -> Result<KBox<Self>> {
///         opens.fetch_add(1, Ordering::Relaxed);
///         Ok(KBox::new(Counter { opens: opens.clone() }, GFP_KERNEL)?)
///     }
///
///     fn ioctl(this: &Self, cmd: u32, arg: usize) -> Result<isize> {
///         match cmd {
///             GET_OPENS => {
///                 ioctl_writer::<u32>(arg).write(&this.opens.load(Ordering::Relaxed))?;
///                 Ok(0)
///             }
///             _ => Err(ENOTTY),
///         }
///     }
/// }
///
/// let reg = KBox::pin_init(
///     Registration::<Counter>::new(
///         kernel::c_str!("rust_misc_doctest"),
///         Arc::new(AtomicU32::new(0), GFP_KERNEL)?,
///     ),
///     GFP_KERNEL,
/// )?;
/// assert_eq!(reg.shared().load(Ordering::Relaxed), 0);
/// assert!(reg.minor() >= 0);
/// // Dropping the registration removes /dev/rust_misc_doctest.
/// drop(reg);
/// # Ok::<(), Error>(())
/// ```
#[vtable]
pub trait MiscDevice: Sized + 'static {
    /// The module that owns the file operations, normally `&THIS_MODULE`.
    ///
    /// Open files hold a reference to it, so the module stays loaded while any file is open even
    /// after the device was deregistered.
    const OWNER: &'static ThisModule;

    /// Data shared by all open files of one device (for example an [`Arc`] the opens clone).
    ///
    /// [`Arc`]: crate::sync::Arc
    type Shared: Send + Sync;

    /// The per-open data, owned by the file, for example `KBox<Self>`.
    type Ptr: ForeignOwnable + Send + Sync;

    /// Called when the device node is opened; returns the data of the new open file.
    ///
    /// `shared` is the data given to [`Registration::new`]. It is only borrowed: the open file
    /// may outlive the registration, so per-open data that needs the shared data must own a
    /// reference to it (make [`MiscDevice::Shared`] reference-counted).
    fn open(shared: &Self::Shared) -> Result<Self::Ptr>;

    /// Called when the last reference to the open file is dropped; the default drops `data`.
    fn release(data: Self::Ptr) {
        drop(data);
    }

    /// Handles an `ioctl` (`unlocked_ioctl`; also 64-bit `compat_ioctl` unless
    /// [`MiscDevice::compat_ioctl`] is given).
    ///
    /// `arg` is usually a user pointer: see [`ioctl_reader`] and [`ioctl_writer`]. A
    /// non-negative return value is returned to user space; an error becomes a negative errno.
    fn ioctl(
        _data: <Self::Ptr as ForeignOwnable>::Borrowed<'_>,
        _cmd: u32,
        _arg: usize,
    ) -> Result<isize> {
        crate::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// Handles an `ioctl` from a 32-bit process on a 64-bit kernel.
    ///
    /// When left out and [`MiscDevice::ioctl`] is given, `compat_ptr_ioctl` is used: the
    /// argument is converted with `compat_ptr` and passed to [`MiscDevice::ioctl`], which is right
    /// for ioctls whose argument is a pointer to a structure with the same layout on both ABIs.
    fn compat_ioctl(
        _data: <Self::Ptr as ForeignOwnable>::Borrowed<'_>,
        _cmd: u32,
        _arg: usize,
    ) -> Result<isize> {
        crate::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// Handles `mmap` of the device node: set up `vma` (for example with
    /// [`Vma::set_fault_handler`]).
    fn mmap(_data: <Self::Ptr as ForeignOwnable>::Borrowed<'_>, _vma: &Vma) -> Result {
        crate::build_error(VTABLE_DEFAULT_ERROR)
    }
}

/// Returns a reader for the `T` that an ioctl argument points to in user space.
///
/// Read it with [`UserSliceReader::read`]; a bad pointer gives `EFAULT` then.
pub fn ioctl_reader<T>(arg: usize) -> UserSliceReader {
    UserSlice::new(arg as UserPtr, core::mem::size_of::<T>()).reader()
}

/// Returns a writer for the `T` that an ioctl argument points to in user space.
///
/// Write it with [`UserSliceWriter::write`]; a bad pointer gives `EFAULT` then.
pub fn ioctl_writer<T>(arg: usize) -> UserSliceWriter {
    UserSlice::new(arg as UserPtr, core::mem::size_of::<T>()).writer()
}

/// Returns a reader and a writer for an in/out ioctl argument of type `T` (`_IOWR`).
///
/// Read the argument first, then write the result back.
pub fn ioctl_reader_writer<T>(arg: usize) -> (UserSliceReader, UserSliceWriter) {
    UserSlice::new(arg as UserPtr, core::mem::size_of::<T>()).reader_writer()
}

/// A registered misc device (`struct miscdevice`).
///
/// Made with [`Registration::new`] in pinned memory (`KBox::pin_init`, or a `#[pin]` field of the
/// driver's data); `misc_register` runs when it is initialised and `misc_deregister` when it is
/// dropped. Usable from `Module::init` and from a bus driver's probe; dropping it may sleep.
///
/// # Invariants
///
/// `inner` is a `struct miscdevice` registered with `misc_register`, whose `fops` are
/// `MiscdeviceVTable::<T>::VTABLE` and whose `name` points into `name` or to a `'static` string.
/// `shared` was initialised before the registration and is dropped after the deregistration.
#[pin_data(PinnedDrop)]
pub struct Registration<T: MiscDevice> {
    #[pin]
    inner: Opaque<bindings::miscdevice>,
    shared: T::Shared,
    name: Option<CString>,
    _p: PhantomData<T>,
}

// SAFETY: The registration can be dropped (deregistered) from any thread; it gives access only to
// `shared`, which is `Send`.
unsafe impl<T: MiscDevice> Send for Registration<T> {}

// SAFETY: `&Registration` gives only `&T::Shared` (which is `Sync`) and reads of fields that the
// misc core does not change while the device is registered.
unsafe impl<T: MiscDevice> Sync for Registration<T> {}

impl<T: MiscDevice> Registration<T> {
    /// Registers a misc device `/dev/<name>` with a dynamic minor and the given shared data.
    ///
    /// The device can be opened as soon as it is registered (before this returns). Fails with
    /// `EBUSY` or `EEXIST` if the name is in use.
    pub fn new(name: &'static CStr, shared: T::Shared) -> impl PinInit<Self, Error> {
        Self::with_name(None, name.as_char_ptr(), shared)
    }

    /// Like [`Registration::new`], with a name formatted at run time (e.g. one per PCI device).
    ///
    /// ```ignore
    /// Registration::<MyDev>::new_fmt(fmt!("edu{}", index), shared)
    /// ```
    pub fn new_fmt(name: fmt::Arguments<'_>, shared: T::Shared) -> impl PinInit<Self, Error> {
        let name = CString::try_from_fmt(name);
        let init = move |slot: *mut Self| {
            let name = name?;
            // The heap buffer of a `CString` does not move when the `CString` moves, so the
            // pointer stays valid once the string is stored in the registration.
            let ptr = name.as_char_ptr();
            // SAFETY: `slot` is valid for writes and pinned (our caller's promise, passed on).
            unsafe { Self::with_name(Some(name), ptr, shared).__pinned_init(slot) }
        };
        // SAFETY: On `Ok` the closure initialised `slot` through `with_name`; on `Err` it left it
        // uninitialised (`with_name` drops what it initialised before failing).
        unsafe { init::pin_init_from_closure(init) }
    }

    fn with_name(
        name: Option<CString>,
        name_ptr: *const crate::ffi::c_char,
        shared: T::Shared,
    ) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            // `shared` and `name` come first: the device may be opened as soon as it is
            // registered.
            shared,
            name,
            _p: PhantomData,
            inner <- pin_init_misc::<T>(name_ptr),
        })
    }

    /// Returns the data shared by all open files.
    pub fn shared(&self) -> &T::Shared {
        &self.shared
    }

    /// Returns the minor number that was allocated.
    pub fn minor(&self) -> i32 {
        // SAFETY: By the type invariant the device is registered; `misc_register` wrote the minor
        // before and nothing changes it while registered.
        unsafe { (*self.inner.get()).minor }
    }

    /// Returns the `struct device` of `/dev/<name>` (for messages and sysfs).
    pub fn device(&self) -> &Device {
        // SAFETY: By the type invariant the device is registered, so `this_device` is a valid
        // device that lives until `misc_deregister`, which only runs when `self` is dropped.
        unsafe { Device::as_ref((*self.inner.get()).this_device) }
    }
}

/// Initialises a `struct miscdevice` in place and registers it.
fn pin_init_misc<T: MiscDevice>(
    name: *const crate::ffi::c_char,
) -> impl PinInit<Opaque<bindings::miscdevice>, Error> {
    let init = move |slot: *mut Opaque<bindings::miscdevice>| {
        let misc = Opaque::raw_get(slot);
        // SAFETY: `misc` is valid for writes (it is the slot being initialised); the all-zero
        // value is valid for `struct miscdevice` (integers and pointers).
        unsafe {
            misc.write(bindings::miscdevice {
                minor: bindings::MISC_DYNAMIC_MINOR as c_int,
                name,
                fops: MiscdeviceVTable::<T>::build(),
                ..MaybeUninit::zeroed().assume_init()
            })
        };
        // SAFETY: `misc` is initialised, pinned (it is in the pinned registration) and not yet
        // registered; `name` and `fops` live until `misc_deregister` (the type invariant of
        // `Registration`).
        to_result(unsafe { bindings::misc_register(misc) })
    };
    // SAFETY: On `Ok` the closure fully initialised the slot; on `Err` nothing needs dropping
    // (a `struct miscdevice` that failed to register owns nothing).
    unsafe { init::pin_init_from_closure(init) }
}

#[pinned_drop]
impl<T: MiscDevice> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: By the type invariant the device is registered. After this no new open can
        // find the registration (`misc_open` looks devices up under the same mutex).
        unsafe { bindings::misc_deregister(self.inner.get()) };
    }
}

/// The `file_operations` of the misc devices of one [`MiscDevice`] type.
struct MiscdeviceVTable<T: MiscDevice>(PhantomData<T>);

impl<T: MiscDevice> MiscdeviceVTable<T> {
    const VTABLE: bindings::file_operations = bindings::file_operations {
        owner: T::OWNER.as_ptr(),
        open: Some(Self::open),
        release: Some(Self::release),
        unlocked_ioctl: if T::HAS_IOCTL {
            Some(Self::ioctl)
        } else {
            None
        },
        compat_ioctl: Self::compat_ioctl_op(),
        mmap: if T::HAS_MMAP { Some(Self::mmap) } else { None },
        // SAFETY: All zeros (`None`, null, 0) is valid for the other fields.
        ..unsafe { MaybeUninit::zeroed().assume_init() }
    };

    const fn build() -> &'static bindings::file_operations {
        &Self::VTABLE
    }

    #[allow(clippy::type_complexity)]
    const fn compat_ioctl_op(
    ) -> Option<unsafe extern "C" fn(*mut bindings::file, c_uint, c_ulong) -> c_long> {
        if T::HAS_COMPAT_IOCTL {
            return Some(Self::compat_ioctl);
        }
        #[cfg(CONFIG_COMPAT)]
        if T::HAS_IOCTL {
            return Some(bindings::compat_ptr_ioctl);
        }
        None
    }

    /// # Safety
    ///
    /// Called by `misc_open` with `file->private_data` pointing to the `struct miscdevice` of a
    /// registered `Registration<T>`, under `misc_mtx`.
    unsafe extern "C" fn open(_inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        from_result(|| {
            // SAFETY: `file` is valid (caller).
            let misc = unsafe { (*file).private_data }.cast::<bindings::miscdevice>();
            // SAFETY: `misc` is the `inner` field of a `Registration<T>` (its fops are ours, and
            // only `Registration<T>` uses them), which stays registered, hence alive, while
            // `misc_open` holds `misc_mtx`.
            let reg = unsafe { &*crate::container_of!(misc, Registration<T>, inner) };
            let data = T::open(&reg.shared)?;
            // SAFETY: `file` is valid and being opened: nothing else uses `private_data` yet.
            unsafe { (*file).private_data = data.into_foreign().cast_mut() };
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the VFS once, after a successful [`Self::open`] of `file`.
    unsafe extern "C" fn release(_inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: `private_data` came from `into_foreign` in `open`; this is the last use.
        let data = unsafe { T::Ptr::from_foreign((*file).private_data) };
        T::release(data);
        0
    }

    /// # Safety
    ///
    /// `file` is an open file of this device (between `open` and `release`).
    unsafe extern "C" fn ioctl(file: *mut bindings::file, cmd: c_uint, arg: c_ulong) -> c_long {
        // SAFETY: `private_data` came from `into_foreign` in `open`, and `release` has not run
        // (the file is in use), so it can be borrowed for the duration of the call.
        let data = unsafe { T::Ptr::borrow((*file).private_data) };
        ret_to_long(T::ioctl(data, cmd, arg))
    }

    /// # Safety
    ///
    /// `file` is an open file of this device (between `open` and `release`).
    unsafe extern "C" fn compat_ioctl(
        file: *mut bindings::file,
        cmd: c_uint,
        arg: c_ulong,
    ) -> c_long {
        // SAFETY: As in `ioctl`.
        let data = unsafe { T::Ptr::borrow((*file).private_data) };
        ret_to_long(T::compat_ioctl(data, cmd, arg))
    }

    /// # Safety
    ///
    /// `file` is an open file of this device and `vma` a mapping being set up for it, with the
    /// mmap lock of its mm held for writing.
    unsafe extern "C" fn mmap(
        file: *mut bindings::file,
        vma: *mut bindings::vm_area_struct,
    ) -> c_int {
        // SAFETY: As in `ioctl`.
        let data = unsafe { T::Ptr::borrow((*file).private_data) };
        // SAFETY: `vma` is being set up under the mmap write lock for the whole call (caller).
        let vma = unsafe { Vma::from_raw(vma) };
        from_result(|| T::mmap(data, vma).map(|()| 0))
    }
}

fn ret_to_long(ret: Result<isize>) -> c_long {
    match ret {
        Ok(v) => v as c_long,
        Err(e) => e.to_errno() as c_long,
    }
}

/// Declares a `#[repr(C)]` ioctl argument structure of integer fields that
/// can be copied from and to userspace ([`FromBytes`] and [`AsBytes`]),
/// checking at compile time what makes that sound: every field is itself
/// `FromBytes + AsBytes`, and there is no padding (the size is the sum of
/// the fields' sizes), so any bytes are a valid value and every byte is
/// initialised. A layout with a hole is a build error, not a leak of kernel
/// stack to userspace.
///
/// [`FromBytes`]: crate::types::FromBytes
/// [`AsBytes`]: crate::types::AsBytes
///
/// # Examples
///
/// ```
/// kernel::uapi_struct! {
///     /// `struct foo_args` of the driver's uapi header.
///     pub struct FooArgs {
///         /// In.
///         pub size: u64,
///         /// Out.
///         pub fd: i32,
///         /// Must be zero.
///         pub pad: u32,
///     }
/// }
///
/// let a = FooArgs { size: 1, ..Default::default() };
/// assert_eq!(core::mem::size_of::<FooArgs>(), 16);
/// assert_eq!(a.fd, 0);
/// ```
#[macro_export]
macro_rules! uapi_struct {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $($(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(Clone, Copy, Default)]
        $vis struct $name {
            $($(#[$fmeta])* $fvis $field: $ty),*
        }

        const _: () = {
            const fn plain<T: $crate::types::FromBytes + $crate::types::AsBytes>() -> usize {
                ::core::mem::size_of::<T>()
            }
            ::core::assert!(
                ::core::mem::size_of::<$name>() == 0 $(+ plain::<$ty>())*,
                "padding in a uapi structure"
            );
        };

        // SAFETY: Every field is `FromBytes + AsBytes` (checked above by
        // `plain`) and the `repr(C)` structure has no padding (its size is the
        // sum of the fields'), so any byte pattern is a valid value.
        unsafe impl $crate::types::FromBytes for $name {}
        // SAFETY: As above: no padding, so every byte is initialised.
        unsafe impl $crate::types::AsBytes for $name {}
    };
}
