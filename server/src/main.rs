use std::sync::Arc;
use std::time::Instant;

use clap::{Parser, Subcommand};
use xqt_kernel::clock::SystemClock;

/// 校企通 API server and operator commands.
#[derive(Parser)]
#[command(name = "xqt", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database and serve HTTP and WebSocket on XQT_LISTEN.
    Serve,
    /// Bring the database schema up to date and exit.
    Migrate,
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Platform administration.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Partners (outside systems that call the API).
    Partner {
        #[command(subcommand)]
        command: PartnerCommand,
    },
    /// Partner API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Load the first versions of the policy documents if they are missing (also done at start).
    SeedPolicies,
    /// Cease operation (POL-4): stop all collection, tell every user, erase everyone's data.
    /// Irreversible; needs `--confirm 停止运营`.
    CeaseOperation {
        /// What every user is told (the notice of ceasing operation).
        #[arg(long)]
        notice: String,
        #[arg(long)]
        confirm: Option<String>,
    },
    /// The tamper-evident consent ledger and audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute both hash chains; exits 1 and names the first bad record if anything was altered.
    Verify,
}

#[derive(Subcommand)]
enum PartnerCommand {
    /// Register a partner.
    Create {
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
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

#[derive(Subcommand)]
enum AdminCommand {
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let started = Instant::now();
    let cli = Cli::parse();
    if let Command::Schema = cli.command {
        print!("{}", xqt_schema::sdl());
        return Ok(());
    }
    let config = xqt::load_config()?;
    xqt::init_tracing(&config);
    match cli.command {
        Command::Schema => unreachable!("handled above"),
        Command::Migrate => {
            xqt::prepare(config, Arc::new(SystemClock)).await?;
        }
        Command::Admin { command: AdminCommand::Create { phone } } => {
            let ctx = xqt::prepare(config, Arc::new(SystemClock)).await?;
            let admin = xqt_accounts::users::create_admin(&ctx, &phone)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
            println!(
                "admin {} ({}): sign in with an SMS code to that phone",
                admin.id,
                xqt_accounts::phone::Phone::parse(&phone).map(|p| p.masked()).unwrap_or_default()
            );
        }
        Command::Admin { command: AdminCommand::Grant { phone, permission } } => {
            let ctx = xqt::prepare(config, Arc::new(SystemClock)).await?;
            let fail = |e: xqt_kernel::AppError| anyhow::anyhow!("{}", e.message());
            let parsed = xqt_accounts::phone::Phone::parse(&phone).map_err(|e| fail(e.into()))?;
            let user = xqt_accounts::users::find_by_phone(&ctx, &parsed)
                .await
                .map_err(fail)?
                .filter(|u| u.role == xqt_kernel::auth::Role::Admin)
                .ok_or_else(|| anyhow::anyhow!("no admin with that phone; run `xqt admin create` first"))?;
            xqt_privacy::audit::grant_permission(&ctx, user.id, &permission, None).await.map_err(fail)?;
            println!("granted `{permission}` to admin {} ({})", user.id, parsed.masked());
        }
        Command::CeaseOperation { notice, confirm } => {
            if confirm.as_deref() != Some("停止运营") {
                anyhow::bail!("this stops the platform for good; run again with --confirm 停止运营");
            }
            let ctx = xqt::prepare(config, Arc::new(SystemClock)).await?;
            let done =
                xqt_privacy::ceasing::cease(&ctx, &notice).await.map_err(|e| anyhow::anyhow!("{}", e.message()))?;
            println!(
                "operation ceased{}: {} users told, erasure queued for {} (the job runner carries it out)",
                if done.newly { "" } else { " (already)" },
                done.notified,
                done.erasures_queued
            );
        }
        Command::SeedPolicies => {
            // `prepare` seeds at start-up; this says what it found.
            let ctx = xqt::prepare(config, Arc::new(SystemClock)).await?;
            for doc in <xqt_privacy::policies::Document as sea_orm::Iterable>::iter() {
                let versions =
                    xqt_privacy::policies::versions(&ctx, doc).await.map_err(|e| anyhow::anyhow!("{}", e.message()))?;
                println!("{:32} {} version(s)", doc.as_str(), versions.len());
            }
        }
        Command::Audit { command: AuditCommand::Verify } => {
            let ctx = xqt::prepare(config, Arc::new(SystemClock)).await?;
            let reports = xqt_privacy::audit::verify(&ctx).await.map_err(|e| anyhow::anyhow!("{}", e.message()))?;
            let mut ok = true;
            for r in reports {
                match &r.broken {
                    None => println!("{:8} ok      {} records", r.chain, r.records),
                    Some((seq, what)) => {
                        ok = false;
                        println!(
                            "{:8} BROKEN  at record {seq}: {what} ({} records verified before it)",
                            r.chain, r.records
                        );
                    }
                }
            }
            if !ok {
                std::process::exit(1);
            }
        }
        Command::Partner { command: PartnerCommand::Create { name } } => {
            let ctx = xqt::prepare(config, Arc::new(SystemClock)).await?;
            let partner = xqt_accounts::partners::create_partner(&ctx, &name)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
            println!("partner {} {}", partner.id, partner.name);
        }
        Command::Token { command } => {
            let ctx = xqt::prepare(config, Arc::new(SystemClock)).await?;
            let fail = |e: xqt_kernel::AppError| anyhow::anyhow!("{}", e.message());
            match command {
                TokenCommand::Create { partner, name, scopes, days } => {
                    let found = xqt_accounts::partners::find_partner(&ctx, &partner).await.map_err(fail)?;
                    let partner = found.ok_or_else(|| anyhow::anyhow!("no partner named or with id {partner}"))?;
                    let (secret, token) =
                        xqt_accounts::partners::create_token(&ctx, None, partner.id, &name, &scopes, days)
                            .await
                            .map_err(fail)?;
                    println!(
                        "token {} for {} (scopes: {}; expires {})",
                        token.id, partner.name, token.scopes, token.expires_at
                    );
                    println!("{secret}");
                    eprintln!("the secret above is shown once; store it now");
                }
                TokenCommand::List { partner } => {
                    let partner_id = match partner {
                        Some(p) => Some(
                            xqt_accounts::partners::find_partner(&ctx, &p)
                                .await
                                .map_err(fail)?
                                .ok_or_else(|| anyhow::anyhow!("no partner {p}"))?
                                .id,
                        ),
                        None => None,
                    };
                    for t in xqt_accounts::partners::tokens(&ctx, partner_id).await.map_err(fail)? {
                        let state = if t.revoked_at.is_some() {
                            "revoked"
                        } else if t.expires_at <= chrono::Utc::now() {
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
                TokenCommand::Revoke { id } => {
                    let revoked = xqt_accounts::partners::revoke(&ctx, id).await.map_err(fail)?;
                    println!("{}", if revoked { "revoked" } else { "was already revoked" });
                }
            }
        }
        Command::Serve => {
            let ctx = xqt::prepare(config, Arc::new(SystemClock)).await?;
            let server = xqt::start(ctx).await?;
            tracing::info!(
                addr = %server.addr,
                startup_ms = started.elapsed().as_millis() as u64,
                "listening: POST /graphql, GET /graphql (GraphiQL), /graphql/ws, /healthz, /readyz, /metrics"
            );
            server.wait().await?;
        }
    }
    Ok(())
}
