// SPDX-License-Identifier: GPL-2.0-only

//! sync_file: the C ABI of `drivers/dma-buf/sync_file.c`.
//!
//! A sync_file hands one fence to userspace as a file descriptor: userspace
//! can poll it (readable once the fence has signalled), merge two of them into
//! a new one that signals when both have, ask for the fences inside and their
//! states, and pass a deadline hint on to the drivers. Drivers make one from a
//! fence with [`sync_file_create`] and take the fence back out of an fd with
//! [`sync_file_get_fence`].
//!
//! The struct is the kernel's own `struct sync_file`, because sw_sync and the
//! sync debugfs code, which stay C, reach into its fields. Its memory belongs
//! to its anon-inode file: it is allocated before the file and freed by the
//! file's release, which drops the fence reference it holds.
//!
//! C header: [`include/linux/sync_file.h`](srctree/include/linux/sync_file.h);
//! ioctls: [`include/uapi/linux/sync_file.h`](srctree/include/uapi/linux/sync_file.h).

use crate::fence::{dma_fence_add_callback, dma_fence_remove_callback, Fence, FenceCore};
use crate::sys::{self, CStrPtr};
use crate::vfs::{File, FileRef, PollTable, Table, COMPAT_IOCTL, EPOLLIN};
use core::fmt::Write;
use core::mem::size_of;
use core::ptr::{self, addr_of_mut, NonNull};
use core::sync::atomic::AtomicUsize;
use kernel::bindings::{self, dma_fence, dma_fence_cb, file, sync_file};
use kernel::ffi::{c_char, c_int};
use kernel::types::{ARef, Opaque};

#[path = "sync_file/ioctl.rs"]
mod ioctl;

/// `POLL_ENABLED`: bit of `sync_file->flags`, set once the first poll has
/// queued (or tried to queue) the wake-up callback on the fence.
const POLL_ENABLED: u32 = bindings::POLL_ENABLED;

/// The file operations of every sync_file; a file is a sync_file exactly when
/// its `f_op` is this table.
///
/// There is no `llseek`, so the VFS leaves `FMODE_LSEEK` off the file and
/// `lseek()` fails with `ESPIPE`; `owner` is NULL, which is what `THIS_MODULE`
/// is in built-in code.
// INVARIANT: Only NULL and function pointers, in an immutable static.
static SYNC_FILE_FOPS: Table<bindings::file_operations> = Table(bindings::file_operations {
    release: Some(sync_file_release),
    poll: Some(sync_file_poll),
    unlocked_ioctl: Some(ioctl::sync_file_ioctl),
    compat_ioctl: COMPAT_IOCTL,
    // The other members are optional callbacks, the owner and flags; all-zero
    // leaves them NULL and 0, as the C core's designated initialiser.
    ..crate::sys::zeroed()
});

/// A sync_file (`struct sync_file`), as the core sees it.
///
/// # Invariants
///
/// Allocated by [`NewSyncFile::alloc`] with its anon-inode file, whose private
/// data it is, and alive for the borrow. Once published (returned by
/// [`sync_file_create`], or reachable through a file descriptor), its
/// `fence` is a fence reference that it holds, and `fence` and `user_name`
/// never change again. Its `wq` and `cb.node` are initialised, and `flags`
/// is only used through bitops.
#[repr(transparent)]
pub(crate) struct SyncFile(Opaque<sync_file>);

impl SyncFile {
    /// Borrows a published sync_file.
    ///
    /// # Safety
    ///
    /// `sync_file` must be a published sync_file, live for `'a`.
    #[inline]
    pub(crate) unsafe fn from_raw<'a>(sync_file: *mut sync_file) -> &'a Self {
        // SAFETY: `repr(transparent)`; live for `'a` (caller's promise).
        unsafe { &*sync_file.cast() }
    }

    /// The sync_file of `file`, or `None` if it is not a sync_file's (its
    /// operations are not [`SYNC_FILE_FOPS`]).
    #[inline]
    fn of_file(file: &File) -> Option<&Self> {
        if !ptr::eq(file.f_op(), &SYNC_FILE_FOPS.0) {
            return None;
        }
        let sync_file = file.private_data();
        // SAFETY: A file with these operations is a sync_file's, whose
        // private data it is (so not NULL), set before the file is shared
        // and never changed; the borrowed file keeps the sync_file alive. It
        // is published: until then its file is only reachable through the
        // `NewSyncFile` that made it, which never lends it out. (Telling
        // the compiler that the pointer is not NULL spares the callers a
        // test of the `Option`.)
        Some(unsafe {
            core::hint::assert_unchecked(!sync_file.is_null());
            Self::from_raw(sync_file.cast())
        })
    }

