//! The `tandem` binary: a thin shell around [`tandem::cli`].

fn main() -> std::process::ExitCode {
    tandem::cli::main()
}
