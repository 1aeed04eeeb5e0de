//! `xqt partner create --name …`: registers a partner (an outside system that calls the API).

use std::process::ExitCode;

use async_trait::async_trait;
use clap::{FromArgMatches, Subcommand};
use xqt_kernel::cli::CliCommand;
use xqt_kernel::{AppContext, AppResult};

#[derive(Subcommand)]
enum Command {
    /// Register a partner.
    Create {
        #[arg(long)]
        name: String,
    },
}

pub struct Partner;

#[async_trait]
impl CliCommand for Partner {
    fn command(&self) -> clap::Command {
        Command::augment_subcommands(
            clap::Command::new("partner")
                .about("Partners (outside systems that call the API)")
                .subcommand_required(true),
        )
    }

    async fn run(&self, ctx: &AppContext, args: &clap::ArgMatches) -> AppResult<ExitCode> {
        match Command::from_arg_matches(args).map_err(|e| crate::error::invalid("command", e.to_string()))? {
            Command::Create { name } => {
                let partner = crate::partners::create_partner(ctx, &name).await?;
                println!("partner {} {}", partner.id, partner.name);
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
