//! Chat: direct conversations, groups and organisation channels; messages stored with a dense
//! per-conversation sequence before they are delivered live (and resumed from any position);
//! read state, edit and recall, attachments, push to members who are away, call signalling.

pub mod attachments;
pub mod calls;
pub mod changes;
pub mod config;
pub mod conversations;
pub mod entity;
mod error;
pub mod graphql;
pub mod inbox;
pub mod jobs;
pub mod live;
pub mod messages;
pub mod personal_data;

use std::sync::Arc;

use xqt_kernel::Module;
use xqt_kernel::module::{ClientPermission, OrganizationMembership, PersonalData, Purpose};

pub use error::ChatError;

pub struct Chat;

impl Module for Chat {
    fn name(&self) -> &'static str {
        "chat"
    }

    fn config(&self) -> Option<xqt_kernel::config::SectionSpec> {
        Some(xqt_kernel::config::SectionSpec::of::<config::ChatConfig>())
    }

    fn upload_purposes(&self) -> Vec<xqt_kernel::uploads::UploadPurpose> {
        attachments::purposes()
    }

    fn downloads(&self) -> Option<Arc<dyn xqt_kernel::uploads::Downloads>> {
        Some(Arc::new(attachments::AttachmentFiles))
    }

    fn linked_files(&self) -> Vec<Arc<dyn xqt_kernel::links::LinkedFiles>> {
        vec![Arc::new(attachments::AttachmentLinks)]
    }

    fn purposes(&self) -> Vec<Purpose> {
        personal_data::purposes()
    }

    fn client_permissions(&self) -> Vec<ClientPermission> {
        personal_data::client_permissions()
    }

    fn add_loaders(&self, ctx: &xqt_kernel::AppContext, data: &mut async_graphql::Data) {
        graphql::loaders::add(ctx, data);
    }

    fn personal_data(&self) -> Option<Arc<dyn PersonalData>> {
        Some(Arc::new(personal_data::ChatData))
    }

    fn retention_rules(&self, _config: &xqt_kernel::config::Config) -> Vec<xqt_kernel::module::RetentionRule> {
        personal_data::retention_rules()
    }

    fn job_handlers(&self) -> Vec<Arc<dyn xqt_kernel::jobs::JobHandler>> {
        jobs::handlers()
    }

    fn organization_membership(&self) -> Option<Arc<dyn OrganizationMembership>> {
        Some(Arc::new(ChannelMembership))
    }

    fn acquaintance(&self) -> Option<Arc<dyn xqt_kernel::module::Acquaintance>> {
        Some(Arc::new(conversations::CoMembers))
    }
}

/// An organisation's channel follows the organisation, both ways, at once.
struct ChannelMembership;

#[async_trait::async_trait]
impl OrganizationMembership for ChannelMembership {
    async fn joined(
        &self,
        ctx: &xqt_kernel::AppContext,
        organization: uuid::Uuid,
        user: uuid::Uuid,
    ) -> xqt_kernel::AppResult<()> {
        conversations::organization_joined(ctx, organization, user).await
    }

    async fn left(
        &self,
        ctx: &xqt_kernel::AppContext,
        organization: uuid::Uuid,
        user: uuid::Uuid,
    ) -> xqt_kernel::AppResult<()> {
        conversations::organization_left(ctx, organization, user).await
    }
}
