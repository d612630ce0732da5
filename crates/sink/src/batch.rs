//! Rows to Arrow: a [`BatchBuilder`] takes the cells of each row in column order and
//! yields a `RecordBatch` whose schema comes from the dataset's column list.

use arrow_array::builder::{
    ArrayBuilder, BooleanBuilder, Date32Builder, Int16Builder, Int32Builder, Int64Builder, ListBuilder, StringBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use msma_schema::{CellSink, Column, ColumnType};
use std::cell::RefCell;
use std::sync::Arc;

/// The Arrow schema of a list of columns.
pub fn arrow_schema(columns: &[Column]) -> SchemaRef {
    let fields: Vec<Field> = columns
        .iter()
        .map(|c| Field::new(c.name, data_type(c.ty), c.nullable))
        .collect();
    Arc::new(Schema::new(fields))
}

fn data_type(ty: ColumnType) -> DataType {
    match ty {
        ColumnType::Code(_) | ColumnType::Text => DataType::Utf8,
        ColumnType::CodeList(_) => DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
        ColumnType::Bool => DataType::Boolean,
        ColumnType::Int16 => DataType::Int16,
        ColumnType::Int32 => DataType::Int32,
        ColumnType::Int64 => DataType::Int64,
        ColumnType::Date => DataType::Date32,
    }
}

/// [`arrow_schema`], made once per list of columns and thread: a builder is made for
/// every partition of every block of events, and a schema of its own would stay with its
/// batch until the batch is written (5 MiB of a file ingest's peak on 1,000,000 events).
fn shared_schema(columns: &[Column]) -> SchemaRef {
    thread_local! {
        static MADE: RefCell<Vec<(Vec<Column>, SchemaRef)>> = const { RefCell::new(Vec::new()) };
    }
    MADE.with_borrow_mut(|made| {
        if let Some((_, schema)) = made.iter().find(|(c, _)| c == columns) {
            return schema.clone();
        }
        let schema = arrow_schema(columns);
        made.push((columns.to_vec(), schema.clone()));
        schema
    })
}

enum Col {
    Str(StringBuilder),
    List(ListBuilder<StringBuilder>),
    Bool(BooleanBuilder),
    I16(Int16Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    Date(Date32Builder),
}

impl Col {
    /// Empty builders, growing as rows come: arrow's default capacity (1,024 rows)
    /// would stay with the batches of partitions that get a few rows a block.
    fn new(ty: ColumnType) -> Self {
        let text = || StringBuilder::with_capacity(0, 0);
        match ty {
            ColumnType::Code(_) | ColumnType::Text => Col::Str(text()),
            ColumnType::CodeList(_) => Col::List(ListBuilder::with_capacity(text(), 0)),
            ColumnType::Bool => Col::Bool(BooleanBuilder::with_capacity(0)),
            ColumnType::Int16 => Col::I16(Int16Builder::with_capacity(0)),
            ColumnType::Int32 => Col::I32(Int32Builder::with_capacity(0)),
            ColumnType::Int64 => Col::I64(Int64Builder::with_capacity(0)),
            ColumnType::Date => Col::Date(Date32Builder::with_capacity(0)),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Col::Str(b) => Arc::new(b.finish()),
            Col::List(b) => Arc::new(b.finish()),
            Col::Bool(b) => Arc::new(b.finish()),
            Col::I16(b) => Arc::new(b.finish()),
            Col::I32(b) => Arc::new(b.finish()),
            Col::I64(b) => Arc::new(b.finish()),
            Col::Date(b) => Arc::new(b.finish()),
        }
    }

    fn len(&self) -> usize {
        match self {
            Col::Str(b) => b.len(),
            Col::List(b) => b.len(),
            Col::Bool(b) => b.len(),
            Col::I16(b) => b.len(),
            Col::I32(b) => b.len(),
            Col::I64(b) => b.len(),
            Col::Date(b) => b.len(),
        }
    }
}

/// Accumulates rows of one dataset. Cells must come in column order and with the
/// column's type: a mismatch is a bug in msma, reported with the column's name.
pub struct BatchBuilder {
    schema: SchemaRef,
    names: Vec<&'static str>,
    cols: Vec<Col>,
    next: usize,
    rows: usize,
}

impl BatchBuilder {
    pub fn new(columns: &[Column]) -> Self {
        Self {
            schema: shared_schema(columns),
            names: columns.iter().map(|c| c.name).collect(),
            cols: columns.iter().map(|c| Col::new(c.ty)).collect(),
            next: 0,
            rows: 0,
        }
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Rows completed so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Closes the current row; every column must have received its cell.
    pub fn end_row(&mut self) {
        assert_eq!(
            self.next,
            self.cols.len(),
            "row ended after {} of {} cells",
            self.next,
            self.cols.len()
        );
        self.next = 0;
        self.rows += 1;
    }

    /// The completed rows as a batch; the builder starts afresh.
    pub fn finish(&mut self) -> RecordBatch {
        assert_eq!(self.next, 0, "finish inside a row");
        debug_assert!(self.cols.iter().all(|c| c.len() == self.rows));
        let arrays = self.cols.iter_mut().map(Col::finish).collect();
        self.rows = 0;
        RecordBatch::try_new(self.schema.clone(), arrays).expect("builders follow the schema")
    }

    fn col(&mut self) -> (&'static str, &mut Col) {
        let i = self.next;
        assert!(i < self.cols.len(), "more cells than the {} columns", self.cols.len());
        self.next += 1;
        (self.names[i], &mut self.cols[i])
    }
}

fn mismatch(name: &str) -> ! {
    panic!("cell of the wrong type for column {name}")
}

impl CellSink for BatchBuilder {
    fn code(&mut self, v: Option<&'static str>) {
        self.text(v)
    }

    fn codes(&mut self, v: &mut dyn Iterator<Item = &'static str>) {
        match self.col() {
            (_, Col::List(b)) => {
                for code in v {
                    b.values().append_value(code);
                }
                b.append(true);
            }
            (name, _) => mismatch(name),
        }
    }

    fn text(&mut self, v: Option<&str>) {
        match self.col() {
            (_, Col::Str(b)) => b.append_option(v),
            (name, _) => mismatch(name),
        }
    }

    fn bool(&mut self, v: Option<bool>) {
        match self.col() {
            (_, Col::Bool(b)) => b.append_option(v),
            (name, _) => mismatch(name),
        }
    }

    fn int(&mut self, v: Option<i64>) {
        match self.col() {
            (_, Col::I16(b)) => b.append_option(v.map(|x| x as i16)),
            (_, Col::I32(b)) => b.append_option(v.map(|x| x as i32)),
            (_, Col::I64(b)) => b.append_option(v),
            (name, _) => mismatch(name),
        }
    }

    fn date(&mut self, v: Option<i32>) {
        match self.col() {
            (_, Col::Date(b)) => b.append_option(v),
            (name, _) => mismatch(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use msma_schema::{EventType, dataset_columns};

    #[test]
    fn builders_of_a_dataset_share_one_schema() {
        let columns = dataset_columns(EventType::PatientInclusion);
        let (a, b) = (BatchBuilder::new(&columns), BatchBuilder::new(&columns));
        assert!(
            Arc::ptr_eq(a.schema(), b.schema()),
            "a schema per builder stays with every batch"
        );
        assert_eq!(**a.schema(), *arrow_schema(&columns));
        let other = BatchBuilder::new(&dataset_columns(EventType::SubstanceAssessment));
        assert!(!Arc::ptr_eq(a.schema(), other.schema()));
    }
}
