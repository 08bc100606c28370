//! `profile list | show | check | diff | schema` and `keygen`: printing what the library
//! says of profiles and keys.

use std::path::Path;
use std::process::ExitCode;

use dicom_deid::key::Key;
use dicom_deid::profile::{self, Profile};

use super::Error;
use super::args::ProfileCommand;

/// The profile format's JSON Schema, for editors (`profile schema`).
const PROFILE_SCHEMA: &str = include_str!("../../profiles/profile.schema.json");

/// `profile list | show | check | diff | schema`.
pub(super) fn profile_command(cmd: ProfileCommand) -> Result<ExitCode, Error> {
    match cmd {
        ProfileCommand::List => {
            for (name, description) in profile::builtin_descriptions() {
                println!("{name:<14} {description}");
            }
        }
        ProfileCommand::Show { profile } => {
            let p = Profile::load(&profile).map_err(Error::Profile)?;
            println!("# profile {} ({})", p.name, p.chain.join(" -> "));
            println!("# sha256 {}", p.table_sha256());
            print!("{}", p.effective_table());
        }
        ProfileCommand::Check { profile } => {
            let p = Profile::load(&profile).map_err(Error::ProfileCheck)?;
            for warning in &p.warnings {
                eprintln!("warning: {warning}");
            }
            println!(
                "{profile}: ok (profile {}, {} layers)",
                p.name,
                p.chain.len()
            );
        }
        ProfileCommand::Diff { a, b } => {
            let a = Profile::load(&a).map_err(Error::Profile)?;
            let b = Profile::load(&b).map_err(Error::Profile)?;
            print!("{}", profile::diff(&a, &b));
        }
        ProfileCommand::Schema => print!("{PROFILE_SCHEMA}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// `keygen FILE`.
pub(super) fn keygen(file: &Path) -> Result<ExitCode, Error> {
    let key = Key::create_file(file).map_err(Error::Keygen)?;
    eprintln!(
        "wrote a new key to {} (fingerprint {})",
        file.display(),
        key.fingerprint()
    );
    Ok(ExitCode::SUCCESS)
}
