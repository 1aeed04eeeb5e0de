//! The `xqt` server: routes, start-up and shutdown. `main.rs` is the CLI around it; tests start
//! it in-process with `start`.

mod cors;
pub mod demo;
pub mod files;
mod headers;
pub mod http;
pub mod observe;
pub mod request;
mod session_ends;
mod tcp;
pub mod tls;
pub mod webhooks;
pub mod ws;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use poem::listener::{Acceptor, AcceptorExt, Listener, TcpListener};
use poem::{EndpointExt, Route, get};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use xqt_kernel::clock::Clock;
use xqt_kernel::config::{Config, LogFormat};
use xqt_kernel::{AppContext, Modules};
use xqt_migrations::MigratorTrait;
use xqt_schema::Api;

use crate::observe::Metrics;

#[derive(Clone)]
pub struct ServerState {
    pub ctx: AppContext,
    pub schema: Arc<dyn Api>,
    pub metrics: Arc<Metrics>,
    /// Wakes this instance's sockets whose session ended.
    pub session_ends: session_ends::SessionEnds,
}

/// Logs go to stderr, as text or JSON lines; every line inside a request carries its request id.
pub fn init_tracing(config: &Config) {
    init_tracing_to(config, std::io::stderr);
}

/// `init_tracing` with another destination (tests read the lines back).
pub fn init_tracing_to<W>(config: &Config, writer: W)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_filter).unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
    let _ = match config.log_format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Connects storage and brings the database schema up to date.
pub async fn prepare(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<AppContext> {
    prepare_with(config, clock, xqt_schema::modules()).await
}

/// `prepare` for another assembly of modules (`xqt_schema::assemble!`).
pub async fn prepare_with(
    config: Config,
    clock: Arc<dyn Clock>,
    modules: Vec<Arc<dyn xqt_kernel::Module>>,
) -> anyhow::Result<AppContext> {
    // rustls is built with both ring (ours) and aws-lc (object_store's S3 client): name the
    // process's provider, or a library that asks rustls for the default one panics.
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    let modules = Modules::new(modules).context("module registry")?;
    let ctx =
        AppContext::connect(config, modules, clock).await.map_err(|e| anyhow::anyhow!("connect: {}", e.message()))?;
    migrate(&ctx).await?;
    ctx.modules.start(&ctx).await.map_err(|e| anyhow::anyhow!("module start-up: {}", e.message()))?;
    Ok(ctx)
}

pub async fn migrate(ctx: &AppContext) -> anyhow::Result<()> {
    let started = Instant::now();
    xqt_migrations::Migrator::up(&ctx.db, None).await.context("migrations")?;
    tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "database schema up to date");
    Ok(())
}

pub fn routes(state: ServerState) -> impl poem::Endpoint {
    let routes = Route::new()
        .at("/graphql", get(http::get).post(http::post))
        .at("/graphql/ws", get(ws::upgrade))
        .at("/graphiql/:file", get(http::graphiql_asset))
        .at("/files", poem::post(files::upload))
        .at("/files/:id", get(files::download))
        .at("/chat/attachments", poem::post(files::chat_upload))
        .at("/chat/attachments/:id", get(files::download))
        .at("/exports/:file", get(files::export))
        .at("/links/:name/:file", get(files::linked))
        .at("/webhooks/:name", poem::post(webhooks::receive))
        .at("/healthz", get(observe::healthz))
        .at("/readyz", get(observe::readyz))
        .at("/metrics", get(observe::metrics));
    with_middleware(routes, state)
}

/// What every route gets: a panic answered as `INTERNAL`, CORS, HTTPS only behind a proxy, the
/// security headers, a request id, a log line and metrics. (The benches serve their plain
/// handlers through it too, so `/graphql` is compared with the same work around it.)
pub fn with_middleware(routes: impl poem::Endpoint + 'static, state: ServerState) -> impl poem::Endpoint {
    routes
        .with(poem::middleware::CatchPanic::new().with_handler(observe::Panicked))
        .around(cors::around)
        .around(tls::around)
        .around(headers::around)
        .around(observe::around)
        .data(state)
}

