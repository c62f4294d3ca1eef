// SPDX-License-Identifier: GPL-2.0

//! Memory management: user mappings (VMAs, page faults) and kernel mappings of pages (vmap).
//!
//! - [`Vma`] is a user-space mapping being set up by an `mmap` file operation; a driver can serve
//!   it page by page from its own pages with [`Vma::set_fault_handler`] and a [`VmFaultHandler`].
//! - [`VMap`] maps pages contiguously into the kernel's address space.
//!
//! C headers: [`include/linux/mm.h`](srctree/include/linux/mm.h),
//! [`include/linux/mm_types.h`](srctree/include/linux/mm_types.h),
//! [`include/linux/vmalloc.h`](srctree/include/linux/vmalloc.h).

use crate::{
    alloc::Flags,
    bindings,
    error::{code::*, Error, Result},
    page::{Page, PAGE_SHIFT, PAGE_SIZE},
    prelude::*,
    sync::{Arc, ArcBorrow},
    types::Opaque,
};
use core::{marker::PhantomData, mem::MaybeUninit, ptr::NonNull};

/// The flags of a user mapping (`vm_flags_t`, the `VM_*` constants in [`flags`]).
pub type VmFlags = bindings::vm_flags_t;

/// Flags of a user mapping (`VM_*`), for [`Vma::flags`], [`Vma::set_flags`] and
/// [`Vma::clear_flags`].
pub mod flags {
    use super::VmFlags;
    use crate::bindings;

    /// The mapping can be read.
    pub const READ: VmFlags = bindings::VM_READ as VmFlags;
    /// The mapping can be written.
    pub const WRITE: VmFlags = bindings::VM_WRITE as VmFlags;
    /// Writes go to the shared object (`MAP_SHARED`), not to private copies.
    pub const SHARED: VmFlags = bindings::VM_SHARED as VmFlags;
    /// `mprotect` may make the mapping writable; clear it to keep a mapping read-only.
    pub const MAYWRITE: VmFlags = bindings::VM_MAYWRITE as VmFlags;
    /// The mapping is of device memory (I/O): no core dumps, no `get_user_pages`.
    pub const IO: VmFlags = bindings::VM_IO as VmFlags;
    /// `mremap` cannot grow the mapping.
    pub const DONTEXPAND: VmFlags = bindings::VM_DONTEXPAND as VmFlags;
    /// The mapping is left out of core dumps.
    pub const DONTDUMP: VmFlags = bindings::VM_DONTDUMP as VmFlags;
    /// The mapping may contain both `struct page`-backed and raw PFN entries.
    pub const MIXEDMAP: VmFlags = bindings::VM_MIXEDMAP as VmFlags;
}

/// A user-space mapping (`struct vm_area_struct`) being set up by an `mmap` operation.
///
/// It is only seen as `&Vma`, obtained with [`Vma::from_raw`] in an `mmap` callback, while the
/// mmap lock of its address space is held for writing; this is what allows changing its flags
/// and operations through a shared reference.
///
/// # Invariants
///
/// The wrapped `vm_area_struct` is valid, and the mmap lock of its `mm` is held for writing,
/// for as long as a `&Vma` exists.
#[repr(transparent)]
pub struct Vma(Opaque<bindings::vm_area_struct>);

