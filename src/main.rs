// mimalloc: the request path allocates many small strings; glibc's malloc spent a quarter of
// the CPU of the JSON list benchmark on consolidation, mimalloc a fraction of that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    linli::process::limit_c_arenas();
    linli::cli::main_with(linli::process::release_memory)
}
