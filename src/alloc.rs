//! The `baton` binary's global allocator: mimalloc (feature `mimalloc`, on by default). A step
//! allocates and frees many small values (JSON trees, the state text, rows) from many threads;
//! with the system's malloc that was about a fifth of the durable path's instructions.
//!
//! mimalloc's own Rust wrapper asks for every block through its aligned entry points, which
//! take a slower path; a block whose alignment mimalloc gives anyway (at most 16 bytes and no
//! more than its size, as the standard library's own `System` decides) goes through the plain
//! ones here.

use libmimalloc_sys::{
    mi_free, mi_malloc, mi_malloc_aligned, mi_realloc, mi_realloc_aligned, mi_zalloc,
    mi_zalloc_aligned,
};
use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

/// Turns transparent huge pages off for this process. mimalloc reserves its memory in large
/// aligned regions, which a kernel set to THP `always` backs with 2 MiB pages: each first touch
/// then clears 2 MiB, and system time rose by about half on the durable path (the same as
/// `MIMALLOC_ALLOW_THP=0`, which mimalloc only reads before `main`). Nothing else in Baton
/// wants huge pages; on other systems this does nothing.
pub fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes no pointers; it sets a flag of this process.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// What every mimalloc block is aligned to, when it is at least that large.
const MIN_ALIGN: usize = 16;

pub struct MiMalloc;

fn plain(align: usize, size: usize) -> bool {
    align <= MIN_ALIGN && align <= size
}

unsafe impl GlobalAlloc for MiMalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if plain(layout.align(), layout.size()) {
            mi_malloc(layout.size()) as *mut u8
        } else {
            mi_malloc_aligned(layout.size(), layout.align()) as *mut u8
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if plain(layout.align(), layout.size()) {
            mi_zalloc(layout.size()) as *mut u8
        } else {
            mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        mi_free(ptr as *mut c_void);
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if plain(layout.align(), new_size) {
            mi_realloc(ptr as *mut c_void, new_size) as *mut u8
        } else {
            mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8
        }
    }
}
