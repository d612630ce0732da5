//! Independent jobs on a few scoped threads: the files of a transaction encode and sync
//! apart from one another.

use std::sync::Mutex;

/// Runs `work` on every job, on up to `threads` threads (in the calling thread when one
/// is enough), and returns the results in the jobs' order. Stops taking jobs at the
/// first error, which it returns.
pub fn run<T: Send, R: Send, E: Send>(
    threads: usize,
    jobs: Vec<T>,
    work: impl Fn(T) -> Result<R, E> + Sync,
) -> Result<Vec<R>, E> {
    let threads = threads.min(jobs.len());
    if threads <= 1 {
        return jobs.into_iter().map(work).collect();
    }
    let n = jobs.len();
    let queue = Mutex::new(jobs.into_iter().enumerate());
    let done = Mutex::new(Vec::with_capacity(n));
    let failed = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    if failed.lock().expect("no job panics").is_some() {
                        return;
                    }
                    let Some((i, job)) = queue.lock().expect("no job panics").next() else {
                        return;
                    };
                    match work(job) {
                        Ok(r) => done.lock().expect("no job panics").push((i, r)),
                        Err(e) => {
                            failed.lock().expect("no job panics").get_or_insert(e);
                            return;
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = failed.into_inner().expect("no job panics") {
        return Err(e);
    }
    let mut done = done.into_inner().expect("no job panics");
    done.sort_unstable_by_key(|(i, _)| *i);
    Ok(done.into_iter().map(|(_, r)| r).collect())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn every_job_runs_once_on_any_number_of_threads() {
        for threads in [0, 1, 2, 7] {
            let sum = AtomicUsize::new(0);
            let doubled = super::run(threads, (1..=100).collect(), |n: usize| {
                sum.fetch_add(n, Ordering::Relaxed);
                Ok::<_, ()>(2 * n)
            })
            .unwrap();
            assert_eq!(sum.into_inner(), 5050, "{threads} threads");
            assert_eq!(doubled, (1..=100).map(|n| 2 * n).collect::<Vec<_>>(), "in order");
        }
    }

    #[test]
    fn the_first_error_is_returned() {
        let got = super::run(3, (0..50).collect(), |n: i32| if n == 20 { Err(n) } else { Ok(()) });
        assert_eq!(got, Err(20));
    }
}
