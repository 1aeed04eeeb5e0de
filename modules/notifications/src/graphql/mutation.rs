use async_graphql::{Context, ID, InputObject, Object, Result};
use xqt_kernel::ids::parse_id;

use super::types::Notification;
use crate::service::{self, NewNotification};

#[derive(InputObject)]
pub struct SendNotificationInput {
    pub user_id: ID,
    pub kind: String,
    pub title: String,
    #[graphql(default)]
    pub body: String,
}

#[derive(Default)]
pub struct NotificationsMutation;

#[Object]
impl NotificationsMutation {
    /// Marks unread notifications read: all, or those up to and including `upTo`. Returns how many.
    async fn mark_notifications_read(&self, ctx: &Context<'_>, up_to: Option<ID>) -> Result<u64> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let user = viewer.require_person()?;
        let up_to = up_to.as_ref().map(|id| parse_id("upTo", id)).transpose()?;
        Ok(service::mark_read(app, user, up_to).await?)
    }

    /// Sends a notification to a person: admins, or partners with `notifications:send`.
    async fn send_notification(&self, ctx: &Context<'_>, input: SendNotificationInput) -> Result<Notification> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        viewer.require_scope(crate::SCOPE_SEND)?;
        let new = NewNotification {
            user_id: parse_id("userId", &input.user_id)?,
            kind: input.kind,
            title: input.title,
            body: input.body,
        };
        Ok(Notification(service::notify(app, new).await?))
    }
}
