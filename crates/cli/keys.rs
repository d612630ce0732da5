//! `msma keys`: create a master key file, show a key's id.

use anyhow::Result;
use clap::Subcommand;
use msma_pseudo::MasterKey;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum Command {
    /// Write a new key file: 64 lowercase hex characters and a newline, mode 0600.
    Init {
        /// Where to write the key; an existing file is never overwritten, missing folders
        /// are created (mode 0700).
        #[arg(long)]
        out: PathBuf,
    },
    /// Rewrite a study's datasets under a new key, as a new zone, with the crosswalk
    /// old -> new in the custodian zone.
    Rotate(crate::rotate::Args),
    /// Print the key id of a key file (safe to share: it does not reveal the key).
    Id {
        #[arg(long)]
        keys: PathBuf,
    },
}

pub fn run(cmd: Command) -> Result<ExitCode> {
    match cmd {
        Command::Init { out } => {
            let key = MasterKey::generate()?;
            crate::create_parents(&out)?;
            key.write_new(&out)?;
            println!("wrote key file {} (key id {})", out.display(), key.id());
            println!("keep it away from the research zone and back it up: without it, no new data links to old data");
        }
        Command::Id { keys } => println!("{}", MasterKey::load(&keys)?.id()),
        Command::Rotate(a) => return crate::rotate::run(a),
    }
    Ok(ExitCode::SUCCESS)
}
