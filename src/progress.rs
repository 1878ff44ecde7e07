//! Waiting on AWS with a person watching: poll soon and often, back off
//! gently, and show it (a spinner on a terminal, a line per change otherwise).

use std::future::Future;
use std::io::IsTerminal as _;
use std::time::Duration;

use tokio::time::Instant;

use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressStyle};

/// How long to sleep before the next poll, given how long the wait has run.
///
/// A deploy or an invalidation usually ends within seconds to a few minutes,
/// and a person (or a CI job) is waiting on it: for the first ten minutes
/// maint polls every 1 to 1.5 s, so the end is noticed within 2 s of happening
/// (the interval plus one request's round trip). After that the wait is
/// clearly a long one and the polls back off to 5 s, then 15 s.
///
/// Rate: CloudFront publishes no request rate for GetDistribution or
/// GetInvalidation and answers `Throttling` when a caller goes too fast. One
/// poll per 1.5 s is under one request per second per environment, and the
/// polls of all the environments a run waits on take turns in `POLLS`: at
/// most 5 a second together, whatever `--jobs` is. A `Throttling` answer is
/// retried by the SDK with backoff, and a poll that still fails does not
/// end the wait (three in a row do).
pub fn interval(elapsed: Duration) -> Duration {
    match elapsed.as_secs() {
        0..10 => Duration::from_secs(1),
        10..600 => Duration::from_millis(1500),
        600..1200 => Duration::from_secs(5),
        _ => Duration::from_secs(15),
    }
}

/// One process-wide lane of requests, sent at least `gap` apart whatever
/// the number of environments a run works on at once (the first goes at
/// once). See `POLLS` and `INVALIDATIONS`. Unit tests make their own `Pace`:
/// the statics keep a time of whichever runtime used them last, and a
/// paused clock's time means nothing to another runtime.
#[derive(Debug)]
pub struct Pace {
    next: std::sync::Mutex<Option<Instant>>,
    gap: Duration,
}

impl Pace {
    pub const fn new(gap: Duration) -> Self {
        Self {
            next: std::sync::Mutex::new(None),
            gap,
        }
    }

