//! Relay's `Node`: `node(id)` and `nodes(ids)` refetch any object that has a root field of its
//! own. Every id in this API is a UUID, unique across every type, so an object's `id` is already
//! its global id — opaque to clients, stable, and the key a normalised cache (Relay, Apollo)
//! stores it under. An id is located by its row (one primary-key lookup per kind until found)
//! and then resolved by the very root field that serves the type (`post(id)` for a `Post`),
//! after the same request guard, so `node` sees exactly what the typed field would and refuses
//! with the same error. An id that is no one's is `null`.

use async_graphql::{Context, ID, Interface, Object, Result};
use uuid::Uuid;
use xqt_kernel::{AppContext, Viewer, ids::parse_id};

/// Objects a client can refetch by id alone.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "A global id: unique across every type in this API."))]
pub enum Node {
    Organization(xqt_accounts::graphql::organizations::Organization),
    PolicyVersion(xqt_privacy::graphql::PolicyVersion),
    Conversation(xqt_chat::graphql::Conversation),
    Post(xqt_cooperation::graphql::Post),
    Application(xqt_cooperation::graphql::Application),
    Programme(xqt_cooperation::graphql::Programme),
    Agreement(xqt_cooperation::graphql::Agreement),
    AttendanceGroup(xqt_attendance::graphql::AttendanceGroup),
}

/// The kinds of node, each with the module and root field that serve it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Organization,
    PolicyVersion,
    Conversation,
    Post,
    Application,
    Programme,
    Agreement,
    AttendanceGroup,
}

impl Kind {
    /// In the order ids are looked for: the kinds clients refetch most first.
    const ALL: [Kind; 8] = [
        Kind::Post,
        Kind::Conversation,
        Kind::Organization,
        Kind::Application,
        Kind::Programme,
        Kind::Agreement,
        Kind::AttendanceGroup,
        Kind::PolicyVersion,
    ];

    fn root_field(self) -> (&'static str, &'static str) {
        match self {
            Kind::Organization => ("accounts", "organization"),
            Kind::PolicyVersion => ("privacy", "policyVersion"),
            Kind::Conversation => ("chat", "conversation"),
            Kind::Post => ("cooperation", "post"),
            Kind::Application => ("cooperation", "application"),
            Kind::Programme => ("cooperation", "programme"),
            Kind::Agreement => ("cooperation", "agreement"),
            Kind::AttendanceGroup => ("attendance", "attendanceGroup"),
        }
    }

    /// Whether a row of this kind has the id (nothing about who may see it).
    async fn holds(self, app: &AppContext, id: Uuid) -> Result<bool> {
        Ok(match self {
            Kind::Organization => xqt_accounts::organizations::find(app, id).await?.is_some(),
            Kind::PolicyVersion => xqt_privacy::policies::version(app, id).await?.is_some(),
            Kind::Conversation => xqt_chat::conversations::find(app, id).await?.is_some(),
            Kind::Post => xqt_cooperation::posts::find(app, id).await?.is_some(),
            Kind::Application => xqt_cooperation::applications::find_any(app, id).await?.is_some(),
            Kind::Programme => xqt_cooperation::programmes::find(app, id).await?.is_some(),
            Kind::Agreement => xqt_cooperation::agreements::find(app, id).await?.is_some(),
            Kind::AttendanceGroup => xqt_attendance::groups::find(app, id).await?.is_some(),
        })
    }

    /// The object through its own root field, as that field would answer.
    async fn resolve(self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        use xqt_accounts::graphql::organizations::OrganizationsQuery;
        use xqt_privacy::graphql::PrivacyQuery;
        Ok(match self {
            Kind::Organization => OrganizationsQuery.organization(ctx, id).await?.map(Node::Organization),
            Kind::PolicyVersion => PrivacyQuery.policy_version(ctx, id).await?.map(Node::PolicyVersion),
            Kind::Conversation => Some(Node::Conversation(xqt_chat::graphql::Query.conversation(ctx, id).await?)),
            Kind::Post => Some(Node::Post(xqt_cooperation::graphql::Query.post(ctx, id).await?)),
            Kind::Application => Some(Node::Application(xqt_cooperation::graphql::Query.application(ctx, id).await?)),
            Kind::Programme => Some(Node::Programme(xqt_cooperation::graphql::Query.programme(ctx, id).await?)),
            Kind::Agreement => Some(Node::Agreement(xqt_cooperation::graphql::Query.agreement(ctx, id).await?)),
            Kind::AttendanceGroup => {
                Some(Node::AttendanceGroup(xqt_attendance::graphql::Query.attendance_group(ctx, id).await?))
            }
        })
    }
}

/// At most this many ids in one `nodes` call.
pub const NODES_MAX: usize = 50;

async fn node(ctx: &Context<'_>, field: &'static str, id: ID) -> Result<Option<Node>> {
    let (app, viewer) = xqt_kernel::from_graphql(ctx);
    let uuid = parse_id(field, &id)?;
    for kind in Kind::ALL {
        if !kind.holds(app, uuid).await? {
            continue;
        }
        // The request guard the typed root field passes (a child awaiting a guardian, a
        // pending major policy, a suspended account), under that field's module and name.
        if let Viewer::User { .. } = viewer {
            let (module, name) = kind.root_field();
            let essential = app.modules.is_essential(module, name);
            app.modules.privacy().standing.check(app, viewer, "Query", module, name, essential).await?;
        }
        return kind.resolve(ctx, id).await;
    }
    Ok(None)
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by its id, as its own root field would answer (`post(id)` for a post): the
    /// same visibility and errors. Null when the id is no one's.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        node(ctx, "id", id).await
    }

    /// Several objects by id (at most 50), in the order asked; null where an id is no one's.
    /// One the viewer may not see fails the field with that object's error.
    #[graphql(complexity = "ids.len() * child_complexity")]
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> Result<Vec<Option<Node>>> {
        if ids.len() > NODES_MAX {
            return Err(xqt_kernel::AppError::new(
                xqt_kernel::ErrorCode::BadUserInput,
                format!("at most {NODES_MAX} ids at once"),
            )
            .with("field", "ids")
            .into());
        }
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(node(ctx, "ids", id).await?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_looked_for_once() {
        let fields: std::collections::HashSet<_> = Kind::ALL.iter().map(|k| k.root_field()).collect();
        assert_eq!(fields.len(), Kind::ALL.len(), "each kind has its own root field");
    }
}
