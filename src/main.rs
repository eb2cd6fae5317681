fn main() -> std::process::ExitCode {
    linli::cli::main()
}
