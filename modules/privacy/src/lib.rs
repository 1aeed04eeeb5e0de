//! Privacy: the policies as versioned documents, the purpose registry generated from every
//! module's declarations, the hash-chained consent ledger and the consent gate, the policy and
//! guardian gates, usage analytics under consent, masking and audited unmasking, the audit log,
//! the sharing register and ledger, public-profile visibility.

pub mod analytics;
pub mod audit;
pub mod ceasing;
pub mod chain;
pub mod cli;
pub mod config;
pub mod consent;
pub mod entity;
mod error;
pub mod export;
pub mod graphql;
pub mod incidents;
pub mod jobs;
pub mod minors;
mod personal_data;
pub mod policies;
pub mod purposes;
pub mod requests;
pub mod sharing;
pub mod standing;
pub mod visibility;

use std::sync::Arc;

use xqt_kernel::Module;
use xqt_kernel::config::Config;
use xqt_kernel::module::{PersonalData, Purpose, RetentionRule, Scope, StartupTask};
use xqt_kernel::privacy::PrivacyHooks;

pub use error::PrivacyError;

pub struct Privacy;

impl Module for Privacy {
    fn name(&self) -> &'static str {
        "privacy"
    }

    fn cli_commands(&self) -> Vec<Arc<dyn xqt_kernel::cli::CliCommand>> {
        cli::commands()
    }

    fn config(&self) -> Option<xqt_kernel::config::SectionSpec> {
        Some(xqt_kernel::config::SectionSpec::of::<config::PrivacyConfig>())
    }

    fn purposes(&self) -> Vec<Purpose> {
        purposes::purposes()
    }

    fn client_permissions(&self) -> Vec<xqt_kernel::module::ClientPermission> {
        purposes::client_permissions()
    }

    fn sign_up_follower(&self) -> Option<Arc<dyn xqt_kernel::module::SignUpFollower>> {
        Some(Arc::new(policies::SignUpAcceptance))
    }

    fn scopes(&self) -> Vec<Scope> {
        purposes::scopes()
    }

    fn personal_data(&self) -> Option<Arc<dyn PersonalData>> {
        Some(Arc::new(personal_data::PrivacyData))
    }

    fn retention_rules(&self, config: &Config) -> Vec<RetentionRule> {
        personal_data::retention_rules(config)
    }

    fn job_handlers(&self) -> Vec<Arc<dyn xqt_kernel::jobs::JobHandler>> {
        jobs::handlers()
    }

    fn schedules(&self, config: &Config) -> Vec<xqt_kernel::jobs::Schedule> {
        jobs::schedules(config)
    }

    fn startup(&self) -> Option<Arc<dyn StartupTask>> {
        Some(Arc::new(personal_data::SeedPolicies))
    }

    fn essential_fields(&self) -> &'static [&'static str] {
        &[
            "policyDocuments",
            "policyVersions",
            "policyVersion",
            "pendingPolicies",
            "privacyStatus",
            "purposes",
            "clientPermissions",
            "partnerRegister",
            "acceptPolicy",
            "requestGuardianCode",
            "confirmGuardianConsent",
            "withdrawGuardianConsent",
        ]
    }

    fn privacy_hooks(&self) -> Option<PrivacyHooks> {
        Some(PrivacyHooks {
            consent: Arc::new(consent::Gate),
            audit: Arc::new(audit::AuditLog),
            standing: Arc::new(standing::AccountStanding),
            sharing: Arc::new(sharing::Ledger),
        })
    }
}
