//! `xqt token create|list|revoke`: partner API tokens. A secret is printed once, at creation.

use std::process::ExitCode;

use async_trait::async_trait;
use clap::{FromArgMatches, Subcommand};
use xqt_kernel::cli::CliCommand;
use xqt_kernel::{AppContext, AppResult};

use crate::partners;

#[derive(Subcommand)]
enum Command {
    /// Issue a token; the secret is printed once.
    Create {
        /// Partner name or id.
        #[arg(long)]
        partner: String,
        #[arg(long)]
        name: String,
        /// A scope the token may use (repeat for more).
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Days until it expires (1–366).
        #[arg(long, default_value_t = 90)]
        days: i64,
    },
    /// List tokens (never their secrets).
    List {
        #[arg(long)]
        partner: Option<String>,
    },
    /// Revoke a token by id.
    Revoke { id: uuid::Uuid },
}

pub struct Token;

async fn partner_named(ctx: &AppContext, partner: &str) -> AppResult<crate::entity::partner::Model> {
    partners::find_partner(ctx, partner).await?.ok_or_else(|| {
        crate::error::invalid("partner", format!("no partner named or with id {partner}; `xqt partner create` first"))
            .into()
    })
}

#[async_trait]
impl CliCommand for Token {
    fn command(&self) -> clap::Command {
        Command::augment_subcommands(clap::Command::new("token").about("Partner API tokens").subcommand_required(true))
    }

    async fn run(&self, ctx: &AppContext, args: &clap::ArgMatches) -> AppResult<ExitCode> {
        match Command::from_arg_matches(args).map_err(|e| crate::error::invalid("command", e.to_string()))? {
            Command::Create { partner, name, scopes, days } => {
                let partner = partner_named(ctx, &partner).await?;
                let (secret, token) = partners::create_token(ctx, None, partner.id, &name, &scopes, days).await?;
                println!(
                    "token {} for {} (scopes: {}; expires {})",
                    token.id, partner.name, token.scopes, token.expires_at
                );
                println!("{secret}");
                eprintln!("the secret above is shown once; store it now");
            }
            Command::List { partner } => {
                let partner_id = match partner {
                    Some(p) => Some(partner_named(ctx, &p).await?.id),
                    None => None,
                };
                let now = ctx.clock.now();
                for t in partners::tokens(ctx, partner_id).await? {
                    let state = if t.revoked_at.is_some() {
                        "revoked"
                    } else if t.expires_at <= now {
                        "expired"
                    } else {
                        "active"
                    };
                    let last = t.last_used_at.map_or("never".into(), |at| at.to_rfc3339());
                    println!(
                        "{}  {}…  {:8}  {}  scopes: {}  expires {}  last used {last}",
                        t.id,
                        t.prefix,
                        state,
                        t.name,
                        t.scopes,
                        t.expires_at.to_rfc3339()
                    );
                }
            }
            Command::Revoke { id } => {
                let revoked = partners::revoke(ctx, id).await?;
                println!("{}", if revoked { "revoked" } else { "was already revoked" });
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
