//! Who the reports count, as SQL shared by every view (docs/RESEARCHERS.md, "How the
//! reports count").
//!
//! - A patient's profile (sex, age, region, income...) is that of their latest
//!   inclusion; ties are broken on the profile's own columns, so the choice never
//!   depends on file order.
//! - A patient is followed in a year when they have at least one contact of care dated
//!   in it: inclusion, substance assessment, consultation attended (no-shows do not
//!   count), synthesis-meeting review, screening or treatment.
//! - Patients without an inclusion count with sex "U" and an unknown profile.
//! - The age in a year is the age at inclusion plus the years since.
//!
//! Every table lists the same rows and columns whatever the data: the zone's networks
//! and years, every region and code. A missing one would say "no patient", a count the
//! threshold protects.

use crate::frame::{Frame, literal};
use crate::{Error, Settings, sdc};
use msma_query::Catalog;
use msma_query::datafusion::datasource::MemTable;
use std::sync::Arc;

/// What a report is restricted to.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub network: Option<String>,
    /// INSEE code of the region of residence.
    pub region: Option<String>,
}

/// The networks and years of the whole zone, whatever the scope.
pub struct Extent {
    pub networks: Vec<String>,
    /// From the first year with data to the last.
    pub years: Vec<i64>,
    /// Every INSEE region, and any other code of the zone.
    pub regions: Vec<String>,
}

impl Extent {
    /// The networks of a report's scope.
    pub fn networks(&self, filter: &Filter) -> Vec<String> {
        match &filter.network {
            Some(n) => vec![n.clone()],
            None => self.networks.clone(),
        }
    }

    /// The regions of a report's scope, `None` for an unknown one.
    pub fn regions(&self, filter: &Filter) -> Vec<Option<String>> {
        match &filter.region {
            Some(r) => vec![Some(r.clone())],
            None => self.regions.iter().cloned().map(Some).chain([None]).collect(),
        }
    }
}

/// Registers the table `followed(network_id, patient_pseudonym, rkey, year, sex, age,
/// region, main_income, professional_activity, first_reason)`, one row per patient and
/// year followed, restricted by `settings.filter`; `rkey` is the patient's
/// [`sdc::record_key`]. It is computed once and kept in memory (a row per patient-year,
/// small beside the events) for the report's queries to share.
///
/// Fails with [`Error::EmptyScope`] when the scope, or its `settings.year`, has no
/// patient: a report of zeros would read as data.
pub async fn register_followed(catalog: &Catalog, settings: &Settings) -> crate::Result<Extent> {
    sdc::register(&catalog.ctx);
    let extent = extent(catalog).await?;
    let filter = &settings.filter;
    if filter.network.as_ref().is_some_and(|n| !extent.networks.contains(n)) {
        return Err(Error::EmptyScope("the zone has no such network (--network)"));
    }
    let df = catalog
        .sql(&format!("{} SELECT * FROM followed", with_followed(filter)))
        .await?;
    let schema = Arc::new(df.schema().as_arrow().clone());
    let batches = df.collect().await?;
    if batches.iter().all(|b| b.num_rows() == 0) {
        return Err(Error::EmptyScope("no patient in this scope (--network, --region)"));
    }
    let table = MemTable::try_new(schema, vec![batches])?;
    catalog.ctx.deregister_table("followed")?;
    catalog.ctx.register_table("followed", Arc::new(table))?;
    if let Some(year) = settings.year {
        let n = Frame::query(
            catalog,
            &format!("SELECT COUNT(*) AS n FROM followed WHERE year = {year}"),
        )
        .await?;
        if n.rows.first().and_then(|r| n.int(r, "n")).unwrap_or(0) == 0 {
            return Err(Error::EmptyScope(
                "no patient followed in that year in this scope (--year)",
            ));
        }
    }
    Ok(extent)
}

async fn extent(catalog: &Catalog) -> crate::Result<Extent> {
    let sql = format!(
        "{} SELECT DISTINCT network_id, year FROM care",
        with_followed(&Filter::default())
    );
    let frame = Frame::query(catalog, &sql).await?;
    let mut networks: Vec<String> = frame.rows.iter().filter_map(|r| frame.text(r, "network_id")).collect();
    networks.sort_unstable();
    networks.dedup();
    let years: Vec<i64> = frame.rows.iter().filter_map(|r| frame.int(r, "year")).collect();
    let years = match (years.iter().min(), years.iter().max()) {
        (Some(&first), Some(&last)) => (first..=last).collect(),
        _ => Vec::new(),
    };
    let frame = Frame::query(
        catalog,
        "SELECT DISTINCT region FROM patient_inclusion WHERE region IS NOT NULL",
    )
    .await?;
    let mut regions: Vec<String> = crate::labels::REGIONS
        .iter()
        .map(|(code, _)| code.to_string())
        .collect();
    regions.extend(frame.rows.iter().filter_map(|r| frame.text(r, "region")));
    regions.sort_unstable();
    regions.dedup();
    Ok(Extent {
        networks,
        years,
        regions,
    })
}

/// The `WITH` clause defining `profile`, `care` and `followed`.
fn with_followed(filter: &Filter) -> String {
    let mut conditions = Vec::new();
    if let Some(n) = &filter.network {
        conditions.push(format!("c.network_id = {}", literal(n)));
    }
    if let Some(r) = &filter.region {
        conditions.push(format!("p.region = {}", literal(r)));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    format!(
        "WITH profile AS (
  SELECT network_id, patient_pseudonym, sex, age_years, year AS inclusion_year, region,
         main_income, professional_activity, first_reason
  FROM (
    SELECT *, ROW_NUMBER() OVER (
      PARTITION BY network_id, patient_pseudonym
      ORDER BY occurred_on DESC, sex NULLS LAST, age_years NULLS LAST, region NULLS LAST,
               main_income, professional_activity, first_reason) AS rank
    FROM patient_inclusion) latest
  WHERE rank = 1
),
care AS (
  SELECT DISTINCT network_id, patient_pseudonym, year FROM (
    SELECT network_id, patient_pseudonym, year FROM patient_inclusion
    UNION ALL SELECT network_id, patient_pseudonym, year FROM substance_assessment
    UNION ALL SELECT network_id, patient_pseudonym, year FROM consultation WHERE NOT no_show
    UNION ALL SELECT network_id, patient_pseudonym, year FROM synthesis_meeting
    UNION ALL SELECT network_id, patient_pseudonym, year FROM screening
    UNION ALL SELECT network_id, patient_pseudonym, year FROM treatment) contacts
),
followed AS (
  SELECT c.network_id, c.patient_pseudonym, cell_key(c.network_id, c.patient_pseudonym) AS rkey,
         c.year, COALESCE(p.sex, 'U') AS sex,
         p.age_years + (c.year - p.inclusion_year) AS age, p.region,
         p.main_income, p.professional_activity, p.first_reason
  FROM care c LEFT JOIN profile p
    ON c.network_id = p.network_id AND c.patient_pseudonym = p.patient_pseudonym
  {filter}
)
"
    )
}
