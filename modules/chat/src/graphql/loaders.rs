//! Batch loading for conversation lists: every conversation's unread count in one query, every
//! conversation's last message in one more, per request.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use uuid::Uuid;
use xqt_kernel::AppContext;

use crate::entity::message;
use crate::messages::{self, UnreadKey};

pub struct UnreadLoader(AppContext);

impl Loader<UnreadKey> for UnreadLoader {
    type Value = u64;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[UnreadKey]) -> Result<HashMap<UnreadKey, u64>, Self::Error> {
        let mut users: Vec<Uuid> = keys.iter().map(|k| k.user).collect();
        users.sort();
        users.dedup();
        tracing::debug!(conversations = keys.len(), "unread counts loaded in one batch");
        let mut out = HashMap::with_capacity(keys.len());
        for user in users {
            let counts = messages::unread_counts(&self.0, user, keys).await?;
            for k in keys.iter().filter(|k| k.user == user) {
                out.insert(*k, counts.get(&k.conversation).copied().unwrap_or(0));
            }
        }
        Ok(out)
    }
}

/// A person's view of a conversation's newest message: `(user, conversation, last_seq)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LastMessageKey {
    pub user: Uuid,
    pub conversation: Uuid,
    pub last_seq: i64,
}

pub struct LastMessageLoader(AppContext);

impl Loader<LastMessageKey> for LastMessageLoader {
    type Value = message::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[LastMessageKey]) -> Result<HashMap<LastMessageKey, message::Model>, Self::Error> {
        let mut users: Vec<Uuid> = keys.iter().map(|k| k.user).collect();
        users.sort();
        users.dedup();
        let mut out = HashMap::with_capacity(keys.len());
        for user in users {
            let wanted: Vec<(Uuid, i64)> =
                keys.iter().filter(|k| k.user == user).map(|k| (k.conversation, k.last_seq)).collect();
            let found = messages::latest_visible_many(&self.0, user, &wanted).await?;
            for k in keys.iter().filter(|k| k.user == user) {
                if let Some(m) = found.get(&k.conversation) {
                    out.insert(*k, m.clone());
                }
            }
        }
        Ok(out)
    }
}

pub fn add(ctx: &AppContext, data: &mut async_graphql::Data) {
    data.insert(DataLoader::new(UnreadLoader(ctx.clone()), xqt_kernel::spawn));
    data.insert(DataLoader::new(LastMessageLoader(ctx.clone()), xqt_kernel::spawn));
}
