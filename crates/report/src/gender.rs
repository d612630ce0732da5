//! `msma report gender`: the six views of the CNRMS presentation on women in
//! microstructures, from the datasets.

use crate::frame::Frame;
use crate::scope::register_followed;
use crate::table::{Cell, ChartKind, ChartSpec, Row, Table};
use crate::{Report, Settings, labels};
use msma_model::{FirstReason, MainIncome, Product, ProfessionalActivity};
use msma_query::{Catalog, Result};
use std::collections::HashMap;

/// The report's sex columns: women, men, then their total.
const WOMEN: usize = 0;
const MEN: usize = 1;
const BOTH: usize = 2;

pub async fn build(catalog: &Catalog, settings: &Settings) -> Result<Report> {
    register_followed(catalog, &settings.filter).await?;
    let mut report = Report::new("gender", "Women and men followed in microstructures", catalog, settings);

    let yearly = Frame::query(
        catalog,
        "SELECT year, sex, COUNT(*) AS n FROM followed GROUP BY year, sex",
    )
    .await?;
    let mut years: Vec<i64> = yearly.rows.iter().filter_map(|r| yearly.int(r, "year")).collect();
    years.sort_unstable();
    years.dedup();
    let year = settings.year.map(i64::from).or(years.last().copied());
    report.year = year;
    report.tables.push(followed_per_year(&yearly, &years));
    let Some(year) = year else {
        return Ok(report.finish(settings));
    };

    let by = |column: &str| {
        format!(
            "SELECT {column} AS category, sex, COUNT(*) AS n FROM followed WHERE year = {year} \
             GROUP BY {column}, sex"
        )
    };
    let unknown = Frame::query(
        catalog,
        &format!("SELECT COUNT(*) AS n FROM followed WHERE year = {year} AND sex = 'U'"),
    )
    .await?;
    report.unknown_sex = unknown
        .rows
        .first()
        .and_then(|r| unknown.int(r, "n"))
        .map(|n| n.max(0) as u64);

    let regions = count_by_category(&Frame::query(catalog, &by("region")).await?);
    report.tables.push(sex_ratio_by_region(&regions, year));

    let ages = Frame::query(
        catalog,
        &format!(
            "SELECT sex, COUNT(*) AS n, COUNT(age) AS known, AVG(age) AS mean_age
             FROM followed WHERE year = {year} GROUP BY sex"
        ),
    )
    .await?;
    let groups = count_by_category(
        &Frame::query(
            catalog,
            &format!(
                "SELECT CASE WHEN age < 25 THEN '<25' WHEN age < 35 THEN '25-34' WHEN age < 45 THEN '35-44'
                          WHEN age < 55 THEN '45-54' WHEN age < 65 THEN '55-64' ELSE '65+' END AS category,
                        sex, COUNT(*) AS n
                 FROM followed WHERE year = {year} AND age IS NOT NULL GROUP BY 1, sex"
            ),
        )
        .await?,
    );
    report.tables.push(age_by_sex(&ages, year));
    report.tables.push(age_groups_by_sex(&groups, year));

    for (column, codes, id, title) in [
        (
            "main_income",
            MainIncome::CODES,
            "income_by_sex",
            "Main source of income",
        ),
        (
            "professional_activity",
            ProfessionalActivity::CODES,
            "activity_by_sex",
            "Professional activity",
        ),
        (
            "first_reason",
            FirstReason::CODES,
            "first_reason_by_sex",
            "First reason for care",
        ),
    ] {
        let counts = count_by_category(&Frame::query(catalog, &by(column)).await?);
        let rows = category_rows(&counts, codes);
        let mut table = by_sex(
            id,
            format!("{title} by sex, {year}"),
            format!(
                "Patients followed in {year}, by the {title_l} of their latest inclusion.",
                title_l = title.to_lowercase()
            ),
            title,
            &rows,
            &counts,
        );
        add_total_row(&mut table);
        if let Some(total) = table.rows.last_mut() {
            key_sexes(total, &followed_key(year));
        }
        report.tables.push(table);
    }

    let origin = format!(
        "WITH origin AS (
           SELECT DISTINCT network_id, patient_pseudonym, product FROM substance_assessment WHERE origin_of_care),
         patients AS (
           SELECT f.sex, o.patient_pseudonym, o.network_id, o.product
           FROM followed f JOIN origin o
             ON f.network_id = o.network_id AND f.patient_pseudonym = o.patient_pseudonym
           WHERE f.year = {year})"
    );
    let products = count_by_category(
        &Frame::query(
            catalog,
            &format!("{origin} SELECT product AS category, sex, COUNT(*) AS n FROM patients GROUP BY product, sex"),
        )
        .await?,
    );
    let any = count_by_category(
        &Frame::query(
            catalog,
            &format!(
                "{origin} SELECT NULL AS category, sex, COUNT(DISTINCT network_id || '/' || patient_pseudonym) AS n
                 FROM patients GROUP BY sex"
            ),
        )
        .await?,
    );
    report.tables.push(products_by_sex(&products, &any, year));
    Ok(report.finish(settings))
}

