//! Chat's settings: the `[chat]` section (`XQT_CHAT__…`).

use serde::{Deserialize, Serialize};
use xqt_kernel::config::ConfigSection;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChatConfig {
    /// How long after sending the sender may edit a text message.
    pub edit_window_secs: i64,
    /// How long after sending the sender may recall a message (group owners and admins: always).
    pub recall_window_secs: i64,
    /// An unanswered call invitation becomes a missed call after this long.
    pub ring_timeout_secs: i64,
    /// Longest text message, in characters.
    pub max_text_chars: usize,
    /// Largest group, owner included.
    pub max_group_members: usize,
    /// A person counts as online this long after their last live connection said so.
    pub presence_ttl_secs: u64,
    /// Messages one person may send per minute (retries of a stored message do not count).
    pub messages_per_minute: i64,
}

impl Default for ChatConfig {
    fn default() -> Self {
        Self {
            edit_window_secs: 600,
            recall_window_secs: 120,
            ring_timeout_secs: 60,
            max_text_chars: 5000,
            max_group_members: 500,
            presence_ttl_secs: 60,
            messages_per_minute: 60,
        }
    }
}

impl ConfigSection for ChatConfig {
    const NAME: &'static str = "chat";

    fn validate(&self) -> Result<(), String> {
        if self.edit_window_secs < 0
            || self.recall_window_secs < 0
            || self.ring_timeout_secs < 5
            || self.presence_ttl_secs < 5
        {
            return Err("edit_window_secs and recall_window_secs must not be negative; ring_timeout_secs and \
                        presence_ttl_secs at least 5"
                .into());
        }
        if !(1..=100_000).contains(&self.max_text_chars)
            || !(2..=10_000).contains(&self.max_group_members)
            || self.messages_per_minute < 1
        {
            return Err("max_text_chars 1 to 100000; max_group_members 2 to 10000; messages_per_minute positive".into());
        }
        Ok(())
    }
}