impl Vma {
    /// Creates a reference to a mapping from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must be a valid `vm_area_struct`, and the caller must hold the mmap lock of its
    /// `vm_mm` for writing, for the whole lifetime `'a` (as the `mmap` file operation and the
    /// dma-buf `mmap` operation do for the duration of the call).
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::vm_area_struct) -> &'a Vma {
        // SAFETY: `Vma` is a transparent wrapper of `vm_area_struct`; validity and locking for
        // `'a` are the caller's promise.
        // INVARIANT: Ditto.
        unsafe { &*ptr.cast::<Vma>() }
    }

    /// Returns the raw pointer to the `struct vm_area_struct`.
    pub fn as_raw(&self) -> *mut bindings::vm_area_struct {
        self.0.get()
    }

    /// Returns the first user address of the mapping (`vm_start`).
    pub fn start(&self) -> usize {
        // SAFETY: By the type invariant the VMA is valid and its fields are stable under the
        // mmap write lock that we hold.
        unsafe { (*self.as_raw()).__bindgen_anon_1.__bindgen_anon_1.vm_start }
    }

    /// Returns the user address just past the end of the mapping (`vm_end`).
    pub fn end(&self) -> usize {
        // SAFETY: As in `start`.
        unsafe { (*self.as_raw()).__bindgen_anon_1.__bindgen_anon_1.vm_end }
    }

    /// Returns the length of the mapping in bytes, a multiple of the page size.
    pub fn len(&self) -> usize {
        self.end() - self.start()
    }

    /// Returns `false`: a mapping is at least one page long.
    pub fn is_empty(&self) -> bool {
        self.start() == self.end()
    }

    /// Returns the length of the mapping in pages.
    pub fn pages(&self) -> usize {
        self.len() >> PAGE_SHIFT
    }

    /// Returns the offset, in pages, of the mapping in the mapped object (`vm_pgoff`).
    pub fn pgoff(&self) -> usize {
        // SAFETY: As in `start`.
        unsafe { (*self.as_raw()).vm_pgoff }
    }

    /// Returns the flags of the mapping (`vm_flags`; constants in [`flags`]).
    pub fn flags(&self) -> VmFlags {
        // SAFETY: As in `start`; both members of the union are the same `vm_flags_t`.
        unsafe { (*self.as_raw()).__bindgen_anon_2.vm_flags }
    }

    /// Sets `flags` in the mapping's flags (`vm_flags_set`).
    pub fn set_flags(&self, flags: VmFlags) {
        // SAFETY: The VMA is valid and the mmap write lock that `vm_flags_set` requires is held
        // (type invariant).
        unsafe { bindings::vm_flags_set(self.as_raw(), flags) };
    }

    /// Clears `flags` from the mapping's flags (`vm_flags_clear`).
    pub fn clear_flags(&self, flags: VmFlags) {
        // SAFETY: As in `set_flags`.
        unsafe { bindings::vm_flags_clear(self.as_raw(), flags) };
    }

    /// Serves the pages of this mapping on demand from `handler`.
    ///
    /// Installs `vm_ops` whose `fault` calls [`VmFaultHandler::fault`] and stores `handler` in
    /// `vm_private_data`. Every VMA made from this one (split, `mremap`, `fork`) gets its own
    /// reference to `handler`, dropped when that VMA is closed, so the handler (and the pages it
    /// hands out) lives as long as any part of the mapping does. Also sets
    /// [`flags::DONTEXPAND`] (the handler only knows the pages it has) and [`flags::DONTDUMP`].
    ///
    /// This replaces any `vm_ops` and `vm_private_data` set before. Call it as the last step of
    /// `mmap`: if `mmap` fails afterwards the VMA is freed without being closed and the
    /// reference to `handler` is leaked.
    pub fn set_fault_handler<H: VmFaultHandler>(&self, handler: Arc<H>) {
        self.set_flags(flags::DONTEXPAND | flags::DONTDUMP);
        let vma = self.as_raw();
        // SAFETY: The VMA is valid and we hold the mmap write lock (type invariant). The `open`,
        // `close` and `fault` callbacks of the table expect `vm_private_data` to be a reference
        // from `Arc::<H>::into_raw`, which is what is stored; the table is `'static`.
        unsafe {
            (*vma).vm_private_data = Arc::into_raw(handler).cast_mut().cast();
            (*vma).vm_ops = FaultVTable::<H>::build();
        }
    }
}

