//! The binary as a new user meets it: keys, start-up errors, generate, ingest, demo.

use crate::util::{Site, msma, ok, stderr, stdout};
use std::os::unix::fs::PermissionsExt;

fn mode(path: &str) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn keys_init_writes_a_private_hex_key_and_never_overwrites() {
    let site = Site::new();
    let key = site.key();
    let text = std::fs::read_to_string(&key).unwrap();
    assert_eq!(text.len(), 65);
    assert!(text.ends_with('\n'));
    assert!(
        text[..64]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    assert_eq!(mode(&key), 0o600);
    let id = stdout(&ok(&["keys", "id", "--keys", &key]));
    assert_eq!(id.trim().len(), 16);
    let again = msma().args(["keys", "init", "--out", &key]).output().unwrap();
    assert!(!again.status.success());
    assert!(stderr(&again).contains("refusing to overwrite"));
    assert_eq!(std::fs::read_to_string(&key).unwrap(), text);
}

#[test]
fn bad_key_files_stop_start_up_with_a_fix_and_without_the_key() {
    let site = Site::new();
    let input = site.generate(100, 1, 0);
    let key = site.key();
    let secret = std::fs::read_to_string(&key).unwrap();
    let args = site.ingest_args(&input, "research");
    let run = || msma().args(&args).output().unwrap();

    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("chmod 600"), "{}", stderr(&out));

    std::fs::write(&key, secret.to_uppercase()).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = run();
    assert!(stderr(&out).contains("malformed"), "{}", stderr(&out));
    assert!(
        !stderr(&out).to_lowercase().contains(&secret[..16]),
        "the error quotes the key"
    );

    std::fs::remove_file(&key).unwrap();
    let out = run();
    assert!(stderr(&out).contains("msma keys init"), "{}", stderr(&out));
    assert!(
        !site.path("research").exists(),
        "nothing is created before the key is good"
    );
}

#[test]
fn generate_is_deterministic() {
    let site = Site::new();
    let a = site.s("a.ndjson");
    let b = site.s("b.ndjson");
    let c = site.s("c.ndjson");
    ok(&["generate", "--events", "3000", "--seed", "42", "--out", &a]);
    ok(&["generate", "--events", "3000", "--seed", "42", "--out", &b]);
    ok(&["generate", "--events", "3000", "--seed", "43", "--out", &c]);
    let (a, b, c) = (
        std::fs::read(a).unwrap(),
        std::fs::read(b).unwrap(),
        std::fs::read(c).unwrap(),
    );
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(a.iter().filter(|&&x| x == b'\n').count(), 3000);
}

fn counts(report: &str) -> (u64, u64, u64, u64) {
    let line = report.lines().find(|l| l.starts_with("read ")).expect("a summary line");
    let nums: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit() && c != '.')
        .filter_map(|w| w.parse().ok())
        .collect();
    // read N lines in S s (R lines/s): W written, J rejected, A already committed
    (
        nums[0],
        nums[nums.len() - 3],
        nums[nums.len() - 2],
        nums[nums.len() - 1],
    )
}

#[test]
fn ingest_counts_dead_letters_and_reruns() {
    let site = Site::new();
    let input = site.generate(5_000, 3, 10_000);
    let args = site.ingest_args(&input, "research");
    let first = stdout(&ok(&args));
    let (read, written, rejected, already) = counts(&first);
    assert_eq!(read, 5_000);
    assert_eq!(written + rejected, read);
    assert!(rejected > 10 && rejected < 150, "about 1% rejected: {rejected}");
    assert_eq!(already, 0);

    let dead = site.s("identified/research-dead.ndjson");
    assert_eq!(mode(&dead), 0o600);
    let dead_text = std::fs::read_to_string(&dead).unwrap();
    assert_eq!(dead_text.lines().count() as u64, rejected);
    for line in dead_text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["line"].as_u64().unwrap() >= 1);
        assert!(!v["reason"].as_str().unwrap().is_empty() && !v["detail"].as_str().unwrap().is_empty());
    }

    let second = stdout(&ok(&args));
    assert!(second.contains("nothing to write"), "{second}");
    let (read2, written2, rejected2, already2) = counts(&second);
    assert_eq!((read2, written2, rejected2, already2), (5_000, 0, 0, 5_000));
    assert_eq!(std::fs::read_to_string(&dead).unwrap().lines().count() as u64, rejected);
}

