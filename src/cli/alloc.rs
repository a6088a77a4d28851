//! The binary's allocator: the system allocator, with large blocks (at least 32 MiB) backed by
//! transparent huge pages and recycled.
//!
//! A lazy network at `d = 10^7` (MATH 8) allocates 80 MB vectors for every reveal and every
//! batch of activations. Fresh memory is expensive here: with 4 KiB pages each such vector
//! costs about 20,000 page faults, and on a virtual machine the first touch of a page also
//! costs the host (measured: touching 4 GB of fresh memory took 12 s, rewriting it 0.7 s). So
//! large blocks are advised as huge pages (the kernel offers them only on request, `madvise`
//! mode), and a freed large block is kept, up to [`cache_limit`] bytes in all, for the next request
//! of the same size (forward passes and trials repeat the same sizes), like the retained memory
//! of jemalloc.
//!
//! Kept blocks never raise the resident set above the program's own peak of live large blocks:
//! before a new large block is taken from the system, kept blocks are released until kept +
//! live + new fits under that peak. So a run whose sizes change from phase to phase (Min-Pert
//! over `k`) holds no stale blocks, while one that repeats its sizes (trials) reuses them.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Blocks at least this large are advised as huge pages and recycled.
const LARGE: usize = 32 << 20;
const HUGE_PAGE: usize = 2 << 20;
/// Most bytes ever kept in freed blocks (they count in the resident set).
pub const CACHE_BYTES: usize = 4 << 30;

/// The bytes that may be kept, set once at start-up by [`set_cache_limit`]; 0 (keep nothing)
/// until then.
static LIMIT: AtomicUsize = AtomicUsize::new(0);

/// Bytes of large blocks in use (not kept), and their peak over the run.
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn add_live(bytes: usize) {
    let now = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

/// Keeps at most `min(CACHE_BYTES, available / 8)` bytes of freed blocks: retained memory is
/// not in the memory estimates radex checks before a run, so it stays a small share of what
/// the machine has (3 GB of 24, 1 GB of 8).
pub fn set_cache_limit(available: Option<u128>) {
    let bytes = available.map_or(0, |a| (a / 8).min(CACHE_BYTES as u128) as usize);
    LIMIT.store(bytes, Ordering::Relaxed);
}

/// The current limit.
pub fn cache_limit() -> usize {
    LIMIT.load(Ordering::Relaxed)
}
const SLOTS: usize = 64;

/// [`System`], with large blocks advised as huge pages and recycled.
pub struct HugePages;

/// Freed large blocks: `(ptr, size, align)`, null when empty.
struct Cache {
    lock: AtomicBool,
    slots: std::cell::UnsafeCell<[(*mut u8, usize, usize); SLOTS]>,
}

// SAFETY: `slots` is only touched while `lock` is held.
unsafe impl Sync for Cache {}

static CACHE: Cache = Cache {
    lock: AtomicBool::new(false),
    slots: std::cell::UnsafeCell::new([(ptr::null_mut(), 0, 0); SLOTS]),
};

impl Cache {
    /// Runs `f` on the slots under the spin lock (large allocations are rare; nothing inside
    /// allocates).
    fn with<R>(&self, f: impl FnOnce(&mut [(*mut u8, usize, usize); SLOTS]) -> R) -> R {
        while self
            .lock
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::hint::spin_loop();
        }
        // SAFETY: the lock is held.
        let r = f(unsafe { &mut *self.slots.get() });
        self.lock.store(false, Ordering::Release);
        r
    }

    /// A kept block of exactly this layout, if any.
    fn take(&self, layout: Layout) -> *mut u8 {
        self.with(|slots| {
            for s in slots.iter_mut() {
                if !s.0.is_null() && s.1 == layout.size() && s.2 == layout.align() {
                    let p = s.0;
                    *s = (ptr::null_mut(), 0, 0);
                    return p;
                }
            }
            ptr::null_mut()
        })
    }

    /// Keeps the block if there is room; returns whether it was kept.
    fn put(&self, p: *mut u8, layout: Layout) -> bool {
        self.with(|slots| {
            let held: usize = slots.iter().map(|s| s.1).sum();
            if held + layout.size() > cache_limit() {
                return false;
            }
            match slots.iter_mut().find(|s| s.0.is_null()) {
                Some(s) => {
                    *s = (p, layout.size(), layout.align());
                    true
                }
                None => false,
            }
        })
    }
}

