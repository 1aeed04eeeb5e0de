//! Operator commands a module adds to the `xqt` CLI (`xqt token …`, `xqt audit verify`). The
//! server collects every module's commands beside its own (`serve`, `migrate`, `schema`); a module
//! describes its command group with clap and runs it on a prepared context.

use std::process::ExitCode;

use async_trait::async_trait;

use crate::context::AppContext;
use crate::error::AppResult;

#[async_trait]
pub trait CliCommand: Send + Sync + 'static {
    /// The command group: its name, help, arguments and subcommands (clap's builder, or a
    /// derived `Subcommand` through `augment_subcommands`).
    fn command(&self) -> clap::Command;

    /// Refuses the arguments before anything is opened or changed (a missing confirmation).
    fn check(&self, _args: &clap::ArgMatches) -> Result<(), String> {
        Ok(())
    }

    /// Runs on a migrated context; prints its own output. An error is printed as
    /// `error: <message>` and the process exits with 1.
    async fn run(&self, ctx: &AppContext, args: &clap::ArgMatches) -> AppResult<ExitCode>;
}
