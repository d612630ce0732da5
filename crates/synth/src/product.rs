//! Classes of products that the simulation treats alike: opioids, and the drugs whose
//! users are offered screening.

pub const OPIOIDS: [&str; 4] = ["heroin", "buprenorphine_misused", "methadone_misused", "other_opioids"];

pub fn is_opioid(p: &str) -> bool {
    OPIOIDS.contains(&p)
}

/// Products whose users are offered hepatitis and HIV screening as "drug users".
pub fn is_drug(p: &str) -> bool {
    is_opioid(p) || matches!(p, "cocaine" | "crack" | "amphetamines")
}
