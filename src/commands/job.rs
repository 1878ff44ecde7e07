//! The typed request of each command that runs on one environment or on
//! several (provision, set-message, invalidate, status, on, off, verify):
//! the flags validated once into what the command runs, dispatched to it.
//! `many.rs` fans it out over several environments.

use anyhow::Result;

use super::{Output, Session, set_message, switch};
use crate::cli::{Command, WaitForEdge};
use crate::output::usage;

/// A command that can run on several environments, with its input
/// checked for one environment.
#[derive(Debug, Clone)]
pub enum Job {
    Provision {
        dry_run: bool,
        no_wait: bool,
        exit_code: bool,
    },
    SetMessage(set_message::Request),
    Invalidate {
        paths: Vec<String>,
        wait: bool,
    },
    Status {
        exit_code: bool,
    },
    Switch {
        state: crate::window::State,
        wait: WaitForEdge,
    },
    Verify {
        url: Option<String>,
    },
}

impl Job {
    /// The job for `command`, or `None` for a command that works on one
    /// environment at a time.
    pub fn of(command: &Command, session: &Session) -> Result<Option<Self>> {
        Ok(Some(match command {
            Command::Provision {
                dry_run,
                no_wait,
                exit_code,
            } => Self::Provision {
                dry_run: *dry_run,
                no_wait: *no_wait,
                exit_code: *exit_code,
            },
            Command::SetMessage {
                message,
                file,
                invalidate,
                wait,
                url,
                dry_run,
            } => Self::SetMessage(set_message::Request {
                message: message.clone(),
                file: file.clone(),
                invalidate: *invalidate,
                wait: *wait,
                url: url.clone(),
                dry_run: *dry_run,
            }),
            Command::Invalidate { paths, wait } => Self::Invalidate {
                paths: paths.clone(),
                wait: *wait,
            },
            Command::Status { exit_code } => Self::Status {
                exit_code: *exit_code,
            },
            Command::On {
                message,
                until,
                duration,
                wait,
            } => Self::Switch {
                state: switch::on_state(
                    session.window().map_err(usage)?,
                    message.clone(),
                    *until,
                    *duration,
                )
                .map_err(usage)?,
                wait: wait.clone(),
            },
            Command::Off { wait } => Self::Switch {
                state: switch::off_state(),
                wait: wait.clone(),
            },
            Command::Verify { url } => Self::Verify { url: url.clone() },
            _ => return Ok(None),
        }))
    }

    pub async fn run(&self, session: &Session, out: &Output) -> Result<()> {
        match self {
            Self::Provision {
                dry_run,
                no_wait,
                exit_code,
            } => super::provision::run(session, out, *dry_run, *no_wait, *exit_code).await,
            Self::SetMessage(request) => set_message::run(session, out, request.clone()).await,
            Self::Invalidate { paths, wait } => {
                super::invalidate::run(session, out, paths.clone(), *wait).await
            }
            Self::Status { exit_code } => super::status::run(session, out, *exit_code).await,
            Self::Switch { state, wait } => switch::switch(session, out, state.clone(), wait).await,
            Self::Verify { url } => super::verify::run(session, out, url.clone()).await,
        }
    }

    /// Checks everything that can be checked before AWS is asked, so a bad
    /// input for one environment stops the run before any environment
    /// changes.
    pub(super) fn check(&self, session: &Session) -> Result<()> {
        match self {
            Self::Provision { .. } => {
                session.site().map_err(usage)?;
            }
            Self::Invalidate { paths, .. } => {
                session.site().map_err(usage)?;
                super::invalidate::prepare_paths(paths).map_err(usage)?;
            }
            Self::SetMessage(request) => {
                let site = session.site().map_err(usage)?;
                let spec = &site.spec;
                let message =
                    set_message::read_message(request, &spec.default_message).map_err(usage)?;
                site.page(&message)?;
            }
            Self::Switch { .. } => {
                session.window().map_err(usage)?;
            }
            Self::Status { .. } | Self::Verify { .. } => {}
        }
        Ok(())
    }

    /// What the job will change in one environment, for the combined plan
    /// (`provision` shows its own plans instead); `None` for a read.
    pub(super) fn intent(&self) -> Option<String> {
        match self {
            Self::SetMessage(request) if !request.dry_run => Some(format!(
                "~ set the page's message{}",
                if request.invalidate {
                    ", then invalidate /*"
                } else {
                    ""
                }
            )),
            Self::Invalidate { paths, .. } => Some(format!(
                "+ invalidate {}",
                paths
                    .iter()
                    .map(|p| super::invalidate::encode_path(p))
                    .collect::<Vec<_>>()
                    .join(" ")
            )),
            Self::Switch { state, .. } if state.on => Some(match &state.until {
                Some(until) => format!(
                    "~ switch the maintenance window on until {}",
                    crate::window::rfc3339(*until)
                ),
                None => "~ switch the maintenance window on".to_string(),
            }),
            Self::Switch { .. } => Some("~ switch the maintenance window off".to_string()),
            _ => None,
        }
    }
}
