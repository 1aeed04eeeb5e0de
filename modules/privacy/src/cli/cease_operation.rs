//! `xqt cease-operation --notice … --confirm 停止运营` (POL-4): stop all collection, tell every
//! user, erase everyone's data. Irreversible, so it is refused before anything is opened unless
//! confirmed.

use std::process::ExitCode;

use async_trait::async_trait;
use clap::{Arg, ArgMatches};
use xqt_kernel::cli::CliCommand;
use xqt_kernel::{AppContext, AppResult};

const CONFIRMATION: &str = "停止运营";

pub struct CeaseOperation;

#[async_trait]
impl CliCommand for CeaseOperation {
    fn command(&self) -> clap::Command {
        clap::Command::new("cease-operation")
            .about(
                "Cease operation (POL-4): stop all collection, tell every user, erase everyone's data. \
                 Irreversible; needs `--confirm 停止运营`.",
            )
            .arg(Arg::new("notice").long("notice").required(true).help("What every user is told"))
            .arg(Arg::new("confirm").long("confirm"))
    }

    fn check(&self, args: &ArgMatches) -> Result<(), String> {
        match args.get_one::<String>("confirm") {
            Some(c) if c == CONFIRMATION => Ok(()),
            _ => Err(format!("this stops the platform for good; run again with --confirm {CONFIRMATION}")),
        }
    }

    async fn run(&self, ctx: &AppContext, args: &ArgMatches) -> AppResult<ExitCode> {
        self.check(args).map_err(|e| crate::error::invalid("confirm", e))?;
        let notice = args.get_one::<String>("notice").map(String::as_str).unwrap_or_default();
        let done = crate::ceasing::cease(ctx, notice).await?;
        println!(
            "operation ceased{}: {} users told, erasure queued for {} (the job runner carries it out)",
            if done.newly { "" } else { " (already)" },
            done.notified,
            done.erasures_queued
        );
        Ok(ExitCode::SUCCESS)
    }
}
