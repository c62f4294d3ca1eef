// SPDX-License-Identifier: GPL-2.0

//! Rust dma-buf importer sample: QEMU's `edu` PCI device.
//!
//! The edu device (1234:11e8) has a DMA engine that copies between RAM and a
//! 4 KiB buffer on the device, and raises an interrupt when a transfer is
//! done. This driver copies a range of one dma-buf into another through it
//! (`EDU_DMA_BUF_IOC_COPY` on `/dev/rust-dma-buf-edu`):
//!
//! 1. both buffers are attached dynamically, once per open file, and mapped
//!    for the device under their reservation locks (taken together, with
//!    the wound/wait back-off done by the API); a move of either buffer
//!    drops its mapping and the next copy maps again;
//! 2. a fence on the driver's timeline goes into the destination's
//!    reservation object as a write and into the source's as a read, and
//!    back to userspace as a sync_file;
//! 3. a worker waits for the source's writers and for all of the
//!    destination's fences (the implicit-sync rules), then programs the DMA
//!    engine window by window, woken by the completion interrupt; the
//!    interrupt of the last transfer signals the fence (the worker signals
//!    it with an error if the device fails).
//!
//! `EDU_DMA_BUF_IOC_CHECKSUM` reads a range with the CPU inside a CPU access
//! bracket, page by page or through one vmap. The uapi is
//! `include/uapi/linux/dma-buf-sample.h`. All of it is safe Rust.

use core::sync::atomic::{AtomicU32, Ordering};
use kernel::{
    c_str,
    device::Device,
    dma::{self, DataDirection},
    dma_buf::{
        buf::{DmaBuf, DynamicAttachment, Importer},
        fence::{Fence, FenceOps, PendingFence, Timeline},
        resv::{lock_all, Usage},
        sync_file::{FdReservation, SyncFile},
    },
    ioctl::_IOWR,
    irq::{self, SpinLockIrq},
    miscdevice::{ioctl_reader_writer, MiscDevice, Registration},
    new_condvar, new_mutex,
    page::PAGE_SIZE,
    pci,
    prelude::*,
    str::CStr,
    sync::{Arc, CondVar, Mutex},
    time::{ktime_ms_delta, msecs_to_jiffies, Ktime},
    types::ARef,
    workqueue::{self, Work, WorkItem},
};

module! {
    type: EduModule,
    name: "rust_dma_buf_edu",
    author: "dmabuf-rs",
    description: "Rust dma-buf importer sample for QEMU's edu device",
    license: "GPL",
}

kernel::import_dma_buf_ns!();

kernel::uapi_struct! {
    /// Mirrors `struct edu_dma_buf_copy`.
    struct CopyArgs {
        src_fd: i32,
        dst_fd: i32,
        src_offset: u64,
        dst_offset: u64,
        len: u64,
        flags: u32,
        fence_fd: i32,
        mapped: u32,
        pad: u32,
    }
}

kernel::uapi_struct! {
    /// Mirrors `struct edu_dma_buf_checksum`.
    struct ChecksumArgs {
        fd: i32,
        method: u32,
        offset: u64,
        len: u64,
        checksum: u32,
        pad: u32,
    }
}

const MAGIC: u32 = 0xd8;
const IOC_COPY: u32 = _IOWR::<CopyArgs>(MAGIC, 0x10);
const IOC_CHECKSUM: u32 = _IOWR::<ChecksumArgs>(MAGIC, 0x11);
const CHECKSUM_PAGES: u32 = 0;
const CHECKSUM_VMAP: u32 = 1;

// The edu device's registers (QEMU docs/specs/edu.rst).
const REG_ID: usize = 0x00;
const REG_IRQ_STATUS: usize = 0x24;
const REG_IRQ_ACK: usize = 0x64;
const REG_DMA_SRC: usize = 0x80;
const REG_DMA_DST: usize = 0x88;
const REG_DMA_COUNT: usize = 0x90;
const REG_DMA_CMD: usize = 0x98;
const BAR_SIZE: usize = 0x100;
const DMA_START: u64 = 1;
const DMA_TO_RAM: u64 = 2;
const DMA_IRQ: u64 = 4;
/// The device's own buffer: its DMA address, and how much of its 4 KiB one
/// transfer may use. QEMU 7.2's range check rejects a transfer that ends at
/// the buffer's last byte (it wants the end strictly inside), and answers
/// with `hw_error`, which aborts QEMU: one byte less keeps every transfer in.
const DEV_BUF: u64 = 0x40000;
const DEV_BUF_SIZE: usize = 4095;

/// The fences of this driver: one per copy.
struct CopyFence;

