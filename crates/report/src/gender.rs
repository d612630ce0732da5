//! `msma report gender`: the six views of the CNRMS presentation on women in
//! microstructures, from the datasets.

use crate::frame::Frame;
use crate::scope::register_followed;
use crate::table::{Cell, ChartKind, ChartSpec, Count, Row, Table, Term};
use crate::{Report, Result, Settings, labels};
use msma_query::Catalog;
use msma_schema::{FirstReason, MainIncome, Product, ProfessionalActivity};
use std::collections::HashMap;

/// The report's sex columns: women, men, then both.
const WOMEN: usize = 0;
const MEN: usize = 1;

pub async fn build(catalog: &Catalog, settings: &Settings) -> Result<Report> {
    let extent = register_followed(catalog, settings).await?;
    let mut report = Report::new("gender", "Women and men followed in microstructures", catalog, settings);

    let yearly = Frame::query(
        catalog,
        "SELECT year, sex, COUNT(*) AS n, SUM(rkey) AS k FROM followed GROUP BY year, sex",
    )
    .await?;
    let latest = yearly.rows.iter().filter_map(|r| yearly.int(r, "year")).max();
    let year = settings.year.map(i64::from).or(latest).unwrap_or_default();
    report.year = Some(year);
    report.tables.push(followed_per_year(&yearly, &extent.years));

    report.unknown_sex = unknown_sex(catalog, year).await?;
    let regions = count_by_category(&Frame::query(catalog, &by_category("region", year)).await?);
    report
        .tables
        .push(sex_ratio_by_region(&regions, &extent.regions(&settings.filter), year));
    report.tables.extend(age_tables(catalog, year).await?);
    report.tables.extend(code_list_tables(catalog, year).await?);
    report.tables.push(origin_table(catalog, year).await?);
    Ok(report.finish(settings))
}

/// The query of rows of `category, sex, n, k` over one column of the patients followed in `year`.
fn by_category(column: &str, year: i64) -> String {
    format!(
        "SELECT {column} AS category, sex, COUNT(*) AS n, SUM(rkey) AS k FROM followed WHERE year = {year} \
         GROUP BY {column}, sex"
    )
}

/// The patients followed in `year` whose sex is unknown.
async fn unknown_sex(catalog: &Catalog, year: i64) -> Result<Option<Count>> {
    let unknown = Frame::query(
        catalog,
        &format!("SELECT COUNT(*) AS n, SUM(rkey) AS k FROM followed WHERE year = {year} AND sex = 'U'"),
    )
    .await?;
    Ok(unknown.rows.first().map(|r| unknown.count(r, "n", "k")))
}

/// The mean age, and the age groups, of women and men followed in `year`.
async fn age_tables(catalog: &Catalog, year: i64) -> Result<[Table; 2]> {
    let ages = Frame::query(
        catalog,
        &format!(
            "SELECT sex, COUNT(*) AS n, SUM(rkey) AS k, COUNT(age) AS known,
                    SUM(CASE WHEN age IS NOT NULL THEN rkey END) AS known_k, AVG(age) AS mean_age
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
                        sex, COUNT(*) AS n, SUM(rkey) AS k
                 FROM followed WHERE year = {year} AND age IS NOT NULL GROUP BY 1, sex"
            ),
        )
        .await?,
    );
    Ok([age_by_sex(&ages, year), age_groups_by_sex(&groups, year)])
}

/// Income, activity and first reason for care by sex, one row per code and a total.
async fn code_list_tables(catalog: &Catalog, year: i64) -> Result<Vec<Table>> {
    let mut tables = Vec::new();
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
        let counts = count_by_category(&Frame::query(catalog, &by_category(column, year)).await?);
        let mut table = by_sex(
            id,
            format!("{title} by sex, {year}"),
            format!(
                "Patients followed in {year}, by the {title_l} of their latest inclusion.",
                title_l = title.to_lowercase()
            ),
            title,
            &category_rows(codes),
            &counts,
        );
        add_total_row(&mut table);
        tables.push(table);
    }
    Ok(tables)
}

/// The products at the origin of care of women and men followed in `year`.
async fn origin_table(catalog: &Catalog, year: i64) -> Result<Table> {
    let origin = format!(
        "WITH origin AS (
           SELECT DISTINCT network_id, patient_pseudonym, product FROM substance_assessment WHERE origin_of_care),
         patients AS (
           SELECT f.sex, f.rkey, o.patient_pseudonym, o.network_id, o.product
           FROM followed f JOIN origin o
             ON f.network_id = o.network_id AND f.patient_pseudonym = o.patient_pseudonym
           WHERE f.year = {year})"
    );
    let products = count_by_category(
        &Frame::query(
            catalog,
            &format!(
                "{origin} SELECT product AS category, sex, COUNT(*) AS n, SUM(rkey) AS k FROM patients \
                 GROUP BY product, sex"
            ),
        )
        .await?,
    );
    let any = count_by_category(
        &Frame::query(
            catalog,
            &format!(
                "{origin} SELECT NULL AS category, sex, COUNT(*) AS n, SUM(rkey) AS k
                 FROM (SELECT DISTINCT network_id, patient_pseudonym, sex, rkey FROM patients) p GROUP BY sex"
            ),
        )
        .await?,
    );
    Ok(products_by_sex(&products, &any, year))
}

type Counts = HashMap<(Option<String>, String), Count>;

