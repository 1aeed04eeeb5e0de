//! `xqt cooperation reindex`: re-segments every post with the current dictionary and rebuilds
//! SQLite's full-text index (after a dictionary change, or a VACUUM).

use std::process::ExitCode;

use async_trait::async_trait;
use xqt_kernel::cli::CliCommand;
use xqt_kernel::{AppContext, AppResult};

pub struct Cooperation;

#[async_trait]
impl CliCommand for Cooperation {
    fn command(&self) -> clap::Command {
        clap::Command::new("cooperation")
            .about("Cooperation upkeep")
            .subcommand_required(true)
            .subcommand(clap::Command::new("reindex").about("Re-segment every post and rebuild the search index"))
    }

    async fn run(&self, ctx: &AppContext, _args: &clap::ArgMatches) -> AppResult<ExitCode> {
        let started = std::time::Instant::now();
        let n = crate::search::reindex(ctx).await?;
        println!("reindexed {n} posts in {} ms", started.elapsed().as_millis());
        Ok(ExitCode::SUCCESS)
    }
}
