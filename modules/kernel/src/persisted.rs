//! Persisted queries. Apollo's automatic persisted queries: a client sends the SHA-256 of its
//! query; the server answers `PERSISTED_QUERY_NOT_FOUND` until it has seen the query once with
//! that hash, then runs the hash alone. Hashes live in the shared cache (Redis when configured),
//! so an instance knows what another was sent. With an allow-list (an Apollo persisted-query
//! manifest) only the manifest's operations run, by hash or by their exact text.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use crate::{AppError, AppResult, ErrorCode};

/// The operations a persisted-query manifest allows, by the SHA-256 (hex) of their text.
#[derive(Debug, Default)]
pub struct AllowList(HashMap<String, String>);

#[derive(Deserialize)]
struct Manifest {
    format: String,
    version: u32,
    operations: Vec<ManifestOperation>,
}

#[derive(Deserialize)]
struct ManifestOperation {
    id: String,
    body: String,
}

impl AllowList {
    pub fn from_file(path: &Path) -> AppResult<Self> {
        let refused = |why: String| {
            AppError::new(ErrorCode::Internal, format!("persisted_queries.allow_list {}: {why}", path.display()))
        };
        let text = std::fs::read_to_string(path).map_err(|e| refused(e.to_string()))?;
        Self::parse(&text).map_err(|e| refused(e.message().to_owned()))
    }

    /// A manifest whose every id is the SHA-256 of its body.
    pub fn parse(text: &str) -> AppResult<Self> {
        let manifest: Manifest = serde_json::from_str(text)
            .map_err(|e| AppError::new(ErrorCode::BadRequest, format!("not a persisted-query manifest: {e}")))?;
        if manifest.format != "apollo-persisted-query-manifest" || manifest.version != 1 {
            return Err(AppError::new(
                ErrorCode::BadRequest,
                "format must be apollo-persisted-query-manifest, version 1",
            ));
        }
        let mut out = HashMap::new();
        for op in manifest.operations {
            if sha256_hex(&op.body) != op.id.to_ascii_lowercase() {
                return Err(AppError::new(
                    ErrorCode::BadRequest,
                    format!("operation {} is not the SHA-256 of its body", op.id),
                ));
            }
            out.insert(op.id.to_ascii_lowercase(), op.body);
        }
        Ok(Self(out))
    }

    pub fn get(&self, hash: &str) -> Option<&str> {
        self.0.get(&hash.to_ascii_lowercase()).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

pub fn sha256_hex(text: &str) -> String {
    crate::crypto::sha256_hex(text.as_bytes())
}

/// The cache key of an automatically persisted query.
pub fn cache_key(hash: &str) -> String {
    format!("apq:{}", hash.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_maps_hashes_to_bodies_and_refuses_a_wrong_id() {
        let body = "query Me { me { id } }";
        let good = format!(
            r#"{{"format":"apollo-persisted-query-manifest","version":1,"operations":[{{"id":"{}","name":"Me","type":"query","body":"{body}"}}]}}"#,
            sha256_hex(body)
        );
        let list = AllowList::parse(&good).unwrap();
        assert_eq!(list.get(&sha256_hex(body)), Some(body));
        assert_eq!(list.len(), 1);
        let wrong = good.replace(&sha256_hex(body), &sha256_hex("something else"));
        assert!(AllowList::parse(&wrong).is_err());
        assert!(AllowList::parse(r#"{"format":"other","version":1,"operations":[]}"#).is_err());
    }
}
