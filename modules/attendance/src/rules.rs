//! The rules a check is judged by, as pure functions: which days are due, where the check-in
//! window is, late / serious late / absent / early leave, inside or outside a fence, and
//! whether two checks are further apart than anyone could travel. Each verdict comes with its
//! explanation in plain words, naming the rule and the numbers (do better than "异常").

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use xqt_kernel::calendar::WorkCalendar;
use xqt_kernel::geo;

use crate::entity::group;
use crate::entity::record::{Precision, PunchResult};
use crate::entity::site;
use crate::error::{AttendanceError, invalid};

pub const MINUTES_PER_DAY: i32 = 24 * 60;

/// A group's fixed shift, in minutes after midnight China time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shift {
    pub start: i32,
    pub end: i32,
    pub late_grace: i32,
    pub early_grace: i32,
    pub serious_late: i32,
    pub absent_late: i32,
    pub opens_before: i32,
    pub closes_after: i32,
}

impl Default for Shift {
    /// 09:00–18:00, on time up to 5 minutes late, serious from 30, absent from 120; check-in
    /// opens two hours before, check-out closes four hours after.
    fn default() -> Self {
        Self {
            start: 9 * 60,
            end: 18 * 60,
            late_grace: 5,
            early_grace: 0,
            serious_late: 30,
            absent_late: 120,
            opens_before: 120,
            closes_after: 240,
        }
    }
}

impl Shift {
    pub fn of(g: &group::Model) -> Self {
        Self {
            start: g.work_start,
            end: g.work_end,
            late_grace: g.late_grace,
            early_grace: g.early_grace,
            serious_late: g.serious_late,
            absent_late: g.absent_late,
            opens_before: g.opens_before,
            closes_after: g.closes_after,
        }
    }

    pub fn check(&self) -> Result<(), AttendanceError> {
        if !(0..MINUTES_PER_DAY).contains(&self.start) || !(1..=MINUTES_PER_DAY).contains(&self.end) {
            return Err(invalid("shift", "start and end are times of one day"));
        }
        if self.end - self.start < 30 {
            return Err(invalid("shift.end", "a shift ends at least 30 minutes after it starts, on the same day"));
        }
        let length = self.end - self.start;
        if !(0..=120).contains(&self.late_grace) || !(0..=120).contains(&self.early_grace) {
            return Err(invalid("shift.lateGraceMinutes", "grace minutes 0 to 120"));
        }
        if !(self.late_grace < self.serious_late && self.serious_late <= self.absent_late && self.absent_late <= length)
        {
            return Err(invalid(
                "shift.seriousLateMinutes",
                "late grace < serious lateness ≤ absence threshold ≤ the shift's length",
            ));
        }
        if !(0..=12 * 60).contains(&self.opens_before) || !(0..=12 * 60).contains(&self.closes_after) {
            return Err(invalid("shift.checkInOpensMinutes", "check-in opens and check-out closes within 12 hours"));
        }
        if self.start - self.opens_before < 0 || self.end + self.closes_after > MINUTES_PER_DAY {
            return Err(invalid("shift.checkInOpensMinutes", "the check windows stay within the day"));
        }
        Ok(())
    }
}

/// `09:05`.
pub fn hhmm(minute: i32) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// The day (China time) and the minute of that day a moment falls on.
pub fn local(at: DateTime<Utc>) -> (NaiveDate, i32) {
    let t = at.with_timezone(&xqt_kernel::clock::china_offset());
    (t.date_naive(), (t.hour() * 60 + t.minute()) as i32)
}

/// The moment a minute of a day (China time) is.
pub fn moment(day: NaiveDate, minute: i32) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight").and_local_timezone(xqt_kernel::clock::china_offset());
    midnight.single().expect("a fixed offset is unambiguous").with_timezone(&Utc)
        + chrono::Duration::minutes(minute as i64)
}

/// Parses `rest_days` (`6,7`, ISO weekdays).
pub fn rest_days(s: &str) -> Vec<u32> {
    s.split(',').filter_map(|d| d.trim().parse().ok()).filter(|d| (1..=7).contains(d)).collect()
}

