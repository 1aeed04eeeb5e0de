pub mod loaders;
mod mutation;
mod query;
mod types;

pub use mutation::CooperationMutation as Mutation;
pub use query::CooperationQuery as Query;
pub use types::{Agreement, Application, Post, Programme};

/// Cooperation has no subscriptions (applications and agreements notify through the inbox).
#[derive(Default, async_graphql::MergedSubscription)]
#[graphql(name = "CooperationSubscription")]
pub struct Subscription;
