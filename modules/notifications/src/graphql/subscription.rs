use async_graphql::{Context, ID, Result, Subscription};
use futures::{Stream, StreamExt};
use xqt_kernel::ids::parse_id;

use super::types::Notification;
use crate::inbox;

#[derive(Default)]
pub struct NotificationsSubscription;

#[Subscription]
impl NotificationsSubscription {
    /// The signed-in person's notifications as they arrive. With `after` (the last id the client
    /// has), everything stored since then comes first, then live ones, without gap or duplicate.
    async fn notification_added(
        &self,
        ctx: &Context<'_>,
        after: Option<ID>,
    ) -> Result<impl Stream<Item = Result<Notification>> + use<>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let user = viewer.require_person()?;
        let after = after.as_ref().map(|id| parse_id("after", id)).transpose()?;
        Ok(inbox::follow(app.clone(), user, after).map(|r| r.map(Notification).map_err(Into::into)))
    }
}
