mod mutation;
pub mod organizations;
mod partners;
mod query;
mod reports;
mod types;
mod webhooks;

/// People and organisations, one root each so the files stay small.
#[derive(Default, async_graphql::MergedObject)]
#[graphql(name = "AccountsQueryRoot")]
pub struct Query(
    query::AccountsQuery,
    organizations::OrganizationsQuery,
    partners::PartnersQuery,
    reports::ReportsQuery,
    webhooks::WebhooksQuery,
);

#[derive(Default, async_graphql::MergedObject)]
#[graphql(name = "AccountsMutationRoot")]
pub struct Mutation(
    mutation::AccountsMutation,
    organizations::OrganizationsMutation,
    partners::PartnersMutation,
    reports::ReportsMutation,
    webhooks::WebhooksMutation,
);

/// Accounts has no subscriptions (an ended session closes its sockets in the server).
#[derive(Default, async_graphql::MergedSubscription)]
#[graphql(name = "AccountsSubscription")]
pub struct Subscription;
