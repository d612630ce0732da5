//! The order of rows in a file: sorted on every column, so that it depends on the rows
//! alone. Arrival order would let anyone pair the rows of two studies made from one input
//! (row i of one file is row i of the other), refine generalised dates (a row's rank in a
//! month's file tells its day), and show which source partition a row came from.
//! Sorting on published values tells nothing they do not; pseudonyms, keyed per study,
//! shuffle patients differently in every study and every rotation.

use arrow_array::RecordBatch;
use arrow_row::{RowConverter, SortField};
use arrow_schema::ArrowError;
use arrow_select::interleave::interleave_record_batch;

/// The rows of `batches` (one schema) as one batch in canonical order.
pub fn canonical(batches: &[RecordBatch]) -> Result<RecordBatch, ArrowError> {
    let schema = batches[0].schema();
    let fields: Vec<SortField> = schema
        .fields()
        .iter()
        .map(|f| SortField::new(f.data_type().clone()))
        .collect();
    let converter = RowConverter::new(fields)?;
    let mut rows = converter.empty_rows(0, 0);
    let mut at = Vec::new();
    for (b, batch) in batches.iter().enumerate() {
        converter.append(&mut rows, batch.columns())?;
        at.extend((0..batch.num_rows()).map(|r| (b, r)));
    }
    let mut order: Vec<u32> = (0..at.len() as u32).collect();
    // Equal rows are identical, so an unstable sort gives the same file.
    order.sort_unstable_by(|x, y| rows.row(*x as usize).cmp(&rows.row(*y as usize)));
    let indices: Vec<(usize, usize)> = order.iter().map(|i| at[*i as usize]).collect();
    let refs: Vec<&RecordBatch> = batches.iter().collect();
    interleave_record_batch(&refs, &indices)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Array, Int32Array, StringArray};
    use std::sync::Arc;

    fn batch(names: &[&str], ages: &[i32]) -> RecordBatch {
        RecordBatch::try_from_iter([
            ("p", Arc::new(StringArray::from(names.to_vec())) as Arc<dyn Array>),
            ("age", Arc::new(Int32Array::from(ages.to_vec())) as Arc<dyn Array>),
        ])
        .unwrap()
    }

    #[test]
    fn the_order_depends_on_the_rows_alone() {
        let a = canonical(&[batch(&["c", "a"], &[3, 9]), batch(&["a", "b"], &[1, 2])]).unwrap();
        let b = canonical(&[batch(&["b", "a", "a"], &[2, 1, 9]), batch(&["c"], &[3])]).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, batch(&["a", "a", "b", "c"], &[1, 9, 2, 3]));
    }
}
