// SPDX-License-Identifier: GPL-2.0

//! Interrupt handlers.
//!
//! A driver implements [`Handler`] for the data its interrupt handler needs and registers it on
//! an interrupt line with [`Registration::new`] (`request_irq`). Dropping the [`Registration`]
//! frees the line (`free_irq`), which waits for running handlers to finish, so the handler's
//! data, kept alive by the registration's [`Arc`], outlives every call of the handler.
//!
//! Only hard interrupt handlers are covered (no threaded handlers).
//!
//! C header: [`include/linux/interrupt.h`](srctree/include/linux/interrupt.h).

use crate::{
    bindings,
    error::{to_result, Result},
    str::CStr,
    sync::Arc,
};
use core::ops::BitOr;

/// What an interrupt handler did (`irqreturn_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum IrqReturn {
    /// The interrupt was not from this device, or was not handled (`IRQ_NONE`).
    None = bindings::irqreturn_IRQ_NONE,
    /// The interrupt was handled by this device (`IRQ_HANDLED`).
    Handled = bindings::irqreturn_IRQ_HANDLED,
}

/// Flags for [`Registration::new`] (the `IRQF_*` flags of `request_irq`).
///
/// Combine them with `|`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flags(crate::ffi::c_ulong);

impl Flags {
    /// No flags: an exclusive line with its configured trigger.
    pub const NONE: Flags = Flags(0);
    /// The line may be shared with other devices (`IRQF_SHARED`); the handler must then return
    /// [`IrqReturn::None`] for interrupts its device did not raise.
    pub const SHARED: Flags = Flags(bindings::IRQF_SHARED as _);
    /// Trigger on a rising edge (`IRQF_TRIGGER_RISING`).
    pub const TRIGGER_RISING: Flags = Flags(bindings::IRQF_TRIGGER_RISING as _);
    /// Trigger on a falling edge (`IRQF_TRIGGER_FALLING`).
    pub const TRIGGER_FALLING: Flags = Flags(bindings::IRQF_TRIGGER_FALLING as _);
    /// Trigger on a high level (`IRQF_TRIGGER_HIGH`).
    pub const TRIGGER_HIGH: Flags = Flags(bindings::IRQF_TRIGGER_HIGH as _);
    /// Trigger on a low level (`IRQF_TRIGGER_LOW`).
    pub const TRIGGER_LOW: Flags = Flags(bindings::IRQF_TRIGGER_LOW as _);

    /// Returns the C value.
    pub const fn as_raw(self) -> crate::ffi::c_ulong {
        self.0
    }

    /// Returns `true` if every flag of `other` is set in `self`.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for Flags {
    type Output = Flags;

    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

/// An interrupt handler.
///
/// # Context
///
/// [`Handler::handle`] runs in hard interrupt context, with interrupts disabled on the local CPU:
/// it must not sleep (no `Mutex`, no `GFP_KERNEL` allocation, no `CondVar` wait, no `msleep`),
/// and should be short. Use a `SpinLock` (taken with interrupts disabled elsewhere, as it is
/// taken here in interrupt context) for data shared with process context, and defer longer work
/// to a workqueue. It may run on any CPU, concurrently with any other use of the handler's data,
/// hence `Sync`.
pub trait Handler: Send + Sync {
    /// Handles an interrupt on the line this handler is registered on.
    ///
    /// Returns [`IrqReturn::Handled`] if the interrupt came from this handler's device, and
    /// [`IrqReturn::None`] otherwise (always check the device's status on a shared line).
    fn handle(&self) -> IrqReturn;
}

/// A registered interrupt handler: `request_irq` on creation, `free_irq` on drop.
///
/// # Context
///
/// Creating and dropping a registration may sleep: do it in process context, never from the
/// handler itself (`free_irq` waits for running handlers, so it would wait for itself).
///
/// # Invariants
///
/// `handler` is registered on line `irq` with `dev_id` equal to the address of the `H` inside
/// `handler`, and `Registration::<H>::handler_callback` as the handler, until `drop` frees it.
///
/// # Examples
///
/// ```
/// use kernel::{c_str, irq, prelude::*, sync::Arc};
/// use core::sync::atomic::{AtomicU32, Ordering};
///
/// struct Counter(AtomicU32);
///
/// impl irq::Handler for Counter {
///     fn handle(&self) -> irq::IrqReturn {
///         // Hard interrupt context: no sleeping.
///         self.0.fetch_add(1, Ordering::Relaxed);
///         irq::IrqReturn::Handled
///     }
/// }
///
/// // Not called: it needs a real interrupt line (e.g. from `pci::Device::irq_vector`).
/// fn register(line: u32) -> Result<irq::Registration<Counter>> {
///     let counter = Arc::new(Counter(AtomicU32::new(0)), GFP_KERNEL)?;
///     irq::Registration::new(line, irq::Flags::SHARED, c_str!("counter"), counter)
/// }
/// let _ = register;
/// ```
pub struct Registration<H: Handler + 'static> {
    irq: u32,
    handler: Arc<H>,
}

