//! Cooperation — the platform's reason to exist (校企合作): the directory of approved
//! organisations, demands and talent posts, search that works for Chinese and nearby, applications
//! with mutual consent, internship programmes, and agreements signed through an e-signature
//! provider.

pub mod agreements;
pub mod applications;
pub mod cli;
pub mod config;
pub mod disputes;
pub mod entity;
mod error;
pub mod events;
pub mod favourites;
pub mod graphql;
pub mod personal_data;
pub mod posts;
pub mod programmes;
pub mod search;
pub mod signature;
pub mod sync;

use std::sync::Arc;

use async_trait::async_trait;
use xqt_kernel::Module;
use xqt_kernel::config::{Environment, SectionSpec};
use xqt_kernel::module::{
    CancellationBlockers, ClientPermission, PersonalData, Purpose, RetentionRule, Scope, StartupTask, Webhook,
};
use xqt_kernel::{AppContext, AppResult};

pub use error::CooperationError;

pub struct Cooperation;

impl Module for Cooperation {
    fn name(&self) -> &'static str {
        "cooperation"
    }

    fn config(&self) -> Option<SectionSpec> {
        Some(SectionSpec::of::<config::CooperationConfig>())
    }

    fn purposes(&self) -> Vec<Purpose> {
        personal_data::purposes()
    }

    fn scopes(&self) -> Vec<Scope> {
        personal_data::scopes()
    }

    fn partner_events(&self) -> Vec<xqt_kernel::module::PartnerEvent> {
        events::partner_events()
    }

    fn client_permissions(&self) -> Vec<ClientPermission> {
        personal_data::client_permissions()
    }

    fn add_loaders(&self, ctx: &AppContext, data: &mut async_graphql::Data) {
        graphql::loaders::add(ctx, data);
    }

    fn personal_data(&self) -> Option<Arc<dyn PersonalData>> {
        Some(Arc::new(personal_data::CooperationData))
    }

    fn cancellation_blockers(&self) -> Option<Arc<dyn CancellationBlockers>> {
        Some(agreements::blockers())
    }

    fn retention_rules(&self, _config: &xqt_kernel::config::Config) -> Vec<RetentionRule> {
        personal_data::retention_rules()
    }

    fn startup(&self) -> Option<Arc<dyn StartupTask>> {
        Some(Arc::new(Startup))
    }

    fn webhooks(&self) -> Vec<Arc<dyn Webhook>> {
        vec![Arc::new(agreements::EsignCallbacks)]
    }

    fn cli_commands(&self) -> Vec<Arc<dyn xqt_kernel::cli::CliCommand>> {
        vec![Arc::new(cli::reindex::Cooperation)]
    }
}

/// Refuses to run production on the built-in e-signature stand-in, and starts loading the
/// segmenter's dictionary (about 100 ms) so the first search rarely waits for it.
struct Startup;

#[async_trait]
impl StartupTask for Startup {
    async fn run(&self, ctx: &AppContext) -> AppResult<()> {
        let config = ctx.config.section::<config::CooperationConfig>();
        if ctx.config.env == Environment::Production
            && config.signature_provider == config::SignatureProviderKind::Builtin
        {
            return Err(CooperationError::Misconfigured(
                "production refuses the built-in e-signature provider: set cooperation.signature_provider = \"esign\"",
            )
            .into());
        }
        // In the background: start-up (and every CLI command) does not wait for it; a search that
        // comes first waits for the same load.
        drop(tokio::task::spawn_blocking(search::warm_up));
        Ok(())
    }
}