xqt_kernel::closed_set! {
    /// What a day is for a group, and so whether it is due.
    #[graphql(name = "AttendanceDayKind")]
    pub enum DayKind {
        /// 工作日.
        Workday = "workday",
        /// 调休: a weekend day the holiday notice made a workday.
        MakeUpWorkday = "make_up_workday",
        /// 休息日: one of the group's rest weekdays.
        RestDay = "rest_day",
        /// 法定节假日.
        Holiday = "holiday",
    }
}

impl DayKind {
    /// A working day for the group: checks are judged and absences counted.
    pub fn due(self) -> bool {
        matches!(self, DayKind::Workday | DayKind::MakeUpWorkday)
    }

    /// The word a person reads in an explanation.
    pub fn label(self) -> &'static str {
        match self {
            DayKind::Workday => "工作日",
            DayKind::MakeUpWorkday => "调休工作日",
            DayKind::RestDay => "休息日",
            DayKind::Holiday => "法定节假日",
        }
    }
}

/// What a day is for the group.
pub fn due(g: &group::Model, calendar: &WorkCalendar, day: NaiveDate) -> DayKind {
    due_on(&g.rest_days, g.follows_holidays, calendar, day)
}

/// `due` for a group's rest days (`6,7`) and whether it follows the holiday calendar.
pub fn due_on(rest: &str, follows_holidays: bool, calendar: &WorkCalendar, day: NaiveDate) -> DayKind {
    if follows_holidays {
        if calendar.is_make_up_workday(day) {
            return DayKind::MakeUpWorkday;
        }
        if calendar.is_holiday(day) {
            return DayKind::Holiday;
        }
    }
    if rest_days(rest).contains(&day.weekday().number_from_monday()) { DayKind::RestDay } else { DayKind::Workday }
}

/// A check's time verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    pub result: PunchResult,
    pub minutes: i32,
    pub explanation: String,
}

/// A check-in at `minute` on a working day.
pub fn judge_in(s: &Shift, minute: i32) -> Result<Judged, AttendanceError> {
    if minute < s.start - s.opens_before {
        return Err(AttendanceError::OutsideWindow(format!(
            "check-in opens at {} ({} minutes before the {} start)",
            hhmm(s.start - s.opens_before),
            s.opens_before,
            hhmm(s.start)
        )));
    }
    if minute >= s.end {
        return Err(AttendanceError::OutsideWindow(format!("the shift ended at {}; check out instead", hhmm(s.end))));
    }
    let late = minute - s.start;
    let at = format!("上班时间 {}，打卡 {}", hhmm(s.start), hhmm(minute));
    Ok(if late <= 0 {
        Judged { result: PunchResult::Normal, minutes: 0, explanation: format!("正常：{at}") }
    } else if late <= s.late_grace {
        Judged {
            result: PunchResult::Normal,
            minutes: 0,
            explanation: format!("正常：{at}，晚 {late} 分钟，在 {} 分钟宽限内", s.late_grace),
        }
    } else if late < s.serious_late {
        Judged {
            result: PunchResult::Late,
            minutes: late,
            explanation: format!(
                "迟到 {late} 分钟：{at}，超过 {} 分钟宽限，未到 {} 分钟的严重迟到线",
                s.late_grace, s.serious_late
            ),
        }
    } else if late < s.absent_late {
        Judged {
            result: PunchResult::SeriousLate,
            minutes: late,
            explanation: format!(
                "严重迟到 {late} 分钟：{at}，达到 {} 分钟的严重迟到线，未到 {} 分钟的旷工线",
                s.serious_late, s.absent_late
            ),
        }
    } else {
        Judged {
            result: PunchResult::Absent,
            minutes: late,
            explanation: format!("旷工：{at}，迟到 {late} 分钟，达到 {} 分钟的旷工线", s.absent_late),
        }
    })
}