impl<H: Handler + 'static> Registration<H> {
    /// Registers `handler` on interrupt line `irq` (`request_irq`).
    ///
    /// `name` appears in `/proc/interrupts`. The handler may be called as soon as this function
    /// starts, on any CPU, until the registration is dropped.
    ///
    /// Returns the error of `request_irq`, e.g. [`EINVAL`](crate::error::code::EINVAL) for an
    /// invalid line, or [`EBUSY`](crate::error::code::EBUSY) if the line is taken and not shared
    /// by both users.
    pub fn new(irq: u32, flags: Flags, name: &'static CStr, handler: Arc<H>) -> Result<Self> {
        let dev_id: *const H = &*handler;
        // SAFETY: `handler_callback::<H>` matches `irq_handler_t`; `name` is a NUL-terminated
        // string that lives forever, as `request_irq` keeps the pointer; `dev_id` points to the
        // `H` kept alive by `handler`, which this object owns until after `free_irq` (in `drop`),
        // and is non-null as `IRQF_SHARED` requires.
        to_result(unsafe {
            bindings::request_irq(
                irq,
                Some(Self::handler_callback),
                flags.as_raw(),
                name.as_char_ptr(),
                dev_id.cast_mut().cast(),
            )
        })?;
        // INVARIANT: `request_irq` succeeded with `dev_id` pointing into `handler`.
        Ok(Self { irq, handler })
    }

    /// Returns the interrupt line.
    pub fn irq(&self) -> u32 {
        self.irq
    }

    /// Returns the handler's data.
    pub fn handler(&self) -> &Arc<H> {
        &self.handler
    }

    /// The C handler: calls [`Handler::handle`] on the `H` that `dev_id` points to.
    ///
    /// # Safety
    ///
    /// `dev_id` must point to an `H` that stays valid for the duration of the call.
    unsafe extern "C" fn handler_callback(
        _irq: crate::ffi::c_int,
        dev_id: *mut crate::ffi::c_void,
    ) -> bindings::irqreturn_t {
        // SAFETY: `dev_id` is the pointer given to `request_irq` in `new`; the registration keeps
        // the `H` alive until `free_irq` has returned, which waits for this call to finish.
        let handler = unsafe { &*dev_id.cast::<H>() };
        handler.handle() as bindings::irqreturn_t
    }
}

impl<H: Handler + 'static> Drop for Registration<H> {
    fn drop(&mut self) {
        let dev_id: *const H = &*self.handler;
        // SAFETY: By the type invariants the handler is registered on `self.irq` with this
        // `dev_id`. `free_irq` removes it and waits for running calls of it to finish, so
        // `self.handler` is dropped (after this) only once no call can use it.
        unsafe { bindings::free_irq(self.irq, dev_id.cast_mut().cast()) };
    }
}

/// A spinlock that disables local interrupts while held
/// (`spin_lock_irqsave`/`spin_unlock_irqrestore`): the lock to share data
/// between a [`Handler`] and process context. A plain
/// [`SpinLock`](crate::sync::SpinLock) taken in process context could be
/// interrupted on the same CPU by a handler that takes it too, a deadlock
/// (lockdep reports the inconsistent use).
///
/// Build it with `SpinLockIrq::new(value, name, kernel::static_lock_class!())`.
///
/// # Examples
///
/// ```
/// use kernel::{c_str, irq::SpinLockIrq, prelude::*};
///
/// let counter = KBox::pin_init(
///     SpinLockIrq::new(0u32, c_str!("doctest"), kernel::static_lock_class!()),
///     GFP_KERNEL,
/// )?;
/// *counter.lock() += 1;
/// assert_eq!(*counter.lock(), 1);
/// # Ok::<(), Error>(())
/// ```
pub type SpinLockIrq<T> = crate::sync::lock::Lock<T, SpinLockIrqBackend>;

/// The [`SpinLockIrq`] backend.
pub struct SpinLockIrqBackend;

// SAFETY: The C spinlock gives mutual exclusion; `lock` returns the saved
// interrupt flags, which `unlock` restores on the same CPU (the guard is not
// `Send`, so it is dropped by the task that took it).
unsafe impl crate::sync::lock::Backend for SpinLockIrqBackend {
    type State = bindings::spinlock_t;
    type GuardState = crate::ffi::c_ulong;

    unsafe fn init(
        ptr: *mut Self::State,
        name: *const crate::ffi::c_char,
        key: *mut bindings::lock_class_key,
    ) {
        // SAFETY: The caller passes valid memory for the lock, a static name
        // and a static key.
        unsafe { bindings::__spin_lock_init(ptr, name, key) }
    }

    unsafe fn lock(ptr: *mut Self::State) -> Self::GuardState {
        // SAFETY: The caller passes an initialised lock.
        unsafe { bindings::spin_lock_irqsave(ptr) }
    }

    unsafe fn unlock(ptr: *mut Self::State, guard_state: &Self::GuardState) {
        // SAFETY: The caller holds the lock, taken by `lock` with these flags.
        unsafe { bindings::spin_unlock_irqrestore(ptr, *guard_state) }
    }
}