    /// The C pointer.
    #[inline]
    pub(crate) fn raw(&self) -> *mut sync_file {
        self.0.get()
    }

    /// The fence, which the sync_file holds a reference to.
    #[inline]
    pub(crate) fn fence(&self) -> &Fence {
        // SAFETY: A published sync_file holds a reference to its fence,
        // which never changes (type invariant).
        unsafe { Fence::from_raw((*self.raw()).fence) }
    }

    /// The file, which the sync_file lives as long as.
    #[inline]
    pub(crate) fn file(&self) -> *mut file {
        // SAFETY: Set at creation, never changed.
        unsafe { (*self.raw()).file }
    }

    /// The name userspace gave a merged sync_file (empty otherwise).
    #[inline]
    pub(crate) fn user_name(&self) -> CStrPtr<'_> {
        // SAFETY: Zeroed at creation and written only with `strscpy` before
        // publication (type invariant), so terminated within the array and
        // unchanged while the sync_file lives.
        unsafe { CStrPtr::from_ptr((*self.raw()).user_name.as_ptr()) }
    }

    /// The flags word (`POLL_ENABLED`), used through bitops.
    #[inline]
    fn flags(&self) -> &AtomicUsize {
        // SAFETY: The word lives as long as the borrow, and is only used
        // through bitops (type invariant).
        // (`unsigned long`, the size and alignment of `usize`: see `sys`).
        unsafe { AtomicUsize::from_ptr(addr_of_mut!((*self.raw()).flags).cast()) }
    }

    /// The wait queue of the pollers.
    #[inline]
    fn wq(&self) -> &sys::WaitQueue {
        // SAFETY: The queue is initialised (type invariant) and lives as long
        // as the sync_file.
        unsafe { sys::WaitQueue::from_raw(addr_of_mut!((*self.raw()).wq)) }
    }

    /// `poll_wait` on the pollers' queue, for the sync_file's own file.
    #[inline]
    fn poll_wait(&self, table: Option<&PollTable>) {
        // SAFETY: The queue lives as long as the sync_file, whose file it is
        // registered for: the VFS removes the entry before the file's
        // release, which is what frees the sync_file.
        unsafe {
            bindings::dmabuf_rs_poll_wait(self.file(), self.wq().as_ptr(), PollTable::as_ptr(table))
        };
    }

    /// The poll callback (`cb`), queued on the fence by the first poll.
    #[inline]
    fn cb(&self) -> *mut dma_fence_cb {
        // SAFETY: Taking a field's address reads nothing.
        unsafe { addr_of_mut!((*self.raw()).cb) }
    }

    /// Whether the poll callback is queued on the fence (its node is on
    /// the fence's callback list): read locklessly, as by the C core's
    /// `list_empty`.
    #[inline]
    fn cb_queued(&self) -> bool {
        // SAFETY: The node was initialised at creation (type invariant).
        !unsafe { sys::list_empty(addr_of_mut!((*self.cb()).node)) }
    }
}

/// A reference to a sync_file's file, dropped with `fput(sync_file->file)`.
///
/// One pointer, to the sync_file, which knows its file: a `FileRef` beside
/// it would make every value two words, and cost registers (and
/// instructions) on the merge and export paths.
///
/// # Invariants
///
/// `self.0` is a published sync_file whose file this value holds a
/// reference to.
pub(crate) struct SyncFileRef(NonNull<SyncFile>);

impl SyncFileRef {
    /// The reference to the file, for a descriptor or C to take over.
    pub(crate) fn into_file(self) -> FileRef {
        let file = self.file();
        core::mem::forget(self);
        // SAFETY: The reference this value held (type invariant), handed
        // over; a sync_file's file is never NULL.
        unsafe { FileRef::from_raw(NonNull::new_unchecked(file)) }
    }
}

impl core::ops::Deref for SyncFileRef {
    type Target = SyncFile;

    #[inline]
    fn deref(&self) -> &SyncFile {
        // SAFETY: The file reference keeps the sync_file alive (type invariant).
        unsafe { self.0.as_ref() }
    }
}

impl Drop for SyncFileRef {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we hold a reference to the file.
        unsafe { bindings::fput(self.file()) };
    }
}