/// Serves the page faults of a user mapping, installed with [`Vma::set_fault_handler`].
///
/// # Examples
///
/// An exporter that owns its pages maps them into user space on demand:
///
/// ```
/// use kernel::mm::{Vma, VmFault, VmFaultHandler, VmFaultReason};
/// use kernel::page::Page;
/// use kernel::prelude::*;
/// use kernel::sync::Arc;
///
/// struct Buffer {
///     pages: KVec<Page>,
/// }
///
/// impl VmFaultHandler for Buffer {
///     fn fault(&self, vmf: VmFault<'_>) -> VmFaultReason {
///         match self.pages.get(vmf.pgoff()) {
///             Some(page) => vmf.set_page(page),
///             None => VmFaultReason::SIGBUS,
///         }
///     }
/// }
///
/// // The driver's `mmap` operation.
/// fn mmap(buffer: &Arc<Buffer>, vma: &Vma) -> Result {
///     if vma.pgoff() + vma.pages() > buffer.pages.len() {
///         return Err(EINVAL);
///     }
///     vma.set_fault_handler(buffer.clone());
///     Ok(())
/// }
/// ```
pub trait VmFaultHandler: Send + Sync + 'static {
    /// Handles a fault at page offset [`VmFault::pgoff`] of the mapping.
    ///
    /// Called without locks that would prevent sleeping (the mmap lock or the VMA lock is held
    /// for reading). Returns [`VmFault::set_page`]'s result after giving the page, or an error
    /// reason such as [`VmFaultReason::SIGBUS`].
    fn fault(&self, vmf: VmFault<'_>) -> VmFaultReason;
}

/// The result of a fault handler (`vm_fault_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VmFaultReason(bindings::vm_fault_t);

impl VmFaultReason {
    /// A page was given with [`VmFault::set_page`] (`0`).
    pub const PAGE: Self = Self(0);
    /// Out of memory (`VM_FAULT_OOM`).
    pub const OOM: Self = Self(bindings::vm_fault_reason_VM_FAULT_OOM as bindings::vm_fault_t);
    /// Bad access: the process gets `SIGBUS` (`VM_FAULT_SIGBUS`).
    pub const SIGBUS: Self =
        Self(bindings::vm_fault_reason_VM_FAULT_SIGBUS as bindings::vm_fault_t);
    /// The handler installed the page table entry itself (`VM_FAULT_NOPAGE`).
    pub const NOPAGE: Self =
        Self(bindings::vm_fault_reason_VM_FAULT_NOPAGE as bindings::vm_fault_t);

    /// Returns the C value.
    pub fn as_raw(self) -> bindings::vm_fault_t {
        self.0
    }
}

impl From<Error> for VmFaultReason {
    /// Converts an error like `vmf_error`: `ENOMEM` is [`VmFaultReason::OOM`], anything else
    /// [`VmFaultReason::SIGBUS`].
    fn from(e: Error) -> Self {
        if e == ENOMEM {
            Self::OOM
        } else {
            Self::SIGBUS
        }
    }
}

/// A page fault being handled (`struct vm_fault`), given to [`VmFaultHandler::fault`].
///
/// Consumed by [`VmFault::set_page`], so at most one page is given per fault.
///
/// # Invariants
///
/// `ptr` is a valid `vm_fault` being handled by a `fault` callback for the lifetime `'a`.
pub struct VmFault<'a> {
    ptr: NonNull<bindings::vm_fault>,
    _p: PhantomData<&'a mut bindings::vm_fault>,
}

