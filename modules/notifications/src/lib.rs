//! In-app notifications: the inbox other modules write to (new-device alerts, policy notices,
//! incident notices, cooperation updates), listed, counted and followed live by its owner.

pub mod config;
pub mod entity;
mod error;
pub mod graphql;
pub mod inbox;
pub mod kind;
pub mod personal_data;
pub mod push;

use std::sync::Arc;

use xqt_kernel::Module;
use xqt_kernel::module::{PersonalData, Purpose, RetentionRule, Scope};

pub use error::NotificationError;
pub use kind::NotificationKind;

/// Partners holding this scope may send notifications to people.
pub const SCOPE_SEND: &str = "notifications:send";

pub struct Notifications;

/// Production will not start on the built-in push outbox: nobody's phone would ring.
struct RefuseStandIns;

#[async_trait::async_trait]
impl xqt_kernel::module::StartupTask for RefuseStandIns {
    async fn run(&self, ctx: &xqt_kernel::AppContext) -> xqt_kernel::AppResult<()> {
        let push = &ctx.config.section::<config::NotificationsConfig>().push;
        if ctx.config.env == xqt_kernel::config::Environment::Production
            && push.provider == config::PushProviderKind::Outbox
        {
            return Err(NotificationError::Misconfigured(
                "production refuses the built-in push outbox (nobody's device is reached): set \
                 notifications.push.provider = \"jpush\" (XQT_NOTIFICATIONS__PUSH__PROVIDER) with its app key and master secret",
            )
            .into());
        }
        Ok(())
    }
}

impl Module for Notifications {
    fn name(&self) -> &'static str {
        "notifications"
    }

    fn config(&self) -> Option<xqt_kernel::config::SectionSpec> {
        Some(xqt_kernel::config::SectionSpec::of::<config::NotificationsConfig>())
    }

    fn startup(&self) -> Option<Arc<dyn xqt_kernel::module::StartupTask>> {
        Some(Arc::new(RefuseStandIns))
    }

    fn job_handlers(&self) -> Vec<Arc<dyn xqt_kernel::jobs::JobHandler>> {
        push::handlers()
    }

    fn purposes(&self) -> Vec<Purpose> {
        personal_data::purposes()
    }

    fn scopes(&self) -> Vec<Scope> {
        vec![Scope { id: SCOPE_SEND, description: "send in-app notifications to people" }]
    }

    fn client_permissions(&self) -> Vec<xqt_kernel::module::ClientPermission> {
        personal_data::client_permissions()
    }

    fn personal_data(&self) -> Option<Arc<dyn PersonalData>> {
        Some(Arc::new(personal_data::Inbox))
    }

    fn retention_rules(&self, _config: &xqt_kernel::config::Config) -> Vec<RetentionRule> {
        personal_data::retention_rules()
    }
}