#[vtable]
impl FenceOps for CopyFence {
    const DRIVER_NAME: &'static CStr = c_str!("rust_dma_buf_edu");
    fn timeline_name(&self) -> &CStr {
        c_str!("edu-dma")
    }
}

/// One DMA transfer: source, destination, length, and whether it goes to RAM.
type Transfer = (u64, u64, usize, bool);

/// The DMA engine, held.
type EngineGuard<'a> =
    kernel::sync::lock::Guard<'a, Timeline, kernel::sync::lock::mutex::MutexBackend>;

/// The bound device, shared by the misc device, the interrupt handler and
/// the copy workers.
#[pin_data]
struct Edu {
    bar: pci::Bar<BAR_SIZE>,
    dev: ARef<Device>,
    /// Completion interrupts seen; the handler bumps it and wakes `done`.
    irqs: AtomicU32,
    #[pin]
    done: CondVar,
    /// The DMA engine: one transfer at a time. Holds the timeline too.
    #[pin]
    engine: Mutex<Timeline>,
    /// The fence of a copy whose last transfer is running: the completion
    /// interrupt takes it and signals it.
    #[pin]
    signal_on_irq: SpinLockIrq<Option<PendingFence<CopyFence>>>,
}

impl irq::Handler for Edu {
    fn handle(&self) -> irq::IrqReturn {
        let status = self.bar.read32::<REG_IRQ_STATUS>();
        if status == 0 {
            return irq::IrqReturn::None;
        }
        self.bar.write32::<REG_IRQ_ACK>(status);
        // The copy's last transfer is done: its fence signals now, from the
        // interrupt, not when the worker gets to run. The engine must be idle
        // too: this may be the late interrupt of an earlier transfer (the
        // device clears its busy bit and raises the interrupt together, but
        // the interrupt reaches a vCPU later, and the worker goes on as soon
        // as it sees the busy bit clear). The worker hands the fence over
        // only after starting the last transfer, and the busy bit is read
        // under the lock, so a fence seen here with the engine idle is the
        // fence of a finished copy.
        let done = {
            let mut slot = self.signal_on_irq.lock();
            if self.bar.read64::<REG_DMA_CMD>() & DMA_START == 0 {
                slot.take()
            } else {
                None
            }
        };
        if let Some(fence) = done {
            fence.signal();
        }
        self.irqs.fetch_add(1, Ordering::AcqRel);
        self.done.notify_all();
        irq::IrqReturn::Handled
    }
}

impl Edu {
    /// Starts one transfer; the engine is the caller's
    /// (it holds `engine`).
    fn start(&self, _engine: &EngineGuard<'_>, (src, dst, count, to_ram): Transfer) {
        self.bar.write64::<REG_DMA_SRC>(src);
        self.bar.write64::<REG_DMA_DST>(dst);
        self.bar.write64::<REG_DMA_COUNT>(count as u64);
        let dir = if to_ram { DMA_TO_RAM } else { 0 };
        self.bar.write64::<REG_DMA_CMD>(DMA_START | DMA_IRQ | dir);
    }

    /// Waits for the running transfer's interrupt (with the busy bit as the
    /// source of truth, so a wake-up that races with the wait costs a tick,
    /// not a hang).
    fn wait_idle(&self, engine: &mut EngineGuard<'_>) -> Result {
        // The device completes a transfer after 100 ms of virtual time; give
        // up (EIO) if it has not after ten seconds of real time.
        let start = Ktime::ktime_get();
        while self.bar.read64::<REG_DMA_CMD>() & DMA_START != 0 {
            if ktime_ms_delta(Ktime::ktime_get(), start) > 10_000 {
                return Err(EIO);
            }
            let _ = self
                .done
                .wait_interruptible_timeout(engine, msecs_to_jiffies(20));
        }
        Ok(())
    }
}

/// What the importer does when a buffer moves: nothing beyond what the API
/// does (drop the mapping; the next copy maps again).
struct EduImporter;

impl Importer for EduImporter {}

/// A buffer this open file has attached to the device.
struct Import {
    att: DynamicAttachment<EduImporter>,
}

/// One pending copy: what the worker needs.
#[pin_data]
struct CopyJob {
    edu: Arc<Edu>,
    /// Keep both attachments (and so their mappings) until the copy is done.
    _src: Arc<Import>,
    _dst: Arc<Import>,
    src_segs: KVec<(u64, u32)>,
    dst_segs: KVec<(u64, u32)>,
    src_offset: u64,
    dst_offset: u64,
    len: u64,
    /// Fences to wait for before the device touches the buffers.
    deps: KVec<ARef<Fence>>,
    #[pin]
    fence: Mutex<Option<PendingFence<CopyFence>>>,
    #[pin]
    work: Work<CopyJob>,
}