impl VmFault<'_> {
    /// Returns the faulting page's offset in the mapped object, in pages (`vmf->pgoff`).
    ///
    /// That is [`Vma::pgoff`] plus the page index of the address in the mapping.
    pub fn pgoff(&self) -> usize {
        // SAFETY: `ptr` is valid (type invariant); the field is set before `fault` is called.
        unsafe { (*self.ptr.as_ptr()).__bindgen_anon_1.pgoff }
    }

    /// Returns the faulting user address, rounded down to a page (`vmf->address`).
    pub fn address(&self) -> usize {
        // SAFETY: As in `pgoff`.
        unsafe { (*self.ptr.as_ptr()).__bindgen_anon_1.address }
    }

    /// Returns whether the fault is a write access (`FAULT_FLAG_WRITE`).
    pub fn is_write(&self) -> bool {
        // SAFETY: As in `pgoff`.
        let flags = unsafe { (*self.ptr.as_ptr()).flags };
        flags & bindings::fault_flag_FAULT_FLAG_WRITE != 0
    }

    /// Gives `page` to the fault: it is mapped at the faulting address.
    ///
    /// Takes a reference on the page (`get_page`) that the mm drops when it unmaps it, so the
    /// page stays allocated while user space maps it, even if `page` is freed. Returns
    /// [`VmFaultReason::PAGE`], the value to return from the handler.
    pub fn set_page(self, page: &Page) -> VmFaultReason {
        // SAFETY: `page` is a valid page (invariant of `Page`), so its reference count can be
        // raised; `ptr` is valid (type invariant) and `vmf->page` is how a `fault` callback
        // returns a referenced page.
        unsafe {
            bindings::get_page(page.as_ptr());
            (*self.ptr.as_ptr()).page = page.as_ptr();
        }
        VmFaultReason::PAGE
    }
}

/// The `vm_operations_struct` of the mappings served by one [`VmFaultHandler`] type.
struct FaultVTable<H>(PhantomData<H>);

impl<H: VmFaultHandler> FaultVTable<H> {
    const VTABLE: bindings::vm_operations_struct = bindings::vm_operations_struct {
        open: Some(Self::open),
        close: Some(Self::close),
        fault: Some(Self::fault),
        // SAFETY: All zeros (`None`) is valid for the other callbacks.
        ..unsafe { MaybeUninit::zeroed().assume_init() }
    };

    const fn build() -> &'static bindings::vm_operations_struct {
        &Self::VTABLE
    }

    /// Called for a new VMA copied from one of ours (split, `mremap`, `fork`).
    ///
    /// # Safety
    ///
    /// `vma` is valid and its `vm_private_data` is a reference from `Arc::<H>::into_raw`, copied
    /// from the VMA it was made from, which still holds its own reference.
    unsafe extern "C" fn open(vma: *mut bindings::vm_area_struct) {
        // SAFETY: `vma` is valid (caller).
        let handler = unsafe { (*vma).vm_private_data }.cast::<H>();
        // SAFETY: `handler` is a live reference from `Arc::into_raw` (caller), kept alive by the
        // VMA this one was copied from while the borrow is used.
        let handler = unsafe { ArcBorrow::<H>::from_raw(handler) };
        // The new VMA owns the new reference, released in `close`.
        let _ = Arc::<H>::from(handler).into_raw();
    }

    /// Called when a VMA of ours goes away.
    ///
    /// # Safety
    ///
    /// `vma` is valid and owns the `Arc<H>` reference in its `vm_private_data`; it is not used
    /// after this.
    unsafe extern "C" fn close(vma: *mut bindings::vm_area_struct) {
        // SAFETY: The VMA owns this reference (caller) and gives it up here.
        drop(unsafe { Arc::<H>::from_raw((*vma).vm_private_data.cast::<H>()) });
    }

    /// # Safety
    ///
    /// `vmf` is a valid fault on a VMA of ours, which holds a reference to the handler in
    /// `vm_private_data` for the duration of the call.
    unsafe extern "C" fn fault(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
        // SAFETY: `vmf` and its VMA are valid during the fault (caller).
        let handler = unsafe { (*(*vmf).__bindgen_anon_1.vma).vm_private_data }.cast::<H>();
        // SAFETY: The VMA holds a reference to the handler while the fault runs (caller).
        let handler = unsafe { &*handler };
        // INVARIANT: `vmf` is valid and being handled for the duration of this call.
        let fault = VmFault {
            // SAFETY: `vmf` is not null (caller).
            ptr: unsafe { NonNull::new_unchecked(vmf) },
            _p: PhantomData,
        };
        handler.fault(fault).as_raw()
    }
}