/// The lockdep class of every sync_file's wait queue.
static WQ_CLASS: sys::LockClass = sys::LockClass::new();

/// A sync_file being made: allocated, with its anon-inode file, not
/// published yet. Dropped unpublished, it drops its file, whose release
/// frees it; [`NewSyncFile::publish`] gives it its fence.
///
/// # Invariants
///
/// `self.0` was allocated by [`NewSyncFile::alloc`]: zeroed, with its file
/// (whose reference this value owns), wait queue and callback node set up,
/// no fence, and reachable by nobody else. The file is not lent out (so
/// [`SyncFile::of_file`] never sees it before it is published).
struct NewSyncFile(NonNull<sync_file>);

impl NewSyncFile {
    /// Allocates a zeroed sync_file with its anon-inode file; `None` without
    /// memory or file. Process context (every caller).
    fn alloc() -> Option<Self> {
        let sync_file =
            NonNull::new(sys::kzalloc_fixed::<sync_file, { size_of::<sync_file>() }>())?.as_ptr();

        // SAFETY: The name is a string and the operations a static table; the
        // sync_file becomes the file's private data, and the file's release
        // is what frees it. The result is an error or a new file whose
        // reference is ours, which the sync_file keeps.
        let file = unsafe {
            FileRef::from_new(bindings::anon_inode_getfile(
                c"sync_file".as_ptr().cast(),
                &SYNC_FILE_FOPS.0,
                sync_file.cast(),
                0,
            ))
        };
        let Ok(file) = file else {
            // SAFETY: The allocation is ours and no one else has seen it.
            unsafe { bindings::kfree(sync_file.cast()) };
            return None;
        };

        // SAFETY: The sync_file is valid and zeroed; the file is in no fd
        // table yet, so nothing else can reach it. The sync_file keeps our
        // reference to it.
        unsafe {
            (*sync_file).file = file.into_raw();
            sys::init_waitqueue_head(addr_of_mut!((*sync_file).wq), c"&sync_file->wq", &WQ_CLASS);
            sys::init_list_head(addr_of_mut!((*sync_file).cb.node));
        }
        // INVARIANT: Set up as documented; the file reference is ours.
        NonNull::new(sync_file).map(Self)
    }

    /// Names the sync_file (`strscpy` of `name`, which may lack a
    /// terminator: at most its 32 bytes are read).
    fn set_name(&mut self, name: &[c_char; 32]) {
        // SAFETY: Nobody else can reach the unpublished sync_file (type
        // invariant), so its name is ours to write.
        sys::strscpy_array(unsafe { &mut (*self.0.as_ptr()).user_name }, name);
    }

    /// Publishes the sync_file with `fence`, whose reference it takes over,
    /// and returns the file reference.
    fn publish(self, fence: ARef<Fence>) -> SyncFileRef {
        let sync_file = self.0;
        core::mem::forget(self);
        // SAFETY: Nobody else can reach the sync_file yet (type invariant).
        unsafe { (*sync_file.as_ptr()).fence = ARef::into_raw(fence).as_ptr().cast() };
        // INVARIANT: Holding its fence, the sync_file is published; our file
        // reference becomes the returned one.
        SyncFileRef(sync_file.cast())
    }
}

impl Drop for NewSyncFile {
    fn drop(&mut self) {
        // SAFETY: We own the file reference (type invariant); its release
        // frees the sync_file, which has no fence and never had a callback
        // queued.
        unsafe { bindings::fput((*self.0.as_ptr()).file) };
    }
}

/// The fence callback queued by [`sync_file_poll`]: wakes every poller.
///
/// # Safety
///
/// `cb` must be the `cb` of a live sync_file (the fence core calls this with
/// the callback it was given).
unsafe extern "C" fn fence_check_cb_func(_fence: *mut dma_fence, cb: *mut dma_fence_cb) {
    // SAFETY: This callback is only ever queued as the `cb` of a published
    // sync_file, whose release removes it (under the fence lock, which this
    // runs under) before freeing the sync_file.
    let sync_file =
        unsafe { SyncFile::from_raw(kernel::container_of!(cb, sync_file, cb).cast_mut()) };
    sync_file.wq().wake_up_all();
}

