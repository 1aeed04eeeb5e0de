//! The `xqt` CLI: the server's own commands (`serve`, `migrate`, `schema`) and every module's
//! command groups (`xqt token …`, `xqt audit verify`, …), collected from the `Module` values.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::{FromArgMatches, Subcommand};
use xqt_kernel::clock::SystemClock;

/// mimalloc: thousands of mostly idle sockets each hold a handful of small allocations, which
/// glibc's arenas spread over partly used pages.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Subcommand)]
enum Builtin {
    /// Migrate the database and serve HTTP and WebSocket on XQT_LISTEN.
    Serve {
        /// Seed the demo first (as `xqt seed-demo`; nothing changes when it is there already).
        #[arg(long)]
        demo: bool,
    },
    /// Bring the database schema up to date and exit.
    Migrate,
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Fill the (development) database with demo schools, enterprises, people, posts, a
    /// programme with check-ins and conversations, and print the accounts; idempotent.
    SeedDemo,
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let modules = xqt_schema::modules();
    let commands = xqt_kernel::module::cli_commands(&modules)?;
    let mut cli = Builtin::augment_subcommands(
        clap::Command::new("xqt")
            .about("校企通 API server and operator commands.")
            .version(env!("CARGO_PKG_VERSION"))
            .subcommand_required(true),
    );
    for c in &commands {
        cli = cli.subcommand(c.command());
    }
    let matches = cli.get_matches();
    let Some((name, args)) = matches.subcommand() else { unreachable!("a subcommand is required") };
    if name == "schema" {
        print!("{}", xqt_schema::sdl());
        return Ok(ExitCode::SUCCESS);
    }
    // A module's command says what is wrong with its arguments before anything is opened.
    let module_command = commands.iter().find(|c| c.command().get_name() == name);
    if let Some(command) = module_command
        && let Err(refused) = command.check(args)
    {
        eprintln!("error: {refused}");
        return Ok(ExitCode::FAILURE);
    }
    let config = xqt::load_config()?;
    xqt::init_tracing(&config);
    let demo = args.try_get_one::<bool>("demo").ok().flatten().copied().unwrap_or(false);
    if name == "seed-demo" || (name == "serve" && demo) {
        xqt::demo::seed(config.clone()).await?;
        if name == "seed-demo" {
            return Ok(ExitCode::SUCCESS);
        }
    }
    let ctx = xqt::prepare(config, Arc::new(SystemClock)).await?;
    if let Some(command) = module_command {
        return Ok(command.run(&ctx, args).await.unwrap_or_else(|e| {
            eprintln!("error: {}", e.message());
            ExitCode::FAILURE
        }));
    }
    match Builtin::from_arg_matches(&matches)? {
        Builtin::Schema | Builtin::Migrate | Builtin::SeedDemo => {}
        Builtin::Serve { .. } => {
            let server = xqt::start(ctx).await?;
            tracing::info!(
                addr = %server.addr,
                startup_ms = started.elapsed().as_millis() as u64,
                "listening: POST /graphql, GET /graphql (GraphiQL), /graphql/ws, /files, /healthz, /readyz, /metrics"
            );
            server.wait().await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
