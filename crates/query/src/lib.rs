//! msma's read side. [`Catalog::open`] takes a research zone as of one ledger record
//! ([`Snapshot`]) and registers each dataset as an SQL table named after its event type,
//! with the Hive partition columns `network_id` and `year`; [`output`] writes results.

pub mod output;
mod snapshot;
mod store;

pub use datafusion;
pub use snapshot::{Head, Snapshot};

use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{DataFrame, SessionConfig, SessionContext};
use msma_schema::EventType;
use msma_sink::Location;
use std::path::PathBuf;
use std::sync::Arc;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The zone's folder cannot be made absolute.
    #[error("{}: {source}", path.display())]
    Path { path: PathBuf, source: std::io::Error },
    #[error(
        "{}: not a research zone (no {}/{} folder); give the --out folder of `msma ingest`",
        .0.display(), msma_sink::META_DIR, msma_sink::LOG_DIR
    )]
    NoLogFolder(PathBuf),
    #[error("{0}: not a research zone (no commit record); give the --out of `msma ingest`")]
    NoCommit(url::Url),
    #[error("--as-of {seq}: the ledger has records 1 to {last}")]
    AsOf { seq: u64, last: u64 },
    /// The ledger of a zone in a store is broken (the sink names the record, not the zone).
    #[error("{zone}: {source}")]
    Ledger {
        zone: url::Url,
        source: Box<msma_sink::Error>,
    },
    /// Reading the zone failed.
    #[error(transparent)]
    Zone(#[from] msma_sink::Error),
    /// A dataset's folder is not a URL below the zone's.
    #[error("{0}")]
    Url(url::ParseError),
    #[error("{0}")]
    Engine(#[from] datafusion::error::DataFusionError),
    /// Encoding a result (CSV, JSON, Parquet, the table).
    #[error("{0}")]
    Encode(datafusion::arrow::error::ArrowError),
    #[error("{0}")]
    Parquet(parquet::errors::ParquetError),
    /// Writing a result out.
    #[error("{0}")]
    Write(std::io::Error),
}

/// How much memory a query may hold before it fails with "resources exhausted"
/// (sorts and joins spill to the temporary folder first).
pub const DEFAULT_MEMORY_LIMIT: usize = 1 << 30;

/// The partition columns of every dataset, after its file columns.
pub fn partition_columns() -> Vec<(String, DataType)> {
    let schema = msma_sink::arrow_schema(msma_schema::PARTITION_COLUMNS);
    schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect()
}

/// A zone's datasets, registered in a DataFusion session.
pub struct Catalog {
    pub snapshot: Snapshot,
    pub ctx: SessionContext,
}

impl Catalog {
    /// Opens `zone` as of ledger record `as_of` (the latest for `None`). Every event type
    /// gets its table, empty when nothing was published for it.
    pub async fn open(zone: &Location, as_of: Option<u64>, memory_limit: usize) -> Result<Self> {
        let snapshot = Snapshot::open(zone, as_of).await?;
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_pool(Arc::new(FairSpillPool::new(memory_limit)))
            .build_arc()?;
        let config = SessionConfig::new()
            .with_information_schema(true)
            .set_bool("datafusion.execution.parquet.pushdown_filters", true);
        let ctx = SessionContext::new_with_config_rt(config, runtime);
        let store = store::SnapshotStore::new(&snapshot);
        // The snapshot's store answers for the whole scheme and bucket of the zone.
        let mut store_url = snapshot.base.clone();
        store_url.set_path("");
        ctx.register_object_store(&store_url, Arc::new(store));
        for &event_type in EventType::all() {
            register(&ctx, &snapshot, event_type).await?;
        }
        Ok(Self { snapshot, ctx })
    }

    /// Plans `sql` (a single statement, read-only).
    pub async fn sql(&self, sql: &str) -> Result<DataFrame> {
        let options = datafusion::execution::context::SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        Ok(self.ctx.sql_with_options(sql, options).await?)
    }
}

async fn register(ctx: &SessionContext, snapshot: &Snapshot, event_type: EventType) -> Result<()> {
    let name = event_type.as_str();
    let columns = msma_schema::dataset_columns(event_type);
    let file_schema: Schema = msma_sink::arrow_schema(&columns).as_ref().clone();
    let dir = snapshot.base.join(&format!("{name}/")).map_err(Error::Url)?;
    let url = ListingTableUrl::parse(dir)?;
    let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
        .with_file_extension(".parquet")
        .with_table_partition_cols(partition_columns());
    let config = ListingTableConfig::new(url)
        .with_listing_options(options)
        .with_schema(Arc::new(file_schema));
    let table = ListingTable::try_new(config)?;
    ctx.register_table(name, Arc::new(table))?;
    Ok(())
}
