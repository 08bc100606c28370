fn main() -> std::process::ExitCode {
    dicom_deid::cli::main()
}
