//! The `toolwright` binary: parse arguments, run, map the outcome to an exit code.

fn main() -> std::process::ExitCode {
    toolwright::cli::main()
}
