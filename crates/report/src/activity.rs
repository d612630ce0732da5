//! `msma report activity`: the CNRMS / Equip'Addict evaluation view. Patients in the
//! active file, consultations per patient-year by professional, synthesis meetings and
//! patients reviewed, patients eligible for the yearly flat rate and its amount, by
//! network and by region of residence.

use crate::frame::Frame;
use crate::scope::register_followed;
use crate::table::{Cell, ChartKind, ChartSpec, Count, Row, Table, Term};
use crate::{Report, Result, Settings, labels};
use msma_query::Catalog;
use msma_schema::ProfessionalRole;
use std::collections::BTreeMap;

const PATIENTS: usize = 0;
const ELIGIBLE: usize = 3 + ProfessionalRole::CODES.len();

/// Figures of one group (a network or a region, or all of them) in one year.
#[derive(Debug, Default, Clone)]
struct Figures {
    patients: Count,
    consultations: BTreeMap<String, Count>,
    meetings: Count,
    reviewed: Count,
    eligible: Count,
}

/// What the rows of an activity table are.
struct Dimension {
    id: &'static str,
    title: &'static str,
    header: &'static str,
    label: fn(&str) -> String,
}

const NETWORKS: Dimension = Dimension {
    id: "activity_by_network",
    title: "Activity by network",
    header: "Network",
    label: str::to_owned,
};

const REGIONS: Dimension = Dimension {
    id: "activity_by_region",
    title: "Activity by region of residence",
    header: "Region",
    label: labels::region,
};

/// Who a row of figures is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Group {
    Named(String),
    /// Patients without the grouping value (no known region).
    Unknown,
    All,
}

impl Group {
    fn key(&self) -> &str {
        match self {
            Group::Named(n) => n,
            Group::Unknown => "unknown",
            Group::All => "*",
        }
    }
}

/// `year → group → figures`.
type ByYear = BTreeMap<i64, BTreeMap<Group, Figures>>;

pub async fn build(catalog: &Catalog, settings: &Settings) -> Result<Report> {
    let mut report = Report::new("activity", "Microstructure activity", catalog, settings);
    let extent = register_followed(catalog, settings).await?;
    let year_filter = settings.year.map_or(String::new(), |y| format!("AND f.year = {y}"));
    let by_network = figures(catalog, Some("f.network_id"), &year_filter).await?;
    let by_region = figures(catalog, Some("f.region"), &year_filter).await?;
    let all = figures(catalog, None, &year_filter).await?;
    let years: Vec<i64> = match settings.year {
        Some(y) => vec![i64::from(y)],
        None => extent.years.clone(),
    };
    let networks: Vec<Group> = extent
        .networks(&settings.filter)
        .into_iter()
        .map(Group::Named)
        .collect();
    let regions: Vec<Group> = extent
        .regions(&settings.filter)
        .into_iter()
        .map(|r| r.map_or(Group::Unknown, Group::Named))
        .collect();
    report.year = settings.year.map(i64::from);
    report.tables.push(active_file(&by_network, &all, &years, &networks));
    report.tables.push(activity_table(
        &NETWORKS,
        &by_network,
        &all,
        &years,
        &networks,
        settings,
    ));
    report
        .tables
        .push(activity_table(&REGIONS, &by_region, &all, &years, &regions, settings));
    Ok(report.finish(settings))
}

/// The figures' queries, grouped by `group` (an SQL expression over `followed f`), or
/// for all patients together. Each counts records, with the sum of their keys.
async fn figures(catalog: &Catalog, group: Option<&str>, year_filter: &str) -> msma_query::Result<ByYear> {
    let to_group = |value: Option<String>| match (group, value) {
        (None, _) => Group::All,
        (Some(_), Some(v)) => Group::Named(v),
        (Some(_), None) => Group::Unknown,
    };
    let group = group.unwrap_or("CAST(NULL AS VARCHAR)");
    // `records` selects `year, grp, [professional_role,] k`, one row per record counted.
    let counted = |records: &str, by_role: bool| {
        let role = if by_role { ", professional_role" } else { "" };
        format!(
            "WITH attended AS (SELECT * FROM consultation WHERE NOT no_show),
             eligible AS (
               SELECT DISTINCT network_id, patient_pseudonym, year FROM (
                 SELECT network_id, patient_pseudonym, year FROM attended
                 WHERE professional_role IN ('psychologist', 'social_worker')
                 UNION ALL SELECT network_id, patient_pseudonym, year FROM synthesis_meeting) e),
             records AS ({records})
             SELECT year, grp{role}, COUNT(*) AS n, SUM(k) AS k FROM records GROUP BY year, grp{role}"
        )
    };
    let of = |distinct: &str, select: &str, from: &str| {
        format!("SELECT {distinct} f.year, {group} AS grp, {select} FROM followed f {from} WHERE TRUE {year_filter}")
    };
    let join = |table: &str, alias: &str| {
        format!(
            "JOIN {table} {alias} ON {alias}.network_id = f.network_id AND {alias}.patient_pseudonym = \
             f.patient_pseudonym AND {alias}.year = f.year"
        )
    };
    // A consultation has no pseudonym of its own: its key is its patient's.
    let queries = [
        ("patients", of("", "f.rkey AS k", ""), false),
        (
            "consultations",
            of("", "c.professional_role, f.rkey AS k", &join("attended", "c")),
            true,
        ),
        (
            "meetings",
            of(
                "DISTINCT",
                "m.meeting_pseudonym, cell_key(m.network_id, m.meeting_pseudonym) AS k",
                &join("synthesis_meeting", "m"),
            ),
            false,
        ),
        (
            "reviewed",
            of(
                "DISTINCT",
                "f.network_id, f.patient_pseudonym, f.rkey AS k",
                &join("synthesis_meeting", "m"),
            ),
            false,
        ),
        ("eligible", of("", "f.rkey AS k", &join("eligible", "e")), false),
    ];
    let mut out = ByYear::new();
    for (what, records, by_role) in queries {
        let frame = Frame::query(catalog, &counted(&records, by_role)).await?;
        for row in &frame.rows {
            let year = frame.int(row, "year").unwrap_or_default();
            let f = out
                .entry(year)
                .or_default()
                .entry(to_group(frame.text(row, "grp")))
                .or_default();
            let count = frame.count(row, "n", "k");
            match what {
                "patients" => f.patients = count,
                "consultations" => {
                    let role = frame.text(row, "professional_role").unwrap_or_default();
                    f.consultations.insert(role, count);
                }
                "meetings" => f.meetings = count,
                "reviewed" => f.reviewed = count,
                _ => f.eligible = count,
            }
        }
    }
    Ok(out)
}

