//! A report table: rows of cells, each a count (with the cell key of what it counts) or
//! a figure derived from counts. Disclosure control ([`crate::sdc`]) decides what each
//! cell shows.

/// A number of patients, meetings, consultations..., and the cell key of the records it
/// counts ([`crate::sdc::record_key`]): the same records give the same key in every table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    pub n: u64,
    pub key: u32,
}

impl Count {
    /// The count of two disjoint sets of records.
    pub fn plus(self, other: Count) -> Count {
        Count {
            n: self.n + other.n,
            key: self.key.wrapping_add(other.key),
        }
    }
}

/// What a derived figure is computed from: a count of the table, or one it does not show.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Term {
    At((usize, usize)),
    Unshown(Count),
}

/// A published figure, before disclosure control.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Count(Count),
    /// `scale × Σ numerator / Σ denominator` (1 for no denominator), computed from the
    /// counts as published, so that it tells nothing they do not.
    Ratio {
        numerator: Vec<Term>,
        denominator: Vec<Term>,
        scale: f64,
        decimals: u8,
    },
    /// A figure computed from the records of a group (a mean age), shown only when the
    /// count of that group, the cell `of`, is; `None` when the group is empty.
    Figure {
        value: Option<f64>,
        decimals: u8,
        of: (usize, usize),
    },
}

/// What a masked cell shows, whatever the reason ("confidential", as the UK statistics
/// guidance marks it).
pub const MARK: &str = "[c]";

/// Why a cell is not shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mask {
    /// A count below the threshold, before or after perturbation.
    Small,
    /// A figure computed from a masked count.
    Derived,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// `None`: no figure belongs here (the same in every report).
    pub value: Option<Value>,
    pub mask: Option<Mask>,
    /// The figure as published, set by disclosure control.
    pub published: Option<f64>,
}

impl Cell {
    pub fn count(count: Count) -> Self {
        Self::new(Some(Value::Count(count)))
    }

    /// `scale × Σ numerator / Σ denominator`, see [`Value::Ratio`].
    pub fn ratio(numerator: Vec<Term>, denominator: Vec<Term>, scale: f64, decimals: u8) -> Self {
        Self::new(Some(Value::Ratio {
            numerator,
            denominator,
            scale,
            decimals,
        }))
    }

    /// A mean over the records counted by the cell `of`.
    pub fn mean(value: Option<f64>, of: (usize, usize)) -> Self {
        Self::new(Some(Value::Figure { value, decimals: 1, of }))
    }

    /// No figure belongs here.
    pub fn empty() -> Self {
        Self::new(None)
    }

    fn new(value: Option<Value>) -> Self {
        Self {
            value,
            mask: None,
            published: None,
        }
    }

    pub fn as_count(&self) -> Option<Count> {
        match self.value {
            Some(Value::Count(c)) => Some(c),
            _ => None,
        }
    }

    fn decimals(&self) -> usize {
        match self.value {
            Some(Value::Ratio { decimals, .. } | Value::Figure { decimals, .. }) => usize::from(decimals),
            _ => 0,
        }
    }

    /// The published figure rounded as shown (what scripts get).
    pub fn rounded(&self) -> Option<f64> {
        let scale = 10f64.powi(self.decimals() as i32);
        self.published.map(|v| (v * scale).round() / scale)
    }

    /// The cell as shown: the published figure, [`MARK`] when masked, "–" where no
    /// figure belongs.
    pub fn display(&self) -> String {
        match (self.mask, self.published) {
            (Some(_), _) => MARK.into(),
            (None, Some(v)) => format!("{v:.*}", self.decimals()),
            (None, None) => "–".into(),
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

    /// Number of masked cells, by kind.
    pub fn masked(&self, kind: Mask) -> usize {
        self.rows
            .iter()
            .flat_map(|r| &r.cells)
            .filter(|c| c.mask == Some(kind))
            .count()
    }
}
