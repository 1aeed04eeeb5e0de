//! `xqt seed-policies`: loads the first versions of the policy documents if they are missing (start-up
//! does it too) and says how many versions each document has.

use std::process::ExitCode;

use async_trait::async_trait;
use xqt_kernel::cli::CliCommand;
use xqt_kernel::{AppContext, AppResult};

use crate::policies::{self, Document};

pub struct SeedPolicies;

#[async_trait]
impl CliCommand for SeedPolicies {
    fn command(&self) -> clap::Command {
        clap::Command::new("seed-policies")
            .about("Load the first versions of the policy documents if they are missing (also done at start)")
    }

    async fn run(&self, ctx: &AppContext, _args: &clap::ArgMatches) -> AppResult<ExitCode> {
        for doc in <Document as sea_orm::Iterable>::iter() {
            println!("{:32} {} version(s)", doc.as_str(), policies::versions(ctx, doc).await?.len());
        }
        Ok(ExitCode::SUCCESS)
    }
}
