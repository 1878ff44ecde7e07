//! The integration tests, one binary (as ripgrep, just and fd have): each
//! file is one area, run against the real `maint` binary and, where AWS is
//! involved, the local emulator the harness (`support`) starts per test.
//! Internals-level tests use the library (`maint::…`).

mod support;

mod architecture;
mod bad_input;
mod browser;
mod cli;
mod examples;
mod faults;
mod function_rules;
mod function_runtime;
mod generated;
mod grant;
mod interrupted;
mod many;
mod output_contract;
mod site_flow;
mod site_mode;
mod verify;
mod window_flow;
mod window_mode;
