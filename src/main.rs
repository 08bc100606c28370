//! The `dicom-deid` command line: arguments in, one library call per command, messages and
//! exit codes out.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
