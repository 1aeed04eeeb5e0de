//! Query limits as one extension: every refusal carries its own stable code.
//! - parse: a document that does not parse is `GRAPHQL_PARSE_FAILED`; more aliases than allowed
//!   is `TOO_MANY_ALIASES` (an alias flood multiplies work without deepening the query);
//! - validation: invalid documents are `GRAPHQL_VALIDATION_FAILED`, too deep `QUERY_TOO_DEEP`,
//!   too heavy `QUERY_TOO_COMPLEX` (list fields weigh their page size times their children).
//!
//! A document that only introspects is exempt from the depth limit (client tooling nests
//! `ofType` deeply); introspection is off in production altogether.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ServerError, ServerResult, ValidationResult, Variables};
use xqt_kernel::ErrorCode;
use xqt_kernel::config::Limits;

pub struct QueryLimits {
    max_depth: usize,
    max_complexity: usize,
    max_aliases: usize,
}

impl QueryLimits {
    pub fn new(limits: &Limits) -> Self {
        Self { max_depth: limits.max_depth, max_complexity: limits.max_complexity, max_aliases: limits.max_aliases }
    }
}

impl ExtensionFactory for QueryLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(QueryLimitsExtension {
            max_depth: self.max_depth,
            max_complexity: self.max_complexity,
            max_aliases: self.max_aliases,
            introspection_only: AtomicBool::new(false),
        })
    }
}

struct QueryLimitsExtension {
    max_depth: usize,
    max_complexity: usize,
    max_aliases: usize,
    introspection_only: AtomicBool,
}

fn coded(mut error: ServerError, code: ErrorCode) -> ServerError {
    let mut ext = error.extensions.take().unwrap_or_default();
    ext.set("code", code.as_str());
    error.extensions = Some(ext);
    error
}

fn count_aliases(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(f) => usize::from(f.node.alias.is_some()) + count_aliases(&f.node.selection_set.node),
            Selection::InlineFragment(f) => count_aliases(&f.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

fn aliases(doc: &ExecutableDocument) -> usize {
    let in_operations: usize = doc.operations.iter().map(|(_, op)| count_aliases(&op.node.selection_set.node)).sum();
    let in_fragments: usize = doc.fragments.values().map(|f| count_aliases(&f.node.selection_set.node)).sum();
    in_operations + in_fragments
}

fn only_introspects(doc: &ExecutableDocument) -> bool {
    doc.operations.iter().all(|(_, op)| {
        op.node.selection_set.node.items.iter().all(|item| match &item.node {
            Selection::Field(f) => f.node.name.node.starts_with("__"),
            _ => false,
        })
    })
}

#[async_trait::async_trait]
impl Extension for QueryLimitsExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        // An error that already has a code (a later extension's refusal) keeps it.
        let doc = next.run(ctx, query, variables).await.map_err(|e| {
            let has_code = e.extensions.as_ref().is_some_and(|x| x.get("code").is_some());
            if has_code { e } else { coded(e, ErrorCode::ParseFailed) }
        })?;
        let count = aliases(&doc);
        if count > self.max_aliases {
            let message = format!("the query uses {count} aliases; at most {} are allowed", self.max_aliases);
            return Err(coded(ServerError::new(message, None), ErrorCode::TooManyAliases));
        }
        self.introspection_only.store(only_introspects(&doc), Ordering::Relaxed);
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next
            .run(ctx)
            .await
            .map_err(|errors| errors.into_iter().map(|e| coded(e, ErrorCode::ValidationFailed)).collect::<Vec<_>>())?;
        if result.depth > self.max_depth && !self.introspection_only.load(Ordering::Relaxed) {
            let message =
                format!("the query is nested {} levels deep; at most {} are allowed", result.depth, self.max_depth);
            return Err(vec![coded(ServerError::new(message, None), ErrorCode::QueryTooDeep)]);
        }
        if result.complexity > self.max_complexity {
            let message = format!(
                "the query's complexity is {}; at most {} is allowed (ask for smaller pages)",
                result.complexity, self.max_complexity
            );
            return Err(vec![coded(ServerError::new(message, None), ErrorCode::QueryTooComplex)]);
        }
        Ok(result)
    }
}