type Counts = HashMap<(Option<String>, String), u64>;

/// `(category, sex) → n` from rows of `category, sex, n`.
fn count_by_category(frame: &Frame) -> Counts {
    frame
        .rows
        .iter()
        .map(|r| {
            let n = frame.int(r, "n").unwrap_or(0).max(0) as u64;
            ((frame.text(r, "category"), frame.text(r, "sex").unwrap_or_default()), n)
        })
        .collect()
}

/// The categories present, in code-list order, then "Unknown" when some are.
fn category_rows(counts: &Counts, codes: &[&str]) -> Vec<(Option<String>, String)> {
    let present = |c: Option<&str>| counts.keys().any(|(k, s)| k.as_deref() == c && s != "U");
    let mut rows: Vec<_> = codes
        .iter()
        .filter(|c| present(Some(c)))
        .map(|c| (Some(c.to_string()), labels::code(c)))
        .collect();
    if present(None) {
        rows.push((None, "Unknown".into()));
    }
    rows
}

fn sexes() -> Vec<String> {
    vec!["Women".into(), "Men".into(), "Women and men".into()]
}

fn bars() -> Option<ChartSpec> {
    Some(ChartSpec {
        kind: ChartKind::Bars,
        series: vec![WOMEN, MEN],
        value_axis: "Patients".into(),
    })
}

/// Rows of women, men and their total; each row adds up.
fn by_sex(
    id: &'static str,
    title: String,
    note: String,
    row_header: &str,
    rows: &[(Option<String>, String)],
    counts: &Counts,
) -> Table {
    let n = |k: &Option<String>, s: &str| counts.get(&(k.clone(), s.to_string())).copied().unwrap_or(0);
    let mut table = Table {
        id,
        title,
        note,
        row_header: row_header.into(),
        columns: sexes(),
        rows: rows
            .iter()
            .map(|(key, label)| Row {
                key: key.clone().unwrap_or_else(|| "unknown".into()),
                label: label.clone(),
                cells: vec![
                    Cell::count(n(key, "F")),
                    Cell::count(n(key, "M")),
                    Cell::count(n(key, "F") + n(key, "M")),
                ],
                total: false,
            })
            .collect(),
        lines: Vec::new(),
        chart: bars(),
    };
    table.rows_add_up(WOMEN..BOTH, BOTH);
    table
}

/// Names the women, men and total cells of `row` as the counts `{prefix}/F`, `/M` and
/// `/FM`, which other tables may publish too.
fn key_sexes(row: &mut Row, prefix: &str) {
    for (cell, sex) in row.cells.iter_mut().zip(["F", "M", "FM"]) {
        cell.key = Some(format!("{prefix}/{sex}"));
    }
}