/// The figures of `group` in `year`, none when it has no patient.
fn get(by_year: &ByYear, year: i64, group: &Group) -> Figures {
    by_year
        .get(&year)
        .and_then(|g| g.get(group))
        .cloned()
        .unwrap_or_default()
}

/// Patients in the active file: years down, networks across, with the yearly total.
fn active_file(by_network: &ByYear, all: &ByYear, years: &[i64], networks: &[Group]) -> Table {
    let mut columns: Vec<String> = networks.iter().map(|n| n.key().to_string()).collect();
    columns.push("All networks".into());
    let rows = years
        .iter()
        .map(|&year| {
            let mut cells: Vec<Cell> = networks
                .iter()
                .map(|n| Cell::count(get(by_network, year, n).patients))
                .collect();
            cells.push(Cell::count(get(all, year, &Group::All).patients));
            Row {
                key: year.to_string(),
                label: year.to_string(),
                cells,
                total: false,
            }
        })
        .collect();
    Table {
        id: "active_file_by_network",
        title: "Patients in the active file per year, by network".into(),
        note: "Patients with at least one contact of care in the year (inclusion, assessment, consultation \
               attended, synthesis review, screening or treatment)."
            .into(),
        row_header: "Year".into(),
        columns,
        rows,
        chart: Some(ChartSpec {
            kind: ChartKind::Lines,
            series: (0..networks.len()).collect(),
            value_axis: "Patients".into(),
        }),
    }
}

fn activity_table(
    dimension: &Dimension,
    by_year: &ByYear,
    all: &ByYear,
    years: &[i64],
    groups: &[Group],
    settings: &Settings,
) -> Table {
    let mut columns = vec!["Patients in the active file".to_string()];
    columns.extend(
        ProfessionalRole::CODES
            .iter()
            .map(|r| format!("{} consultations per patient", labels::code(r))),
    );
    columns.extend([
        "Synthesis meetings held".into(),
        "Patients reviewed in a meeting".into(),
        "Patients eligible for the flat rate".into(),
        format!("Flat rate (EUR, {} per patient)", settings.flat_rate_eur),
    ]);
    let mut rows = Vec::new();
    for &year in years {
        for group in groups {
            rows.push(activity_row(
                dimension,
                year,
                group,
                &get(by_year, year, group),
                settings,
                rows.len(),
            ));
        }
        let figures = get(all, year, &Group::All);
        rows.push(activity_row(
            dimension,
            year,
            &Group::All,
            &figures,
            settings,
            rows.len(),
        ));
    }
    Table {
        id: dimension.id,
        title: format!("{}, per year", dimension.title),
        note: "Consultations attended (no-shows excluded) of the patients in the active file, per patient. \
               Eligible for the yearly flat rate: in the active file and seen at least once by the psychologist \
               or the social worker, or reviewed in a synthesis meeting, in the year."
            .into(),
        row_header: format!("Year · {}", dimension.header),
        columns,
        rows,
        chart: None,
    }
}

fn activity_row(dimension: &Dimension, year: i64, group: &Group, f: &Figures, settings: &Settings, r: usize) -> Row {
    let mut cells = vec![Cell::count(f.patients)];
    for role in ProfessionalRole::CODES {
        let n = f.consultations.get(*role).copied().unwrap_or_default();
        cells.push(Cell::ratio(
            vec![Term::Unshown(n)],
            vec![Term::At((r, PATIENTS))],
            1.0,
            2,
        ));
    }
    cells.push(Cell::count(f.meetings));
    cells.push(Cell::count(f.reviewed));
    cells.push(Cell::count(f.eligible));
    cells.push(Cell::ratio(
        vec![Term::At((r, ELIGIBLE))],
        Vec::new(),
        settings.flat_rate_eur,
        0,
    ));
    let name = match group {
        Group::Named(n) => (dimension.label)(n),
        Group::Unknown => "Unknown".into(),
        Group::All => "All".into(),
    };
    Row {
        key: format!("{year}/{}", group.key()),
        label: format!("{year} · {name}"),
        cells,
        total: *group == Group::All,
    }
}