#[test]
fn dead_letters_may_not_sit_in_the_research_zone() {
    let site = Site::new();
    let input = site.generate(10, 1, 0);
    let mut args = site.ingest_args(&input, "research");
    let n = args.len();
    args[n - 1] = site.s("research/dead.ndjson");
    let out = msma().args(&args).output().unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("inside the research zone"), "{}", stderr(&out));
}

#[test]
fn dead_letters_go_to_a_private_folder_made_for_them_never_inside_the_zone() {
    use std::os::unix::fs::PermissionsExt;
    let site = Site::new();
    let input = site.generate(20, 1, 500_000);
    let mut args = site.ingest_args(&input, "research");
    let n = args.len();
    args[n - 1] = site.s("identified/rejected/dead.ndjson");
    ok(&args);
    let folder = std::fs::metadata(site.path("identified/rejected")).unwrap();
    assert_eq!(folder.permissions().mode() & 0o777, 0o700);
    assert!(
        std::fs::read_to_string(site.path("identified/rejected/dead.ndjson"))
            .unwrap()
            .lines()
            .count()
            >= 1
    );
    // Inside the zone, refused before any folder is made.
    args[n - 1] = site.s("research/rejected/dead.ndjson");
    let out = msma().args(&args).output().unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("inside the research zone"), "{}", stderr(&out));
    assert!(!site.path("research/rejected").exists());
}

#[test]
fn another_study_cannot_write_into_a_zone() {
    let site = Site::new();
    let input = site.generate(50, 1, 0);
    let args = site.ingest_args(&input, "research");
    ok(&args);
    let mut other = args.clone();
    let i = other.iter().position(|a| a == "test-study").unwrap();
    other[i] = "another-study".into();
    let out = msma().args(&other).output().unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("one study"), "{}", stderr(&out));
}

#[test]
fn logs_and_output_never_carry_identifiers() {
    let site = Site::new();
    let input = site.generate(2_000, 5, 20_000);
    let args = site.ingest_args(&input, "research");
    let out = msma().env("MSMA_LOG", "trace").args(&args).output().unwrap();
    assert!(out.status.success());
    let shown = format!("{}{}", stdout(&out), stderr(&out));
    let key = std::fs::read_to_string(site.key()).unwrap();
    assert!(!shown.contains(key.trim()));
    let mut checked = 0;
    for line in std::fs::read_to_string(&input).unwrap().lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        for field in [
            "local_id",
            "ins",
            "last_name",
            "first_name",
            "birth_date",
            "phone",
            "email",
        ] {
            if let Some(s) = v["patient"][field].as_str() {
                assert!(!shown.contains(s), "{field} appears in the output or logs");
                checked += 1;
            }
        }
    }
    assert!(checked > 1_000);
}

#[test]
fn validate_reports_each_invalid_line() {
    let site = Site::new();
    let input = site.generate(1_000, 9, 20_000);
    let out = msma().args(["validate", &input]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.lines().count() > 5);
    assert!(text.lines().all(|l| l.starts_with("line ")));
}

#[test]
fn demo_runs_and_reruns() {
    let site = Site::new();
    let dir = site.s("msma-demo");
    for _ in 0..2 {
        let text = stdout(&ok(&["demo", "--dir", &dir]));
        assert!(text.contains("patients followed per year:"), "{text}");
        let report = std::fs::read_to_string(site.path("msma-demo/gender.html")).unwrap();
        assert!(report.contains("<svg") && report.contains("Sex ratio by region"));
        assert!(text.contains("patient_inclusion"));
        assert!(text.contains("rejected: "));
    }
    assert_eq!(mode(&site.s("msma-demo/custodian/master.key")), 0o600);
    let blocked = site.s("not-a-demo");
    std::fs::create_dir_all(&blocked).unwrap();
    let out = msma().args(["demo", "--dir", &blocked]).output().unwrap();
    assert!(!out.status.success(), "a folder the demo did not make is never deleted");
}