/// Patients followed in `year`, all of them: the total of most one-year tables.
fn followed_key(year: i64) -> String {
    format!("followed/{year}")
}

/// Appends the sum of the rows; each column adds up to it.
fn add_total_row(table: &mut Table) {
    let rows = table.rows.len();
    let cells = (0..table.columns.len())
        .map(|c| Cell::count(table.rows.iter().filter_map(|r| r.cells[c].as_count()).sum()))
        .collect();
    table.rows.push(Row {
        key: "total".into(),
        label: "Total".into(),
        cells,
        total: true,
    });
    table.lines.push(crate::table::Line {
        members: (0..2).map(|c| (rows, c)).collect(),
        total: (rows, BOTH),
    });
    table.columns_add_up(0..rows, rows, 0..table.columns.len());
}

fn followed_per_year(frame: &Frame, years: &[i64]) -> Table {
    let counts: Counts = frame
        .rows
        .iter()
        .map(|r| {
            let n = frame.int(r, "n").unwrap_or(0).max(0) as u64;
            (
                (
                    frame.int(r, "year").map(|y| y.to_string()),
                    frame.text(r, "sex").unwrap_or_default(),
                ),
                n,
            )
        })
        .collect();
    let rows: Vec<_> = years.iter().map(|y| (Some(y.to_string()), y.to_string())).collect();
    let mut table = by_sex(
        "followed_per_year",
        "Patients followed per year, by sex".into(),
        "Patients with at least one contact of care in the year (inclusion, assessment, consultation attended, \
         synthesis review, screening or treatment). A patient followed over several years counts in each."
            .into(),
        "Year",
        &rows,
        &counts,
    );
    for row in &mut table.rows {
        let year: i64 = row.key.parse().unwrap_or_default();
        key_sexes(row, &followed_key(year));
    }
    table.chart = Some(ChartSpec {
        kind: ChartKind::Lines,
        series: vec![WOMEN, MEN],
        value_axis: "Patients".into(),
    });
    table
}

fn sex_ratio_by_region(counts: &Counts, year: i64) -> Table {
    let mut keys: Vec<Option<String>> = counts
        .keys()
        .filter(|(_, s)| s != "U")
        .map(|(k, _)| k.clone())
        .collect();
    keys.sort();
    keys.dedup();
    // Known regions first, in code order; "Unknown" last.
    let unknown_first = keys.first().is_some_and(Option::is_none);
    keys.rotate_left(usize::from(unknown_first));
    let rows: Vec<_> = keys
        .into_iter()
        .map(|k| {
            let label = k.as_deref().map_or_else(|| "Unknown".into(), labels::region);
            (k, label)
        })
        .collect();
    let mut table = by_sex(
        "sex_ratio_by_region",
        format!("Sex ratio by region of residence, {year}"),
        format!(
            "Patients followed in {year} by region of residence at their latest inclusion. Sex ratio: men per \
             woman."
        ),
        "Region",
        &rows,
        counts,
    );
    add_total_row(&mut table);
    if let Some(total) = table.rows.last_mut() {
        key_sexes(total, &followed_key(year));
    }
    table
        .columns
        .extend(["Men per woman".into(), "Share of women (%)".into()]);
    for (r, row) in table.rows.iter_mut().enumerate() {
        let (w, m) = (
            row.cells[WOMEN].as_count().unwrap_or(0),
            row.cells[MEN].as_count().unwrap_or(0),
        );
        let depends = vec![(r, WOMEN), (r, MEN)];
        let ratio = (w > 0).then(|| m as f64 / w as f64);
        let share = (w + m > 0).then(|| 100.0 * w as f64 / (w + m) as f64);
        row.cells.push(Cell::derived(ratio, 2, depends.clone()));
        row.cells.push(Cell::derived(share, 1, depends));
    }
    table
}

