//! Privacy's settings: the `[privacy]` section (`XQT_PRIVACY__…`).

use serde::{Deserialize, Serialize};
use xqt_kernel::config::ConfigSection;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrivacyConfig {
    /// Statistics given to partners leave out every group with fewer people than this (SHR-4).
    pub min_group_size: u32,
    /// Analytics events are kept this many days, then deleted.
    pub analytics_retention_days: i64,
    /// A child's account whose guardian has not confirmed within this many days is erased (MIN-2).
    pub guardian_confirm_days: i64,
    /// Days between proving a cancellation and carrying it out, during which the person can
    /// withdraw it; at most 14, inside the 15-working-day deadline.
    pub cancellation_cooling_off_days: i64,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        Self {
            min_group_size: 10,
            analytics_retention_days: 180,
            guardian_confirm_days: 7,
            cancellation_cooling_off_days: 7,
        }
    }
}

impl ConfigSection for PrivacyConfig {
    const NAME: &'static str = "privacy";

    fn validate(&self) -> Result<(), String> {
        if self.min_group_size < 2
            || self.analytics_retention_days < 1
            || self.guardian_confirm_days < 1
            || !(0..=14).contains(&self.cancellation_cooling_off_days)
        {
            return Err("min_group_size must be at least 2; analytics_retention_days and guardian_confirm_days \
                        positive; cancellation_cooling_off_days 0 to 14"
                .into());
        }
        Ok(())
    }
}
