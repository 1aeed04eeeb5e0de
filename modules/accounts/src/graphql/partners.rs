use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use xqt_kernel::ids::parse_id;

use crate::entity::{api_token, partner};
use crate::partners;

pub struct Partner(partner::Model);

#[Object]
impl Partner {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn tokens(&self, ctx: &Context<'_>) -> Result<Vec<PartnerToken>> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        Ok(partners::tokens(app, Some(self.0.id)).await?.into_iter().map(PartnerToken).collect())
    }
}

/// A token as listed: never the secret, only its first characters.
pub struct PartnerToken(api_token::Model);

#[Object]
impl PartnerToken {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The token's first characters, to tell tokens apart.
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }
    async fn scopes(&self) -> Vec<&str> {
        self.0.scopes.split_whitespace().collect()
    }
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
}

#[derive(SimpleObject)]
pub struct IssuedPartnerToken {
    /// The secret, shown only now: send it as `Authorization: Bearer …`.
    secret: String,
    token: PartnerToken,
}

/// A permission a partner token can be given, and the module that declares it.
#[derive(SimpleObject)]
pub struct ScopeInfo {
    /// `notifications:send`, `accounts:organizations.read`, …
    id: String,
    module: String,
    description: String,
}

#[derive(Default)]
pub struct PartnersQuery;

#[Object]
impl PartnersQuery {
    /// Every scope a partner token can carry, from the modules (public: a partner reads it
    /// before asking for a token).
    async fn scopes(&self, ctx: &Context<'_>) -> Vec<ScopeInfo> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        app.modules
            .scopes()
            .iter()
            .map(|(module, s)| ScopeInfo {
                id: s.id.to_owned(),
                module: (*module).to_owned(),
                description: s.description.to_owned(),
            })
            .collect()
    }

    /// Registered partners and their tokens (admins).
    async fn partners(&self, ctx: &Context<'_>) -> Result<Vec<Partner>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        viewer.require_admin()?;
        Ok(partners::partners(app).await?.into_iter().map(Partner).collect())
    }
}

#[derive(Default)]
pub struct PartnersMutation;

#[Object]
impl PartnersMutation {
    async fn create_partner(&self, ctx: &Context<'_>, name: String) -> Result<Partner> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        viewer.require_admin()?;
        Ok(Partner(partners::create_partner(app, &name).await?))
    }

    /// Issues a token with scopes declared by the modules, valid `validDays` (at most 366).
    async fn create_partner_token(
        &self,
        ctx: &Context<'_>,
        partner_id: ID,
        name: String,
        scopes: Vec<String>,
        valid_days: i64,
    ) -> Result<IssuedPartnerToken> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let admin = viewer.require_admin()?;
        let (secret, row) =
            partners::create_token(app, Some(admin), parse_id("partnerId", &partner_id)?, &name, &scopes, valid_days)
                .await?;
        Ok(IssuedPartnerToken { secret, token: PartnerToken(row) })
    }

    /// Revokes a token; it stops working at once on every instance.
    async fn revoke_partner_token(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        viewer.require_admin()?;
        Ok(partners::revoke(app, parse_id("id", &id)?).await?)
    }
}
