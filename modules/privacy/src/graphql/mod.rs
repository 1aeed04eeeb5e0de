mod mutation;
mod query;
mod types;

pub use query::PrivacyQuery;
pub use types::PolicyVersion;

#[derive(Default, async_graphql::MergedObject)]
#[graphql(name = "PrivacyQueryRoot")]
pub struct Query(query::PrivacyQuery);

#[derive(Default, async_graphql::MergedObject)]
#[graphql(name = "PrivacyMutationRoot")]
pub struct Mutation(mutation::PrivacyMutation);

#[derive(Default, async_graphql::MergedSubscription)]
#[graphql(name = "PrivacySubscription")]
pub struct Subscription;