#[test]
fn a_study_policy_sets_generalisation_and_a_typo_stops_start_up() {
    let site = Site::new();
    let input = site.generate(3_000, 4, 0);
    let policy = site.s("policy.toml");
    std::fs::write(
        &policy,
        "date_granularity = \"year\"\nage_band_years = 10\nkeep_age_years = false\n",
    )
    .unwrap();
    let mut args = site.ingest_args(&input, "research");
    args.extend(["--policy".to_owned(), policy.clone()]);
    ok(&args);
    let check = crate::util::python(
        "query.py",
        &[
            &site.s("research"),
            "select count(*) filter (where month(occurred_on) <> 1 or day(occurred_on) <> 1), \
             count(*) filter (where age_years is not null), \
             count(*) filter (where age_band not in ('10-19','20-29','30-39','40-49','50-59','60-69','70-74','75+')) \
             from patient_inclusion",
        ],
    );
    assert_eq!(check.trim(), "0,0,0", "dates to the year, 10-year bands, no exact age");

    std::fs::write(&policy, "date_granularty = \"year\"\n").unwrap();
    let mut args = site.ingest_args(&input, "other");
    args.extend(["--policy".to_owned(), policy]);
    let out = msma().args(&args).output().unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("date_granularty"), "{}", stderr(&out));
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let mut child = msma()
        .args(["generate", "--events", "200000", "--out", "-"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        !stderr(&out).contains("panicked") && !stderr(&out).contains("error"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn ingest_runs_from_a_configuration_file_and_config_check_names_a_typo() {
    let site = Site::new();
    let input = site.generate(2_000, 3, 0);
    let config = site.path("msma.toml");
    let text = format!(
        "[study]\nid = \"from-config\"\nkey_file = \"{}\"\n\n[output]\nzone = \"{}\"\n\n[file]\ninput = \"{input}\"\n\
         dead_letter_file = \"{}\"\ncommit_lines = 500\n",
        site.key(),
        site.s("research"),
        site.s("identified/dead.ndjson")
    );
    std::fs::write(&config, &text).unwrap();
    let checked = stdout(&ok(&["config", "check", &config.display().to_string()]));
    assert!(
        checked.starts_with("ok: ") && checked.contains("study from-config"),
        "{checked}"
    );

    // The environment overrides the file, and the flags override both.
    let out = msma()
        .args([
            "ingest",
            "--config",
            &config.display().to_string(),
            "--commit-lines",
            "1000",
        ])
        .env("MSMA_STUDY_ID", "from-env")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("2 commit(s)"), "{}", stdout(&out));
    let ledger = std::fs::read_to_string(site.path("research/_msma/log/00000000000000000001.json")).unwrap();
    assert!(ledger.contains("\"study_id\": \"from-env\""), "{ledger}");
    // config check reads the zone: it now holds another study than the file names.
    let other = msma()
        .args(["config", "check", &config.display().to_string()])
        .output()
        .unwrap();
    assert_eq!(other.status.code(), Some(1));
    assert!(
        stdout(&other).contains("holds study \"from-env\""),
        "{}",
        stdout(&other)
    );
    let same = msma()
        .args(["config", "check", &config.display().to_string()])
        .env("MSMA_STUDY_ID", "from-env")
        .output()
        .unwrap();
    assert!(stdout(&same).contains("(2 commits)"), "{}", stdout(&same));

    std::fs::write(&config, text.replace("commit_lines", "comit_lines")).unwrap();
    let typo = msma()
        .args(["config", "check", &config.display().to_string()])
        .output()
        .unwrap();
    assert_eq!(typo.status.code(), Some(1));
    assert!(stdout(&typo).contains("comit_lines"), "{}", stdout(&typo));
    let start = msma()
        .args(["ingest", "--config", &config.display().to_string()])
        .output()
        .unwrap();
    assert!(!start.status.success());
    assert!(stderr(&start).contains("comit_lines"), "{}", stderr(&start));
    std::fs::write(&config, &text).unwrap();
    let env_typo = msma()
        .args(["config", "check", &config.display().to_string()])
        .env("MSMA_KAFKA_BROKRES", "x:9092")
        .output()
        .unwrap();
    assert!(
        stdout(&env_typo).contains("MSMA_KAFKA_BROKRES"),
        "{}",
        stdout(&env_typo)
    );
}

#[test]
fn long_runs_show_progress_in_a_terminal_and_nothing_in_a_pipe() {
    let site = Site::new();
    let out = site.s("identified/events.ndjson");
    let bin = env!("CARGO_BIN_EXE_msma");
    // `script` (util-linux) gives the command a terminal.
    let shown = std::process::Command::new("script")
        .args([
            "-qec",
            &format!("{bin} generate --events 1500000 --seed 2 --out {out}"),
            "/dev/null",
        ])
        .output()
        .expect("script runs");
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.status.success(), "{text}");
    assert!(
        text.contains("generate: ") && text.contains("events of 1,500,000 (") && text.contains(" left"),
        "{text}"
    );
    let piped = ok(&["generate", "--events", "20000", "--out", &out]);
    assert!(!stderr(&piped).contains('\r') && !stderr(&piped).contains("left"));
}

#[test]
fn a_kafka_properties_file_is_checked_before_start_up_and_never_quoted() {
    let site = Site::new();
    let props = site.path("identified/kafka.properties");
    let worker = |props: &std::path::Path| {
        msma()
            .args([
                "ingest",
                "--brokers",
                "127.0.0.1:9",
                "--topic",
                "t",
                "--group",
                "g",
                "--out",
            ])
            .arg(site.path("research"))
            .args(["--keys", &site.key(), "--study", "s", "--kafka-properties"])
            .arg(props)
            .output()
            .unwrap()
    };
    // A setting exactly-once delivery depends on is refused, naming the line.
    std::fs::write(&props, "sasl.password=s3cret-value\nenable.auto.commit=true\n").unwrap();
    let out = worker(&props);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("line 2: enable.auto.commit is set by msma"),
        "{}",
        stderr(&out)
    );
    // An unknown property stops start-up with librdkafka's message; values never show.
    std::fs::write(&props, "sasl.password=s3cret-value\nsecurity.protocl=SSL\n").unwrap();
    let out = worker(&props);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("security.protocl"), "{}", stderr(&out));
    for out in [worker(&props), worker(&site.path("missing.properties"))] {
        assert!(!stderr(&out).contains("s3cret") && !stdout(&out).contains("s3cret"));
    }
    let out = worker(&site.path("missing.properties"));
    assert!(
        stderr(&out).contains("missing.properties: cannot read the Kafka client properties"),
        "{}",
        stderr(&out)
    );
}

