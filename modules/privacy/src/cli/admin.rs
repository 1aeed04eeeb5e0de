//! `xqt admin create|grant`: platform admins and the privacy permissions they hold. Here rather
//! than in accounts because a grant is privacy's (the `unmask` permission, audited).

use std::process::ExitCode;

use async_trait::async_trait;
use clap::{FromArgMatches, Subcommand};
use xqt_accounts::phone::Phone;
use xqt_kernel::cli::CliCommand;
use xqt_kernel::{AppContext, AppResult};

#[derive(Subcommand)]
enum Command {
    /// Make the person with this phone a platform admin (creating the account if needed).
    Create {
        #[arg(long)]
        phone: String,
    },
    /// Give an admin a privacy permission (`unmask`: see personal data in full, with a reason).
    Grant {
        #[arg(long)]
        phone: String,
        #[arg(long)]
        permission: String,
    },
}

pub struct Admin;

#[async_trait]
impl CliCommand for Admin {
    fn command(&self) -> clap::Command {
        Command::augment_subcommands(
            clap::Command::new("admin").about("Platform administration").subcommand_required(true),
        )
    }

    async fn run(&self, ctx: &AppContext, args: &clap::ArgMatches) -> AppResult<ExitCode> {
        match Command::from_arg_matches(args).map_err(|e| crate::error::invalid("command", e.to_string()))? {
            Command::Create { phone } => {
                let admin = xqt_accounts::users::create_admin(ctx, &phone).await?;
                let masked = Phone::parse(&phone).map(|p| p.masked()).unwrap_or_default();
                println!("admin {} ({masked}): sign in with an SMS code to that phone", admin.id);
            }
            Command::Grant { phone, permission } => {
                let parsed = Phone::parse(&phone)?;
                let user = xqt_accounts::users::find_by_phone(ctx, &parsed)
                    .await?
                    .filter(|u| u.role == xqt_kernel::auth::Role::Admin)
                    .ok_or_else(|| {
                        crate::error::invalid("phone", "no admin with that phone; run `xqt admin create` first")
                    })?;
                crate::audit::grant_permission(ctx, user.id, &permission, None).await?;
                println!("granted `{permission}` to admin {} ({})", user.id, parsed.masked());
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
