use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use xqt_kernel::clock::SystemClock;
use xqt_kernel::config::Config;

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
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Make the person with this phone a platform admin (creating the account if needed).
    Create {
        #[arg(long)]
        phone: String,
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
    let config = Config::load().context("configuration")?;
    xqt::init_tracing(&config);
    match cli.command {
        Command::Schema => unreachable!("handled above"),
        Command::Migrate => {
            xqt::prepare(config, Arc::new(SystemClock)).await?;
        }
        Command::Admin { command: AdminCommand::Create { phone } } => {
            let ctx = xqt::prepare(config, Arc::new(SystemClock)).await?;
            let admin = xqt_accounts::service::create_admin(&ctx, &phone)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
            println!(
                "admin {} ({}): sign in with an SMS code to that phone",
                admin.id,
                xqt_accounts::phone::Phone::parse(&phone).map(|p| p.masked()).unwrap_or_default()
            );
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
