//! Flags that name a zone: clap's own parsers quote the argument in their errors, and an
//! object store URL may carry a password.

use msma_sink::{BadLocation, Location};

/// Parses `--out`, `--data` into a [`Location`], with errors that never quote it.
#[derive(Clone)]
pub struct LocationArg;

impl clap::builder::TypedValueParser for LocationArg {
    type Value = Location;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Self::Value, clap::Error> {
        let arg = arg.map(|a| a.to_string()).unwrap_or_default();
        let fail = |why: String| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid value for {arg}: {why}\n"),
            )
            .with_cmd(cmd)
        };
        let text = value.to_str().ok_or_else(|| fail("not UTF-8".into()))?;
        text.parse().map_err(|e: BadLocation| fail(e.to_string()))
    }
}

/// `msma ingest --out`: checked as [`LocationArg`] does, and kept as text, as
/// `output.zone` is in the file, to be parsed once all settings are known.
#[derive(Clone)]
pub struct ZoneArg;

impl clap::builder::TypedValueParser for ZoneArg {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Self::Value, clap::Error> {
        LocationArg.parse_ref(cmd, arg, value)?;
        // LocationArg refused any text that is not UTF-8.
        Ok(value.to_string_lossy().into_owned())
    }
}
