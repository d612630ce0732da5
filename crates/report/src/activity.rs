//! `msma report activity`: the CNRMS / Equip'Addict evaluation view. Patients in the
//! active file, consultations per patient-year by professional, synthesis meetings and
//! patients reviewed, patients eligible for the yearly flat rate and its amount, by
//! network and by region of residence.

use crate::frame::Frame;
use crate::scope::register_followed;
use crate::table::{Cell, ChartKind, ChartSpec, Line, Row, Table};
use crate::{Report, Settings, labels};
use msma_model::ProfessionalRole;
use msma_query::{Catalog, Result};
use std::collections::{BTreeMap, BTreeSet};

const PATIENTS: usize = 0;
const MEETINGS: usize = 1 + ProfessionalRole::CODES.len();
const REVIEWED: usize = MEETINGS + 1;
const ELIGIBLE: usize = MEETINGS + 2;

/// Figures of one group (a network or a region, or all of them) in one year.
#[derive(Debug, Default, Clone)]
struct Figures {
    patients: u64,
    consultations: BTreeMap<String, u64>,
    meetings: u64,
    reviewed: u64,
    eligible: u64,
}

/// What the rows of an activity table are.
struct Dimension {
    id: &'static str,
    /// Names the dimension in count keys (see [`Cell::key`]).
    key: &'static str,
    title: &'static str,
    header: &'static str,
    label: fn(&str) -> String,
    /// Whether meetings add up across groups: a meeting belongs to one network, but may
    /// review patients of several regions.
    meetings_add_up: bool,
}

const NETWORKS: Dimension = Dimension {
    id: "activity_by_network",
    key: "network",
    title: "Activity by network",
    header: "Network",
    label: str::to_owned,
    meetings_add_up: true,
};

