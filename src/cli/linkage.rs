//! `linkage lookup` and `linkage keygen`: the honest broker's side of the linkage tables.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use dicom_deid::run::broker;

use super::Error;
use super::args::{LinkageCommand, LinkageLookupArgs};

pub(super) fn linkage_command(cmd: LinkageCommand) -> Result<ExitCode, Error> {
    match cmd {
        LinkageCommand::Lookup(args) => lookup(args),
        LinkageCommand::Keygen { file } => {
            let recipient = broker::create_identity_file(&file).map_err(Error::Linkage)?;
            println!("{recipient}");
            eprintln!(
                "dicom-deid: wrote the identity to {} (keep it secret: it reads the linkage); give the recipient above to `run --linkage-recipient`",
                file.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Print the matching entries (stdout only: they are the answer asked for); exit 1 when none
/// matches. The value itself is never echoed.
fn lookup(args: LinkageLookupArgs) -> Result<ExitCode, Error> {
    let value = if args.value == "-" {
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        args.value
    };
    let identities = match &args.identity {
        Some(path) => broker::read_identity(path).map_err(Error::Linkage)?,
        None => Vec::new(),
    };
    let matches = broker::lookup(&args.dir, &identities, &value).map_err(Error::Linkage)?;
    let mut stdout = std::io::stdout().lock();
    if args.json {
        let _ = serde_json::to_writer(&mut stdout, &serde_json::json!({ "matches": matches }));
        let _ = writeln!(stdout);
    } else {
        for m in &matches {
            let _ = writeln!(stdout, "{}\t{}\t{}", m.kind, m.original, m.pseudonym);
        }
    }
    if matches.is_empty() {
        if !args.json {
            eprintln!("dicom-deid: no entry of the linkage tables matches the value given");
        }
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
