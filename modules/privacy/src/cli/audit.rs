//! `xqt audit verify`: recomputes the consent ledger's and the audit log's hash chains; exits 1
//! and names the first bad record if anything was altered behind the API's back.

use std::process::ExitCode;

use async_trait::async_trait;
use clap::{FromArgMatches, Subcommand};
use xqt_kernel::cli::CliCommand;
use xqt_kernel::{AppContext, AppResult};

#[derive(Subcommand)]
enum Command {
    /// Recompute both hash chains; exits 1 and names the first bad record if anything was altered.
    Verify,
}

pub struct Audit;

#[async_trait]
impl CliCommand for Audit {
    fn command(&self) -> clap::Command {
        Command::augment_subcommands(
            clap::Command::new("audit")
                .about("The tamper-evident consent ledger and audit log")
                .subcommand_required(true),
        )
    }

    async fn run(&self, ctx: &AppContext, args: &clap::ArgMatches) -> AppResult<ExitCode> {
        let Command::Verify =
            Command::from_arg_matches(args).map_err(|e| crate::error::invalid("command", e.to_string()))?;
        let mut intact = true;
        for r in crate::audit::verify(ctx).await? {
            match &r.broken {
                None => println!("{:8} ok      {} records", r.chain, r.records),
                Some((seq, what)) => {
                    intact = false;
                    println!(
                        "{:8} BROKEN  at record {seq}: {what} ({} records verified before it)",
                        r.chain, r.records
                    );
                }
            }
        }
        Ok(if intact { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    }
}
