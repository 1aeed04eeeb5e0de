use async_graphql::connection::Connection;
use async_graphql::{Context, Object, Result};
use xqt_kernel::pagination::{self, PageArgs};

use super::types::{Notification, PushDevice};
use crate::inbox;

pub const LIST: &str = "notifications";

#[derive(Default)]
pub struct NotificationsQuery;

#[Object]
impl NotificationsQuery {
    /// The signed-in person's notifications, newest first.
    #[graphql(complexity = "pagination::complexity(first, last, child_complexity)")]
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(desc = "default false")] unread_only: Option<bool>,
    ) -> Result<Connection<String, Notification>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let user = viewer.require_person()?;
        let page = PageArgs { first, after, last, before }.validate(LIST, &app.config.limits)?;
        let rows = inbox::page(app, user, &page, unread_only.unwrap_or(false)).await?;
        let rows = rows.into_iter().map(Notification).collect();
        Ok(page.connection(LIST, rows, |n| n.0.id.to_string()))
    }

    async fn unread_notification_count(&self, ctx: &Context<'_>) -> Result<u64> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        Ok(inbox::unread_count(app, viewer.require_person()?).await?)
    }

    /// The person's devices registered for push.
    async fn push_devices(&self, ctx: &Context<'_>) -> Result<Vec<PushDevice>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let rows = crate::push::devices(app, viewer.require_person()?).await?;
        Ok(rows.into_iter().map(PushDevice).collect())
    }
}
