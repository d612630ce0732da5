//! A one-line progress display for long runs, on standard error and only when it is a
//! terminal (logs and pipes stay clean): count done, percentage, rate, time left. indicatif
//! draws and clears the line; the count is polled, since file ingest reads through buffers.

use indicatif::{HumanCount, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub struct Progress {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// Redraws `what: <done> <unit> ...` four times a second until dropped. `done` is
    /// called from the display thread; `total` gives the percentage and the time left.
    pub fn start(
        what: &'static str,
        unit: &'static str,
        total: Option<u64>,
        done: impl Fn() -> u64 + Send + 'static,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::io::stderr().is_terminal().then(|| {
            let stop = stop.clone();
            let style = ProgressStyle::with_template("{msg}").expect("a valid template");
            let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr()).with_style(style);
            std::thread::spawn(move || {
                let started = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(250));
                    bar.set_message(render(what, unit, done(), total, started.elapsed()));
                }
                bar.finish_and_clear();
            })
        });
        Self { stop, thread }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn render(what: &str, unit: &str, done: u64, total: Option<u64>, elapsed: Duration) -> String {
    let rate = done as f64 / elapsed.as_secs_f64().max(1e-3);
    let mut line = format!("{what}: {} {unit}", HumanCount(done));
    if let Some(total) = total.filter(|t| *t > 0) {
        let left = total.saturating_sub(done) as f64 / rate.max(1e-9);
        line += &format!(" of {} ({:.0}%)", HumanCount(total), 100.0 * done as f64 / total as f64);
        line += &format!(" · {}/s", HumanCount(rate as u64));
        if done > 0 {
            line += &format!(" · {} left", clock(left));
        }
    } else {
        line += &format!(" · {}/s", HumanCount(rate as u64));
    }
    line
}

fn clock(seconds: f64) -> String {
    let s = seconds.round() as u64;
    format!("{}:{:02}", s / 60, s % 60)
}

/// How far the process has read in an open file, from /proc (Linux): file ingest reads
/// through buffers and segment checks, and the kernel's offset is the honest count.
pub fn file_position(fd: i32) -> impl Fn() -> u64 + Send + 'static {
    let path = format!("/proc/self/fdinfo/{fd}");
    // Once the file is closed the offset is gone: keep the furthest seen.
    let furthest = std::sync::atomic::AtomicU64::new(0);
    move || {
        let now = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| t.lines().find_map(|l| l.strip_prefix("pos:")?.trim().parse().ok()))
            .unwrap_or(0);
        furthest.fetch_max(now, Ordering::Relaxed).max(now)
    }
}

/// The most memory the process has held resident so far (VmHWM, Linux), in MiB.
pub fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    Some(kib.div_ceil(1024))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_as_a_person_would() {
        let line = render(
            "ingest",
            "bytes",
            250_000_000,
            Some(1_000_000_000),
            Duration::from_secs(2),
        );
        assert_eq!(
            line,
            "ingest: 250,000,000 bytes of 1,000,000,000 (25%) · 125,000,000/s · 0:06 left"
        );
        assert_eq!(
            render("generate", "events", 0, None, Duration::ZERO),
            "generate: 0 events · 0/s"
        );
    }
}
