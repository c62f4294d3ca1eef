// SPDX-License-Identifier: GPL-2.0

//! Rust dma-buf exporter sample.
//!
//! A misc device, `/dev/rust-dma-buf-exporter`, that hands out dma-bufs
//! backed by ordinary pages (`DMA_BUF_SAMPLE_IOC_ALLOC`), implementing the
//! exporter operations with `kernel::dma_buf`: a per-attachment sg table
//! DMA-mapped for the importing device, mmap through a page-fault handler,
//! vmap, and pin for static importers. `DMA_BUF_SAMPLE_IOC_MOVE` moves a
//! buffer to new pages the way a driver evicts one: under the reservation
//! lock, after the buffer's fences, telling dynamic importers
//! (`move_notify`), which map again on next use, and zapping CPU mappings,
//! which fault the new pages in. The uapi is
//! `include/uapi/linux/dma-buf-sample.h`.
//!
//! All of it is safe Rust: the rules live in the API's types.

use kernel::{
    alloc::flags::__GFP_ZERO,
    bindings, c_str,
    dma::DataDirection,
    dma_buf::{
        buf::{Attachment, DmaBuf, Exporter},
        resv::Usage,
        sync_file::FdReservation,
    },
    ioctl::_IOWR,
    miscdevice::{ioctl_reader_writer, MiscDevice, Registration},
    mm::{flags as vm, VMap, VmFault, VmFaultHandler, VmFaultReason, Vma},
    page::{Page, PAGE_SIZE},
    prelude::*,
    scatterlist::{DmaSgTable, SgTable},
    str::CStr,
    sync::{Arc, Mutex},
    types::ARef,
};

module! {
    type: ExporterModule,
    name: "rust_dma_buf_exporter",
    author: "dmabuf-rs",
    description: "Rust dma-buf exporter sample (page-backed buffers, moves)",
    license: "GPL",
}

kernel::import_dma_buf_ns!();

kernel::uapi_struct! {
    /// Mirrors `struct dma_buf_sample_alloc`.
    struct AllocArgs {
        size: u64,
        flags: u32,
        fd: i32,
    }
}

kernel::uapi_struct! {
    /// Mirrors `struct dma_buf_sample_move`.
    struct MoveArgs {
        fd: i32,
        flags: u32,
        moves: u64,
    }
}

const MAGIC: u32 = 0xd8;
const IOC_ALLOC: u32 = _IOWR::<AllocArgs>(MAGIC, 0x00);
const IOC_MOVE: u32 = _IOWR::<MoveArgs>(MAGIC, 0x01);
/// `DMA_BUF_SAMPLE_MAX_SIZE`.
const MAX_SIZE: u64 = 64 << 20;

/// The pages behind a buffer, and what decides whether it may move.
struct Backing {
    pages: KVec<Page>,
    /// Static importers holding the buffer in place.
    pins: u32,
    /// Moves so far.
    moves: u64,
}

/// Shared between the buffer and its user mappings (which may outlive
/// neither, but are reference counted anyway).
#[pin_data]
struct Store {
    #[pin]
    backing: Mutex<Backing>,
}

impl VmFaultHandler for Store {
    fn fault(&self, vmf: VmFault<'_>) -> VmFaultReason {
        let backing = self.backing.lock();
        match backing.pages.get(vmf.pgoff()) {
            Some(page) => vmf.set_page(page),
            None => VmFaultReason::SIGBUS,
        }
    }
}

/// One exported buffer: the exporter data of a dma-buf.
struct Buffer {
    store: Arc<Store>,
}

#[vtable]
impl Exporter for Buffer {
    const NAME: &'static CStr = c_str!("rust_dma_buf_exporter");
    type AttachData = ();

    fn attach(&self, _attach: &Attachment<Self>) -> Result<()> {
        Ok(())
    }

    fn map(&self, attach: &Attachment<Self>, dir: DataDirection) -> Result<DmaSgTable> {
        let backing = self.store.backing.lock();
        let len = backing.pages.len() * PAGE_SIZE;
        SgTable::from_pages(&backing.pages, len, GFP_KERNEL)?.dma_map(attach.dev(), dir)
    }

    fn pin(&self, _attach: &Attachment<Self>) -> Result {
        self.store.backing.lock().pins += 1;
        Ok(())
    }

    fn unpin(&self, _attach: &Attachment<Self>) {
        let mut backing = self.store.backing.lock();
        backing.pins = backing.pins.saturating_sub(1);
    }

    fn mmap(&self, vma: &Vma) -> Result {
        // Pages are inserted by the fault handler, so a move can zap them and
        // let the next access find the new ones.
        vma.set_flags(vm::DONTEXPAND | vm::DONTDUMP);
        vma.set_fault_handler(self.store.clone());
        Ok(())
    }

    fn vmap(&self) -> Result<Arc<VMap>> {
        let backing = self.store.backing.lock();
        Ok(Arc::new(VMap::new(&backing.pages)?, GFP_KERNEL)?)
    }
}

