//! Attendance's settings: the `[attendance]` section (`XQT_ATTENDANCE__…`).

use serde::{Deserialize, Serialize};
use xqt_kernel::config::ConfigSection;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttendanceConfig {
    /// How long a check-in keeps its precise coordinates; then only its site and in/out result
    /// remain (SEC-2).
    pub coordinates_keep_days: i64,
    /// Make-up requests (补卡) a person may file per month and group (approved and pending count).
    pub make_ups_per_month: u32,
    /// A make-up request is filed within this many working days after the day it is for.
    pub make_up_deadline_working_days: u32,
    /// A location reported less accurately than this (metres) cannot place anyone inside a fence.
    pub max_accuracy_m: f64,
    /// Between two check-ins faster than this (km/h, after both accuracies) is marked suspicious.
    pub max_plausible_speed_kmh: f64,
    /// How long a CSV report's link works, in minutes.
    pub report_link_minutes: i64,
    /// How often the job runner settles finished days (absences, missing check-outs), in minutes.
    pub settle_every_minutes: i64,
    /// How far back settlement looks for days not settled yet (after an outage), in days.
    pub settle_lookback_days: i64,
    /// How often reminders before shift start are considered, in minutes.
    pub remind_every_minutes: i64,
}

impl Default for AttendanceConfig {
    fn default() -> Self {
        Self {
            coordinates_keep_days: 90,
            make_ups_per_month: 3,
            make_up_deadline_working_days: 3,
            max_accuracy_m: 500.0,
            max_plausible_speed_kmh: 800.0,
            report_link_minutes: 60,
            settle_every_minutes: 15,
            settle_lookback_days: 7,
            remind_every_minutes: 5,
        }
    }
}

impl ConfigSection for AttendanceConfig {
    const NAME: &'static str = "attendance";

    fn validate(&self) -> Result<(), String> {
        if !(1..=3650).contains(&self.coordinates_keep_days) {
            return Err("coordinates_keep_days 1 to 3650".into());
        }
        if self.make_ups_per_month > 31 || self.make_up_deadline_working_days > 30 {
            return Err("make_ups_per_month at most 31; make_up_deadline_working_days at most 30".into());
        }
        if !(10.0..=5000.0).contains(&self.max_accuracy_m) || !(50.0..=2000.0).contains(&self.max_plausible_speed_kmh) {
            return Err("max_accuracy_m 10 to 5000; max_plausible_speed_kmh 50 to 2000".into());
        }
        if !(1..=7 * 24 * 60).contains(&self.report_link_minutes) {
            return Err("report_link_minutes 1 to 10080".into());
        }
        if !(1..=60).contains(&self.settle_every_minutes)
            || !(1..=31).contains(&self.settle_lookback_days)
            || !(1..=60).contains(&self.remind_every_minutes)
        {
            return Err("settle_every_minutes and remind_every_minutes 1 to 60; settle_lookback_days 1 to 31".into());
        }
        Ok(())
    }
}
