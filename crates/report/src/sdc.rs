//! Statistical disclosure control of report tables.
//!
//! 1. Primary suppression: every count below the threshold (zero included, as the rule
//!    reads "below 11") is masked.
//! 2. Secondary suppression: in every additive line (members adding up to a published
//!    total), a single masked cell could be rebuilt by subtraction, so the smallest
//!    unmasked member (or the total) is masked too, until no line has exactly one
//!    masked cell.
//! 3. Derived figures (means, ratios, amounts) are masked when a count they depend on is,
//!    or when they are computed from fewer patients than the threshold.

use crate::table::{Mask, Table};

/// What disclosure control did to a report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Suppressed {
    pub primary: usize,
    pub secondary: usize,
    pub derived: usize,
}

impl Suppressed {
    pub fn add(&mut self, table: &Table) {
        self.primary += table.masked(Mask::Primary);
        self.secondary += table.masked(Mask::Secondary);
        self.derived += table.masked(Mask::Derived);
    }
}

/// Protects tables that share counts (cells with the same [`Cell::key`]): a count masked
/// in one table is masked in every other, and their lines are protected again, until
/// nothing changes.
///
/// [`Cell::key`]: crate::table::Cell::key
pub fn protect_all(tables: &mut [Table], threshold: u64) {
    loop {
        for table in tables.iter_mut() {
            protect(table, threshold);
        }
        let masked: std::collections::HashSet<String> = tables
            .iter()
            .flat_map(|t| t.rows.iter().flat_map(|r| &r.cells))
            .filter(|c| c.mask.is_some())
            .filter_map(|c| c.key.clone())
            .collect();
        let mut changed = false;
        for cell in tables
            .iter_mut()
            .flat_map(|t| t.rows.iter_mut().flat_map(|r| &mut r.cells))
        {
            if cell.mask.is_none() && cell.key.as_ref().is_some_and(|k| masked.contains(k)) {
                cell.mask = Some(Mask::Secondary);
                changed = true;
            }
        }
        if !changed {
            return;
        }
    }
}

/// Masks the cells of `table` that the rules above say to mask. Masks already set stay,
/// so it can run again after another table's masks were carried over.
pub fn protect(table: &mut Table, threshold: u64) {
    for row in &mut table.rows {
        for cell in &mut row.cells {
            if cell.as_count().is_some_and(|n| n < threshold) {
                cell.mask = Some(Mask::Primary);
            }
        }
    }
    secondary(table);
    for r in 0..table.rows.len() {
        for c in 0..table.rows[r].cells.len() {
            let cell = &table.rows[r].cells[c];
            let hidden = cell.depends_on.iter().any(|&at| table.cell(at).mask.is_some())
                || cell.group.is_some_and(|n| n < threshold);
            if hidden && cell.mask.is_none() && cell.value.is_some() {
                table.rows[r].cells[c].mask = Some(Mask::Derived);
            }
        }
    }
}