/// A check-out at `minute` on a working day.
pub fn judge_out(s: &Shift, minute: i32) -> Result<Judged, AttendanceError> {
    if minute < s.start {
        return Err(AttendanceError::OutsideWindow(format!("the shift starts at {}; check in first", hhmm(s.start))));
    }
    if minute > s.end + s.closes_after {
        return Err(AttendanceError::OutsideWindow(format!(
            "check-out closed at {} ({} minutes after the {} end); file a make-up request",
            hhmm(s.end + s.closes_after),
            s.closes_after,
            hhmm(s.end)
        )));
    }
    let early = s.end - minute;
    let at = format!("下班时间 {}，打卡 {}", hhmm(s.end), hhmm(minute));
    Ok(if early <= 0 {
        Judged { result: PunchResult::Normal, minutes: 0, explanation: format!("正常：{at}") }
    } else if early <= s.early_grace {
        Judged {
            result: PunchResult::Normal,
            minutes: 0,
            explanation: format!("正常：{at}，早 {early} 分钟，在 {} 分钟宽限内", s.early_grace),
        }
    } else {
        Judged {
            result: PunchResult::EarlyLeave,
            minutes: early,
            explanation: format!("早退 {early} 分钟：{at}，宽限 {} 分钟", s.early_grace),
        }
    })
}

/// A check on a rest day or holiday: recorded, not judged.
pub fn off_day(why: &str, minute: i32) -> Judged {
    Judged {
        result: PunchResult::OffDay,
        minutes: 0,
        explanation: format!("{why}打卡（{}），不计入考勤", hhmm(minute)),
    }
}

/// Where the device says it is.
#[derive(Debug, Clone)]
pub struct Fix {
    /// As it will be stored: rounded already under coarse consent.
    pub point: (f64, f64),
    pub accuracy_m: f64,
    pub precision: Precision,
    pub bssid: Option<String>,
}

/// Inside or outside, at which site, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    pub site: Option<(uuid::Uuid, String, i32)>,
    pub distance_m: Option<f64>,
    pub inside: bool,
    pub wifi: bool,
    pub explanation: String,
}

fn metres(m: f64) -> String {
    if m >= 1000.0 { format!("{:.1} 公里", m / 1000.0) } else { format!("{} 米", m.round() as i64) }
}

/// Inside a fence when the great-circle distance less the fix's uncertainty (its accuracy, plus
/// the rounding under coarse consent) is within the site's radius, or when the device is on one
/// of the site's Wi-Fi access points. A fix less accurate than `max_accuracy_m` places no one.
pub fn place(sites: &[site::Model], fix: &Fix, max_accuracy_m: f64) -> Placed {
    if let Some(b) = &fix.bssid
        && let Some(s) = sites.iter().find(|s| s.bssid_list().contains(&b.as_str()))
    {
        let d = geo::distance_m(fix.point, (s.latitude, s.longitude));
        return Placed {
            site: Some((s.id, s.name.clone(), s.radius_m)),
            distance_m: Some(d),
            inside: true,
            wifi: true,
            explanation: format!("在考勤范围内：连接了「{}」的考勤 Wi-Fi", s.name),
        };
    }
    let rounding = match fix.precision {
        Precision::Coarse => geo::coarsening_error_m(fix.point.0),
        _ => 0.0,
    };
    let uncertainty = fix.accuracy_m + rounding;
    let nearest = sites
        .iter()
        .map(|s| (s, geo::distance_m(fix.point, (s.latitude, s.longitude))))
        .min_by(|a, b| (a.1 - a.0.radius_m as f64).total_cmp(&(b.1 - b.0.radius_m as f64)));
    let Some((s, d)) = nearest else {
        return Placed {
            site: None,
            distance_m: None,
            inside: false,
            wifi: false,
            explanation: "不在考勤范围：考勤组还没有设置地点".into(),
        };
    };
    let how = match fix.precision {
        Precision::Coarse => format!("定位精度 ±{}，按大致位置另加 ±{}", metres(fix.accuracy_m), metres(rounding)),
        _ => format!("定位精度 ±{}", metres(fix.accuracy_m)),
    };
    let site = Some((s.id, s.name.clone(), s.radius_m));
    if fix.accuracy_m > max_accuracy_m {
        return Placed {
            site,
            distance_m: Some(d),
            inside: false,
            wifi: false,
            explanation: format!(
                "无法判定在考勤范围内：定位精度 ±{}，超过允许的 ±{}；请到开阔处重新定位",
                metres(fix.accuracy_m),
                metres(max_accuracy_m)
            ),
        };
    }
    let inside = d - uncertainty <= s.radius_m as f64;
    let explanation = if inside {
        format!("在考勤范围内：距「{}」{}（半径 {} 米，{how}）", s.name, metres(d), s.radius_m)
    } else {
        format!("不在考勤范围：距最近的「{}」{}（半径 {} 米，{how}）", s.name, metres(d), s.radius_m)
    };
    Placed { site, distance_m: Some(d), inside, wifi: false, explanation }
}

