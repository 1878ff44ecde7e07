//! The one shape of every command that changes AWS:
//!
//! ```text
//! desired  = spec from config + flags          (pure)
//! observed = what AWS has now                  (read-only adapters)
//! plan     = diff(desired, observed)           (pure, printable, snapshot-tested)
//! apply(plan), then observe again and verify   (adapters, writes)
//! ```
//!
//! `provision`, `destroy`, `attach` and `detach` implement [`Converge`];
//! [`converge`] does the rest once: it prints the plan (on stdout, even with
//! `--quiet`), stops there for `--dry-run`, applies exactly the steps it
//! printed, then observes again and plans again, and fails unless nothing is
//! left to do. A step carries what it needs to be applied; what only an
//! earlier step can learn (an id AWS gives) the implementor keeps while
//! applying.

use std::fmt;

use anyhow::{Result, bail};
use serde::Serialize;

use crate::output::Output;

/// What a change does, for scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Delete,
    /// Run something to check it, changing nothing (CloudFront's TestFunction).
    Test,
}

/// One step of a plan as the JSON output shows it: `{action, resource, detail}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub action: Action,
    /// What it acts on: `bucket acme-maint`, `distribution E1`, ...
    pub resource: String,
    /// How, in a few words.
    pub detail: String,
}

/// A step of a plan: printed for people (`Display`), described for scripts
/// (`change`), applied by its `Converge`.
pub trait Step: fmt::Display {
    fn change(&self) -> Change;
}

/// A command that brings AWS to a desired state.
// maint runs on one current-thread runtime, so the futures need not be Send;
// the trait is the library's own, not an API for other crates.
#[allow(async_fn_in_trait)]
pub trait Converge {
    type Observed;
    type Step: Step;

    /// Whose plan it is, e.g. "environment `staging`".
    fn subject(&self) -> String;

    /// What AWS has now. Read-only.
    async fn observe(&self) -> Result<Self::Observed>;

    /// What must change: pure, the same inputs always give the same steps.
    /// An error here stops the command before any write.
    fn plan(&self, observed: &Self::Observed) -> Result<Vec<Self::Step>>;

    /// Called once the plan is shown and before anything is applied (a
    /// confirmation, for instance).
    fn before_apply(&self, _steps: &[Self::Step]) -> Result<()> {
        Ok(())
    }

    /// How long AWS may take to show a change in reads: IAM is eventually
    /// consistent, so its verification looks again a few times before it
    /// calls a change missing. Zero for services that read their writes.
    fn settle_time(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }

    /// Makes the changes, in order.
    async fn apply(
        &mut self,
        steps: &[Self::Step],
        observed: Self::Observed,
        out: &Output,
    ) -> Result<()>;
}

/// A plan as printed.
pub struct Plan<'a, S> {
    pub subject: &'a str,
    pub steps: &'a [S],
}

impl<S: Step> fmt::Display for Plan<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.steps.is_empty() {
            return write!(
                f,
                "No changes necessary: {} matches the config.",
                self.subject
            );
        }
        write!(
            f,
            "Plan for {} ({} change{}):",
            self.subject,
            self.steps.len(),
            if self.steps.len() == 1 { "" } else { "s" }
        )?;
        for step in self.steps {
            write!(f, "\n  {step}")?;
        }
        Ok(())
    }
}

/// What a converge run did: the plan, and whether it was applied.
#[derive(Debug)]
pub struct Converged<S> {
    pub steps: Vec<S>,
    pub applied: bool,
}

impl<S: Step> Converged<S> {
    /// The plan for the JSON output.
    pub fn changes(&self) -> Vec<Change> {
        self.steps.iter().map(Step::change).collect()
    }
}