kernel::impl_has_work! {
    impl HasWork<Self> for CopyJob { self.work }
}

/// Yields the (DMA address, length) pieces that cover `[offset, offset+len)`
/// of a buffer mapped as `segs`.
fn pieces(
    segs: &[(u64, u32)],
    mut offset: u64,
    mut len: u64,
    mut f: impl FnMut(u64, u64) -> Result,
) -> Result {
    for &(addr, seg_len) in segs {
        let seg_len = seg_len as u64;
        if len == 0 {
            break;
        }
        if offset >= seg_len {
            offset -= seg_len;
            continue;
        }
        let n = (seg_len - offset).min(len);
        f(addr + offset, n)?;
        len -= n;
        offset = 0;
    }
    if len != 0 {
        return Err(EINVAL);
    }
    Ok(())
}

impl CopyJob {
    /// The transfers of the copy, window by window through the device's
    /// buffer.
    fn plan(&self) -> Result<KVec<Transfer>> {
        let mut plan = KVec::new();
        let mut done = 0u64;
        while done < self.len {
            let n = (self.len - done).min(DEV_BUF_SIZE as u64);
            let mut at = 0u64;
            pieces(&self.src_segs, self.src_offset + done, n, |addr, len| {
                plan.push((addr, DEV_BUF + at, len as usize, false), GFP_KERNEL)?;
                at += len;
                Ok(())
            })?;
            let mut at = 0u64;
            pieces(&self.dst_segs, self.dst_offset + done, n, |addr, len| {
                plan.push((DEV_BUF + at, addr, len as usize, true), GFP_KERNEL)?;
                at += len;
                Ok(())
            })?;
            done += n;
        }
        Ok(plan)
    }

    /// Runs the copy; `fence` signals when the last transfer's completion
    /// interrupt arrives (or with the error that stopped the copy).
    fn run_copy(&self, fence: PendingFence<CopyFence>) {
        let plan = match self.plan() {
            Ok(plan) => plan,
            Err(e) => return fence.signal_error(e),
        };
        for dep in self.deps.iter() {
            if let Err(e) = dep.wait(false) {
                return fence.signal_error(e);
            }
        }
        let mut engine = self.edu.engine.lock();
        let Some((&last, rest)) = plan.split_last() else {
            return fence.signal_error(EINVAL);
        };
        for &t in rest {
            self.edu.start(&engine, t);
            if let Err(e) = self.edu.wait_idle(&mut engine) {
                pr_warn!("copy failed: {:?}\n", e);
                return fence.signal_error(e);
            }
        }
        // Handed to the interrupt handler once the last transfer runs (see
        // `Edu::handle` for why not before).
        self.edu.start(&engine, last);
        *self.edu.signal_on_irq.lock() = Some(fence);
        let res = self.edu.wait_idle(&mut engine);
        // Still there if the interrupt did not come: the worker signals.
        let left = self.edu.signal_on_irq.lock().take();
        if let Some(fence) = left {
            match res {
                Ok(()) => fence.signal(),
                Err(e) => {
                    pr_warn!("copy failed: {:?}\n", e);
                    fence.signal_error(e);
                }
            }
        }
    }
}

impl WorkItem for CopyJob {
    type Pointer = Arc<CopyJob>;

    fn run(this: Arc<CopyJob>) {
        let fence = this.fence.lock().take();
        if let Some(fence) = fence {
            this.run_copy(fence);
        }
    }
}

/// An open file of the misc device.
#[pin_data]
struct EduFile {
    edu: Arc<Edu>,
    #[pin]
    imports: Mutex<KVec<Arc<Import>>>,
}

impl EduFile {
    /// Returns this file's attachment of `buf`, attaching on first use.
    fn import(&self, buf: &DmaBuf) -> Result<Arc<Import>> {
        let mut imports = self.imports.lock();
        if let Some(i) = imports
            .iter()
            .find(|i| i.att.buf().as_raw() == buf.as_raw())
        {
            return Ok(i.clone());
        }
        let att = buf.attach_dynamic(&self.edu.dev, EduImporter)?;
        let import = Arc::new(Import { att }, GFP_KERNEL)?;
        imports.push(import.clone(), GFP_KERNEL)?;
        Ok(import)
    }