/// Kills a background command when the test ends, however it ends.
struct Background(std::process::Child);

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_readme_kafka_in_five_commands_works_as_written_in_an_empty_folder() {
    let readme = std::fs::read_to_string(crate::util::repo().join("README.md")).unwrap();
    let section = readme.split("### Kafka in five commands\n```sh\n").nth(1).unwrap();
    let commands: Vec<&str> = section.split("\n```").next().unwrap().lines().collect();
    assert_eq!(commands.len(), 5, "{commands:?}");
    let dir = tempfile::tempdir().unwrap();
    let mut broker = None;
    let mut bootstrap = String::new();
    for line in commands {
        let line = line.split(" # ").next().unwrap().trim();
        let (line, background) = match line.strip_suffix('&') {
            Some(l) => (l.trim(), true),
            None => (line, false),
        };
        let line = line.replace("127.0.0.1:PORT", &bootstrap);
        let mut words = line.split_whitespace();
        assert_eq!(words.next(), Some("msma"), "{line}");
        let mut cmd = msma();
        cmd.args(words).current_dir(dir.path());
        if background {
            let mut child = Background(cmd.stdout(std::process::Stdio::piped()).spawn().unwrap());
            let mut first = String::new();
            std::io::BufRead::read_line(&mut std::io::BufReader::new(child.0.stdout.take().unwrap()), &mut first)
                .unwrap();
            first
                .trim()
                .strip_prefix("bootstrap: ")
                .unwrap()
                .clone_into(&mut bootstrap);
            broker = Some(child);
            continue;
        }
        // The worker runs until stopped: the README's --stop-when-idle-ms drains and exits.
        if line.starts_with("msma ingest ") {
            cmd.args(["--stop-when-idle-ms", "3000"]);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{line}: {}", stderr(&out));
        if line.starts_with("msma ingest ") {
            assert!(stdout(&out).contains("200000 written, 0 rejected"), "{}", stdout(&out));
        }
    }
    assert!(broker.is_some());
    let path = |rel: &str| dir.path().join(rel).display().to_string();
    assert_eq!(mode(&path("custodian")), 0o700, "a new key folder is private");
    assert_eq!(mode(&path("custodian/master.key")), 0o600);
    assert_eq!(
        mode(&path("identified")),
        0o700,
        "a new folder of identified events is private"
    );
    // A folder that exists is left as it is.
    std::fs::create_dir(path("shared")).unwrap();
    std::fs::set_permissions(path("shared"), std::fs::Permissions::from_mode(0o755)).unwrap();
    ok(&["keys", "init", "--out", &path("shared/deeper/k.key")]);
    assert_eq!(mode(&path("shared")), 0o755);
    assert_eq!(mode(&path("shared/deeper")), 0o700);
}

#[test]
fn ingest_progress_counts_events_from_a_file_or_stdin_and_logs_never_overwrite_it() {
    let site = Site::new();
    let input = site.generate(600_000, 12, 0);
    let bin = env!("CARGO_BIN_EXE_msma");
    for (from, zone) in [(input.clone(), "by-file"), (format!("- < {input}"), "by-stdin")] {
        let mut args = site.ingest_args("INPUT", zone);
        args.extend(["--commit-lines".to_owned(), "50000".to_owned()]);
        let command = format!("{bin} {}", args.join(" ").replace("INPUT", &from));
        // `script` (util-linux) gives the command a terminal; the log shows each commit.
        let shown = std::process::Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .env("MSMA_LOG", "info")
            .output()
            .expect("script runs");
        let text = String::from_utf8_lossy(&shown.stdout);
        assert!(shown.status.success(), "{text}");
        let drawn = text
            .find("ingest: ")
            .unwrap_or_else(|| panic!("{zone}: no progress line in {text}"));
        assert!(!text.contains(" bytes"), "{text}");
        let counted = if zone == "by-file" { " events (" } else { " events · " };
        assert!(text[drawn..].split(counted).count() > 1, "{zone}: {text}");
        let logs: Vec<&str> = text.split('\n').filter(|l| l.contains(" committed ")).collect();
        assert_eq!(logs.len(), 12, "{text}");
        assert!(
            text.rfind(" committed ").unwrap() > drawn,
            "no log line while the progress line shows"
        );
        for log in logs {
            // What the terminal shows on the log's line: what follows the last carriage return.
            let shown_before = log[..log.find("INFO").unwrap()].rsplit('\r').next().unwrap();
            assert!(
                !shown_before.contains("ingest: "),
                "a log line written over the progress line: {log:?}"
            );
        }
    }
    let piped = ok(&site.ingest_args(&input, "piped"));
    assert!(!stderr(&piped).contains("ingest: ") && !stderr(&piped).contains('\r'));
}
