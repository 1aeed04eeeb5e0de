//! Assembles one GraphQL schema from the modules, with the query limits. No HTTP in here:
//! the server mounts it, tests execute it directly.

pub mod limits;
pub mod root_fields;

use std::sync::Arc;

use async_graphql::Schema;
use xqt_kernel::{AppContext, Module};

/// Every module, once: its GraphQL roots are merged and its `Module` value registered.
/// Adding a module is one line here (its crate exposes `graphql::{Query, Mutation, Subscription}`).
macro_rules! modules {
    ($($krate:ident :: $module:ident),+ $(,)?) => {
        #[derive(async_graphql::MergedObject, Default)]
        pub struct Query($($krate::graphql::Query),+);

        #[derive(async_graphql::MergedObject, Default)]
        pub struct Mutation($($krate::graphql::Mutation),+);

        #[derive(async_graphql::MergedSubscription, Default)]
        pub struct Subscription($($krate::graphql::Subscription),+);

        /// The `Module` values, in dependency order.
        pub fn modules() -> Vec<Arc<dyn Module>> {
            vec![$(Arc::new($krate::$module)),+]
        }

        /// Which module declared each root field, read from the modules' own roots.
        pub fn field_owners() -> root_fields::FieldOwners {
            use async_graphql::{OutputType, SubscriptionType};
            let mut owners = root_fields::FieldOwners::default();
            $(
                let name = $krate::$module.name();
                owners.add("Query", name, |r| <$krate::graphql::Query as OutputType>::create_type_info(r));
                owners.add("Mutation", name, |r| <$krate::graphql::Mutation as OutputType>::create_type_info(r));
                owners.add("Subscription", name, |r| <$krate::graphql::Subscription as SubscriptionType>::create_type_info(r));
            )+
            owners
        }
    };
}

modules!(xqt_notifications::Notifications, xqt_accounts::Accounts, xqt_privacy::Privacy, xqt_chat::Chat);

pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// The schema the server runs: limits from the config, the context as schema data.
pub fn build(ctx: AppContext) -> AppSchema {
    let config = Arc::clone(&ctx.config);
    let mut builder = Schema::build(Query::default(), Mutation::default(), Subscription::default())
        .extension(limits::QueryLimits::new(&config.limits))
        .extension(root_fields::RootFieldGate::new(field_owners()))
        .data(ctx);
    if !config.introspection_enabled() {
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder.finish()
}

/// The SDL of the whole API (what `xqt schema` prints and `schema/schema.graphql` holds).
pub fn sdl() -> String {
    Schema::build(Query::default(), Mutation::default(), Subscription::default()).finish().sdl()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_root_field_has_an_owner() {
        let owners = super::field_owners();
        let schema = async_graphql::Schema::build(
            super::Query::default(),
            super::Mutation::default(),
            super::Subscription::default(),
        )
        .finish();
        assert_eq!(owners.owner("Query", "me"), Some("accounts"));
        assert_eq!(owners.owner("Query", "notifications"), Some("notifications"));
        assert_eq!(owners.owner("Mutation", "grantConsent"), Some("privacy"));
        assert_eq!(owners.owner("Subscription", "notificationAdded"), Some("notifications"));
        assert_eq!(owners.owner("Organization", "name"), None, "only root types");
        let query = "{ __schema { queryType { fields { name } } mutationType { fields { name } } subscriptionType { fields { name } } } }";
        let data = block_on(schema.execute(query)).data.into_json().unwrap();
        for (root, key) in [("Query", "queryType"), ("Mutation", "mutationType"), ("Subscription", "subscriptionType")]
        {
            for f in data["__schema"][key]["fields"].as_array().unwrap() {
                let field = f["name"].as_str().unwrap();
                assert!(owners.owner(root, field).is_some(), "{root}.{field} has no owning module");
            }
        }
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    }

    #[test]
    fn committed_sdl_matches_the_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
        let current = super::sdl();
        if std::env::var_os("XQT_UPDATE_SDL").is_some() {
            std::fs::write(path, &current).expect("write schema.graphql");
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == current,
            "schema/schema.graphql is out of date with the code; review the change and run \
             `cargo run -p xqt -- schema > schema/schema.graphql` (or XQT_UPDATE_SDL=1 cargo test -p xqt-schema)"
        );
    }
}