    fn copy(&self, args: &mut CopyArgs) -> Result<(SyncFile, FdReservation)> {
        if args.flags != 0 || args.pad != 0 || args.len == 0 {
            return Err(EINVAL);
        }
        let src = DmaBuf::from_fd(args.src_fd)?;
        let dst = DmaBuf::from_fd(args.dst_fd)?;
        let in_range = |buf: &DmaBuf, off: u64| {
            off.checked_add(args.len)
                .is_some_and(|end| end <= buf.size() as u64)
        };
        if !in_range(&src, args.src_offset) || !in_range(&dst, args.dst_offset) {
            return Err(EINVAL);
        }
        let same = src.as_raw() == dst.as_raw();
        if same
            && args.src_offset < args.dst_offset + args.len
            && args.dst_offset < args.src_offset + args.len
        {
            return Err(EINVAL);
        }
        let src_imp = self.import(&src)?;
        let dst_imp = self.import(&dst)?;
        let fd = FdReservation::new(true)?;
        let unarmed = kernel::dma_buf::fence::UnarmedFence::new(CopyFence, GFP_KERNEL)?;

        let mut locked = lock_all(&[src.resv(), dst.resv()], true)?;
        let mut mapped = 0;
        let mut deps = KVec::new();
        let src_segs;
        let dst_segs;
        {
            let g = locked.get(0).ok_or(EINVAL)?;
            let (table, fresh) = src_imp.att.map(g, DataDirection::Bidirectional)?;
            mapped += fresh as u32;
            src_segs = collect(table.dma_segments())?;
        }
        {
            // The same buffer twice has one guard, the first.
            let idx = if locked.get(1).is_some() { 1 } else { 0 };
            let g = locked.get(idx).ok_or(EINVAL)?;
            let (table, fresh) = dst_imp.att.map(g, DataDirection::Bidirectional)?;
            if !same {
                mapped += fresh as u32;
            }
            dst_segs = collect(table.dma_segments())?;
        }
        // Reading the source waits for its writers; writing the destination
        // for everyone.
        for f in src.resv().fences_unlocked(Usage::Write)? {
            deps.push(f, GFP_KERNEL)?;
        }
        for f in dst.resv().fences_unlocked(Usage::Read)? {
            deps.push(f, GFP_KERNEL)?;
        }
        // Room for our fence in both objects, before the point of no return.
        let fence = {
            let mut timeline = self.edu.engine.lock();
            timeline.arm(unarmed)
        };
        {
            let g = locked.get(0).ok_or(EINVAL)?;
            let [slot] = g.reserve()?;
            slot.add(
                fence.as_fence(),
                if same { Usage::Write } else { Usage::Read },
            );
        }
        if let Some(g) = locked.get(1) {
            let [slot] = g.reserve()?;
            slot.add(fence.as_fence(), Usage::Write);
        }
        drop(locked);

        let sync = SyncFile::new(fence.as_fence())?;
        let (src_offset, dst_offset, len) = (args.src_offset, args.dst_offset, args.len);
        let job = Arc::pin_init(
            pin_init!(CopyJob {
                edu: self.edu.clone(),
                _src: src_imp,
                _dst: dst_imp,
                src_segs,
                dst_segs,
                src_offset,
                dst_offset,
                len,
                deps,
                fence <- new_mutex!(Some(fence)),
                work <- kernel::new_work!("CopyJob::work"),
            }),
            GFP_KERNEL,
        )?;
        let _ = workqueue::system_unbound().enqueue(job);
        args.mapped = mapped;
        args.fence_fd = fd.fd();
        Ok((sync, fd))
    }
}

fn collect(segs: impl Iterator<Item = (u64, u32)>) -> Result<KVec<(u64, u32)>> {
    let mut v = KVec::new();
    for s in segs {
        v.push(s, GFP_KERNEL)?;
    }
    Ok(v)
}

