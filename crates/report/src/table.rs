//! A report table: rows of cells, each a count or a figure derived from counts, and the
//! additive relations between its counts (which cells add up to which total), which
//! disclosure control needs to know what could be rebuilt by subtraction.

/// A published figure, before disclosure control.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// A number of patients, meetings, consultations...
    Count(u64),
    /// A figure computed from the people of a group: hidden when that group is masked.
    Derived { value: f64, decimals: u8 },
    /// An amount in euros.
    Euros(f64),
}

/// Why a cell is not shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mask {
    /// A count below the threshold.
    Primary,
    /// A count that would let a masked one be rebuilt from a total.
    Secondary,
    /// A figure computed from a masked or too small group.
    Derived,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub value: Option<Value>,
    pub mask: Option<Mask>,
    /// Cells whose masking hides this one: the group a mean or a ratio is computed from.
    pub depends_on: Vec<(usize, usize)>,
    /// How many patients a derived figure is computed from: hidden below the threshold.
    pub group: Option<u64>,
    /// What the count counts, when another table of the report publishes the same
    /// count: masked in one, masked in all (or one table would give away the other).
    pub key: Option<String>,
}

impl Cell {
    pub fn count(n: u64) -> Self {
        Self::new(Some(Value::Count(n)))
    }

    pub fn derived(value: Option<f64>, decimals: u8, depends_on: Vec<(usize, usize)>) -> Self {
        Self {
            depends_on,
            ..Self::new(value.map(|value| Value::Derived { value, decimals }))
        }
    }

    /// A mean over `group` patients.
    pub fn mean(value: Option<f64>, group: u64, depends_on: Vec<(usize, usize)>) -> Self {
        Self {
            group: Some(group),
            ..Self::derived(value, 1, depends_on)
        }
    }

    pub fn euros(value: f64, depends_on: Vec<(usize, usize)>) -> Self {
        Self {
            depends_on,
            ..Self::new(Some(Value::Euros(value)))
        }
    }

    /// No figure: nothing to compute it from.
    pub fn empty() -> Self {
        Self::new(None)
    }

    fn new(value: Option<Value>) -> Self {
        Self {
            value,
            mask: None,
            depends_on: Vec::new(),
            group: None,
            key: None,
        }
    }

    /// Names what the count counts (see [`Cell::key`]).
    pub fn keyed(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    pub fn as_count(&self) -> Option<u64> {
        match self.value {
            Some(Value::Count(n)) => Some(n),
            _ => None,
        }
    }

    /// The published value, `None` when masked or absent.
    pub fn published(&self) -> Option<f64> {
        if self.mask.is_some() {
            return None;
        }
        self.value.map(|v| match v {
            Value::Count(n) => n as f64,
            Value::Derived { value, .. } | Value::Euros(value) => value,
        })
    }

    /// The cell as shown: the value, or `masked` (e.g. "<11"), or "–" for no value.
    pub fn display(&self, masked: &str) -> String {
        if self.mask.is_some() {
            return masked.to_string();
        }
        match self.value {
            None => "–".into(),
            Some(Value::Count(n)) => n.to_string(),
            Some(Value::Derived { value, decimals }) => format!("{value:.*}", usize::from(decimals)),
            Some(Value::Euros(v)) => format!("{v:.0}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// A stable key for scripts (a code, a year, a network id).
    pub key: String,
    /// What a reader sees.
    pub label: String,
    pub cells: Vec<Cell>,
    /// A total row: in the table, not in its chart.
    pub total: bool,
}

/// Counts that add up to a published total: `members` sum to `total`.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub members: Vec<(usize, usize)>,
    pub total: (usize, usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Stable identifier for scripts, e.g. "followed_per_year".
    pub id: &'static str,
    pub title: String,
    /// How the figures are defined, shown under the table.
    pub note: String,
    pub row_header: String,
    pub columns: Vec<String>,
    pub rows: Vec<Row>,
    pub lines: Vec<Line>,
    pub chart: Option<ChartSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    Bars,
    Lines,
}

/// How a table is drawn: its rows are the categories, `series` columns the series.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartSpec {
    pub kind: ChartKind,
    pub series: Vec<usize>,
    pub value_axis: String,
}

impl Table {
    pub fn cell(&self, (r, c): (usize, usize)) -> &Cell {
        &self.rows[r].cells[c]
    }

    pub fn cell_mut(&mut self, (r, c): (usize, usize)) -> &mut Cell {
        &mut self.rows[r].cells[c]
    }

    /// Declares that, in every row, the cells of `members` columns add up to column
    /// `total`.
    pub fn rows_add_up(&mut self, members: std::ops::Range<usize>, total: usize) {
        for r in 0..self.rows.len() {
            self.lines.push(Line {
                members: members.clone().map(|c| (r, c)).collect(),
                total: (r, total),
            });
        }
    }

    /// Declares that, in each of `columns`, the rows `members` add up to row `total`.
    pub fn columns_add_up(&mut self, members: std::ops::Range<usize>, total: usize, columns: std::ops::Range<usize>) {
        for c in columns {
            self.lines.push(Line {
                members: members.clone().map(|r| (r, c)).collect(),
                total: (total, c),
            });
        }
    }

    /// Number of masked cells, by kind.
    pub fn masked(&self, kind: Mask) -> usize {
        self.rows
            .iter()
            .flat_map(|r| &r.cells)
            .filter(|c| c.mask == Some(kind))
            .count()
    }
}