fn age_by_sex(frame: &Frame, year: i64) -> Table {
    let rows: Vec<Row> = [("F", "Women"), ("M", "Men")]
        .into_iter()
        .enumerate()
        .map(|(r, (sex, label))| {
            let found = frame
                .rows
                .iter()
                .find(|row| frame.text(row, "sex").as_deref() == Some(sex));
            let (n, known, mean) = found.map_or((0, 0, None), |row| {
                let n = frame.int(row, "n").unwrap_or(0).max(0) as u64;
                let known = frame.int(row, "known").unwrap_or(0).max(0) as u64;
                (n, known, frame.float(row, "mean_age"))
            });
            Row {
                key: sex.into(),
                label: label.into(),
                cells: vec![
                    Cell::count(n).keyed(format!("{}/{sex}", followed_key(year))),
                    Cell::count(known).keyed(format!("known/{year}/{sex}")),
                    Cell::mean(mean, known, vec![(r, 1)]),
                ],
                total: false,
            }
        })
        .collect();
    let mut table = Table {
        id: "age_by_sex",
        title: format!("Patients and mean age by sex, {year}"),
        note: format!(
            "Patients followed in {year}; age in {year} = age at inclusion + years since. The mean is over the \
             patients whose age is known, and is not shown for fewer of them than the threshold."
        ),
        row_header: "Sex".into(),
        columns: vec!["Patients".into(), "With a known age".into(), "Mean age (years)".into()],
        rows,
        lines: Vec::new(),
        chart: None,
    };
    let totals = vec![
        Cell::count(table.rows.iter().filter_map(|r| r.cells[0].as_count()).sum())
            .keyed(format!("{}/FM", followed_key(year))),
        Cell::count(table.rows.iter().filter_map(|r| r.cells[1].as_count()).sum()).keyed(format!("known/{year}/FM")),
        Cell::empty(),
    ];
    table.rows.push(Row {
        key: "total".into(),
        label: "Women and men".into(),
        cells: totals,
        total: true,
    });
    table.columns_add_up(0..2, 2, 0..2);
    table
}

fn age_groups_by_sex(counts: &Counts, year: i64) -> Table {
    let groups = ["<25", "25-34", "35-44", "45-54", "55-64", "65+"];
    let rows: Vec<_> = groups
        .iter()
        .filter(|g| counts.keys().any(|(k, s)| k.as_deref() == Some(**g) && s != "U"))
        .map(|g| (Some(g.to_string()), g.to_string()))
        .collect();
    let mut table = by_sex(
        "age_groups_by_sex",
        format!("Age groups by sex, {year}"),
        format!("Patients followed in {year} whose age is known, by age in {year}."),
        "Age",
        &rows,
        counts,
    );
    add_total_row(&mut table);
    if let Some(total) = table.rows.last_mut() {
        key_sexes(total, &format!("known/{year}"));
    }
    table
}

fn products_by_sex(counts: &Counts, any: &Counts, year: i64) -> Table {
    let rows = category_rows(counts, Product::CODES);
    let mut table = by_sex(
        "origin_products_by_sex",
        format!("Products at the origin of care by sex, {year}"),
        format!(
            "Patients followed in {year} with the product marked at the origin of care in one of their \
             assessments. A patient may have several products: the rows do not add up to the last one."
        ),
        "Product",
        &rows,
        counts,
    );
    let n = |s: &str| any.get(&(None, s.to_string())).copied().unwrap_or(0);
    let r = table.rows.len();
    table.rows.push(Row {
        key: "any".into(),
        label: "Patients with a product at the origin of care".into(),
        cells: vec![Cell::count(n("F")), Cell::count(n("M")), Cell::count(n("F") + n("M"))],
        total: true,
    });
    table.lines.push(crate::table::Line {
        members: vec![(r, WOMEN), (r, MEN)],
        total: (r, BOTH),
    });
    table
}