fn alloc_pages(count: usize) -> Result<KVec<Page>> {
    let mut pages = KVec::with_capacity(count, GFP_KERNEL)?;
    for _ in 0..count {
        pages.push(Page::alloc_page(GFP_KERNEL | __GFP_ZERO)?, GFP_KERNEL)?;
    }
    Ok(pages)
}

/// Makes a buffer for `args` and reserves its fd; the caller copies the fd
/// number out, then installs it, so that a failed copy leaves no stray fd.
fn alloc(args: &AllocArgs) -> Result<(ARef<DmaBuf>, FdReservation)> {
    let accmode = bindings::O_ACCMODE;
    // O_ACCMODE itself (3) is no access mode.
    if args.flags & !(bindings::O_CLOEXEC | accmode) != 0 || args.flags & accmode == accmode {
        return Err(EINVAL);
    }
    if args.size == 0 || args.size > MAX_SIZE || args.size % PAGE_SIZE as u64 != 0 {
        return Err(EINVAL);
    }
    let size = args.size as usize;
    let pages = alloc_pages(size / PAGE_SIZE)?;
    let store = Arc::pin_init(
        pin_init!(Store {
            backing <- kernel::new_mutex!(Backing {
                pages,
                pins: 0,
                moves: 0,
            }),
        }),
        GFP_KERNEL,
    )?;
    let writable = args.flags & accmode == bindings::O_RDWR;
    let buf = DmaBuf::export(Buffer { store }, size, writable, &THIS_MODULE)?;
    let fd = FdReservation::new(args.flags & bindings::O_CLOEXEC != 0)?;
    Ok((buf, fd))
}

/// Copies the buffer to new pages and switches to them: the caller holds
/// the reservation lock and has waited for the buffer's fences.
fn move_pages(store: &Store) -> Result<(KVec<Page>, u64)> {
    let mut backing = store.backing.lock();
    let new = alloc_pages(backing.pages.len())?;
    let from = VMap::new(&backing.pages)?;
    let mut to = VMap::new(&new)?;
    let mut chunk = KVec::from_elem(0u8, PAGE_SIZE, GFP_KERNEL)?;
    for off in (0..from.len()).step_by(PAGE_SIZE) {
        from.read(off, &mut chunk)?;
        to.write(off, &chunk)?;
    }
    let old = core::mem::replace(&mut backing.pages, new);
    backing.moves += 1;
    Ok((old, backing.moves))
}

fn move_buffer(args: &mut MoveArgs) -> Result {
    if args.flags != 0 {
        return Err(EINVAL);
    }
    let buf = DmaBuf::from_fd(args.fd)?;
    let buffer = buf.exporter::<Buffer>().ok_or(EINVAL)?;
    let guard = buf.resv().lock_interruptible()?;
    if buffer.store.backing.lock().pins > 0 || buf.vmap_count(&guard)? > 0 {
        return Err(EBUSY);
    }
    // Evicting waits for every user of the old pages, even those that only
    // bookkeep, as TTM does; the lock keeps new fences out meanwhile.
    buf.resv().wait(Usage::Bookkeep, true)?;
    // Dynamic importers drop their mappings now and map the new pages on
    // next use.
    buf.move_notify(&guard)?;
    let (old, moves) = move_pages(&buffer.store)?;
    drop(guard);
    // User mappings fault the new pages in; the old ones go when the last
    // mapping of them does.
    buf.zap_cpu_mappings();
    drop(old);
    args.moves = moves;
    Ok(())
}

struct ExporterDev;

#[vtable]
impl MiscDevice for ExporterDev {
    const OWNER: &'static ThisModule = &THIS_MODULE;
    type Shared = ();
    type Ptr = KBox<Self>;

    fn open(_shared: &()) -> Result<KBox<Self>> {
        Ok(KBox::new(ExporterDev, GFP_KERNEL)?)
    }

    fn ioctl(_this: &Self, cmd: u32, arg: usize) -> Result<isize> {
        match cmd {
            IOC_ALLOC => {
                let (mut reader, mut writer) = ioctl_reader_writer::<AllocArgs>(arg);
                let mut args: AllocArgs = reader.read()?;
                let (buf, fd) = alloc(&args)?;
                args.fd = fd.fd();
                writer.write(&args)?;
                DmaBuf::install(buf, fd);
                Ok(0)
            }
            IOC_MOVE => {
                let (mut reader, mut writer) = ioctl_reader_writer::<MoveArgs>(arg);
                let mut args: MoveArgs = reader.read()?;
                move_buffer(&mut args)?;
                writer.write(&args)?;
                Ok(0)
            }
            _ => Err(ENOTTY),
        }
    }
}

struct ExporterModule {
    _dev: Pin<KBox<Registration<ExporterDev>>>,
}

impl kernel::Module for ExporterModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let dev = KBox::pin_init(
            Registration::<ExporterDev>::new(c_str!("rust-dma-buf-exporter"), ()),
            GFP_KERNEL,
        )?;
        pr_info!("/dev/rust-dma-buf-exporter ready\n");
        Ok(Self { _dev: dev })
    }
}
