mod mutation;
mod query;
mod types;

pub use mutation::AccountsMutation as Mutation;
pub use query::AccountsQuery as Query;
pub use types::{AuthPayload, Me, SecurityEvent, Session};

/// Accounts has no subscriptions (an ended session closes its sockets in the server).
#[derive(Default, async_graphql::MergedSubscription)]
#[graphql(name = "AccountsSubscription")]
pub struct Subscription;
