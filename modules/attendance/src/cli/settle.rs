//! `xqt attendance settle [--days N]`: settles every group's closed days over the last N days,
//! for an operator catching up after an outage longer than `attendance.settle_lookback_days`.
//! Idempotent like the job: settled days are never touched again.

use std::process::ExitCode;

use async_trait::async_trait;
use chrono::Days;
use xqt_kernel::cli::CliCommand;
use xqt_kernel::{AppContext, AppResult};

use crate::{groups, settle};

pub struct Attendance;

#[async_trait]
impl CliCommand for Attendance {
    fn command(&self) -> clap::Command {
        clap::Command::new("attendance").about("Attendance upkeep").subcommand_required(true).subcommand(
            clap::Command::new("settle").about("Settle every group's finished days (absences, missing checks)").arg(
                clap::Arg::new("days")
                    .long("days")
                    .help("how many days back, up to the last one whose check-out window closed")
                    .value_parser(clap::value_parser!(u64).range(1..=366))
                    .default_value("7"),
            ),
        )
    }

    async fn run(&self, ctx: &AppContext, args: &clap::ArgMatches) -> AppResult<ExitCode> {
        let days = args.subcommand_matches("settle").and_then(|m| m.get_one::<u64>("days").copied()).unwrap_or(7);
        let started = std::time::Instant::now();
        let (mut settled, mut count) = (0, 0);
        for g in groups::all(ctx).await? {
            let last = settle::last_closed_day(ctx, &g);
            settled += settle::settle_group(ctx, &g, last - Days::new(days - 1), last).await?;
            count += 1;
        }
        println!("settled {settled} days across {count} groups in {} ms", started.elapsed().as_millis());
        Ok(ExitCode::SUCCESS)
    }
}