/// Creates a sync_file holding `fence`.
///
/// Takes a new reference to `fence` for the sync_file. Returns the sync_file,
/// whose file reference (`sync_file->file`) the caller then owns: it installs
/// it in an fd (`fd_install`) or drops it (`fput`), which frees the sync_file.
/// Returns NULL without memory. May sleep.
///
/// # Safety
///
/// `fence` must be a live, initialised fence.
#[no_mangle]
pub(crate) unsafe extern "C" fn sync_file_create(fence: *mut dma_fence) -> *mut sync_file {
    // SAFETY: The caller's contract: a live, initialised fence.
    create(unsafe { Fence::from_raw(fence) }).map_or(ptr::null_mut(), |sync_file| {
        // The caller owns the file reference now.
        let raw = sync_file.raw();
        let _ = sync_file.into_file().into_raw();
        raw
    })
}

/// [`sync_file_create`] for the core's callers: a new sync_file holding
/// `fence`, whose file reference the caller owns; `None` without memory.
pub(crate) fn create(fence: &Fence) -> Option<SyncFileRef> {
    Some(NewSyncFile::alloc()?.publish(ARef::from(fence)))
}

/// [`sync_file_get_fence`] for the core's callers.
pub(crate) fn get_fence(fd: c_int) -> Option<ARef<Fence>> {
    sync_file_fdget(fd).map(|sync_file| ARef::from(sync_file.fence()))
}

/// Returns the sync_file behind the file descriptor `fd` of the current task,
/// holding a reference to its file, or `None` if `fd` is not open or not a
/// sync_file.
fn sync_file_fdget(fd: c_int) -> Option<SyncFileRef> {
    let file = FileRef::fget(fd)?;
    let sync_file = NonNull::from(SyncFile::of_file(&file)?);
    // INVARIANT: `sync_file->file` is `file`, whose reference we hand over.
    let _ = file.into_raw();
    Some(SyncFileRef(sync_file))
}

/// Returns a new reference to the fence of the sync_file `fd`, or NULL if
/// `fd` is not an open sync_file.
///
/// The fence stands for every fence in the sync_file (it may be a container).
#[no_mangle]
pub(crate) extern "C" fn sync_file_get_fence(fd: c_int) -> *mut dma_fence {
    // The reference to the file is dropped after the one to the fence is
    // taken.
    sync_file_fdget(fd).map_or(ptr::null_mut(), |sync_file| {
        ARef::into_raw(ARef::from(sync_file.fence()))
            .as_ptr()
            .cast()
    })
}

/// Writes the name of a sync_file into `buf` (at most `len` bytes, with the
/// NUL) and returns `buf`.
///
/// A merged sync_file has the name userspace gave it. Any other is named after
/// its fence when asked: `<driver>-<timeline><context>-<seqno>`.
///
/// # Safety
///
/// `sync_file` must be published; `buf` must be valid for `len` bytes.
#[no_mangle]
pub(crate) unsafe extern "C" fn sync_file_get_name(
    sync_file: *mut sync_file,
    buf: *mut c_char,
    len: c_int,
) -> *mut c_char {
    // C's `strscpy` and `snprintf` take the length as a `size_t`: for a
    // negative one (a caller bug) they warn once and write nothing, and for
    // 0 they write nothing.
    let Ok(size @ 1..) = usize::try_from(len) else {
        if len < 0 && !NEGATIVE_LEN_WARNED.swap(true, core::sync::atomic::Ordering::Relaxed) {
            sys::warn();
        }
        return buf;
    };
    // SAFETY: The caller's promises: a published sync_file, and `buf`
    // valid (so not NULL) for `len` bytes, which nothing else uses meanwhile.
    let (sync_file, out) = unsafe {
        (
            SyncFile::from_raw(sync_file),
            core::slice::from_raw_parts_mut(buf, size),
        )
    };
    name(sync_file, out);
    buf
}

/// Whether [`sync_file_get_name`] has warned of a negative length, which C
/// does once (`WARN_ON_ONCE`).
static NEGATIVE_LEN_WARNED: core::sync::atomic::AtomicBool =
    core::sync::atomic::AtomicBool::new(false);

/// The body of [`sync_file_get_name`], also the name of `SYNC_IOC_FILE_INFO`.
pub(crate) fn name(sync_file: &SyncFile, buf: &mut [c_char]) {
    let user_name = sync_file.user_name();
    if !user_name.is_empty() {
        sys::strscpy(buf, user_name);
        return;
    }
    generated_name(sync_file.fence(), buf);
}