/// A previous check with a position, for the travel check.
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    pub point: (f64, f64),
    pub uncertainty_m: f64,
    pub at: DateTime<Utc>,
}

/// Why travel from `before` to `now` is not physically plausible, if it is not: the distance
/// less both uncertainties, over the time between, faster than `max_kmh`.
pub fn implausible_travel(before: &Seen, now: &Seen, max_kmh: f64) -> Option<String> {
    let km = (geo::distance_km(before.point, now.point) - (before.uncertainty_m + now.uncertainty_m) / 1000.0).max(0.0);
    if km < 1.0 {
        return None;
    }
    let hours = ((now.at - before.at).num_seconds().abs().max(1)) as f64 / 3600.0;
    let speed = km / hours;
    (speed > max_kmh).then(|| {
        format!(
            "行程不合理：与上次打卡（{}）相距至少 {:.1} 公里，相隔 {} 分钟，折合每小时 {:.0} 公里，超过每小时 {:.0} 公里",
            hhmm(local(before.at).1),
            km,
            (hours * 60.0).round() as i64,
            speed,
            max_kmh
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(lat: f64, lng: f64, radius: i32, bssids: &str) -> site::Model {
        site::Model {
            id: uuid::Uuid::nil(),
            group_id: uuid::Uuid::nil(),
            name: "厂区".into(),
            address: None,
            latitude: lat,
            longitude: lng,
            radius_m: radius,
            bssids: bssids.into(),
        }
    }

    #[test]
    fn check_in_times_against_the_shift() {
        let s = Shift::default();
        assert!(matches!(judge_in(&s, 6 * 60 + 59), Err(AttendanceError::OutsideWindow(_))));
        assert_eq!(judge_in(&s, 8 * 60 + 50).unwrap().result, PunchResult::Normal);
        let j = judge_in(&s, 9 * 60 + 5).unwrap();
        assert_eq!((j.result, j.minutes), (PunchResult::Normal, 0), "within the 5-minute grace");
        let j = judge_in(&s, 9 * 60 + 6).unwrap();
        assert_eq!((j.result, j.minutes), (PunchResult::Late, 6));
        assert!(j.explanation.contains("迟到 6 分钟") && j.explanation.contains("09:00"), "{}", j.explanation);
        assert_eq!(judge_in(&s, 9 * 60 + 30).unwrap().result, PunchResult::SeriousLate);
        assert_eq!(judge_in(&s, 11 * 60).unwrap().result, PunchResult::Absent);
        assert!(matches!(judge_in(&s, 18 * 60), Err(AttendanceError::OutsideWindow(_))));
    }

    #[test]
    fn check_out_times_against_the_shift() {
        let s = Shift { early_grace: 10, ..Shift::default() };
        assert_eq!(judge_out(&s, 17 * 60 + 50).unwrap().result, PunchResult::Normal);
        let j = judge_out(&s, 17 * 60 + 30).unwrap();
        assert_eq!((j.result, j.minutes), (PunchResult::EarlyLeave, 30));
        assert_eq!(judge_out(&s, 22 * 60).unwrap().result, PunchResult::Normal);
        assert!(matches!(judge_out(&s, 22 * 60 + 1), Err(AttendanceError::OutsideWindow(_))));
    }

    #[test]
    fn shifts_that_make_no_sense_are_refused() {
        assert!(Shift::default().check().is_ok());
        assert!(Shift { end: 9 * 60 + 10, ..Shift::default() }.check().is_err());
        assert!(Shift { serious_late: 3, ..Shift::default() }.check().is_err());
        assert!(Shift { opens_before: 10 * 60, ..Shift::default() }.check().is_err());
    }

    #[test]
    fn due_days_follow_the_rest_days_and_the_holiday_calendar() {
        let cal = WorkCalendar::built_in();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let office = |day| due_on("6,7", true, &cal, d(day));
        assert_eq!(office("2026-10-01"), DayKind::Holiday, "National Day, a Thursday");
        assert_eq!(office("2026-10-10"), DayKind::MakeUpWorkday, "a Saturday made a workday");
        assert!(office("2026-10-10").due() && !office("2026-10-01").due());
        assert_eq!(office("2026-10-11"), DayKind::RestDay);
        assert_eq!(office("2026-10-12"), DayKind::Workday);
        // A six-day factory (Sundays off) that works through holidays.
        let factory = |day| due_on("7", false, &cal, d(day));
        assert_eq!(factory("2026-10-01"), DayKind::Workday);
        assert_eq!(factory("2026-10-17"), DayKind::Workday, "Saturdays are worked");
        assert_eq!(factory("2026-10-18"), DayKind::RestDay);
        assert_eq!(rest_days("6, 7,9,x"), vec![6, 7], "junk in the column is ignored");
    }

    #[test]
    fn days_and_moments_are_china_time() {
        let at = DateTime::parse_from_rfc3339("2026-10-08T01:05:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(local(at), (NaiveDate::from_ymd_opt(2026, 10, 8).unwrap(), 9 * 60 + 5));
        assert_eq!(moment(NaiveDate::from_ymd_opt(2026, 10, 8).unwrap(), 9 * 60 + 5), at);
    }

    #[test]
    fn fences_count_accuracy_and_rounding() {
        let sites = [site(30.0, 120.0, 300, "aa:bb:cc:dd:ee:ff")];
        let fix = |p: (f64, f64), acc: f64, precision, bssid: Option<&str>| Fix {
            point: p,
            accuracy_m: acc,
            precision,
            bssid: bssid.map(str::to_owned),
        };
        // 0.003° north ≈ 334 m: outside with ±10 m, inside with ±50 m.
        assert!(!place(&sites, &fix((30.003, 120.0), 10.0, Precision::Precise, None), 500.0).inside);
        let p = place(&sites, &fix((30.003, 120.0), 50.0, Precision::Precise, None), 500.0);
        assert!(p.inside && p.explanation.contains("334 米"), "{}", p.explanation);
        // Too inaccurate to place anyone, however close.
        let p = place(&sites, &fix((30.0, 120.0), 800.0, Precision::Precise, None), 500.0);
        assert!(!p.inside && p.explanation.contains("超过允许"), "{}", p.explanation);
        // The site's Wi-Fi places the person there whatever the GPS says.
        let p = place(&sites, &fix((31.0, 121.0), 10.0, Precision::Precise, Some("aa:bb:cc:dd:ee:ff")), 500.0);
        assert!(p.inside && p.wifi);
        // Coarse: the rounding (~735 m) counts as uncertainty: the next grid point east (960 m)
        // may be inside, the next one north (1.1 km) is not.
        let p = place(&sites, &fix((30.0, 120.01), 20.0, Precision::Coarse, None), 500.0);
        assert!(p.inside && p.explanation.contains("大致位置"), "{}", p.explanation);
        assert!(!place(&sites, &fix((30.01, 120.0), 20.0, Precision::Coarse, None), 500.0).inside);
    }

    #[test]
    fn travel_faster_than_a_plane_is_implausible() {
        let t0 = DateTime::parse_from_rfc3339("2026-10-08T01:00:00Z").unwrap().with_timezone(&Utc);
        let hangzhou = Seen { point: (30.27, 120.15), uncertainty_m: 20.0, at: t0 };
        let beijing = Seen { point: (39.90, 116.40), uncertainty_m: 20.0, at: t0 + chrono::Duration::minutes(30) };
        let why = implausible_travel(&hangzhou, &beijing, 800.0).expect("1,100 km in 30 minutes");
        assert!(why.contains("30 分钟"), "{why}");
        let later = Seen { at: t0 + chrono::Duration::hours(3), ..beijing };
        assert_eq!(implausible_travel(&hangzhou, &later, 800.0), None, "a flight in three hours is plausible");
        let next_door = Seen { point: (30.2705, 120.15), ..beijing };
        assert_eq!(implausible_travel(&hangzhou, &next_door, 800.0), None);
    }
}
