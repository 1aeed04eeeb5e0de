//! What the API adds around async-graphql's phases, as one extension: persisted queries, the
//! parsed-document cache, the root-field gate, the query limits with their error codes, and
//! null propagation (each in its own module; this one only puts them in order).
//!
//! One extension, not one per concern: async-graphql calls every extension's hook for every
//! phase of every request, and every resolved field, each call a boxed future, and makes each
//! extension anew per request (and keeps them for a subscription's life). Five extensions made
//! thirty hook calls for `{ __typename }`; one makes six.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest, NextRequest,
    NextResolve, NextSubscribe, NextValidation, ResolveInfo,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Request, Response, ServerError, ServerResult, ValidationResult, Value, Variables};
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::documents::ParsedDocuments;
use crate::limits::{self, QueryLimits};
use crate::nulls::Seen;
use crate::persisted;
use crate::root_fields::RootFieldGate;

/// What every request shares.
pub struct Pipeline {
    shared: Arc<Shared>,
}

struct Shared {
    documents: ParsedDocuments,
    gate: RootFieldGate,
    limits: QueryLimits,
}

impl Pipeline {
    pub fn new(limits: QueryLimits, gate: RootFieldGate) -> Self {
        Self { shared: Arc::new(Shared { documents: ParsedDocuments::new(), gate, limits }) }
    }
}

impl ExtensionFactory for Pipeline {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Run {
            shared: Arc::clone(&self.shared),
            introspection_only: AtomicBool::new(false),
            seen: Arc::default(),
        })
    }
}

/// One request's (or subscription's) run through the pipeline.
struct Run {
    shared: Arc<Shared>,
    /// Set once parsed: a document that only introspects is exempt from the depth limit.
    introspection_only: AtomicBool,
    /// Shared with a subscription's stream, which outlives the hook that wraps it.
    seen: Arc<Seen>,
}

#[async_trait::async_trait]
impl Extension for Run {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        limits::code_request_errors(&mut response);
        response
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        let seen = Arc::clone(&self.seen);
        Box::pin(next.run(ctx, stream).map(move |mut response| {
            seen.apply(&mut response);
            response
        }))
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let request = persisted::resolve(ctx, request).await?;
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let shared = &self.shared;
        let doc = shared.documents.parse(ctx, query, variables, next).await.map_err(limits::parse_failed)?;
        shared.gate.check_subscriptions(ctx, &doc).await?;
        let introspection_only = shared.limits.check_written(&doc)?;
        self.introspection_only.store(introspection_only, Ordering::Relaxed);
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await;
        self.shared.limits.validated(result, self.introspection_only.load(Ordering::Relaxed))
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        self.seen.apply(&mut response);
        limits::code_execution_errors(&mut response);
        response
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        self.shared.gate.check_field(ctx, &info).await?;
        let (at, path_node, non_null) =
            ((info.parent_type, info.name, info.field), info.path_node, info.return_type.ends_with('!'));
        let result = next.run(ctx, info).await;
        self.seen.record(path_node, non_null, result.is_err());
        limits::resolved(ctx, at, result)
    }
}
