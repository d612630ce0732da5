//! Query results as plain rows of scalars, for the few hundred figures a report needs.

use msma_query::datafusion::arrow::array::RecordBatch;
use msma_query::datafusion::arrow::datatypes::DataType;
use msma_query::datafusion::common::ScalarValue;
use msma_query::{Catalog, Result};

pub struct Frame {
    columns: Vec<String>,
    pub rows: Vec<Vec<ScalarValue>>,
}

impl Frame {
    pub async fn query(catalog: &Catalog, sql: &str) -> Result<Self> {
        let df = catalog.sql(sql).await?;
        let columns = df.schema().fields().iter().map(|f| f.name().clone()).collect();
        let batches: Vec<RecordBatch> = df.collect().await?;
        let mut rows = Vec::new();
        for batch in &batches {
            for i in 0..batch.num_rows() {
                let row = batch
                    .columns()
                    .iter()
                    .map(|a| ScalarValue::try_from_array(a, i))
                    .collect::<Result<Vec<_>, _>>()?;
                rows.push(row);
            }
        }
        Ok(Self { columns, rows })
    }

    fn index(&self, column: &str) -> usize {
        self.columns
            .iter()
            .position(|c| c == column)
            .unwrap_or_else(|| panic!("the report's SQL selects {column}"))
    }

    /// The text in `column` of each row (`None` for SQL NULL).
    pub fn text(&self, row: &[ScalarValue], column: &str) -> Option<String> {
        match &row[self.index(column)] {
            ScalarValue::Utf8(v) | ScalarValue::LargeUtf8(v) | ScalarValue::Utf8View(v) => v.clone(),
            other if other.is_null() => None,
            other => Some(other.to_string()),
        }
    }

    pub fn int(&self, row: &[ScalarValue], column: &str) -> Option<i64> {
        match self.cast(row, column, DataType::Int64)? {
            ScalarValue::Int64(v) => v,
            _ => None,
        }
    }

    /// The count in column `n` and the cell key whose sum of record keys is in `k`.
    pub fn count(&self, row: &[ScalarValue], n: &str, k: &str) -> crate::table::Count {
        crate::table::Count {
            n: self.int(row, n).unwrap_or(0).max(0) as u64,
            key: crate::sdc::cell_key(self.int(row, k).unwrap_or(0)),
        }
    }

    pub fn float(&self, row: &[ScalarValue], column: &str) -> Option<f64> {
        match self.cast(row, column, DataType::Float64)? {
            ScalarValue::Float64(v) => v,
            _ => None,
        }
    }

    fn cast(&self, row: &[ScalarValue], column: &str, to: DataType) -> Option<ScalarValue> {
        let v = &row[self.index(column)];
        if v.is_null() { None } else { v.cast_to(&to).ok() }
    }
}

/// `s` as an SQL string literal.
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
