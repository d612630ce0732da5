//! The JSON Schemas and the contract's docs are generated from msma-schema: a file that
//! differs fails here. `MSMA_BLESS=1 cargo test --release --workspace --test generated`
//! rewrites them (then review the diff).

use std::path::Path;

#[test]
fn generated_files_match_the_contract() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let example = std::fs::read_to_string(root.join(msma_schema::generate::EXAMPLE)).unwrap();
    let bless = std::env::var_os("MSMA_BLESS").is_some();
    let mut stale = Vec::new();
    for (path, text) in msma_schema::generate::outputs(&example) {
        let file = root.join(&path);
        if std::fs::read_to_string(&file).ok().as_deref() == Some(text.as_str()) {
            continue;
        }
        if bless {
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, text).unwrap();
            eprintln!("wrote {path}");
        } else {
            stale.push(path);
        }
    }
    assert!(
        stale.is_empty(),
        "out of step with crates/schema: {stale:?}; run MSMA_BLESS=1 cargo test --release --workspace --test generated"
    );
}
