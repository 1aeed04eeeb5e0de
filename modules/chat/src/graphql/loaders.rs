//! Batch loading for conversation lists: every conversation's unread count in one query, every
//! conversation's last message in one more, every direct conversation's peer in one more, per
//! request.

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

/// The other member of a direct conversation, as `me` sees it: `(conversation, me)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerKey {
    pub conversation: Uuid,
    pub me: Uuid,
}

pub struct PeerLoader(AppContext);

impl Loader<PeerKey> for PeerLoader {
    type Value = Uuid;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[PeerKey]) -> Result<HashMap<PeerKey, Uuid>, Self::Error> {
        let conversations: Vec<Uuid> = keys.iter().map(|k| k.conversation).collect();
        let members = crate::conversations::members_of_many(&self.0, &conversations).await?;
        Ok(keys
            .iter()
            .filter_map(|k| {
                let other = members.iter().find(|m| m.conversation_id == k.conversation && m.user_id != k.me)?;
                Some((*k, other.user_id))
            })
            .collect())
    }
}

pub fn add(ctx: &AppContext, data: &mut async_graphql::Data) {
    data.insert(DataLoader::new(UnreadLoader(ctx.clone()), xqt_kernel::spawn));
    data.insert(DataLoader::new(LastMessageLoader(ctx.clone()), xqt_kernel::spawn));
    data.insert(DataLoader::new(PeerLoader(ctx.clone()), xqt_kernel::spawn));
}
