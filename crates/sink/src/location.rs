//! Where a zone lives: a local folder, or a prefix in an object store (`s3://bucket/prefix`,
//! `gs://…`, `az://…`), with credentials from the store's usual environment variables.

use object_store::ObjectStore;
use object_store::path::Path as ObjectPath;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use url::Url;

/// A zone's location, as given by `--out` or `--data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Local(PathBuf),
    /// An object store URL, without credentials.
    Remote(Url),
}

impl Location {
    /// The local folder, when the zone is on a file system.
    pub fn as_local(&self) -> Option<&Path> {
        match self {
            Self::Local(p) => Some(p),
            Self::Remote(_) => None,
        }
    }

    /// Connects to the object store of a remote location: the store and the zone's prefix
    /// in it. Credentials, region and endpoint come from the environment (`AWS_*`,
    /// `GOOGLE_*`, `AZURE_*`), as every tool of those clouds reads them.
    pub fn connect(url: &Url) -> Result<(Arc<dyn ObjectStore>, ObjectPath), object_store::Error> {
        use object_store::ObjectStoreScheme as Scheme;
        let (scheme, prefix) = Scheme::parse(url)?;
        let prefix = ObjectPath::parse(prefix)?;
        let store: Arc<dyn ObjectStore> = match scheme {
            Scheme::AmazonS3 => Arc::new(
                object_store::aws::AmazonS3Builder::from_env()
                    .with_url(url.as_str())
                    .build()?,
            ),
            Scheme::GoogleCloudStorage => Arc::new(
                object_store::gcp::GoogleCloudStorageBuilder::from_env()
                    .with_url(url.as_str())
                    .build()?,
            ),
            Scheme::MicrosoftAzure => Arc::new(
                object_store::azure::MicrosoftAzureBuilder::from_env()
                    .with_url(url.as_str())
                    .build()?,
            ),
            #[cfg(test)]
            Scheme::Memory => tests::memory(),
            _ => {
                return Err(object_store::Error::Generic {
                    store: "location",
                    source: format!("{url}: not a store zones can live in (s3://, gs://, az://)").into(),
                });
            }
        };
        Ok((store, prefix))
    }
}

/// Why a location was refused.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadLocation(String);

impl FromStr for Location {
    type Err = BadLocation;

    /// `scheme://…` is an object store (`file://` a local path); anything else a path.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if !s.contains("://") {
            return Ok(Self::Local(PathBuf::from(s)));
        }
        let shown = without_credentials(s);
        let url = Url::parse(s).map_err(|e| BadLocation(format!("{shown}: not a URL: {e}")))?;
        if !url.username().is_empty() || url.password().is_some() {
            // Never echo the URL: it carries a secret.
            return Err(BadLocation(
                "credentials do not belong in a location URL: give them by the store's environment variables \
                 (AWS_ACCESS_KEY_ID… or a role)"
                    .into(),
            ));
        }
        if url.scheme() == "file" {
            return url
                .to_file_path()
                .map(Self::Local)
                .map_err(|()| BadLocation(format!("{shown}: not a local path")));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(BadLocation(format!(
                "{}: a location takes no query or fragment",
                url.as_str().split(['?', '#']).next().unwrap_or_default()
            )));
        }
        use object_store::ObjectStoreScheme as Scheme;
        match Scheme::parse(&url) {
            Ok((Scheme::AmazonS3 | Scheme::GoogleCloudStorage | Scheme::MicrosoftAzure, _)) => Ok(Self::Remote(url)),
            _ => Err(BadLocation(format!(
                "{shown}: not a store zones can live in (a path, s3://bucket/prefix, gs://… or az://…)"
            ))),
        }
    }
}

/// A URL as errors may show it: whatever stands before an `@` (a user, a password) is
/// left out, even when the URL does not parse.
fn without_credentials(s: &str) -> String {
    match s.split_once("://") {
        Some((scheme, rest)) if rest.contains('@') => {
            let after = &rest[rest.rfind('@').expect("contains") + 1..];
            format!("{scheme}://…@{after}")
        }
        _ => s.to_owned(),
    }
}

impl<'de> serde::Deserialize<'de> for Location {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local(p) => write!(f, "{}", p.display()),
            Self::Remote(u) => write!(f, "{u}"),
        }
    }
}

impl From<&Path> for Location {
    fn from(p: &Path) -> Self {
        Self::Local(p.to_owned())
    }
}

impl From<&PathBuf> for Location {
    fn from(p: &PathBuf) -> Self {
        Self::Local(p.clone())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The test binary's one in-memory store, for zones in an object store: a zone's
    /// writers and readers each connect, and meet in it (`memory:///<prefix>`).
    pub(crate) fn memory() -> Arc<dyn ObjectStore> {
        static STORE: std::sync::OnceLock<Arc<object_store::memory::InMemory>> = std::sync::OnceLock::new();
        STORE.get_or_init(Default::default).clone()
    }

    #[test]
    fn paths_urls_and_refusals() {
        assert_eq!("zone".parse::<Location>().unwrap(), Location::Local("zone".into()));
        assert_eq!(
            "file:///tmp/zone".parse::<Location>().unwrap(),
            Location::Local("/tmp/zone".into())
        );
        let s3: Location = "s3://research/msma/rms".parse().unwrap();
        assert_eq!(s3.to_string(), "s3://research/msma/rms");
        let leak = "s3://AKIA:topsecret@research/x"
            .parse::<Location>()
            .unwrap_err()
            .to_string();
        assert!(!leak.contains("topsecret") && leak.contains("environment"), "{leak}");
        for bad in [
            "s3://AKIA:top/secret@bu cket/x",
            "s3://AKIA:topsecret@b:99999/x",
            "file://AKIA:topsecret@h/x",
        ] {
            let e = bad.parse::<Location>().unwrap_err().to_string();
            assert!(
                !e.contains("topsecret") && !e.contains("AKIA") && !e.contains("secret"),
                "{e}"
            );
        }
        assert!("ftp://host/x".parse::<Location>().is_err());
        assert!("s3://b/p?x=1".parse::<Location>().is_err());
    }
}
