//! Accounts: sign-up and sign-in by phone (SMS code or password), sessions with rotating
//! refresh tokens, the device and security log with new-device alerts, and the person's profile.

pub mod aliyun;
pub mod cli;
pub mod codes;
pub mod config;
pub mod entity;
mod error;
pub mod graphql;
pub mod identity_check;
pub mod loaders;
pub mod organizations;
pub mod partners;
mod password;
mod personal_data;
pub mod phone;
pub mod profile;
pub mod reports;
pub mod review;
pub mod sessions;
pub mod sms;
pub mod uploads;
pub mod users;
pub mod verification;
pub mod webhooks;

use std::sync::Arc;

use xqt_kernel::Module;
use xqt_kernel::config::Config;
use xqt_kernel::module::{
    Authenticator, CancellationBlockers, ClientPermission, PersonalData, Purpose, RetentionRule, Scope,
};

pub use error::AccountsError;

/// The data categories accounts declares, for other modules' purposes and sharing register.
pub mod categories {
    pub use crate::personal_data::{ACCOUNT, IDENTITY, MEMBERSHIP, PROFILE, SECURITY_LOG, SMS, UPLOADS};
}

/// Partners holding this scope may read verified organisations' public profiles.
pub const SCOPE_ORGANIZATIONS_READ: &str = "accounts:organizations.read";

pub struct Accounts;

/// Production will not start on the built-in SMS outbox: nobody would receive a code.
struct RefuseStandIns;

#[async_trait::async_trait]
impl xqt_kernel::module::StartupTask for RefuseStandIns {
    async fn run(&self, ctx: &xqt_kernel::AppContext) -> xqt_kernel::AppResult<()> {
        let sms = &ctx.config.section::<config::AccountsConfig>().sms;
        if ctx.config.env == xqt_kernel::config::Environment::Production
            && sms.provider == config::SmsProviderKind::Outbox
        {
            return Err(AccountsError::Misconfigured(
                "production refuses the built-in SMS outbox (nobody receives its codes): set accounts.sms.provider = \
                 \"aliyun\" (XQT_ACCOUNTS__SMS__PROVIDER) with its keys",
            )
            .into());
        }
        Ok(())
    }
}

impl Module for Accounts {
    fn name(&self) -> &'static str {
        "accounts"
    }

    fn cli_commands(&self) -> Vec<Arc<dyn xqt_kernel::cli::CliCommand>> {
        cli::commands()
    }

    fn config(&self) -> Option<xqt_kernel::config::SectionSpec> {
        Some(xqt_kernel::config::SectionSpec::of::<config::AccountsConfig>())
    }

    fn purposes(&self) -> Vec<Purpose> {
        personal_data::purposes()
    }

    fn scopes(&self) -> Vec<Scope> {
        vec![Scope { id: SCOPE_ORGANIZATIONS_READ, description: "read verified organisations' public profiles" }]
    }

    fn partner_events(&self) -> Vec<xqt_kernel::module::PartnerEvent> {
        webhooks::events()
    }

    fn startup(&self) -> Option<Arc<dyn xqt_kernel::module::StartupTask>> {
        Some(Arc::new(RefuseStandIns))
    }

    fn job_handlers(&self) -> Vec<Arc<dyn xqt_kernel::jobs::JobHandler>> {
        let mut handlers = webhooks::handlers();
        handlers.extend(sms::handlers());
        handlers.extend(identity_check::handlers());
        handlers
    }

    fn add_loaders(&self, ctx: &xqt_kernel::AppContext, data: &mut async_graphql::Data) {
        loaders::add(ctx, data);
    }

    fn personal_data(&self) -> Option<Arc<dyn PersonalData>> {
        Some(Arc::new(personal_data::AccountsData))
    }

    fn retention_rules(&self, config: &Config) -> Vec<RetentionRule> {
        personal_data::retention_rules(config.section::<crate::config::AccountsConfig>().security_log_days)
    }

    fn cancellation_blockers(&self) -> Option<Arc<dyn CancellationBlockers>> {
        Some(Arc::new(personal_data::ReportsAndRestrictions))
    }

    fn directory(&self) -> Option<Arc<dyn xqt_kernel::module::Directory>> {
        Some(Arc::new(personal_data::People))
    }

    fn authenticator(&self) -> Option<Arc<dyn Authenticator>> {
        Some(Arc::new(personal_data::Credentials))
    }

    fn client_permissions(&self) -> Vec<ClientPermission> {
        personal_data::client_permissions()
    }

    fn upload_purposes(&self) -> Vec<xqt_kernel::uploads::UploadPurpose> {
        uploads::purposes()
    }

    fn downloads(&self) -> Option<Arc<dyn xqt_kernel::uploads::Downloads>> {
        Some(Arc::new(uploads::PersonFiles))
    }

    fn acquaintance(&self) -> Option<Arc<dyn xqt_kernel::module::Acquaintance>> {
        Some(Arc::new(organizations::CoMembers))
    }

    fn linked_files(&self) -> Vec<Arc<dyn xqt_kernel::links::LinkedFiles>> {
        vec![Arc::new(uploads::AvatarLinks)]
    }

    /// Signing in and out and seeing one's own account work in every state.
    fn essential_fields(&self) -> &'static [&'static str] {
        &[
            "requestSignInCode",
            "signInWithCode",
            "signInWithPassword",
            "refreshSession",
            "signOut",
            "signOutEverywhere",
            "endSession",
            "me",
            "mySessions",
        ]
    }
}
