//! Generalisation over generated patients: whatever the identifiers, no cell of the
//! datasets, read back from the Parquet files, equals or contains one of them.

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use msma_ingest::Transform;
use msma_pseudo::{MasterKey, Policy, Pseudonymiser, StudyId};
use msma_sink::{Identity, RowCounts, Source, Zone};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Patient {
    local_id: String,
    ins: String,
    last_name: String,
    first_name: String,
    birth_date: String,
    postcode: String,
    phone: String,
    email: String,
}

fn patient() -> impl Strategy<Value = Patient> {
    (
        "[A-Z0-9][A-Z0-9-]{5,20}",
        "[12][0-9]{14}",
        "[A-Z][a-z]{3,12}",
        "[A-Z][a-z]{3,12}",
        (1930i32..2010, 1u32..13, 1u32..29),
        "(0[1-9]|[1-8][0-9]|9[0-5])[0-9]{3}",
        "0[67]( [0-9]{2}){4}",
        "[a-z]{3,10}\\.[a-z]{3,10}@[a-z]{3,8}\\.fr",
    )
        .prop_map(
            |(local_id, ins, last_name, first_name, (y, m, d), postcode, phone, email)| Patient {
                local_id,
                ins,
                last_name,
                first_name,
                birth_date: format!("{y:04}-{m:02}-{d:02}"),
                postcode,
                phone,
                email,
            },
        )
}

fn inclusion(i: usize, p: &Patient) -> String {
    format!(
        r#"{{"event_id":"0f8fad5b-d9cb-469f-a165-{i:012}","event_type":"patient_inclusion","schema_version":1,"network_id":"RMS-ALSACE","microstructure_id":"MS-67-001","occurred_at":"2024-03-05T10:00:00+01:00","patient":{{"local_id":"{}","ins":"{}","last_name":"{}","first_name":"{}","birth_date":"{}","sex":"F","postcode":"{}","phone":"{}","email":"{}"}},"payload":{{"referral_origin":"general_practitioner","first_reason":"addiction","housing":"durable","main_income":"employment","professional_activity":"employed","prior_care":false}}}}"#,
        p.local_id, p.ins, p.last_name, p.first_name, p.birth_date, p.postcode, p.phone, p.email
    )
}

/// Every cell of every data file of the zone, as text, with its column's name.
fn cells(zone: &Zone) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for f in zone.state().files.values() {
        {
            let file = std::fs::File::open(zone.location().as_local().unwrap().join(&f.path)).unwrap();
            let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                .unwrap()
                .build()
                .unwrap();
            for batch in reader {
                let batch: RecordBatch = batch.unwrap();
                for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
                    out.extend(
                        (0..column.len())
                            .filter(|&row| column.is_valid(row))
                            .map(|row| (field.name().clone(), text(column.as_ref(), row))),
                    );
                }
            }
        }
    }
    out
}

fn text(column: &dyn Array, row: usize) -> String {
    match column.data_type() {
        DataType::Utf8 => column.as_string::<i32>().value(row).to_owned(),
        DataType::Date32 => {
            let days = column.as_primitive::<Date32Type>().value(row);
            (chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::Duration::days(days.into())).to_string()
        }
        DataType::Int8 => column.as_primitive::<Int8Type>().value(row).to_string(),
        DataType::Int16 => column.as_primitive::<Int16Type>().value(row).to_string(),
        DataType::Int32 => column.as_primitive::<Int32Type>().value(row).to_string(),
        DataType::Int64 => column.as_primitive::<Int64Type>().value(row).to_string(),
        DataType::UInt8 => column.as_primitive::<UInt8Type>().value(row).to_string(),
        DataType::Boolean => column.as_boolean().value(row).to_string(),
        other => panic!("a column of type {other} this test does not read"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn no_cell_holds_an_input_identifier(patients in prop::collection::vec(patient(), 1..30)) {
        let dir = tempfile::tempdir().unwrap();
        let key = MasterKey::from_bytes([3; 32]);
        let policy = Policy::default();
        let identity = Identity {
            study_id: "prop".into(),
            key_id: key.id().to_string(),
            policy: serde_json::to_value(&policy).unwrap(),
        };
        let mut zone = Zone::open(dir.path(), identity).unwrap();
        let mut transform =
            Transform::new(Pseudonymiser::new(&key.study_key(&StudyId::new("prop").unwrap())), policy);
        let lines: Vec<String> = patients.iter().enumerate().map(|(i, p)| inclusion(i, p)).collect();
        for line in &lines {
            transform
                .push(&msma_schema::decode(line.as_bytes()).expect("a valid event"), line.as_bytes(), 0)
                .expect("a network and year the policy takes");
        }
        let mut txn = zone.begin().unwrap();
        transform.flush(&mut txn).unwrap();
        let source = Source::Segment { first_line: 1, last_line: lines.len() as u64, hmac_sha256: "0".into() };
        let n = lines.len() as u64;
        txn.commit(source, RowCounts { read: n, written: n, ..RowCounts::default() }).unwrap();

        let cells = cells(&zone);
        prop_assert!(cells.len() >= lines.len());
        for p in &patients {
            for id in [&p.local_id, &p.ins, &p.last_name, &p.first_name, &p.birth_date, &p.postcode, &p.phone, &p.email] {
                // A pseudonym is hex: it may hold a run of digits by chance, never the value.
                let passed = cells.iter().any(|(column, cell)| {
                    if column.ends_with("_pseudonym") { cell == id } else { cell.contains(id.as_str()) }
                });
                prop_assert!(!passed, "{} passed through", id);
            }
        }
    }
}
