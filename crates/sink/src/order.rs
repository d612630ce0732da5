//! The order of rows in a file: sorted on every column, so that it depends on the rows
//! alone. Arrival order would let anyone pair the rows of two studies made from one input
//! (row i of one file is row i of the other), refine generalised dates (a row's rank in a
//! month's file tells its day), and show which source partition a row came from.
//! Sorting on published values tells nothing they do not; pseudonyms, keyed per study,
//! shuffle patients differently in every study and every rotation.

use arrow_array::RecordBatch;
use arrow_ord::sort::{SortColumn, lexsort_to_indices};
use arrow_schema::ArrowError;
use arrow_select::concat::concat_batches;
use arrow_select::take::take_record_batch;

/// The rows of `batches` (one schema) as one batch in canonical order: ascending on
/// every column in turn, nulls first. Columns are compared one at a time, so a later
/// column is read only when the earlier ones tie (a patient's pseudonym mostly decides).
pub fn canonical(batches: &[RecordBatch]) -> Result<RecordBatch, ArrowError> {
    let rows = match batches {
        [one] => one.clone(),
        _ => concat_batches(&batches[0].schema(), batches)?,
    };
    let columns: Vec<SortColumn> = (rows.columns().iter())
        .map(|values| SortColumn {
            values: values.clone(),
            options: None,
        })
        .collect();
    // Equal rows are identical, so an unstable sort gives the same file.
    let order = lexsort_to_indices(&columns, None)?;
    take_record_batch(&rows, &order)
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

    /// The order of arrow-row's row format, which compares whole rows as bytes: the
    /// order of every file written before canonical order compared column by column.
    fn by_row_format(batches: &[RecordBatch]) -> RecordBatch {
        use arrow_row::{RowConverter, SortField};
        let fields = batches[0]
            .schema()
            .fields()
            .iter()
            .map(|f| SortField::new(f.data_type().clone()))
            .collect();
        let converter = RowConverter::new(fields).unwrap();
        let mut rows = converter.empty_rows(0, 0);
        let mut at = Vec::new();
        for (b, batch) in batches.iter().enumerate() {
            converter.append(&mut rows, batch.columns()).unwrap();
            at.extend((0..batch.num_rows()).map(|r| (b, r)));
        }
        let mut order: Vec<usize> = (0..at.len()).collect();
        order.sort_unstable_by(|x, y| rows.row(*x).cmp(&rows.row(*y)));
        let indices: Vec<(usize, usize)> = order.iter().map(|i| at[*i]).collect();
        let refs: Vec<&RecordBatch> = batches.iter().collect();
        arrow_select::interleave::interleave_record_batch(&refs, &indices).unwrap()
    }

    #[test]
    fn the_order_is_the_row_formats_on_every_column_type_with_nulls_and_ties() {
        use arrow_array::builder::{ListBuilder, StringBuilder};
        use arrow_array::{BooleanArray, Date32Array, Int16Array, Int64Array};
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..300 {
            let batches: Vec<RecordBatch> = (0..1 + next(4))
                .map(|_| {
                    let n = next(40) as usize;
                    // Few values per column, so that rows tie on the first columns.
                    let mut pick = |k: u64| (0..n).map(|_| next(k)).collect::<Vec<_>>();
                    let text =
                        StringArray::from_iter(pick(4).into_iter().map(|v| (v > 0).then(|| "ab".repeat(v as usize))));
                    let flag = BooleanArray::from_iter(pick(3).into_iter().map(|v| (v > 0).then_some(v == 2)));
                    let small = Int16Array::from_iter(pick(4).into_iter().map(|v| (v > 0).then_some(v as i16 - 2)));
                    let day = Date32Array::from_iter(pick(3).into_iter().map(|v| (v > 0).then_some(v as i32 * 400)));
                    let mut codes = ListBuilder::new(StringBuilder::new());
                    for v in pick(6) {
                        match v {
                            0 => codes.append_null(),
                            1 => codes.append(true),
                            _ => {
                                codes.values().append_value(["a", "b", "ab"][v as usize % 3]);
                                if v > 3 {
                                    codes.values().append_value("b");
                                }
                                codes.append(true);
                            }
                        }
                    }
                    let big = Int64Array::from_iter(pick(1000).into_iter().map(|v| (v > 0).then_some(v as i64 - 500)));
                    RecordBatch::try_from_iter_with_nullable([
                        ("text", Arc::new(text) as Arc<dyn Array>, true),
                        ("flag", Arc::new(flag) as Arc<dyn Array>, true),
                        ("small", Arc::new(small) as Arc<dyn Array>, true),
                        ("codes", Arc::new(codes.finish()) as Arc<dyn Array>, true),
                        ("day", Arc::new(day) as Arc<dyn Array>, true),
                        ("big", Arc::new(big) as Arc<dyn Array>, true),
                    ])
                    .unwrap()
                })
                .collect();
            assert_eq!(canonical(&batches).unwrap(), by_row_format(&batches));
        }
    }
}