    /// Waits for this caller's turn.
    pub async fn turn(&self) {
        let at = {
            let mut next = self
                .next
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let now = Instant::now();
            let at = next.map_or(now, |n| n.max(now));
            *next = Some(at + self.gap);
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

/// Status polls of CloudFront's control plane (GetDistribution,
/// GetInvalidation, DescribeKeyValueStore), all waits of a run together: at
/// most 5 per second. One environment polls every 1 to 1.5 s and never
/// meets it; 64 environments waiting at once (`--jobs 64`) each poll about
/// every 13 s instead of sending 40 requests a second.
pub static POLLS: Pace = Pace::new(Duration::from_millis(200));

/// CreateInvalidation, all environments of a run together: one per 2 s.
/// CloudFront's default rate for it is 0.5 per second per account (the
/// CloudFront team's figure, quoted by an AWS SDK maintainer in
/// aws/aws-sdk-js#3983, 2022); `invalidate --all` over many environments
/// would otherwise be throttled after the first few.
pub static INVALIDATIONS: Pace = Pace::new(Duration::from_secs(2));

/// Without a terminal (a CI log), a line at least this often while the
/// status stays the same, so a log shows the wait is alive.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

/// Polls that may fail in a row before the wait gives up.
pub const POLL_FAILURES: u32 = 3;

/// How a wait shows itself (see `Output::waits`).
#[derive(Debug, Clone, Default)]
pub struct Show {
    pub quiet: bool,
    /// Before each line: the environment, in a run over several.
    pub prefix: String,
    /// Whether a spinner may be used on a terminal.
    pub spinner: bool,
    /// The lane the polls take turns in (CloudFront's control plane).
    pub pace: Option<&'static Pace>,
}

impl Show {
    /// Polls AWS's control plane: they take turns in `POLLS`.
    pub fn paced(self) -> Self {
        Self {
            pace: Some(&POLLS),
            ..self
        }
    }
}

/// Polls `check` until it says the wait is over. `check` returns the status
/// it saw (for display) and whether the wait is over.
pub async fn wait_for<F, Fut>(what: &str, timeout: Duration, show: Show, check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(String, bool)>>,
{
    let spin = !show.quiet && show.spinner && std::io::stderr().is_terminal();
    let prefix = show.prefix;
    let mut log = |line: &str| eprintln!("{prefix}{line}");
    let sink: Option<&mut dyn FnMut(&str)> = (!show.quiet && !spin).then_some(&mut log as _);
    let pace = show.pace;
    let paced = || async move {
        if let Some(pace) = pace {
            pace.turn().await;
        }
    };
    wait_with(what, timeout, spin, sink, paced, check).await
}

async fn wait_with<F, Fut, P, PFut>(
    what: &str,
    timeout: Duration,
    spin: bool,
    mut log: Option<&mut dyn FnMut(&str)>,
    turn: P,
    mut check: F,
) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(String, bool)>>,
    P: Fn() -> PFut,
    PFut: Future<Output = ()>,
{
    let started = Instant::now();
    let _doing = crate::activity::doing(format!("waiting for {what}"));
    let spinner = spin.then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let mut last = String::new();
    let mut logged = started;
    let mut failures = 0;
    loop {
        // A poll that fails after the SDK's own retries (sustained
        // throttling, a network blip) does not end the wait: AWS goes on
        // meanwhile. A few in a row do.
        turn().await;
        let (status, done) = match check().await {
            Ok(seen) => {
                failures = 0;
                seen
            }
            Err(err) if failures + 1 < POLL_FAILURES && started.elapsed() < timeout => {
                failures += 1;
                if let Some(log) = log.as_deref_mut() {
                    log(&format!(
                        "{what}: could not read its status ({err:#}); trying again"
                    ));
                }
                tokio::time::sleep(interval(started.elapsed()).max(Duration::from_secs(2))).await;
                continue;
            }
            Err(err) => return Err(err),
        };
        let elapsed = started.elapsed();
        if let Some(bar) = &spinner {
            if status != last {
                bar.set_message(format!("{what}: {status}"));
            }
        } else if let Some(log) = log.as_deref_mut()
            && (status != last || logged.elapsed() >= LOG_EVERY)
        {
            log(&format!("{what}: {status} ({} s)", elapsed.as_secs()));
            logged = Instant::now();
        }
        last.clone_from(&status);
        if done {
            if let Some(bar) = &spinner {
                bar.finish_and_clear();
            }
            return Ok(());
        }
        if elapsed >= timeout {
            if let Some(bar) = &spinner {
                bar.finish_and_clear();
            }
            bail!(
                "{what}: still {status} after {} s. AWS goes on by itself: run `maint status` later to check",
                timeout.as_secs()
            );
        }
        tokio::time::sleep(interval(elapsed).min(timeout.checked_sub(elapsed).unwrap())).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_is_at_most_one_and_a_half_seconds_apart_for_ten_minutes() {
        assert_eq!(interval(Duration::ZERO), Duration::from_secs(1));
        for secs in 0..600 {
            assert!(
                interval(Duration::from_secs(secs)) <= Duration::from_millis(1500),
                "{secs}"
            );
        }
        assert!(interval(Duration::from_secs(600)) > Duration::from_secs(2));
        assert_eq!(
            interval(Duration::from_secs(86_400)),
            Duration::from_secs(15)
        );
    }

    async fn no_turn() {}

    #[tokio::test(start_paused = true)]
    async fn a_pace_spaces_its_callers_and_lets_the_first_go_at_once() {
        let pace = Pace::new(Duration::from_secs(2));
        let started = Instant::now();
        let waits = (0..4).map(|_| async {
            pace.turn().await;
            started.elapsed()
        });
        let at = futures_util::future::join_all(waits).await;
        assert_eq!(
            at,
            [0, 2, 4, 6].map(Duration::from_secs),
            "one turn per gap, in order"
        );
        // After a quiet spell, the next goes at once again.
        tokio::time::sleep(Duration::from_secs(30)).await;
        let before = Instant::now();
        pace.turn().await;
        assert_eq!(before.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn many_waits_at_once_poll_at_most_five_times_a_second_together() {
        let pace = Pace::new(Duration::from_millis(200));
        let polls = std::cell::Cell::new(0u32);
        let started = Instant::now();
        let waits = (0..64).map(|_| {
            wait_with(
                "deploy",
                Duration::from_secs(600),
                false,
                None,
                || pace.turn(),
                || {
                    polls.set(polls.get() + 1);
                    let done = started.elapsed() >= Duration::from_secs(60);
                    async move { Ok(("InProgress".to_string(), done)) }
                },
            )
        });
        for result in futures_util::future::join_all(waits).await {
            result.unwrap();
        }
        let secs = started.elapsed().as_secs_f64();
        // The first poll goes at once: N polls span N - 1 gaps.
        let rate = f64::from(polls.get() - 1) / secs;
        assert!(rate <= 5.0 + 1e-9, "{} polls in {secs} s", polls.get());
        // Unpaced, 64 waits would have polled about 64 / 1.5 = 43 times a second.
        assert!(rate > 4.0, "the pace is used, not starved: {rate}");
    }

    /// A deploy that ends at `ends` s is noticed this late by the schedule
    /// (each poll taking `latency`).
    async fn lateness(ends: Duration, latency: Duration) -> Duration {
        let started = Instant::now();
        wait_with(
            "deploy",
            Duration::from_secs(3600),
            false,
            None,
            no_turn,
            || {
                let now = Instant::now();
                async move {
                    tokio::time::sleep(latency).await;
                    let done = now.duration_since(started) >= ends;
                    Ok(("InProgress".to_string(), done))
                }
            },
        )
        .await
        .unwrap();
        started.elapsed().checked_sub(ends).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn a_deploy_of_5_to_600_s_is_noticed_within_two_seconds() {
        for secs in [5, 15, 30, 60, 61, 299, 599] {
            let late = lateness(Duration::from_secs(secs), Duration::from_millis(300)).await;
            assert!(late <= Duration::from_secs(2), "{secs} s: {late:?} late");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_poll_does_not_end_the_wait_but_several_in_a_row_do() {
        let mut calls = 0;
        wait_with(
            "deploy",
            Duration::from_secs(600),
            false,
            None,
            no_turn,
            || {
                calls += 1;
                let n = calls;
                async move {
                    match n {
                        1 | 2 | 4 => anyhow::bail!("Throttling"),
                        3 => Ok(("InProgress".to_string(), false)),
                        _ => Ok(("Deployed".to_string(), true)),
                    }
                }
            },
        )
        .await
        .unwrap();
        assert_eq!(calls, 5);
        let err = wait_with(
            "deploy",
            Duration::from_secs(600),
            false,
            None,
            no_turn,
            || async { anyhow::bail!("AccessDenied") },
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("AccessDenied"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_terminal_a_line_at_least_every_ten_seconds() {
        let mut lines = Vec::new();
        let mut log = |line: &str| lines.push(line.to_string());
        let mut calls = 0;
        wait_with(
            "invalidation I1",
            Duration::from_secs(600),
            false,
            Some(&mut log),
            no_turn,
            || {
                calls += 1;
                let status = if calls < 40 {
                    "InProgress"
                } else {
                    "Completed"
                };
                async move { Ok((status.to_string(), status == "Completed")) }
            },
        )
        .await
        .unwrap();
        assert_eq!(lines.first().unwrap(), "invalidation I1: InProgress (0 s)");
        assert!(
            lines
                .last()
                .unwrap()
                .starts_with("invalidation I1: Completed (")
        );
        let secs: Vec<u64> = lines
            .iter()
            .map(|l| {
                l.rsplit('(')
                    .next()
                    .unwrap()
                    .trim_end_matches(" s)")
                    .parse()
                    .unwrap()
            })
            .collect();
        assert!(secs.windows(2).all(|w| w[1] - w[0] <= 11), "{lines:?}");
        assert!(lines.len() >= 5, "{lines:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn waits_until_done_and_times_out_with_a_hint() {
        let mut calls = 0;
        let quiet = || Show {
            quiet: true,
            ..Show::default()
        };
        wait_for("thing", Duration::from_secs(60), quiet(), || {
            calls += 1;
            let done = calls == 3;
            async move { Ok(("InProgress".to_string(), done)) }
        })
        .await
        .unwrap();
        assert_eq!(calls, 3);
        let err = wait_for("thing", Duration::from_secs(5), quiet(), || async {
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
