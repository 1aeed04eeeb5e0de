use async_graphql::connection::Connection;
use async_graphql::{Context, Object, Result};
use xqt_kernel::pagination::{self, PageArgs};

use super::types::{IdentityVerification, Me, ReviewState, SecurityEvent, Session};
use crate::{sessions, users};

const SECURITY_LOG: &str = "securityLog";
const IDENTITY_QUEUE: &str = "identityQueue";

#[derive(Default)]
pub struct AccountsQuery;

#[Object]
impl AccountsQuery {
    /// The signed-in person's own account and profile, unmasked.
    async fn me(&self, ctx: &Context<'_>) -> Result<Me> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let user = users::find(app, viewer.require_person()?).await?.ok_or(crate::error::AccountsError::SignInFirst)?;
        let phone = users::phone_of(app, &user)?.map(|p| p.as_str().to_owned());
        Ok(Me { user, phone })
    }

    /// Devices where the person is signed in.
    async fn my_sessions(&self, ctx: &Context<'_>) -> Result<Vec<Session>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let user = viewer.require_person()?;
        let current = viewer.session_id();
        let rows = sessions::live_sessions(app, user).await?;
        Ok(rows.into_iter().map(|row| Session { current: Some(row.id) == current, row }).collect())
    }

    /// The person's sign-ins, failures, new devices and sign-outs, newest first.
    #[graphql(complexity = "pagination::complexity(first, last, child_complexity)")]
    async fn my_security_log(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, SecurityEvent>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let user = viewer.require_person()?;
        let page = PageArgs { first, after, last, before }.validate(SECURITY_LOG, &app.config.limits)?;
        let rows = sessions::security_log(app, user, &page).await?.into_iter().map(SecurityEvent).collect();
        Ok(page.connection(SECURITY_LOG, rows, |e| e.0.id.to_string()))
    }

    /// Real-name submissions waiting in a state, oldest first (admins; fields masked).
    #[graphql(complexity = "pagination::complexity(first, last, child_complexity)")]
    async fn identity_verification_queue(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "default SUBMITTED")] state: Option<ReviewState>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, IdentityVerification>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        viewer.require_admin()?;
        let page = PageArgs { first, after, last, before }.validate(IDENTITY_QUEUE, &app.config.limits)?;
        let state = state.unwrap_or(ReviewState::Submitted);
        let rows = crate::verification::queue(app, viewer, state, &page).await?;
        let rows =
            rows.into_iter().map(|r| IdentityVerification::open(app, r, viewer)).collect::<Result<Vec<_>, _>>()?;
        // The queue is oldest first, so "after" walks forward in id order.
        Ok(page.connection(IDENTITY_QUEUE, rows, |v| v.row.id.to_string()))
    }
}
