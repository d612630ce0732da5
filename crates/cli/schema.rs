//! `msma schema`: the contract, generated from the declarations that decode events and
//! write the datasets (msma-schema).

use anyhow::{Result, bail};
use clap::Subcommand;
use msma_schema::EventType;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum Command {
    /// Print the data dictionary (Markdown) of every dataset: column, type, meaning,
    /// code list.
    Docs,
    /// Print the JSON Schema (draft 2020-12) of an event type, as schemas/ holds it.
    Json {
        /// The event type, such as consultation.
        event_type: String,
        /// The schema version [default: the latest].
        #[arg(long)]
        version: Option<u16>,
    },
}

pub fn run(cmd: Command) -> Result<ExitCode> {
    match cmd {
        Command::Docs => print!("{}", msma_schema::generate::data_dictionary()),
        Command::Json { event_type, version } => {
            let Some(t) = EventType::from_code(&event_type) else {
                bail!("unknown event type, expected one of {:?}", EventType::CODES);
            };
            let version = version.unwrap_or(*t.versions().last().expect("every type has a version"));
            match msma_schema::generate::json_schema(t, version) {
                Some(schema) => print!("{schema}"),
                None => bail!(
                    "{t} has no schema version {version}, expected one of {:?}",
                    t.versions()
                ),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