pub struct RunningServer {
    pub addr: SocketAddr,
    pub state: ServerState,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    /// The background job runner, when `jobs.enabled`; stopped with the server.
    jobs: Option<JoinHandle<()>>,
}

impl RunningServer {
    /// Stops accepting, lets in-flight requests finish (up to 5 s), and waits.
    pub async fn stop(mut self) {
        if let Some(jobs) = self.jobs.take() {
            jobs.abort();
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Resolves when the server stops by itself (it normally does not) or `ctrl-c` arrives.
    pub async fn wait(mut self) -> anyhow::Result<()> {
        let task = self.task.take().expect("server task");
        tokio::select! {
            r = task => { r??; }
            _ = tokio::signal::ctrl_c() => {
                tracing::info!("shutting down");
                if let Some(tx) = self.shutdown.take() { let _ = tx.send(()); }
            }
        }
        Ok(())
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(jobs) = self.jobs.take() {
            jobs.abort();
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Binds `config.listen` (port 0 picks a free one) and serves in the background.
pub async fn start(ctx: AppContext) -> anyhow::Result<RunningServer> {
    let api = Arc::new(xqt_schema::build(ctx.clone()));
    start_with(ctx, api).await
}

/// `start` with another assembled API (`xqt_schema::assemble!`), on a context prepared with
/// the same modules.
pub async fn start_with(ctx: AppContext, schema: Arc<dyn Api>) -> anyhow::Result<RunningServer> {
    let session_ends = session_ends::SessionEnds::start(ctx.bus.clone()).await;
    let state = ServerState { ctx: ctx.clone(), schema, metrics: Arc::new(Metrics::new()), session_ends };
    let tcp = tcp::NoDelay(
        TcpListener::bind(ctx.config.listen.clone())
            .into_acceptor()
            .await
            .with_context(|| format!("cannot listen on {}", ctx.config.listen))?,
    );
    let acceptor = match (&ctx.config.tls.cert_file, &ctx.config.tls.key_file) {
        (Some(cert), Some(key)) => tls::TlsAcceptor::new(tcp, cert.clone(), key.clone())?.boxed(),
        _ => tcp.boxed(),
    };
    let addr =
        *acceptor.local_addr().first().and_then(|a| a.as_socket_addr()).context("listener has no socket address")?;
    let (tx, rx) = oneshot::channel::<()>();
    let app = routes(state.clone());
    let task = tokio::spawn(async move {
        poem::Server::new_with_acceptor(acceptor)
            .run_with_graceful_shutdown(
                app,
                async {
                    let _ = rx.await;
                },
                Some(std::time::Duration::from_secs(5)),
            )
            .await
    });
    let jobs = ctx.config.jobs.enabled.then(|| xqt_kernel::jobs::spawn(ctx.clone()));
    Ok(RunningServer { addr, state, shutdown: Some(tx), task: Some(task), jobs })
}

/// The configuration the server runs with: the kernel's settings and every module's section.
pub fn load_config() -> anyhow::Result<Config> {
    Config::load(&xqt_kernel::module::config_sections(&xqt_schema::modules())).context("configuration")
}

#[cfg(test)]
mod tests {
    /// Every key of the configuration, nested ones as `section.key`.
    fn keys(value: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
        for (k, v) in value.as_object().into_iter().flatten() {
            let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            match v {
                serde_json::Value::Object(_) => keys(v, &key, out),
                _ => out.push(key),
            }
        }
    }

    #[test]
    fn every_setting_is_documented_in_the_readme() {
        let readme = include_str!("../../README.md");
        let mut all = Vec::new();
        keys(&serde_json::to_value(xqt_kernel::config::Config::default()).unwrap(), "", &mut all);
        for spec in xqt_kernel::module::config_sections(&xqt_schema::modules()) {
            keys(&spec.defaults(), spec.name, &mut all);
        }
        assert!(all.iter().any(|k| k == "chat.messages_per_minute"), "module sections are included: {all:?}");
        assert!(all.len() > 40, "{all:?}");
        let missing: Vec<&String> = all.iter().filter(|k| !readme.contains(&format!("`{k}`"))).collect();
        assert!(missing.is_empty(), "settings missing from README.md's configuration table: {missing:?}");
    }
}
