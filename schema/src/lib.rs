//! Assembles one GraphQL schema from the modules, with the query limits. No HTTP in here:
//! the server mounts it, tests execute it directly.

pub mod documents;
pub mod limits;
pub mod node;
pub mod nulls;
pub mod persisted;
pub mod pipeline;
pub mod root_fields;

use std::sync::Arc;

use async_graphql::{ObjectType, Schema, SubscriptionType};
use futures::future::BoxFuture;
use futures::stream::BoxStream;

/// Assembles an API from modules: their GraphQL roots merged into `Query`, `Mutation` and
/// `Subscription`, their `Module` values (`modules()`), which module owns each root field
/// (`field_owners()`), and `build(ctx)` / `sdl()`. Each listed crate (or module) exposes
/// `graphql::{Query, Mutation, Subscription}` and its `Module` value. The platform's API is the
/// one invocation below; adding a module is one line there.
#[macro_export]
macro_rules! assemble {
    ($($krate:ident :: $module:ident),+ $(,)? $(; query: $extra:ty)?) => {
        #[derive(async_graphql::MergedObject, Default)]
        pub struct Query($($krate::graphql::Query),+ $(, $extra)?);

        #[derive(async_graphql::MergedObject, Default)]
        pub struct Mutation($($krate::graphql::Mutation),+);

        #[derive(async_graphql::MergedSubscription, Default)]
        pub struct Subscription($($krate::graphql::Subscription),+);

        /// The `Module` values, in dependency order.
        pub fn modules() -> Vec<std::sync::Arc<dyn $crate::Module>> {
            vec![$(std::sync::Arc::new($krate::$module)),+]
        }

        /// Which module declared each root field, read from the modules' own roots.
        pub fn field_owners() -> $crate::root_fields::FieldOwners {
            use async_graphql::{OutputType, SubscriptionType};
            use $crate::Module as _;
            let mut owners = $crate::root_fields::FieldOwners::default();
            $(
                let name = $krate::$module.name();
                owners.add("Query", name, |r| <$krate::graphql::Query as OutputType>::create_type_info(r));
                owners.add("Mutation", name, |r| <$krate::graphql::Mutation as OutputType>::create_type_info(r));
                owners.add("Subscription", name, |r| <$krate::graphql::Subscription as SubscriptionType>::create_type_info(r));
            )+
            // Extra roots span modules (`node`): the guard runs again for the module of the
            // object they resolve.
            $( owners.add("Query", "node", |r| <$extra as OutputType>::create_type_info(r)); )?
            owners
        }

        /// The schema the server runs: limits from the config, the context as schema data.
        pub fn build(ctx: $crate::AppContext) -> async_graphql::Schema<Query, Mutation, Subscription> {
            $crate::build_with(ctx, field_owners())
        }

        /// The SDL of this API.
        pub fn sdl() -> String {
            async_graphql::Schema::build(Query::default(), Mutation::default(), Subscription::default()).finish().sdl()
        }
    };
}

pub use xqt_kernel::{AppContext, Module};

assemble!(
    xqt_notifications::Notifications,
    xqt_accounts::Accounts,
    xqt_privacy::Privacy,
    xqt_chat::Chat,
    xqt_cooperation::Cooperation,
    xqt_attendance::Attendance;
    query: crate::node::NodeQuery
);

pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// A schema over any assembled roots, with the query limits and the root-field gate.
pub fn build_with<Q, M, S>(ctx: AppContext, owners: root_fields::FieldOwners) -> Schema<Q, M, S>
where
    Q: ObjectType + Default + 'static,
    M: ObjectType + Default + 'static,
    S: SubscriptionType + Default + 'static,
{
    let config = Arc::clone(&ctx.config);
    let mut builder = Schema::build(Q::default(), M::default(), S::default())
        .extension(pipeline::Pipeline::new(
            limits::QueryLimits::new(&config.limits, config.introspection_enabled()),
            root_fields::RootFieldGate::new(owners),
        ))
        .data(ctx.modules.loaders(&ctx))
        .data(ctx);
    if !config.introspection_enabled() {
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder.finish()
}

/// The assembled API as the server runs it, whichever modules it was assembled from.
pub trait Api: Send + Sync + 'static {
    fn execute(&self, request: async_graphql::Request) -> BoxFuture<'static, async_graphql::Response>;
    fn execute_stream(
        &self,
        request: async_graphql::Request,
        session: Arc<async_graphql::Data>,
    ) -> BoxStream<'static, async_graphql::Response>;
}

impl<Q, M, S> Api for Schema<Q, M, S>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    fn execute(&self, request: async_graphql::Request) -> BoxFuture<'static, async_graphql::Response> {
        let schema = self.clone();
        Box::pin(async move { schema.execute(request).await })
    }

    fn execute_stream(
        &self,
        request: async_graphql::Request,
        session: Arc<async_graphql::Data>,
    ) -> BoxStream<'static, async_graphql::Response> {
        Box::pin(self.execute_stream_with_session_data(request, session))
    }
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

    /// The stream a subscription keeps for its whole life has no room left for preparing the
    /// request: the vendored async-graphql boxes the request and its preparation
    /// (vendor/README.md). Without the patch the stream is 2,832 bytes; with it, 1,080 (in debug
    /// and release builds alike).
    #[test]
    fn a_subscription_keeps_no_room_for_preparing_it() {
        let schema = async_graphql::Schema::build(
            super::Query::default(),
            super::Mutation::default(),
            super::Subscription::default(),
        )
        .finish();
        let stream = schema.execute_stream("subscription { notificationAdded { id } }");
        let size = std::mem::size_of_val(&*stream);
        assert!(size <= 1536, "a subscription's stream is {size} bytes: is vendor/async-graphql.patch applied?");
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
