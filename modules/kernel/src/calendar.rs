//! Chinese working days (法定工作日): Monday–Friday except statutory holidays, plus the weekend
//! days made workdays (调休). The data is the State Council's yearly notice, kept as TOML: built
//! in from `data/cn-holidays.toml`, or read from the file `calendar_file` names, so next year's
//! notice can be added without a release. Years without data count weekends only.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::Deserialize;

use crate::error::{AppError, AppResult};

const BUILT_IN: &str = include_str!("../data/cn-holidays.toml");

#[derive(Deserialize)]
struct Year {
    #[serde(default)]
    off: Vec<[String; 2]>,
    #[serde(default)]
    work: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct WorkCalendar {
    off: BTreeSet<NaiveDate>,
    work: BTreeSet<NaiveDate>,
    years: BTreeSet<i32>,
}

fn date(s: &str) -> AppResult<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| AppError::internal(format!("calendar: bad date {s}")))
}

impl WorkCalendar {
    pub fn built_in() -> Self {
        Self::parse(BUILT_IN).expect("the built-in holiday calendar parses")
    }

    pub fn from_file(path: &std::path::Path) -> AppResult<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| AppError::internal(format!("calendar {}: {e}", path.display())))?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> AppResult<Self> {
        let years: BTreeMap<String, Year> =
            toml::from_str(text).map_err(|e| AppError::internal(format!("calendar: {e}")))?;
        let mut cal = WorkCalendar::default();
        for (year, data) in years {
            cal.years.insert(year.parse().map_err(|_| AppError::internal(format!("calendar: bad year {year}")))?);
            for [from, to] in &data.off {
                let (mut d, end) = (date(from)?, date(to)?);
                while d <= end {
                    cal.off.insert(d);
                    d = d + Days::new(1);
                }
            }
            for w in &data.work {
                cal.work.insert(date(w)?);
            }
        }
        Ok(cal)
    }

    /// Whether the calendar has the State Council's data for this year.
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        if self.work.contains(&d) {
            return true;
        }
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !self.off.contains(&d)
    }

    /// A statutory holiday (法定节假日) by the notice, whatever the weekday.
    pub fn is_holiday(&self, d: NaiveDate) -> bool {
        self.off.contains(&d)
    }

    /// A weekend day the notice made a workday (调休).
    pub fn is_make_up_workday(&self, d: NaiveDate) -> bool {
        self.work.contains(&d)
    }

    /// The date `n` working days after `start` (the start day itself does not count).
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut d = start;
        let mut left = n;
        while left > 0 {
            d = d + Days::new(1);
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }

    /// Working days from `from` (exclusive) to `to` (inclusive); negative when `to` is earlier.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        let (a, b, sign) = if from <= to { (from, to, 1) } else { (to, from, -1) };
        let mut d = a;
        let mut n = 0;
        while d < b {
            d = d + Days::new(1);
            if self.is_working_day(d) {
                n += 1;
            }
        }
        n * sign
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn holidays_and_make_up_days_from_the_notice() {
        let cal = WorkCalendar::built_in();
        assert!(cal.covers(2026) && cal.covers(2025));
        assert!(!cal.is_working_day(d("2026-10-01")), "National Day");
        assert!(!cal.is_working_day(d("2026-10-07")));
        assert!(cal.is_working_day(d("2026-10-10")), "a Saturday made a workday (调休)");
        assert!(!cal.is_working_day(d("2026-11-21")), "an ordinary Saturday");
        assert!(cal.is_working_day(d("2026-11-23")));
    }

    #[test]
    fn deadlines_skip_weekends_and_holidays() {
        let cal = WorkCalendar::built_in();
        // Friday 2026-09-25 … 09-27 are 中秋 holidays; 10-01 … 10-07 国庆; 09-20 (Sun) and 10-10 (Sat) are workdays.
        assert_eq!(cal.add_working_days(d("2026-09-24"), 1), d("2026-09-28"));
        assert_eq!(cal.add_working_days(d("2026-09-30"), 1), d("2026-10-08"));
        assert_eq!(cal.add_working_days(d("2026-09-30"), 3), d("2026-10-10"), "the make-up Saturday counts");
        // 15 working days from Monday 2026-11-23: three full weeks.
        assert_eq!(cal.add_working_days(d("2026-11-20"), 15), d("2026-12-11"));
        assert_eq!(cal.working_days_between(d("2026-11-20"), d("2026-12-11")), 15);
        assert_eq!(cal.working_days_between(d("2026-12-11"), d("2026-11-20")), -15);
    }

    #[test]
    fn years_without_data_count_weekends_only() {
        let cal = WorkCalendar::built_in();
        assert!(!cal.covers(2030));
        assert!(cal.is_working_day(d("2030-10-01")), "no notice for 2030 yet");
        assert!(WorkCalendar::parse("[2027]\noff = [[\"2027-13-01\", \"2027-13-02\"]]").is_err());
    }
}
