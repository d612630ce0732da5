//! `msma demo`: the whole pipeline on a generated year of one network, with no setup.

use crate::ingest;
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The demo folder; recreated on each run.
    #[arg(long, default_value = "msma-demo")]
    dir: PathBuf,
    /// Events to generate.
    #[arg(long, default_value_t = 14_500)]
    events: u64,
    /// Network to simulate.
    #[arg(long, default_value = "RMS-ALSACE")]
    network: String,
}

/// Marks a folder as made by the demo, so that only such a folder is ever deleted.
const MARKER: &str = ".msma-demo";

pub fn run(a: Args) -> Result<ExitCode> {
    if a.dir.exists() {
        anyhow::ensure!(
            a.dir.join(MARKER).exists(),
            "{} exists and was not made by `msma demo`; choose another --dir",
            a.dir.display()
        );
        std::fs::remove_dir_all(&a.dir).with_context(|| format!("removing the previous {}", a.dir.display()))?;
    }
    let identified = a.dir.join("identified");
    let custodian = a.dir.join("custodian");
    for d in [&identified, &custodian] {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    std::fs::write(a.dir.join(MARKER), "made by msma demo\n")?;

    let keys = custodian.join("master.key");
    let key = msma_pseudo::MasterKey::generate()?;
    key.write_new(&keys)?;
    println!("1. key      {} (key id {})", keys.display(), key.id());

    let input = identified.join("events.ndjson");
    let spec = msma_synth::Spec {
        events: a.events,
        seed: 2021,
        networks: vec![a.network.clone()],
        invalid_per_million: 2_000,
        ..msma_synth::Spec::default()
    };
    let mut out = std::io::BufWriter::new(std::fs::File::create(&input)?);
    let generated = msma_synth::generate(&spec, &mut out)?;
    std::io::Write::flush(&mut out)?;
    println!(
        "2. events   {} ({} events of {} patients of {}, {} to {}, {} deliberately broken)",
        input.display(),
        generated.events,
        generated.patients,
        a.network,
        generated.first,
        generated.last,
        generated.invalid
    );

    let research = a.dir.join("research");
    let dead_letter = identified.join("dead-letters.ndjson");
    let study = msma_ingest::StudySettings {
        study: "demo".to_owned(),
        keys,
        policy: None,
        out: msma_sink::Location::Local(research.clone()),
        checkpoint_every: msma_sink::CHECKPOINT_EVERY,
    };
    let options = msma_ingest::Options::default();
    let settings = msma_config::Ingest::file(study, options, input.clone(), dead_letter.clone());
    let (report, elapsed) = ingest::execute(&settings, &input, &dead_letter)?;
    println!("3. ingest   {}", research.display());
    ingest::print_report(&settings, &dead_letter, &report, elapsed);

    println!("4. read back with the Parquet reader:");
    for (dataset, rows) in crate::summary::rows_by_dataset(&research)? {
        println!("  {dataset:<22} {rows:>10} rows");
    }
    println!(
        "rejected: {} (reasons in {})",
        report.rejected_total(),
        identified.join("dead-letters.ndjson").display()
    );
    let report_path = a.dir.join("gender.html");
    let gender = crate::query::runtime()?.block_on(async {
        let catalog = msma_query::Catalog::open(
            &msma_sink::Location::Local(research.clone()),
            None,
            msma_query::DEFAULT_MEMORY_LIMIT,
        )
        .await?;
        // The simulated year, not the few months of follow-up after it.
        let settings = msma_report::Settings {
            year: Some(chrono::Datelike::year(&generated.first)),
            ..msma_report::Settings::default()
        };
        msma_report::gender::build(&catalog, &settings).await
    })?;
    std::fs::write(&report_path, gender.render(msma_report::Format::Html))?;
    println!(
        "5. report   {} (the CNRMS views on women and men; {} small counts masked, {} figures derived from them)",
        report_path.display(),
        gender.suppressed.small,
        gender.suppressed.derived
    );
    if let Some(yearly) = gender.tables.iter().find(|t| t.id == "followed_per_year") {
        println!("  patients followed per year:");
        for row in &yearly.rows {
            let cell = |c: usize| row.cells[c].display();
            println!("    {}: women {}, men {}", row.label, cell(0), cell(1));
        }
    }
    println!(
        "\nnext: msma query --data {} \"SHOW TABLES\", or open it with pyarrow, DuckDB or Polars \
         (docs/RESEARCHERS.md)",
        research.display()
    );
    Ok(ExitCode::SUCCESS)
}
