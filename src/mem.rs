//! Large zeroed buffers backed by transparent huge pages where the kernel offers them.
//!
//! A freshly allocated buffer is mapped lazily, one 4 KiB page fault per page on first touch:
//! for a 128 MiB weight matrix that is 32,768 faults, which cost about as much as sampling the
//! matrix. Linux can back such a buffer with 2 MiB pages instead when asked (`madvise`
//! `MADV_HUGEPAGE`; the usual system setting only honours requests), 512 times fewer faults
//! and fewer TLB misses in the products. numpy asks the same for arrays of 4 MiB and more. The
//! advice changes no value: the buffer is zero either way.

/// Buffers of at least this many bytes are advised (numpy's threshold).
pub const HUGE_MIN_BYTES: usize = 4 << 20;

/// `n` zeros, in memory advised for huge pages when it is at least [`HUGE_MIN_BYTES`] long.
pub fn zeroed<T: Copy + Default>(n: usize) -> Vec<T> {
    let v = vec![T::default(); n];
    advise_huge(&v);
    v
}

/// Asks the kernel to back the whole 2 MiB pages inside `buf` with huge pages. Best effort: a
/// refusal (no THP support, not Linux) changes nothing.
pub fn advise_huge<T>(buf: &[T]) {
    let bytes = std::mem::size_of_val(buf);
    if bytes < HUGE_MIN_BYTES {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = buf.as_ptr() as usize;
        let lo = start.next_multiple_of(HUGE);
        let hi = (start + bytes) / HUGE * HUGE;
        if hi > lo {
            // SAFETY: [lo, hi) lies inside `buf`'s live allocation, and MADV_HUGEPAGE only
            // changes how the kernel backs those pages, never their contents.
            unsafe {
                libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_HUGEPAGE);
            }
        }
    }
}

/// Whether `bytes` can be reserved at all: the address space is asked for that much (and given
/// back untouched, so nothing becomes resident). Refused when it exceeds what the machine can
/// ever provide (Linux's overcommit heuristic refuses a single mapping beyond RAM and swap).
/// The system allocator is asked directly, so a program's own global allocator (which may
/// keep freed blocks in proportion to its peak) never sees the probe.
pub fn reservable(bytes: u128) -> bool {
    use std::alloc::{GlobalAlloc, Layout, System};
    let Ok(n) = usize::try_from(bytes) else {
        return false;
    };
    let Ok(layout) = Layout::from_size_align(n.max(1), 1) else {
        return false;
    };
    // SAFETY: the layout has a non-zero size; the block is freed with the same layout and
    // never read or written.
    unsafe {
        // black_box: an unused allocation is otherwise removed by the optimiser.
        let p = std::hint::black_box(System.alloc(layout));
        if p.is_null() {
            return false;
        }
        System.dealloc(p, layout);
    }
    true
}

#[cfg(test)]
mod tests {
    #[test]
    fn reservations_beyond_any_machine_are_refused() {
        // 2^60 bytes exceed every address space, whatever the overcommit policy; the probe
        // must really ask (an optimiser that drops the unused block would say yes).
        assert!(!super::reservable(1 << 60));
        assert!(!super::reservable(u128::MAX));
        assert!(super::reservable(1 << 20));
    }
}
