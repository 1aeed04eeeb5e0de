//! Batch loading for pages of posts: every post's application count in one query, and the
//! viewer's organisations once per request, so a page costs the same whatever its size.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use uuid::Uuid;
use xqt_kernel::AppContext;

pub struct ApplicationCounts(AppContext);

impl Loader<Uuid> for ApplicationCounts {
    type Value = i64;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, i64>, Self::Error> {
        let mut counts = crate::applications::counts(&self.0, keys).await?;
        Ok(keys.iter().map(|k| (*k, counts.remove(k).unwrap_or(0))).collect())
    }
}

/// The organisations a person belongs to.
pub struct Memberships(AppContext);

impl Loader<Uuid> for Memberships {
    type Value = Vec<Uuid>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Vec<Uuid>>, Self::Error> {
        let mut out = HashMap::new();
        for user in keys {
            let orgs = xqt_accounts::organizations::memberships(&self.0, *user).await?;
            out.insert(*user, orgs.into_iter().map(|m| m.organization_id).collect());
        }
        Ok(out)
    }
}

pub fn add(ctx: &AppContext, data: &mut async_graphql::Data) {
    data.insert(DataLoader::new(ApplicationCounts(ctx.clone()), xqt_kernel::spawn));
    data.insert(DataLoader::new(Memberships(ctx.clone()), xqt_kernel::spawn));
}
