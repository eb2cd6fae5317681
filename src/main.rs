// mimalloc: the request path allocates many small strings; glibc's malloc spent a quarter of
// the CPU of the JSON list benchmark on consolidation, mimalloc a fraction of that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Gives memory the allocator keeps for reuse back to the system (after the demo is built).
fn release_memory() {
    // SAFETY: mi_collect only walks the allocator's own free lists.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

fn main() -> std::process::ExitCode {
    linli::cli::main_with(release_memory)
}
