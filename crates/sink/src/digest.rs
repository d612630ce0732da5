//! The digest of a file's rows, whatever their order or the file they sit in: each row's
//! cells encoded canonically (a type tag, values little-endian, text and lists
//! length-prefixed, a null its own tag) and hashed with SHA-256, the hashes added modulo
//! 2^256. Rows moved between files keep the sum: a compaction's outputs add up to its
//! inputs, which stays checkable once the inputs are gone. The writer takes it from the
//! batches it writes, compaction and `audit verify` from the batches read back.

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Int16Type, Int32Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{ArrowError, DataType};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sha2::{Digest, Sha256};

/// The sum of some rows' hashes (modulo 2^256): zero for no row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowsDigest([u8; 32]);

impl RowsDigest {
    /// Adds `other`'s rows.
    pub fn add(&mut self, other: &Self) {
        let mut carry = 0u16;
        for i in (0..32).rev() {
            let sum = u16::from(self.0[i]) + u16::from(other.0[i]) + carry;
            self.0[i] = sum as u8;
            carry = sum >> 8;
        }
    }

    /// The digest of every row of `batch`.
    pub fn of_batch(batch: &RecordBatch) -> Result<Self, ArrowError> {
        let mut sum = Self::default();
        let mut row = Vec::with_capacity(256);
        for r in 0..batch.num_rows() {
            row.clear();
            for column in batch.columns() {
                encode(column.as_ref(), r, &mut row)?;
            }
            sum.add(&Self(Sha256::digest(&row).into()));
        }
        Ok(sum)
    }

    /// The rows and their digest of a Parquet file's bytes, read back through its
    /// embedded Arrow schema.
    pub fn of_parquet(bytes: impl Into<bytes::Bytes>) -> Result<(u64, Self), parquet::errors::ParquetError> {
        let (mut rows, mut sum) = (0, Self::default());
        for batch in ParquetRecordBatchReaderBuilder::try_new(bytes.into())?.build()? {
            let batch = batch?;
            rows += batch.num_rows() as u64;
            sum.add(&Self::of_batch(&batch)?);
        }
        Ok((rows, sum))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// A digest as [`RowsDigest::to_hex`] writes it.
    pub fn from_hex(text: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).ok()?;
        Some(Self(out))
    }
}

impl std::iter::Sum for RowsDigest {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::default(), |mut a, b| {
            a.add(&b);
            a
        })
    }
}

/// Appends cell `r` of `column`, tagged with its type (0 for a null).
fn encode(column: &dyn Array, r: usize, out: &mut Vec<u8>) -> Result<(), ArrowError> {
    if column.is_null(r) {
        out.push(0);
        return Ok(());
    }
    match column.data_type() {
        DataType::Boolean => out.extend([1, u8::from(column.as_boolean().value(r))]),
        DataType::Int16 => tagged(out, 2, &column.as_primitive::<Int16Type>().value(r).to_le_bytes()),
        DataType::Int32 => tagged(out, 3, &column.as_primitive::<Int32Type>().value(r).to_le_bytes()),
        DataType::Int64 => tagged(out, 4, &column.as_primitive::<Int64Type>().value(r).to_le_bytes()),
        DataType::Date32 => tagged(out, 5, &column.as_primitive::<Date32Type>().value(r).to_le_bytes()),
        DataType::Utf8 => {
            let text = column.as_string::<i32>().value(r).as_bytes();
            tagged(out, 6, &(text.len() as u64).to_le_bytes());
            out.extend_from_slice(text);
        }
        DataType::List(_) => {
            let items = column.as_list::<i32>().value(r);
            tagged(out, 7, &(items.len() as u64).to_le_bytes());
            for i in 0..items.len() {
                encode(items.as_ref(), i, out)?;
            }
        }
        other => {
            return Err(ArrowError::NotYetImplemented(format!(
                "a row digest of a column of type {other}"
            )));
        }
    }
    Ok(())
}

fn tagged(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    out.push(tag);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::builder::{ListBuilder, StringBuilder};
    use arrow_array::{Int16Array, StringArray};
    use std::sync::Arc;

    fn batch(names: &[Option<&str>], n: &[Option<i16>]) -> RecordBatch {
        RecordBatch::try_from_iter([
            ("p", Arc::new(StringArray::from(names.to_vec())) as Arc<dyn Array>),
            ("n", Arc::new(Int16Array::from(n.to_vec())) as Arc<dyn Array>),
        ])
        .unwrap()
    }

    #[test]
    fn the_digest_depends_on_the_rows_not_their_order_or_files() {
        let whole = RowsDigest::of_batch(&batch(&[Some("a"), Some("b"), None], &[Some(1), None, Some(3)])).unwrap();
        let split: RowsDigest = [
            batch(&[None], &[Some(3)]),
            batch(&[Some("b"), Some("a")], &[None, Some(1)]),
        ]
        .iter()
        .map(|b| RowsDigest::of_batch(b).unwrap())
        .sum();
        assert_eq!(whole, split);
        assert_eq!(RowsDigest::from_hex(&whole.to_hex()), Some(whole));
        // A null is not an empty text, nor a cell moved to the next column.
        let empty = RowsDigest::of_batch(&batch(&[Some("")], &[Some(3)])).unwrap();
        let null = RowsDigest::of_batch(&batch(&[None], &[Some(3)])).unwrap();
        assert_ne!(empty, null);
        let one_less = RowsDigest::of_batch(&batch(&[Some("a"), Some("b")], &[Some(1), None])).unwrap();
        assert_ne!(one_less, whole);
    }

    #[test]
    fn list_items_are_delimited() {
        let list = |items: &[&[&str]]| {
            let mut b = ListBuilder::new(StringBuilder::new());
            for row in items {
                for i in *row {
                    b.values().append_value(i);
                }
                b.append(true);
            }
            RecordBatch::try_from_iter([("l", Arc::new(b.finish()) as Arc<dyn Array>)]).unwrap()
        };
        let a = RowsDigest::of_batch(&list(&[&["ab", "c"]])).unwrap();
        let b = RowsDigest::of_batch(&list(&[&["a", "bc"]])).unwrap();
        assert_ne!(a, b);
    }
}
