//! The files written from the contract: one JSON Schema per event type and version,
//! docs/SCHEMAS.md and docs/DATA-DICTIONARY.md. The test `generated` (crates/schema/tests)
//! fails when a file in the repository differs, and rewrites them with `MSMA_BLESS=1`.

mod dictionary;
mod json;
mod markdown;

pub use dictionary::data_dictionary;
pub use json::json_schema;
pub use markdown::schemas_md;

use crate::payload::EventType;

/// The example docs/SCHEMAS.md shows, relative to the repository.
pub const EXAMPLE: &str = "schemas/examples/valid/treatment-methadone-start.json";

/// Every generated file, as (path relative to the repository, text). `example` is the
/// text of [`EXAMPLE`].
pub fn outputs(example: &str) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for &t in EventType::all() {
        for &v in t.versions() {
            let schema = json_schema(t, v).expect("a version the type lists");
            files.push((format!("schemas/{t}/v{v}.schema.json"), schema));
        }
    }
    files.push(("docs/SCHEMAS.md".to_owned(), schemas_md(EXAMPLE, example)));
    files.push(("docs/DATA-DICTIONARY.md".to_owned(), data_dictionary()));
    files
}