/// Observe, plan, print; then (unless a dry run or nothing to do) apply and
/// verify by observing and planning again.
pub async fn converge<C: Converge>(
    target: &mut C,
    out: &Output,
    dry_run: bool,
) -> Result<Converged<C::Step>> {
    let subject = target.subject();
    let observed = target.observe().await?;
    let steps = target.plan(&observed)?;
    out.plan(Plan {
        subject: &subject,
        steps: &steps,
    });
    if dry_run || steps.is_empty() {
        return Ok(Converged {
            steps,
            applied: false,
        });
    }
    target.before_apply(&steps)?;
    target.apply(&steps, observed, out).await?;
    let settle = std::time::Instant::now() + target.settle_time();
    let mut left = target.plan(&target.observe().await?)?;
    while !left.is_empty() && std::time::Instant::now() < settle {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        left = target.plan(&target.observe().await?)?;
    }
    if !left.is_empty() {
        bail!(
            "AWS does not show all the changes yet; run the command again. Still different:\n{}",
            left.iter()
                .map(|s| format!("  {s}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    out.progress(format!("Verified: AWS now matches the plan for {subject}."));
    Ok(Converged {
        steps,
        applied: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// A toy target: AWS holds a number, the config wants another.
    struct Counter {
        aws: RefCell<u32>,
        want: u32,
        /// How much one apply really adds (less than planned: AWS lags).
        step: u32,
        applied: Vec<String>,
    }

    #[derive(Debug, Clone)]
    struct Add(u32);

    impl fmt::Display for Add {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "+ add {}", self.0)
        }
    }

    impl Step for Add {
        fn change(&self) -> Change {
            Change {
                action: Action::Create,
                resource: "counter".into(),
                detail: format!("add {}", self.0),
            }
        }
    }

    impl Converge for Counter {
        type Observed = u32;
        type Step = Add;
        fn subject(&self) -> String {
            "the counter".into()
        }
        async fn observe(&self) -> Result<u32> {
            Ok(*self.aws.borrow())
        }
        fn plan(&self, observed: &u32) -> Result<Vec<Add>> {
            Ok(if *observed < self.want {
                vec![Add(self.want - observed)]
            } else {
                vec![]
            })
        }
        async fn apply(&mut self, steps: &[Add], _: u32, _: &Output) -> Result<()> {
            for s in steps {
                self.applied.push(s.to_string());
                *self.aws.borrow_mut() += s.0.min(self.step);
            }
            Ok(())
        }
    }

    fn quiet() -> Output {
        Output {
            json: true,
            quiet: true,
            scope: None,
        }
    }

    #[tokio::test]
    async fn applies_exactly_the_plan_then_verifies() {
        let mut c = Counter {
            aws: RefCell::new(1),
            want: 4,
            step: 10,
            applied: vec![],
        };
        let outcome = converge(&mut c, &quiet(), false).await.unwrap();
        assert!(outcome.applied);
        assert_eq!(c.applied, ["+ add 3"]);
        assert_eq!(outcome.changes()[0].detail, "add 3");
        // Converged: nothing to do, nothing applied.
        let again = converge(&mut c, &quiet(), false).await.unwrap();
        assert!(!again.applied && again.steps.is_empty());
    }

    #[tokio::test]
    async fn a_dry_run_applies_nothing() {
        let mut c = Counter {
            aws: RefCell::new(0),
            want: 2,
            step: 10,
            applied: vec![],
        };
        let outcome = converge(&mut c, &quiet(), true).await.unwrap();
        assert!(!outcome.applied);
        assert_eq!(outcome.steps.len(), 1);
        assert!(c.applied.is_empty());
    }

    #[tokio::test]
    async fn what_aws_does_not_show_after_applying_is_an_error() {
        let mut c = Counter {
            aws: RefCell::new(0),
            want: 5,
            step: 2,
            applied: vec![],
        };
        let err = converge(&mut c, &quiet(), false)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("Still different:\n  + add 3"), "{err}");
    }

    #[test]
    fn plans_print_their_steps_or_say_nothing_is_needed() {
        let steps = [Add(1), Add(2)];
        let text = Plan {
            subject: "the counter",
            steps: &steps,
        }
        .to_string();
        assert_eq!(
            text,
            "Plan for the counter (2 changes):\n  + add 1\n  + add 2"
        );
        let none: [Add; 0] = [];
        assert_eq!(
            Plan {
                subject: "the counter",
                steps: &none
            }
            .to_string(),
            "No changes necessary: the counter matches the config."
        );
    }
}
