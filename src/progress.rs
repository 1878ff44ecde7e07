//! Waiting on AWS with a person watching: poll soon and often, back off
//! gently, and show it (a spinner on a terminal, a line per change otherwise).

use std::future::Future;
use std::io::IsTerminal as _;
use std::time::Duration;

use tokio::time::Instant;

use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressStyle};

/// Poll intervals: the SDK waiters start at 20-60 s; a user is watching.
const INTERVALS: [u64; 6] = [1, 2, 3, 5, 8, 10];
const MAX_INTERVAL: u64 = 15;

pub fn interval(attempt: usize) -> Duration {
    Duration::from_secs(INTERVALS.get(attempt).copied().unwrap_or(MAX_INTERVAL))
}

/// Polls `check` until it returns `Ok(Some(_))`. `check` returns the status
/// it saw (for display) and whether the wait is over.
pub async fn wait_for<F, Fut>(
    what: &str,
    timeout: Duration,
    quiet: bool,
    mut check: F,
) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(String, bool)>>,
{
    let started = Instant::now();
    let _doing = crate::activity::doing(format!("waiting for {what}"));
    let spinner = (!quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let mut last = String::new();
    let mut attempt = 0;
    loop {
        let (status, done) = check().await?;
        if status != last {
            match &spinner {
                Some(bar) => bar.set_message(format!("{what}: {status}")),
                None if !quiet => eprintln!("{what}: {status}"),
                None => {}
            }
            last.clone_from(&status);
        }
        if done {
            if let Some(bar) = &spinner {
                bar.finish_and_clear();
            }
            return Ok(());
        }
        if started.elapsed() >= timeout {
            if let Some(bar) = &spinner {
                bar.finish_and_clear();
            }
            bail!(
                "{what}: still {status} after {} s. AWS goes on by itself: run `maint status` later to check",
                timeout.as_secs()
            );
        }
        tokio::time::sleep(interval(attempt)).await;
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_starts_fast_and_backs_off_to_a_cap() {
        assert_eq!(interval(0), Duration::from_secs(1));
        assert!(interval(3) > interval(2));
        assert_eq!(interval(100), Duration::from_secs(MAX_INTERVAL));
    }

    #[tokio::test(start_paused = true)]
    async fn waits_until_done_and_times_out_with_a_hint() {
        let mut calls = 0;
        wait_for("thing", Duration::from_secs(60), true, || {
            calls += 1;
            let done = calls == 3;
            async move { Ok(("InProgress".to_string(), done)) }
        })
        .await
        .unwrap();
        assert_eq!(calls, 3);
        let err = wait_for("thing", Duration::from_secs(5), true, || async {
            Ok(("InProgress".to_string(), false))
        })
        .await
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("still InProgress") && err.contains("maint status"),
            "{err}"
        );
    }
}