/// `(category, sex) → count` from rows of `category, sex, n, k`.
fn count_by_category(frame: &Frame) -> Counts {
    frame
        .rows
        .iter()
        .map(|r| {
            let key = (frame.text(r, "category"), frame.text(r, "sex").unwrap_or_default());
            (key, frame.count(r, "n", "k"))
        })
        .collect()
}

/// Every code of the list, then "Unknown".
fn category_rows(codes: &[&str]) -> Vec<(Option<String>, String)> {
    codes
        .iter()
        .map(|c| (Some(c.to_string()), labels::code(c)))
        .chain([(None, "Unknown".into())])
        .collect()
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

/// Rows of women, men and both.
fn by_sex(
    id: &'static str,
    title: String,
    note: String,
    row_header: &str,
    rows: &[(Option<String>, String)],
    counts: &Counts,
) -> Table {
    let n = |k: &Option<String>, s: &str| counts.get(&(k.clone(), s.to_string())).copied().unwrap_or_default();
    Table {
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
                    Cell::count(n(key, "F").plus(n(key, "M"))),
                ],
                total: false,
            })
            .collect(),
        chart: bars(),
    }
}

/// Appends the patients of all the rows (a perturbed count of its own: the rows do not
/// add up to it exactly).
fn add_total_row(table: &mut Table) {
    let cells = (0..table.columns.len())
        .map(|c| {
            let all = table.rows.iter().filter_map(|r| r.cells[c].as_count());
            Cell::count(all.fold(Count::default(), Count::plus))
        })
        .collect();
    table.rows.push(Row {
        key: "total".into(),
        label: "Total".into(),
        cells,
        total: true,
    });
}

fn followed_per_year(frame: &Frame, years: &[i64]) -> Table {
    let counts: Counts = frame
        .rows
        .iter()
        .map(|r| {
            let key = (
                frame.int(r, "year").map(|y| y.to_string()),
                frame.text(r, "sex").unwrap_or_default(),
            );
            (key, frame.count(r, "n", "k"))
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
    table.chart = Some(ChartSpec {
        kind: ChartKind::Lines,
        series: vec![WOMEN, MEN],
        value_axis: "Patients".into(),
    });
    table
}

fn sex_ratio_by_region(counts: &Counts, regions: &[Option<String>], year: i64) -> Table {
    let rows: Vec<_> = regions
        .iter()
        .map(|k| {
            let label = k.as_deref().map_or_else(|| "Unknown".into(), labels::region);
            (k.clone(), label)
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
    table
        .columns
        .extend(["Men per woman".into(), "Share of women (%)".into()]);
    for (r, row) in table.rows.iter_mut().enumerate() {
        let (women, men) = (Term::At((r, WOMEN)), Term::At((r, MEN)));
        row.cells.push(Cell::ratio(vec![men], vec![women], 1.0, 2));
        row.cells.push(Cell::ratio(vec![women], vec![women, men], 100.0, 1));
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
            let (n, known, mean) = found.map_or_else(Default::default, |row| {
                (
                    frame.count(row, "n", "k"),
                    frame.count(row, "known", "known_k"),
                    frame.float(row, "mean_age"),
                )
            });
            Row {
                key: sex.into(),
                label: label.into(),
                cells: vec![Cell::count(n), Cell::count(known), Cell::mean(mean, (r, 1))],
                total: false,
            }
        })
        .collect();
    let mut table = Table {
        id: "age_by_sex",
        title: format!("Patients and mean age by sex, {year}"),
        note: format!(
            "Patients followed in {year}; age in {year} = age at inclusion + years since. The mean is over the \
             patients whose age is known, and is not shown when their count is not."
        ),
        row_header: "Sex".into(),
        columns: vec!["Patients".into(), "With a known age".into(), "Mean age (years)".into()],
        rows,
        chart: None,
    };
    let total = |c: usize| {
        Cell::count(
            table
                .rows
                .iter()
                .filter_map(|r| r.cells[c].as_count())
                .fold(Count::default(), Count::plus),
        )
    };
    let totals = vec![total(0), total(1), Cell::empty()];
    table.rows.push(Row {
        key: "total".into(),
        label: "Women and men".into(),
        cells: totals,
        total: true,
    });
    table
}

fn age_groups_by_sex(counts: &Counts, year: i64) -> Table {
    let groups = ["<25", "25-34", "35-44", "45-54", "55-64", "65+"];
    let rows: Vec<_> = groups.iter().map(|g| (Some(g.to_string()), g.to_string())).collect();
    let mut table = by_sex(
        "age_groups_by_sex",
        format!("Age groups by sex, {year}"),
        format!("Patients followed in {year} whose age is known, by age in {year}."),
        "Age",
        &rows,
        counts,
    );
    add_total_row(&mut table);
    table
}

fn products_by_sex(counts: &Counts, any: &Counts, year: i64) -> Table {
    let rows: Vec<_> = Product::CODES
        .iter()
        .map(|c| (Some(c.to_string()), labels::code(c)))
        .collect();
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
    let n = |s: &str| any.get(&(None, s.to_string())).copied().unwrap_or_default();
    table.rows.push(Row {
        key: "any".into(),
        label: "Patients with a product at the origin of care".into(),
        cells: vec![
            Cell::count(n("F")),
            Cell::count(n("M")),
            Cell::count(n("F").plus(n("M"))),
        ],
        total: true,
    });
    table
}