impl Cache {
    /// Releases kept blocks, largest first, until kept + live + `new` fits under the peak of
    /// live bytes (or under live + `new` when that is the new peak).
    fn make_room(&self, new: usize) {
        self.with(|slots| {
            let live = LIVE.load(Ordering::Relaxed);
            let ceiling = PEAK.load(Ordering::Relaxed).max(live + new);
            let mut held: usize = slots.iter().map(|s| s.1).sum();
            while held > 0 && held + live + new > ceiling {
                let big = slots
                    .iter_mut()
                    .filter(|s| !s.0.is_null())
                    .max_by_key(|s| s.1)
                    .expect("held > 0 means a kept block");
                let (p, size, align) = *big;
                *big = (ptr::null_mut(), 0, 0);
                held -= size;
                // SAFETY: a kept block came from `System` with exactly this layout, and nobody
                // else holds it.
                unsafe { System.dealloc(p, Layout::from_size_align_unchecked(size, align)) };
            }
        })
    }
}

fn advise(p: *mut u8, len: usize) {
    // Only the whole huge pages inside the block; the advice is a hint and may be refused.
    let start = (p as usize).next_multiple_of(HUGE_PAGE);
    let end = (p as usize + len) / HUGE_PAGE * HUGE_PAGE;
    if end > start {
        // SAFETY: the range lies inside a block the system allocator just returned;
        // MADV_HUGEPAGE changes no contents.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

/// A large block not in the cache: `sys` (the system's `alloc` or `alloc_zeroed`) after the
/// cache has made room for it, advised for huge pages and counted live.
///
/// # Safety
/// As for [`GlobalAlloc::alloc`]: `layout` has a non-zero size.
unsafe fn fresh(layout: Layout, sys: unsafe fn(&System, Layout) -> *mut u8) -> *mut u8 {
    CACHE.make_room(layout.size());
    // SAFETY: the caller's layout has a non-zero size.
    let p = unsafe { sys(&System, layout) };
    if !p.is_null() {
        advise(p, layout.size());
        add_live(layout.size());
    }
    p
}

// SAFETY: small blocks go to `System` unchanged; a large block is either fresh from `System` or
// a kept block of exactly the same layout that nobody else holds.
unsafe impl GlobalAlloc for HugePages {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() < LARGE {
            return unsafe { System.alloc(layout) };
        }
        let p = CACHE.take(layout);
        if !p.is_null() {
            add_live(layout.size());
            return p;
        }
        // SAFETY: as for this function.
        unsafe { fresh(layout, <System as GlobalAlloc>::alloc) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() < LARGE {
            return unsafe { System.alloc_zeroed(layout) };
        }
        let p = CACHE.take(layout);
        if !p.is_null() {
            // SAFETY: `p` holds `layout.size()` bytes.
            unsafe { ptr::write_bytes(p, 0, layout.size()) };
            add_live(layout.size());
            return p;
        }
        // SAFETY: as for this function.
        unsafe { fresh(layout, <System as GlobalAlloc>::alloc_zeroed) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.size() >= LARGE {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        if layout.size() < LARGE || !CACHE.put(ptr, layout) {
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.size() < LARGE && new_size < LARGE {
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // SAFETY: the caller guarantees a valid layout of `new_size` with this alignment.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let p = unsafe { self.alloc(new_layout) };
        if !p.is_null() {
            // SAFETY: both blocks are valid for the smaller size and do not overlap.
            unsafe {
                ptr::copy_nonoverlapping(ptr, p, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cache is global, so one test walks through it: a freed large block is handed out
    /// again for the same layout (zeroed when asked), realloc keeps the contents, and nothing
    /// is kept beyond the limit.
    #[test]
    fn large_blocks_are_recycled_within_the_limit() {
        let a = HugePages;
        let layout = Layout::from_size_align(LARGE, 64).unwrap();
        // available / 8 = one large block may be kept.
        set_cache_limit(Some(8 * LARGE as u128));
        assert_eq!(cache_limit(), LARGE);
        // SAFETY: every block is used within its layout and freed once with it.
        unsafe {
            let p = a.alloc(layout);
            assert!(!p.is_null());
            ptr::write_bytes(p, 7, LARGE);
            a.dealloc(p, layout);
            let q = a.alloc_zeroed(layout);
            assert_eq!(q, p, "the kept block is handed out again");
            assert!(std::slice::from_raw_parts(q, LARGE).iter().all(|&b| b == 0));
            ptr::write_bytes(q, 3, LARGE);
            let r = a.realloc(q, layout, 2 * LARGE);
            assert!(std::slice::from_raw_parts(r, LARGE).iter().all(|&b| b == 3));
            a.dealloc(r, Layout::from_size_align(2 * LARGE, 64).unwrap());
            // The realloc kept the old block; a second one is over the limit.
            let other = System.alloc(layout);
            assert!(!CACHE.put(other, layout), "kept beyond the limit");
            System.dealloc(other, layout);
            // Small blocks never enter the cache.
            let small = Layout::from_size_align(1024, 8).unwrap();
            let s = a.alloc(small);
            a.dealloc(s, small);
            assert!(CACHE.take(small).is_null());
        }
        set_cache_limit(None);
    }
}
