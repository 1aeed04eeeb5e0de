use async_graphql::{Context, ID, InputObject, Object, Result};
use xqt_kernel::ids::parse_id;

use super::types::{Notification, PushDevice};
use crate::inbox::{self, NewNotification};

#[derive(InputObject)]
pub struct SendNotificationInput {
    pub user_id: ID,
    /// `NOTICE` from an operator, `PARTNER_MESSAGE` from a partner (the default for each).
    pub kind: Option<crate::NotificationKind>,
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
        Ok(inbox::mark_read(app, user, up_to).await?)
    }

    /// Sends a notification to a person who exists: admins (`NOTICE`), or partners with
    /// `notifications:send` (`PARTNER_MESSAGE`, carrying the partner's name as `sender`).
    async fn send_notification(&self, ctx: &Context<'_>, input: SendNotificationInput) -> Result<Notification> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        viewer.require_scope(crate::SCOPE_SEND)?;
        let (own, sender) = match viewer {
            xqt_kernel::Viewer::Partner { partner_id, .. } => {
                let name = app.modules.partner_name(app, *partner_id).await?;
                (crate::NotificationKind::PartnerMessage, Some(name.unwrap_or_else(|| "partner".to_owned())))
            }
            _ => (crate::NotificationKind::Notice, None),
        };
        let kind = input.kind.unwrap_or(own);
        if kind != own {
            return Err(crate::NotificationError::KindNotSendable(kind).into());
        }
        let new = NewNotification {
            user_id: parse_id("userId", &input.user_id)?,
            kind,
            title: input.title,
            body: input.body,
        };
        Ok(Notification(inbox::send_by_hand(app, new, sender).await?))
    }

    /// Registers this device's push token; needs the `push_notifications` consent (PRM-2).
    async fn register_push_device(
        &self,
        ctx: &Context<'_>,
        platform: crate::push::PushPlatform,
        token: String,
    ) -> Result<PushDevice> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let user = viewer.require_person()?;
        Ok(PushDevice(crate::push::register_device(app, user, platform, &token).await?))
    }

    /// Stops pushes to one of the person's devices (e.g. on sign-out there). True when it was theirs.
    async fn unregister_push_device(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let user = viewer.require_person()?;
        Ok(crate::push::unregister_device(app, user, parse_id("id", &id)?).await?)
    }
}
