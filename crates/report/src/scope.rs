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

use crate::frame::literal;
use msma_query::datafusion::datasource::MemTable;
use msma_query::{Catalog, Result};
use std::sync::Arc;

/// What a report is restricted to.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub network: Option<String>,
    /// INSEE code of the region of residence.
    pub region: Option<String>,
}

/// Registers the table `followed(network_id, patient_pseudonym, year, sex, age, region,
/// main_income, professional_activity, first_reason)`, one row per patient and year
/// followed, restricted by `filter`. It is computed once and kept in memory (a row per
/// patient-year, small beside the events) for the report's queries to share.
pub async fn register_followed(catalog: &Catalog, filter: &Filter) -> Result<()> {
    let df = catalog
        .sql(&format!("{} SELECT * FROM followed", with_followed(filter)))
        .await?;
    let schema = Arc::new(df.schema().as_arrow().clone());
    let batches = df.collect().await?;
    let table = MemTable::try_new(schema, vec![batches])?;
    catalog.ctx.deregister_table("followed")?;
    catalog.ctx.register_table("followed", Arc::new(table))?;
    Ok(())
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
  SELECT c.network_id, c.patient_pseudonym, c.year, COALESCE(p.sex, 'U') AS sex,
         p.age_years + (c.year - p.inclusion_year) AS age, p.region,
         p.main_income, p.professional_activity, p.first_reason
  FROM care c LEFT JOIN profile p
    ON c.network_id = p.network_id AND c.patient_pseudonym = p.patient_pseudonym
  {filter}
)
"
    )
}