/// References to pages (`get_page`), dropped with `put_page`.
///
/// Keeps pages allocated independently of their [`Page`] owners, for C objects (kernel
/// mappings, scatterlists) that point to them.
///
/// # Invariants
///
/// Each pointer is a valid page on which this object holds one reference.
pub(crate) struct PageRefs(KVec<*mut bindings::page>);

// SAFETY: Page references are not tied to a thread; `put_page` may be called from any thread.
unsafe impl Send for PageRefs {}

// SAFETY: `&PageRefs` only reads the pointer array.
unsafe impl Sync for PageRefs {}

impl PageRefs {
    /// Takes a reference on each of `pages`.
    pub(crate) fn new(pages: &[Page], flags: Flags) -> Result<Self> {
        let mut v = KVec::with_capacity(pages.len(), flags)?;
        for page in pages {
            // Cannot fail: the capacity is there.
            v.push(page.as_ptr(), flags)?;
            // SAFETY: `page` is a valid page (invariant of `Page`).
            // INVARIANT: The reference is taken for the pointer just pushed.
            unsafe { bindings::get_page(page.as_ptr()) };
        }
        Ok(Self(v))
    }

    /// Returns the number of pages.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// Returns the array of page pointers, as C `struct page **` arguments want it.
    ///
    /// C code must not write through it.
    pub(crate) fn as_ptr(&self) -> *mut *mut bindings::page {
        self.0.as_ptr().cast_mut()
    }
}

impl Drop for PageRefs {
    fn drop(&mut self) {
        for &page in self.0.iter() {
            // SAFETY: We own one reference on `page` (type invariant).
            unsafe { bindings::put_page(page) };
        }
    }
}

/// A virtually contiguous kernel mapping of pages (`vmap`).
///
/// The mapping holds a reference on each page, so the pages stay allocated while it exists even
/// if their [`Page`] owners are dropped. It is unmapped (`vunmap`) on drop, which may sleep.
///
/// Unlike `kmap_local_page`, the mapping is global: it can be used from any CPU and task, which
/// is why `VMap` is [`Send`] and [`Sync`]. Writes need `&mut VMap`, so safe Rust never races on
/// the bytes; other users of the same pages (user-space mappings, devices) are outside Rust's
/// view, as with any memory shared with them.
///
/// # Examples
///
/// ```
/// use kernel::mm::VMap;
/// use kernel::page::{Page, PAGE_SIZE};
///
/// let pages = [
///     Page::alloc_page(GFP_KERNEL | __GFP_ZERO)?,
///     Page::alloc_page(GFP_KERNEL | __GFP_ZERO)?,
/// ];
/// let mut map = VMap::new(&pages)?;
/// assert_eq!(map.len(), 2 * PAGE_SIZE);
///
/// // Pages that are apart in memory are next to each other in the mapping.
/// map.write(PAGE_SIZE - 2, b"edge")?;
/// let mut buf = [0u8; 4];
/// map.read(PAGE_SIZE - 2, &mut buf)?;
/// assert_eq!(&buf, b"edge");
/// let mut second = [0u8; 2];
/// // SAFETY: `second` is valid for 2 bytes of writes; nothing writes to the page meanwhile.
/// unsafe { pages[1].read_raw(second.as_mut_ptr(), 0, 2)? };
/// assert_eq!(&second, b"ge");
///
/// // Accesses are bounds-checked.
/// assert_eq!(map.read(2 * PAGE_SIZE - 1, &mut buf), Err(EINVAL));
/// assert_eq!(map.write(usize::MAX, b"x"), Err(EINVAL));
///
/// // The mapping keeps the pages alive.
/// drop(pages);
/// map.read(0, &mut buf)?;
/// assert_eq!(buf, [0; 4]);
/// # Ok::<(), Error>(())
/// ```
///
/// # Invariants
///
/// `addr` is the start of a `vmap` mapping of the pages in `pages`, in order, `pages.len()`
/// pages long, made by this object and unmapped only by its drop.
pub struct VMap {
    addr: NonNull<u8>,
    pages: PageRefs,
}

