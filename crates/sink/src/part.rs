//! One Parquet file being written: zstd (Snappy when small), statistics, dictionary
//! encoding, msma's key-value metadata, a SHA-256 computed as the bytes go out, and the
//! digest of its rows ([`RowsDigest`]) as they go in.

use crate::digest::RowsDigest;
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Rows per row group: large enough for good compression, small enough to bound the
/// memory of each open file.
const ROW_GROUP_ROWS: usize = 128 * 1024;

/// Files whose first row group has fewer rows are compressed with Snappy rather than zstd. arrow-rs
/// sets up a zstd compressor and decompressor for every column chunk, and each runs the
/// `cpuid` instruction twice, which traps to the hypervisor on a virtual machine (6 µs
/// each, measured on the benchmark machine): 25 µs per column chunk, more than zstd's
/// gain on a small one is worth. A Kafka commit writes hundreds of small files; on
/// 1,000,000 events drained (3,300 files), this took 15% off the time and added 18%
/// to the bytes.
const SMALL_FILE_ROWS: usize = 1024;

fn compression(first_rows: usize) -> Compression {
    if first_rows < SMALL_FILE_ROWS {
        Compression::SNAPPY
    } else {
        Compression::ZSTD(ZstdLevel::try_new(3).expect("valid level"))
    }
}

struct Hashing {
    inner: BufWriter<File>,
    sha: Sha256,
    bytes: u64,
}

impl Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A finished, durable file.
#[derive(Debug, Clone)]
pub struct Written {
    pub path: PathBuf,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
    pub rows_digest: RowsDigest,
}

pub struct PartWriter {
    path: PathBuf,
    writer: ArrowWriter<Hashing>,
    rows: u64,
    digest: RowsDigest,
}

impl PartWriter {
    /// A file whose first row group will hold `first_rows` rows, which decide its
    /// compression.
    pub fn create(
        path: &Path,
        schema: SchemaRef,
        first_rows: usize,
        metadata: &[(String, String)],
    ) -> crate::Result<Self> {
        let file = File::create(path).map_err(|e| crate::Error::io(path, e))?;
        let props = WriterProperties::builder()
            .set_compression(compression(first_rows))
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_dictionary_enabled(true)
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_created_by(format!("msma version {}", env!("CARGO_PKG_VERSION")))
            .set_key_value_metadata(Some(
                metadata
                    .iter()
                    .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
                    .collect(),
            ))
            .build();
        let sink = Hashing {
            inner: BufWriter::with_capacity(8 * 1024, file),
            sha: Sha256::new(),
            bytes: 0,
        };
        let writer = ArrowWriter::try_new(sink, schema, Some(props)).map_err(|e| crate::Error::parquet(path, e))?;
        Ok(Self {
            path: path.to_owned(),
            writer,
            rows: 0,
            digest: RowsDigest::default(),
        })
    }

    /// Writes `batches` (a row group, more past its row limit) in canonical order
    /// ([`crate::order`]).
    pub fn write_group(&mut self, batches: &[RecordBatch]) -> crate::Result<()> {
        let rows = crate::order::canonical(batches).map_err(|e| crate::Error::parquet(&self.path, e.into()))?;
        self.write(&rows)?;
        self.flush()
    }

    fn write(&mut self, batch: &RecordBatch) -> crate::Result<()> {
        self.rows += batch.num_rows() as u64;
        let digest = RowsDigest::of_batch(batch).map_err(|e| crate::Error::parquet(&self.path, e.into()))?;
        self.digest.add(&digest);
        self.writer
            .write(batch)
            .map_err(|e| crate::Error::parquet(&self.path, e))
    }

    /// Writes the row group in progress out, freeing its memory.
    fn flush(&mut self) -> crate::Result<()> {
        self.writer.flush().map_err(|e| crate::Error::parquet(&self.path, e))
    }

    /// Writes the footer and syncs the file to disk.
    pub fn finish(self) -> crate::Result<Written> {
        let path = self.path;
        let mut sink = self.writer.into_inner().map_err(|e| crate::Error::parquet(&path, e))?;
        sink.flush().map_err(|e| crate::Error::io(&path, e))?;
        let file = sink
            .inner
            .into_inner()
            .map_err(|e| crate::Error::io(&path, e.into_error()))?;
        file.sync_all().map_err(|e| crate::Error::io(&path, e))?;
        Ok(Written {
            path,
            rows: self.rows,
            bytes: sink.bytes,
            sha256: hex::encode(sink.sha.finalize()),
            rows_digest: self.digest,
        })
    }
}
