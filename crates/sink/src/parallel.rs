//! Independent jobs on a few scoped threads: the files of a transaction encode and sync
//! apart from one another.

use std::sync::Mutex;

/// Runs `work` on every job, on up to `threads` threads (in the calling thread when one
/// is enough). Stops taking jobs at the first error, which it returns.
pub fn run<T: Send, E: Send>(threads: usize, jobs: Vec<T>, work: impl Fn(T) -> Result<(), E> + Sync) -> Result<(), E> {
    let threads = threads.min(jobs.len());
    if threads <= 1 {
        return jobs.into_iter().try_for_each(work);
    }
    let queue = Mutex::new(jobs.into_iter());
    let failed = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    if failed.lock().expect("no job panics").is_some() {
                        return;
                    }
                    let Some(job) = queue.lock().expect("no job panics").next() else {
                        return;
                    };
                    if let Err(e) = work(job) {
                        failed.lock().expect("no job panics").get_or_insert(e);
                        return;
                    }
                }
            });
        }
    });
    failed.into_inner().expect("no job panics").map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn every_job_runs_once_on_any_number_of_threads() {
        for threads in [0, 1, 2, 7] {
            let sum = AtomicUsize::new(0);
            super::run(threads, (1..=100).collect(), |n: usize| {
                sum.fetch_add(n, Ordering::Relaxed);
                Ok::<_, ()>(())
            })
            .unwrap();
            assert_eq!(sum.into_inner(), 5050, "{threads} threads");
        }
    }

    #[test]
    fn the_first_error_is_returned() {
        let got = super::run(3, (0..50).collect(), |n: i32| if n == 20 { Err(n) } else { Ok(()) });
        assert_eq!(got, Err(20));
    }
}