// SAFETY: A `vmap` mapping is valid in every task and on every CPU, and may be unmapped from any
// task (in process context, as all drops of a `VMap` are not in atomic context by its docs).
unsafe impl Send for VMap {}

// SAFETY: `&VMap` only allows reads of the mapped bytes; writes need `&mut VMap`.
unsafe impl Sync for VMap {}

impl VMap {
    /// Maps `pages`, in order, into one contiguous range of kernel addresses.
    ///
    /// May sleep. Fails with `EINVAL` for no pages and `ENOMEM` when out of memory or address
    /// space.
    pub fn new(pages: &[Page]) -> Result<Self> {
        if pages.is_empty() {
            return Err(EINVAL);
        }
        let count = u32::try_from(pages.len())?;
        let pages = PageRefs::new(pages, GFP_KERNEL)?;
        // SAFETY: `pages.as_ptr()` is an array of `count` valid pages that `vmap` only reads;
        // `VM_MAP` with `PAGE_KERNEL` is an ordinary read/write kernel mapping.
        let addr = unsafe {
            bindings::vmap(
                pages.as_ptr(),
                count,
                bindings::VM_MAP as _,
                bindings::pgprot_kernel(),
            )
        };
        let addr = NonNull::new(addr.cast::<u8>()).ok_or(ENOMEM)?;
        // INVARIANT: `addr` maps exactly `pages`, which hold references to the pages.
        Ok(Self { addr, pages })
    }

    /// Returns the start of the mapping, valid for [`VMap::len`] bytes while `self` lives.
    pub fn as_ptr(&self) -> *mut u8 {
        self.addr.as_ptr()
    }

    /// Returns the length of the mapping in bytes.
    pub fn len(&self) -> usize {
        self.pages.len() * PAGE_SIZE
    }

    /// Returns `false`: a mapping is at least one page long.
    pub fn is_empty(&self) -> bool {
        self.pages.len() == 0
    }

    /// Returns the range `offset..offset + len` of the mapping, if it is in bounds.
    fn range(&self, offset: usize, len: usize) -> Result<*mut u8> {
        let end = offset.checked_add(len).ok_or(EINVAL)?;
        if end > self.len() {
            return Err(EINVAL);
        }
        // SAFETY: `offset <= len()`, so the result is in, or one past the end of, the mapping
        // (type invariant).
        Ok(unsafe { self.as_ptr().add(offset) })
    }

    /// Copies the bytes at `offset` into `out`; fails with `EINVAL` if that is out of bounds.
    pub fn read(&self, offset: usize, out: &mut [u8]) -> Result {
        let src = self.range(offset, out.len())?;
        // SAFETY: `src` is valid for `out.len()` bytes of reads (checked by `range`, mapping
        // valid by the type invariant); `out` is a different object.
        unsafe { core::ptr::copy_nonoverlapping(src, out.as_mut_ptr(), out.len()) };
        Ok(())
    }

    /// Copies `data` to `offset`; fails with `EINVAL` if that is out of bounds.
    pub fn write(&mut self, offset: usize, data: &[u8]) -> Result {
        let dst = self.range(offset, data.len())?;
        // SAFETY: `dst` is valid for `data.len()` bytes of writes (checked by `range`, mapping
        // valid by the type invariant); `data` is a different object.
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), dst, data.len()) };
        Ok(())
    }
}

impl Drop for VMap {
    fn drop(&mut self) {
        // SAFETY: `addr` is a `vmap` mapping that has not been unmapped (type invariant). The
        // page references are dropped after this, with the `pages` field.
        unsafe { bindings::vunmap(self.addr.as_ptr().cast()) };
    }
}
