//! A one-line progress display for long runs, on standard error and only when it is a
//! terminal (logs and pipes stay clean): count done, percentage, rate, time left. indicatif
//! draws and clears the line, and log lines go through [`LogWriter`], which lifts the line
//! while one is written; the count is polled, since file ingest reads through buffers.

use indicatif::{HumanCount, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The progress lines of the process, drawn on standard error.
static LINES: LazyLock<MultiProgress> = LazyLock::new(MultiProgress::new);

pub struct Progress {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// Redraws `what: <done> <unit> ...` four times a second until dropped. `done` is
    /// called from the display thread: the count, and the share of the work done when
    /// something other than the count measures it (the bytes of an input file); `total`,
    /// or that share, gives the percentage and the time left.
    pub fn start(
        what: &'static str,
        unit: &'static str,
        total: Option<u64>,
        done: impl Fn() -> (u64, Option<f64>) + Send + 'static,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::io::stderr().is_terminal().then(|| {
            let stop = stop.clone();
            let style = ProgressStyle::with_template("{msg}").expect("a valid template");
            let bar = LINES.add(ProgressBar::with_draw_target(total, ProgressDrawTarget::hidden()).with_style(style));
            std::thread::spawn(move || {
                let started = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(250));
                    let (count, share) = done();
                    bar.set_message(render(what, unit, count, total, share, started.elapsed()));
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

/// Standard error for log lines: a progress line is cleared while one is written, then
/// drawn again below it, so that no log line is written over it.
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LINES.suspend(|| std::io::stderr().write_all(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

fn render(what: &str, unit: &str, done: u64, total: Option<u64>, share: Option<f64>, elapsed: Duration) -> String {
    let rate = done as f64 / elapsed.as_secs_f64().max(1e-3);
    let total = total.filter(|t| *t > 0);
    let share = total.map(|t| done as f64 / t as f64).or(share);
    let mut line = format!("{what}: {} {unit}", HumanCount(done));
    if let Some(total) = total {
        line += &format!(" of {}", HumanCount(total));
    }
    if let Some(share) = share {
        line += &format!(" ({:.0}%)", 100.0 * share);
    }
    line += &format!(" · {}/s", HumanCount(rate as u64));
    if let Some(share) = share.filter(|s| *s > 0.0) {
        line += &format!(
            " · {} left",
            clock(elapsed.as_secs_f64() * (1.0 - share).max(0.0) / share)
        );
    }
    line
}

fn clock(seconds: f64) -> String {
    let s = seconds.round() as u64;
    format!("{}:{:02}", s / 60, s % 60)
}

/// The share of an open file of `size` bytes that the process has read, from /proc
/// (Linux): file ingest reads through buffers and segment checks, and the kernel's offset
/// is the honest count.
pub fn file_share(fd: i32, size: u64) -> impl Fn() -> Option<f64> + Send + 'static {
    let path = format!("/proc/self/fdinfo/{fd}");
    // Once the file is closed the offset is gone: keep the furthest seen.
    let furthest = std::sync::atomic::AtomicU64::new(0);
    move || {
        let now = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| t.lines().find_map(|l| l.strip_prefix("pos:")?.trim().parse().ok()))
            .unwrap_or(0);
        let read = furthest.fetch_max(now, Ordering::Relaxed).max(now);
        (size > 0).then(|| read.min(size) as f64 / size as f64)
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
        let two_s = Duration::from_secs(2);
        let line = render("generate", "events", 250_000, Some(1_000_000), None, two_s);
        assert_eq!(
            line,
            "generate: 250,000 events of 1,000,000 (25%) · 125,000/s · 0:06 left"
        );
        // A file ingest counts events; the share of the file read gives the time left.
        let line = render("ingest", "events", 250_000, None, Some(0.25), two_s);
        assert_eq!(line, "ingest: 250,000 events (25%) · 125,000/s · 0:06 left");
        assert_eq!(
            render("ingest", "events", 250_000, None, None, two_s),
            "ingest: 250,000 events · 125,000/s"
        );
        assert_eq!(
            render("generate", "events", 0, None, None, Duration::ZERO),
            "generate: 0 events · 0/s"
        );
    }
}
