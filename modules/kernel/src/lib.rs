//! The shared foundation every module builds on.

pub mod auth;
pub mod bus;
pub mod cache;
pub mod calendar;
pub mod ceasing;
pub mod cli;
pub mod clock;
pub mod config;
pub mod context;
pub mod crypto;
pub mod db;
pub mod error;
pub mod files;
pub mod geo;
pub mod ids;
pub mod jobs;
pub mod links;
pub mod live;
pub mod mask;
pub mod metrics;
pub mod module;
pub mod pagination;
pub mod persisted;
pub mod privacy;
pub mod rate;
pub mod redis_conn;
pub mod scrub;
pub mod text;
pub mod uploads;
pub mod viewer;

pub use context::AppContext;
pub use error::{AppError, AppResult, ErrorCode};
pub use module::{Module, Modules};
pub use viewer::Viewer;

/// `tokio::spawn` that keeps the caller's span on the task, so what the task logs still names the
/// request it serves (DataLoader batches, work a request starts in the background).
pub fn spawn<F>(task: F) -> tokio::task::JoinHandle<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(tracing::Instrument::in_current_span(task))
}

/// The context and viewer a resolver works with, taken from the GraphQL context in one call.
pub fn from_graphql<'a>(ctx: &'a async_graphql::Context<'_>) -> (&'a AppContext, &'a Viewer) {
    let app = ctx.data_unchecked::<AppContext>();
    let viewer = ctx.data_opt::<Viewer>().unwrap_or(&Viewer::Anonymous);
    (app, viewer)
}

/// A closed set, one enum from the column to the SDL: stored as its lower-case string
/// (sea-orm), a GraphQL enum (upper case), and the stored string in JSON (exports, hash-chained records). Each variant names its stored
/// string: `Text = "text"`; `as_str()` and `Display` give it back. Extra derives (`PartialOrd, Ord`) and docs go on top as usual.
#[macro_export]
macro_rules! closed_set {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $stored:literal ),+ $(,)?
        }
    ) => {
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, sea_orm::EnumIter, sea_orm::DeriveActiveEnum,
            async_graphql::Enum, serde::Serialize, serde::Deserialize,
        )]
        #[sea_orm(rs_type = "String", db_type = "String(sea_orm::sea_query::StringLen::N(16))")]
        $(#[$meta])*
        $vis enum $name {
            $( $(#[$variant_meta])* #[sea_orm(string_value = $stored)] #[serde(rename = $stored)] $variant ),+
        }

        impl $name {
            /// The stored string, for logs, keys and messages.
            #[allow(dead_code)]
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $stored ),+
                }
            }

            /// The value stored as `s`, if any (for values kept inside a larger string).
            #[allow(dead_code)]
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $( $stored => Some(Self::$variant), )+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