const REGIONS: Dimension = Dimension {
    id: "activity_by_region",
    key: "region",
    title: "Activity by region of residence",
    header: "Region",
    label: labels::region,
    meetings_add_up: false,
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

/// `year → group → figures`, groups in order: named, unknown, all.
type ByYear = BTreeMap<i64, BTreeMap<Group, Figures>>;

pub async fn build(catalog: &Catalog, settings: &Settings) -> Result<Report> {
    let mut report = Report::new("activity", "Microstructure activity", catalog, settings);
    register_followed(catalog, &settings.filter).await?;
    let year_filter = settings.year.map_or(String::new(), |y| format!("AND f.year = {y}"));
    let mut by_network = figures(catalog, Some("f.network_id"), &year_filter).await?;
    let mut by_region = figures(catalog, Some("f.region"), &year_filter).await?;
    for (year, mut groups) in figures(catalog, None, &year_filter).await? {
        let all = groups.remove(&Group::All).unwrap_or_default();
        by_network.entry(year).or_default().insert(Group::All, all.clone());
        by_region.entry(year).or_default().insert(Group::All, all);
    }
    report.year = settings.year.map(i64::from);
    report.tables.push(active_file(&by_network));
    report.tables.push(activity_table(&NETWORKS, &by_network, settings));
    report.tables.push(activity_table(&REGIONS, &by_region, settings));
    Ok(report.finish(settings))
}

/// Runs the figures' queries grouped by `group` (an SQL expression over `followed f`), or
/// for all patients together.
async fn figures(catalog: &Catalog, group: Option<&str>, year_filter: &str) -> Result<ByYear> {
    let to_group = |value: Option<String>| match (group, value) {
        (None, _) => Group::All,
        (Some(_), Some(v)) => Group::Named(v),
        (Some(_), None) => Group::Unknown,
    };
    let group = group.unwrap_or("NULL");
    let grouped = |select: &str, from: &str| {
        format!(
            "WITH attended AS (SELECT * FROM consultation WHERE NOT no_show),
             eligible AS (
               SELECT DISTINCT network_id, patient_pseudonym, year FROM (
                 SELECT network_id, patient_pseudonym, year FROM attended
                 WHERE professional_role IN ('psychologist', 'social_worker')
                 UNION ALL SELECT network_id, patient_pseudonym, year FROM synthesis_meeting) e)
             SELECT f.year, {group} AS grp, {select} FROM followed f {from}
             WHERE TRUE {year_filter} GROUP BY f.year, {group}{extra}",
            extra = if select.contains("professional_role") {
                ", c.professional_role"
            } else {
                ""
            }
        )
    };
    let join = |table: &str, alias: &str| {
        format!(
            "JOIN {table} {alias} ON {alias}.network_id = f.network_id AND {alias}.patient_pseudonym = \
             f.patient_pseudonym AND {alias}.year = f.year"
        )
    };
    let mut out = ByYear::new();
    let mut each = |frame: &Frame, set: &dyn Fn(&mut Figures, &Frame, &[_])| {
        for row in &frame.rows {
            let year = frame.int(row, "year").unwrap_or_default();
            let figures = out
                .entry(year)
                .or_default()
                .entry(to_group(frame.text(row, "grp")))
                .or_default();
            set(figures, frame, row);
        }
    };
    let count = |frame: &Frame, row: &[_], column: &str| frame.int(row, column).unwrap_or(0).max(0) as u64;

    let patients = Frame::query(catalog, &grouped("COUNT(*) AS n", "")).await?;
    each(&patients, &|f, frame, row| f.patients = count(frame, row, "n"));
    let consultations = Frame::query(
        catalog,
        &grouped("c.professional_role, COUNT(*) AS n", &join("attended", "c")),
    )
    .await?;
    each(&consultations, &|f, frame, row| {
        let role = frame.text(row, "professional_role").unwrap_or_default();
        f.consultations.insert(role, count(frame, row, "n"));
    });
    let meetings = Frame::query(
        catalog,
        &grouped(
            "COUNT(DISTINCT m.meeting_pseudonym) AS meetings, COUNT(DISTINCT f.network_id || '/' || \
             f.patient_pseudonym) AS reviewed",
            &join("synthesis_meeting", "m"),
        ),
    )
    .await?;
    each(&meetings, &|f, frame, row| {
        f.meetings = count(frame, row, "meetings");
        f.reviewed = count(frame, row, "reviewed");
    });
    let eligible = Frame::query(catalog, &grouped("COUNT(*) AS n", &join("eligible", "e"))).await?;
    each(&eligible, &|f, frame, row| f.eligible = count(frame, row, "n"));
    Ok(out)
}

/// Names the count of patients in the active file, shared by the tables (see
/// [`Cell::key`]); `dimension` tells networks from regions.
fn active_key(dimension: &str, year: i64, group: &Group) -> String {
    match group {
        Group::All => format!("active/{year}/*"),
        _ => format!("active/{dimension}/{year}/{}", group.key()),
    }
}

/// Patients in the active file: years down, networks across, with the yearly total.
fn active_file(by_network: &ByYear) -> Table {
    let networks: BTreeSet<&String> = by_network
        .values()
        .flat_map(|g| g.keys())
        .filter_map(|g| match g {
            Group::Named(n) => Some(n),
            _ => None,
        })
        .collect();
    let mut columns: Vec<String> = networks.iter().map(|n| n.to_string()).collect();
    columns.push("All networks".into());
    let total = columns.len() - 1;
    let rows = by_network
        .iter()
        .map(|(year, groups)| {
            let mut cells: Vec<Cell> = networks
                .iter()
                .map(|n| {
                    let group = Group::Named(n.to_string());
                    let patients = groups.get(&group).map_or(0, |f| f.patients);
                    Cell::count(patients).keyed(active_key("network", *year, &group))
                })
                .collect();
            let all = groups.get(&Group::All).map_or(0, |f| f.patients);
            cells.push(Cell::count(all).keyed(active_key("network", *year, &Group::All)));
            Row {
                key: year.to_string(),
                label: year.to_string(),
                cells,
                total: false,
            }
        })
        .collect();
    let mut table = Table {
        id: "active_file_by_network",
        title: "Patients in the active file per year, by network".into(),
        note: "Patients with at least one contact of care in the year (inclusion, assessment, consultation \
               attended, synthesis review, screening or treatment)."
            .into(),
        row_header: "Year".into(),
        columns,
        rows,
        lines: Vec::new(),
        chart: Some(ChartSpec {
            kind: ChartKind::Lines,
            series: (0..total).collect(),
            value_axis: "Patients".into(),
        }),
    };
    table.rows_add_up(0..total, total);
    table
}

fn activity_table(dimension: &Dimension, by_year: &ByYear, settings: &Settings) -> Table {
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
    let mut lines = Vec::new();
    for (year, groups) in by_year {
        let first = rows.len();
        for (group, figures) in groups.iter().filter(|(g, _)| **g != Group::All) {
            rows.push(activity_row(dimension, *year, group, figures, settings, rows.len()));
        }
        let members = first..rows.len();
        let all = groups.get(&Group::All).cloned().unwrap_or_default();
        rows.push(activity_row(dimension, *year, &Group::All, &all, settings, rows.len()));
        let total_row = rows.len() - 1;
        for column in [PATIENTS, REVIEWED, ELIGIBLE]
            .into_iter()
            .chain(dimension.meetings_add_up.then_some(MEETINGS))
        {
            lines.push(Line {
                members: members.clone().map(|r| (r, column)).collect(),
                total: (total_row, column),
            });
        }
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
        lines,
        chart: None,
    }
}

fn activity_row(dimension: &Dimension, year: i64, group: &Group, f: &Figures, settings: &Settings, r: usize) -> Row {
    let mut cells = vec![Cell::count(f.patients).keyed(active_key(dimension.key, year, group))];
    for role in ProfessionalRole::CODES {
        let n = f.consultations.get(*role).copied().unwrap_or(0);
        let per_patient = (f.patients > 0).then(|| n as f64 / f.patients as f64);
        cells.push(Cell::derived(per_patient, 2, vec![(r, PATIENTS)]));
    }
    cells.push(Cell::count(f.meetings));
    cells.push(Cell::count(f.reviewed));
    cells.push(Cell::count(f.eligible));
    cells.push(Cell::euros(
        f.eligible as f64 * settings.flat_rate_eur,
        vec![(r, ELIGIBLE)],
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
