//! Each distinct query text is parsed once per instance. Clients send the same few documents
//! with different variables; async-graphql's parser (pest) was 11 % of the server's CPU on
//! `{ __typename }` and more than validation and execution together. The pipeline asks it for
//! the document first, so the limits and the root-field gate still look at every request's
//! document; what it skips is the parse and async-graphql's own depth and
//! directive checks, whose outcome is fixed by the text. Only documents that parsed are kept:
//! a bad one is parsed, and refused, every time.

use std::sync::Arc;

use async_graphql::extensions::{ExtensionContext, NextParseQuery};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{ServerResult, Variables};

/// Bytes of query text the cache holds (its documents take a few times more).
const CAPACITY_BYTES: u64 = 4 * 1024 * 1024;

pub struct ParsedDocuments {
    cache: moka::future::Cache<String, Arc<ExecutableDocument>>,
}

impl ParsedDocuments {
    pub fn new() -> Self {
        let cache = moka::future::Cache::builder()
            .max_capacity(CAPACITY_BYTES)
            .weigher(|query: &String, _| u32::try_from(query.len()).unwrap_or(u32::MAX))
            .build();
        Self { cache }
    }
}

impl Default for ParsedDocuments {
    fn default() -> Self {
        Self::new()
    }
}

impl ParsedDocuments {
    /// The document of `query`: the one parsed before, or parsed now by async-graphql (`next`)
    /// and kept.
    pub(crate) async fn parse(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        if let Some(doc) = self.cache.get(query).await {
            return Ok(ExecutableDocument::clone(&doc));
        }
        let doc = next.run(ctx, query, variables).await?;
        self.cache.insert(query.to_owned(), Arc::new(doc.clone())).await;
        Ok(doc)
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::extensions::{Extension, ExtensionFactory};
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};

    use super::*;

    /// The cache alone as an extension (the pipeline needs a whole application around it).
    struct Alone(Arc<ParsedDocuments>);

    impl ExtensionFactory for Alone {
        fn create(&self) -> Arc<dyn Extension> {
            Arc::new(Alone(Arc::clone(&self.0)))
        }
    }

    #[async_trait::async_trait]
    impl Extension for Alone {
        async fn parse_query(
            &self,
            ctx: &ExtensionContext<'_>,
            query: &str,
            variables: &Variables,
            next: NextParseQuery<'_>,
        ) -> ServerResult<ExecutableDocument> {
            self.0.parse(ctx, query, variables, next).await
        }
    }

    struct Query;

    #[Object]
    impl Query {
        async fn greeting(&self, name: String) -> String {
            format!("你好, {name}")
        }
    }

    #[tokio::test]
    async fn a_document_is_parsed_once_and_answers_with_each_requests_variables() {
        let documents = Arc::new(ParsedDocuments::new());
        let cache = documents.cache.clone();
        let schema = Schema::build(Query, EmptyMutation, EmptySubscription).extension(Alone(documents)).finish();
        let query = "query($n: String!) { greeting(name: $n) }";
        for name in ["李雷", "韩梅梅"] {
            let vars = Variables::from_json(serde_json::json!({ "n": name }));
            let resp = schema.execute(async_graphql::Request::new(query).variables(vars)).await;
            assert!(resp.errors.is_empty(), "{:?}", resp.errors);
            assert_eq!(resp.data.into_json().unwrap()["greeting"], format!("你好, {name}"));
        }
        cache.run_pending_tasks().await;
        assert_eq!(cache.entry_count(), 1, "the second request used the first one's document");

        // A document that does not parse is refused each time and never kept.
        for _ in 0..2 {
            let resp = schema.execute("{ greeting(name: ").await;
            assert_eq!(resp.errors.len(), 1, "{:?}", resp.errors);
        }
        cache.run_pending_tasks().await;
        assert_eq!(cache.entry_count(), 1);
    }
}