fn secondary(table: &mut Table) {
    loop {
        let mut changed = false;
        for i in 0..table.lines.len() {
            let line = &table.lines[i];
            let masked = line
                .members
                .iter()
                .chain(std::iter::once(&line.total))
                .filter(|&&at| table.cell(at).mask.is_some())
                .count();
            if masked != 1 {
                continue;
            }
            let open = |at: &&(usize, usize)| table.cell(**at).mask.is_none();
            let pick = line
                .members
                .iter()
                .filter(open)
                .min_by_key(|&&at| table.cell(at).as_count().unwrap_or(u64::MAX))
                .or_else(|| Some(&line.total).filter(open))
                .copied();
            if let Some(at) = pick {
                table.cell_mut(at).mask = Some(Mask::Secondary);
                changed = true;
            }
        }
        if !changed {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Cell, Row};

    fn grid(counts: &[&[u64]]) -> Table {
        Table {
            id: "t",
            title: "t".into(),
            note: String::new(),
            row_header: "r".into(),
            columns: (0..counts[0].len()).map(|c| c.to_string()).collect(),
            rows: counts
                .iter()
                .enumerate()
                .map(|(i, r)| Row {
                    key: i.to_string(),
                    label: i.to_string(),
                    cells: r.iter().map(|&n| Cell::count(n)).collect(),
                    total: false,
                })
                .collect(),
            lines: Vec::new(),
            chart: None,
        }
    }

    /// A table with row totals in the last column and a total row at the bottom.
    fn with_totals(counts: &[&[u64]]) -> Table {
        let mut rows: Vec<Vec<u64>> = counts
            .iter()
            .map(|r| {
                let mut r = r.to_vec();
                r.push(r.iter().sum());
                r
            })
            .collect();
        let totals = (0..rows[0].len()).map(|c| rows.iter().map(|r| r[c]).sum()).collect();
        rows.push(totals);
        let refs: Vec<&[u64]> = rows.iter().map(Vec::as_slice).collect();
        let mut t = grid(&refs);
        let (nr, nc) = (counts.len(), counts[0].len());
        t.rows_add_up(0..nc, nc);
        t.columns_add_up(0..nr, nr, 0..nc + 1);
        t
    }

    /// No additive line may have exactly one masked cell.
    fn rebuildable(t: &Table) -> bool {
        t.lines.iter().any(|l| {
            l.members
                .iter()
                .chain(std::iter::once(&l.total))
                .filter(|&&at| t.cell(at).mask.is_some())
                .count()
                == 1
        })
    }

    #[test]
    fn small_counts_and_their_complements_are_masked() {
        let mut t = with_totals(&[&[120, 5], &[98, 140], &[30, 41]]);
        protect(&mut t, 11);
        assert_eq!(t.cell((0, 1)).mask, Some(Mask::Primary));
        // 120 + <11 = 125 would give it away: 120, the only other count of row 0, goes
        // too; in column 1, the smallest other count (41) does.
        assert!(!rebuildable(&t));
        assert_eq!(t.masked(Mask::Primary), 1);
        assert_eq!(t.cell((0, 0)).mask, Some(Mask::Secondary));
        assert_eq!(t.cell((2, 1)).mask, Some(Mask::Secondary));
    }

    #[test]
    fn nothing_masked_when_every_count_is_large() {
        let mut t = with_totals(&[&[120, 50], &[98, 140]]);
        protect(&mut t, 11);
        assert_eq!(t.masked(Mask::Primary) + t.masked(Mask::Secondary), 0);
    }

    #[test]
    fn zero_is_below_the_threshold() {
        let mut t = with_totals(&[&[0, 50], &[98, 140]]);
        protect(&mut t, 11);
        assert_eq!(t.cell((0, 0)).mask, Some(Mask::Primary));
        assert!(!rebuildable(&t));
    }

    #[test]
    fn many_small_cells_hold_in_random_tables() {
        // A small deterministic generator: 200 tables of 2 to 6 rows and 2 to 4 columns.
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut next = |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % m
        };
        for _ in 0..200 {
            let (nr, nc) = (2 + next(5) as usize, 2 + next(3) as usize);
            let rows: Vec<Vec<u64>> = (0..nr).map(|_| (0..nc).map(|_| next(40)).collect()).collect();
            let refs: Vec<&[u64]> = rows.iter().map(Vec::as_slice).collect();
            let mut t = with_totals(&refs);
            protect(&mut t, 11);
            assert!(!rebuildable(&t));
            for row in &t.rows {
                for cell in &row.cells {
                    if cell.as_count().unwrap() < 11 {
                        assert!(cell.mask.is_some());
                    }
                }
            }
        }
    }

    #[test]
    fn a_count_masked_in_one_table_is_masked_in_the_others() {
        // Table a masks its 12 as a complement of the 5; table b publishes the same 12
        // (same key) beside a total, so it must mask it and protect its own line again.
        let mut a = with_totals(&[&[5, 12]]);
        a.rows[0].cells[1] = Cell::count(12).keyed("x");
        let mut b = with_totals(&[&[12, 300], &[40, 50]]);
        b.rows[0].cells[0] = Cell::count(12).keyed("x");
        let mut tables = [a, b];
        protect_all(&mut tables, 11);
        assert_eq!(tables[1].cell((0, 0)).mask, Some(Mask::Secondary));
        assert!(!rebuildable(&tables[0]) && !rebuildable(&tables[1]));
    }

    #[test]
    fn derived_figures_follow_their_group() {
        let mut t = grid(&[&[5, 0], &[40, 0]]);
        t.rows[0].cells[1] = Cell::mean(Some(43.5), 5, vec![(0, 0)]);
        t.rows[1].cells[1] = Cell::mean(Some(42.0), 8, vec![(1, 0)]);
        protect(&mut t, 11);
        assert_eq!(t.cell((0, 1)).mask, Some(Mask::Derived));
        // 40 patients, but the mean is over the 8 of them with a known age.
        assert_eq!(t.cell((1, 1)).mask, Some(Mask::Derived));
        assert_eq!(t.cell((1, 0)).mask, None);
        assert_eq!(t.cell((0, 1)).display("<11"), "<11");
    }
}
