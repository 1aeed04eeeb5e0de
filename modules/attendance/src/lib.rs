//! Attendance (考勤): students check in at their internship sites and staff at work. Groups
//! with sites (geofences and Wi-Fi) and one fixed shift on the Chinese calendar; check-in under
//! the location consent, with every result explained; field check-ins (外勤) with a note and a
//! photo; suspicious checks flagged with their reason; day-end settlement by the job runner;
//! make-up requests (补卡) decided by the group's admins; monthly statistics as GraphQL and CSV.

pub mod checkins;
pub mod cli;
pub mod config;
pub mod entity;
mod error;
pub mod graphql;
pub mod groups;
pub mod makeups;
pub mod personal_data;
pub mod photos;
pub mod rules;
pub mod settle;
pub mod stats;

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;
use xqt_kernel::config::SectionSpec;
use xqt_kernel::jobs::{JobHandler, Schedule};
use xqt_kernel::links::LinkedFiles;
use xqt_kernel::module::{OrganizationMembership, PersonalData, Purpose, RetentionRule};
use xqt_kernel::uploads::{Downloads, UploadPurpose};
use xqt_kernel::{AppContext, AppResult, Module};

pub use error::AttendanceError;

pub struct Attendance;

impl Module for Attendance {
    fn name(&self) -> &'static str {
        "attendance"
    }

    fn config(&self) -> Option<SectionSpec> {
        Some(SectionSpec::of::<config::AttendanceConfig>())
    }

    fn client_permissions(&self) -> Vec<xqt_kernel::module::ClientPermission> {
        personal_data::client_permissions()
    }

    fn purposes(&self) -> Vec<Purpose> {
        personal_data::purposes()
    }

    fn personal_data(&self) -> Option<Arc<dyn PersonalData>> {
        Some(Arc::new(personal_data::AttendanceData))
    }

    fn retention_rules(&self, config: &xqt_kernel::config::Config) -> Vec<RetentionRule> {
        personal_data::retention_rules(config)
    }

    fn job_handlers(&self) -> Vec<Arc<dyn JobHandler>> {
        vec![Arc::new(settle::Settle), Arc::new(settle::Remind)]
    }

    fn schedules(&self, config: &xqt_kernel::config::Config) -> Vec<Schedule> {
        settle::schedules(config)
    }

    fn organization_membership(&self) -> Option<Arc<dyn OrganizationMembership>> {
        Some(Arc::new(FollowOrganizations))
    }

    fn upload_purposes(&self) -> Vec<UploadPurpose> {
        photos::upload_purposes()
    }

    fn downloads(&self) -> Option<Arc<dyn Downloads>> {
        Some(Arc::new(photos::Photos))
    }

    fn linked_files(&self) -> Vec<Arc<dyn LinkedFiles>> {
        vec![Arc::new(stats::Reports)]
    }

    fn cli_commands(&self) -> Vec<Arc<dyn xqt_kernel::cli::CliCommand>> {
        vec![Arc::new(cli::settle::Attendance)]
    }
}

/// Someone who leaves an organisation leaves its attendance groups (check-in also checks).
struct FollowOrganizations;

#[async_trait]
impl OrganizationMembership for FollowOrganizations {
    async fn joined(&self, _ctx: &AppContext, _organization: Uuid, _user: Uuid) -> AppResult<()> {
        // Joining an organisation puts nobody in a group: its admins add members.
        Ok(())
    }

    async fn left(&self, ctx: &AppContext, organization: Uuid, user: Uuid) -> AppResult<()> {
        groups::left_organization(ctx, organization, user).await.map(|_| ())
    }
}
