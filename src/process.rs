//! How the server process uses memory, for every binary that serves (`linli`, and the bench
//! build `linli-bench-server`, which must be measured under the same conditions).

/// Gives memory the allocator keeps for reuse back to the system (after the demo is built).
pub fn release_memory() {
    // SAFETY: mi_collect only walks the allocator's own free lists.
    unsafe { libmimalloc_sys::mi_collect(true) }
    // SQLite's pages of the build went through the C library's malloc: give back what it
    // keeps free, too.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// SQLite allocates through the C library's malloc, from whichever blocking thread runs a
/// query; glibc then opens an arena per thread and keeps each one's freed pages. Two arenas
/// held the 100,000-device sensing benchmark at 153 MB RSS instead of 346 MB, at the same
/// ingestion rate. Call first thing in `main`, before any thread exists.
pub fn limit_c_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called before any thread exists; mallopt only sets a limit.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        // No transparent huge pages: a 2 MB page stays resident while any byte of it is in
        // use, so memory the allocators give back after the demo is built stayed counted
        // (45 MB of the street demo's idle RSS were huge pages).
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}