/// The name of a sync_file without a user name, after its fence: C's
/// `snprintf(buf, len, "%s-%s%llu-%lld", ...)`, the seqno printed as its
/// signed bits. Out of line, so that the formatting's registers cost the
/// user-name path nothing.
#[inline(never)]
fn generated_name(fence: &Fence, buf: &mut [c_char]) {
    let mut out = sys::BufWriter::new(buf);
    out.push(fence.driver_name().to_bytes());
    out.push(b"-");
    out.push(fence.timeline_name().to_bytes());
    let _ = write!(out, "{}-{}", fence.context(), fence.seqno() as i64);
    out.finish();
}

/// Creates a sync_file named `name` whose fence signals once the fences of
/// both `a` and `b` have (`dma_fence_unwrap_merge(a->fence, b->fence)`).
///
/// `a` and `b` stay valid and independent. Returns the new sync_file (its
/// file reference owned by the caller), or `None` without memory.
fn sync_file_merge(name: &[c_char; 32], a: &SyncFile, b: &SyncFile) -> Option<SyncFileRef> {
    let mut sync_file = NewSyncFile::alloc()?;

    let mut cursors = [crate::fence::unwrap::CURSOR_START; 2];
    let fence = crate::fence::unwrap::merge_into(&[a.fence(), b.fence()], &mut cursors)?;
    sync_file.set_name(name);
    Some(sync_file.publish(fence))
}

/// `release` of a sync_file: the last reference to its file is gone.
///
/// Removes the poll callback if one was queued, drops the fence and frees the
/// sync_file.
///
/// # Safety
///
/// Called by the VFS only, once, for a sync_file's file.
unsafe extern "C" fn sync_file_release(_inode: *mut bindings::inode, file: *mut file) -> c_int {
    // SAFETY: `file` is the sync_file's file (only sync_files use these
    // ops), whose release makes the sync_file ours alone. It may be an
    // unpublished one (a failed merge's, without a fence), so it stays a
    // pointer, live until the kfree. Its flags are only used through bitops.
    // With POLL_ENABLED it has a fence (poll ran on it), on whose list the
    // callback is queued or was: removing it under the fence lock waits out
    // a running callback. `dma_fence_put` takes NULL.
    unsafe {
        let sync_file: *mut sync_file = (*file).private_data.cast();
        let flags = AtomicUsize::from_ptr(addr_of_mut!((*sync_file).flags).cast());
        if sys::test_bit(flags, POLL_ENABLED) {
            dma_fence_remove_callback((*sync_file).fence, addr_of_mut!((*sync_file).cb));
        }
        crate::fence::put((*sync_file).fence);
        bindings::kfree(sync_file.cast());
    }
    0
}

/// `poll` of a sync_file: readable (`EPOLLIN`) once the fence has signalled.
///
/// The first poll queues [`fence_check_cb_func`] on the fence to wake the
/// pollers (or wakes them itself if the fence has already signalled); later
/// polls only wait on the queue.
///
/// # Safety
///
/// Called by the VFS only, on an open sync_file.
unsafe extern "C" fn sync_file_poll(
    file: *mut file,
    wait: *mut bindings::poll_table_struct,
) -> bindings::__poll_t {
    // SAFETY: `file` is an open sync_file's (only sync_files use these
    // ops), whose private data it is, and `wait` the VFS's poll table or NULL.
    let (sync_file, table) = unsafe {
        (
            SyncFile::from_raw((*file).private_data.cast()),
            wait.cast::<PollTable>().as_ref(),
        )
    };
    poll(sync_file, table)
}

/// The body of [`sync_file_poll`].
#[inline(always)]
fn poll(sync_file: &SyncFile, table: Option<&PollTable>) -> bindings::__poll_t {
    sync_file.poll_wait(table);

    // Only when the callback is not queued does the bit get tested and set.
    if !sync_file.cb_queued() && !sys::test_and_set_bit(sync_file.flags(), POLL_ENABLED) {
        let fence = sync_file.fence();
        // SAFETY: The fence is live and initialised; `cb` stays in place
        // until release removes it (POLL_ENABLED is now set).
        if unsafe { dma_fence_add_callback(fence.raw(), sync_file.cb(), Some(fence_check_cb_func)) }
            < 0
        {
            sync_file.wq().wake_up_all();
        }
    }

    if sync_file.fence().query_signaled() {
        EPOLLIN
    } else {
        0
    }
}

c_abi!(sync_file_create, sync_file_get_fence, sync_file_get_name);