/// 32-bit FNV-1a, continued from `hash`.
fn fnv1a(mut hash: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        hash ^= b as u32;
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

fn checksum(args: &mut ChecksumArgs) -> Result {
    if args.pad != 0 || args.len == 0 {
        return Err(EINVAL);
    }
    if args.method != CHECKSUM_PAGES && args.method != CHECKSUM_VMAP {
        return Err(EINVAL);
    }
    let buf = DmaBuf::from_fd(args.fd)?;
    let end = args.offset.checked_add(args.len).ok_or(EINVAL)?;
    if end > buf.size() as u64 {
        return Err(EINVAL);
    }
    let mut cpu = buf.begin_cpu_access(DataDirection::FromDevice)?;
    let mut chunk = KVec::from_elem(0u8, PAGE_SIZE, GFP_KERNEL)?;
    let mut hash = 0x811c_9dc5u32;
    let (start, end) = (args.offset as usize, end as usize);
    if args.method == CHECKSUM_PAGES {
        // One page at a time, by page number.
        for page in start / PAGE_SIZE..end.div_ceil(PAGE_SIZE) {
            cpu.read_page(page, &mut chunk)?;
            let base = page * PAGE_SIZE;
            let from = start.max(base) - base;
            let to = end.min(base + PAGE_SIZE) - base;
            hash = fnv1a(hash, &chunk[from..to]);
        }
    } else {
        let mut at = start;
        while at < end {
            let n = (end - at).min(PAGE_SIZE);
            cpu.read(at, &mut chunk[..n])?;
            hash = fnv1a(hash, &chunk[..n]);
            at += n;
        }
    }
    args.checksum = hash;
    Ok(())
}

#[vtable]
impl MiscDevice for EduFile {
    const OWNER: &'static ThisModule = &THIS_MODULE;
    type Shared = Arc<Edu>;
    type Ptr = Pin<KBox<Self>>;

    fn open(edu: &Arc<Edu>) -> Result<Pin<KBox<Self>>> {
        KBox::pin_init(
            pin_init!(EduFile {
                edu: edu.clone(),
                imports <- new_mutex!(KVec::new()),
            }),
            GFP_KERNEL,
        )
    }

    fn ioctl(this: Pin<&Self>, cmd: u32, arg: usize) -> Result<isize> {
        match cmd {
            IOC_COPY => {
                let (mut reader, mut writer) = ioctl_reader_writer::<CopyArgs>(arg);
                let mut args: CopyArgs = reader.read()?;
                let (sync, fd) = this.copy(&mut args)?;
                writer.write(&args)?;
                sync.install(fd);
                Ok(0)
            }
            IOC_CHECKSUM => {
                let (mut reader, mut writer) = ioctl_reader_writer::<ChecksumArgs>(arg);
                let mut args: ChecksumArgs = reader.read()?;
                checksum(&mut args)?;
                writer.write(&args)?;
                Ok(0)
            }
            _ => Err(ENOTTY),
        }
    }
}

/// What a bound device keeps; dropped at remove, interrupt first.
struct EduData {
    _misc: Pin<KBox<Registration<EduFile>>>,
    _irq: irq::Registration<Edu>,
}

struct EduDriver;

const EDU_IDS: pci::IdArray<1> = pci::IdArray::new([pci::DeviceId::new(0x1234, 0x11e8)]);

impl pci::Driver for EduDriver {
    type Data = Pin<KBox<EduData>>;
    const ID_TABLE: pci::IdTable = pci::IdTable::new(&EDU_IDS);

    fn probe(pdev: &pci::Device, _id: &pci::DeviceId) -> Result<Self::Data> {
        pdev.enable_device_mem()?;
        pdev.set_master();
        // QEMU must be started with `-device edu,dma_mask=...` lifting the
        // device's 28-bit default, or it clamps addresses.
        dma::set_mask_and_coherent(pdev.as_dev(), dma::bit_mask(64))?;
        let bar = pdev.iomap_region_sized::<BAR_SIZE>(0, c_str!("rust_dma_buf_edu"))?;
        let id = bar.read32::<REG_ID>();
        pdev.alloc_irq_vectors(1, 1, pci::IrqTypes::ALL)?;
        let irq_no = pdev.irq_vector(0)?;
        let edu = Arc::pin_init(
            pin_init!(Edu {
                bar,
                dev: pdev.as_dev().into(),
                irqs: AtomicU32::new(0),
                done <- new_condvar!("Edu::done"),
                engine <- new_mutex!(Timeline::new(), "Edu::engine"),
                signal_on_irq <- SpinLockIrq::new(
                    None,
                    c_str!("Edu::signal_on_irq"),
                    kernel::static_lock_class!()
                ),
            }),
            GFP_KERNEL,
        )?;
        let irq = irq::Registration::new(
            irq_no,
            irq::Flags::SHARED,
            c_str!("rust_dma_buf_edu"),
            edu.clone(),
        )?;
        let misc = KBox::pin_init(
            Registration::<EduFile>::new(c_str!("rust-dma-buf-edu"), edu),
            GFP_KERNEL,
        )?;
        pr_info!("edu {:#x}: /dev/rust-dma-buf-edu ready\n", id);
        Ok(KBox::pin(
            EduData {
                _misc: misc,
                _irq: irq,
            },
            GFP_KERNEL,
        )?)
    }
}

struct EduModule {
    _drv: Pin<KBox<pci::Registration<EduDriver>>>,
}

impl kernel::Module for EduModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let drv = KBox::pin_init(
            pci::Registration::new(c_str!("rust_dma_buf_edu"), module),
            GFP_KERNEL,
        )?;
        Ok(Self { _drv: drv })
    }
}
