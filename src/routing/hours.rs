//! Business hours (contract §8.3): weekly opening ranges and holidays in an IANA time zone.
//! `ScheduleSpec` is the stored and wire shape; `Schedule` is it checked and compiled, and answers
//! whether the queue is open at an instant and when that next changes. Local times become
//! instants through `chrono-tz`: an opening inside a daylight-saving gap opens when the gap ends,
//! one in a repeated hour at its first occurrence; `"24:00"` is the next day's midnight.

use std::collections::BTreeMap;

use chrono::{DateTime, Days, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// A queue's opening hours as stored and sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    /// IANA time zone name, e.g. `Europe/London`.
    pub timezone: String,
    /// Opening ranges per weekday (`mon` … `sun`), `[["08:00","18:00"]]`; a missing day is closed.
    #[serde(default)]
    pub weekly: BTreeMap<String, Vec<[String; 2]>>,
    /// Dates whose `hours` replace that date's weekly hours (`[]` = closed all day).
    #[serde(default)]
    pub holidays: Vec<HolidaySpec>,
}

/// One holiday: a local date and its hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HolidaySpec {
    /// `YYYY-MM-DD` in the schedule's zone.
    pub date: String,
    /// Opening ranges that day.
    #[serde(default)]
    pub hours: Vec<[String; 2]>,
}

/// Opening ranges of one day in minutes from local midnight, `[start, end)`, sorted.
type Ranges = Vec<(u32, u32)>;

/// A checked schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    tz: Tz,
    /// Monday first.
    weekly: [Ranges; 7],
    holidays: BTreeMap<NaiveDate, Ranges>,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
/// How far ahead a change is looked for before the answer is "never".
const HORIZON_DAYS: u64 = 400;

/// Whether a queue is open now and when that next changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoursState {
    pub open_now: bool,
    pub next_change_at: Option<DateTime<Utc>>,
}

impl Schedule {
    /// Checks a spec; the error names the field at fault (`schedule.weekly.mon[0]`, …).
    pub fn compile(spec: &ScheduleSpec) -> Result<Self, String> {
        let tz: Tz = spec
            .timezone
            .parse()
            .map_err(|_| format!("schedule.timezone: unknown time zone {:?}", spec.timezone))?;
        let mut weekly: [Ranges; 7] = Default::default();
        for (day, ranges) in &spec.weekly {
            let index = DAYS
                .iter()
                .position(|d| d == day)
                .ok_or_else(|| format!("schedule.weekly: unknown day {day:?} (mon … sun)"))?;
            weekly[index] = ranges_of(ranges, &format!("schedule.weekly.{day}"))?;
        }
        let mut holidays = BTreeMap::new();
        for (i, h) in spec.holidays.iter().enumerate() {
            let field = format!("schedule.holidays[{i}]");
            let date = NaiveDate::parse_from_str(&h.date, "%Y-%m-%d")
                .map_err(|_| format!("{field}.date: expected YYYY-MM-DD, got {:?}", h.date))?;
            let ranges = ranges_of(&h.hours, &format!("{field}.hours"))?;
            if holidays.insert(date, ranges).is_some() {
                return Err(format!("{field}.date: {date} is listed twice"));
            }
        }
        Ok(Schedule {
            tz,
            weekly,
            holidays,
        })
    }

    /// The opening ranges of one local date, as instants.
    pub fn day(&self, date: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        use chrono::Datelike;
        let ranges = self
            .holidays
            .get(&date)
            .unwrap_or(&self.weekly[date.weekday().num_days_from_monday() as usize]);
        ranges
            .iter()
            .filter_map(|(start, end)| {
                Some((
                    instant(self.tz, date, *start)?,
                    instant(self.tz, date, *end)?,
                ))
            })
            .filter(|(start, end)| start < end)
            .collect()
    }

    /// Whether the queue is open at `at`, and the next instant that changes.
    pub fn state_at(&self, at: DateTime<Utc>) -> HoursState {
        let today = at.with_timezone(&self.tz).date_naive();
        let start = today - Days::new(1);
        // Consecutive ranges that touch (a day open until 24:00, the next from 00:00) are one.
        let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
        for offset in 0..HORIZON_DAYS {
            let date = start + Days::new(offset);
            for (s, e) in self.day(date) {
                match merged.last_mut() {
                    Some(last) if s <= last.1 => last.1 = last.1.max(e),
                    _ => merged.push((s, e)),
                }
            }
            // Past the first change after `at`, with a whole day beyond it to merge into.
            let edge = instant(self.tz, date, 0).unwrap_or(at);
            let change = merged.iter().find_map(|(s, e)| {
                if *s > at {
                    Some(*s)
                } else if *e > at {
                    Some(*e)
                } else {
                    None
                }
            });
            if let Some(change) = change
                && change + Duration::days(1) < edge
            {
                return HoursState {
                    open_now: merged.iter().any(|(s, e)| *s <= at && at < *e),
                    next_change_at: Some(change),
                };
            }
        }
        HoursState {
            open_now: merged.iter().any(|(s, e)| *s <= at && at < *e),
            next_change_at: None,
        }
    }
}

/// The instant a local wall-clock minute of `date` names; in a gap, the first minute after it.
fn instant(tz: Tz, date: NaiveDate, minute: u32) -> Option<DateTime<Utc>> {
    let midnight: NaiveDateTime = date.and_hms_opt(0, 0, 0)?;
    let local = midnight + Duration::minutes(i64::from(minute));
    for shift in 0..=24 * 60 {
        match tz.from_local_datetime(&(local + Duration::minutes(shift))) {
            LocalResult::Single(t) => return Some(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(first, _) => return Some(first.with_timezone(&Utc)),
            LocalResult::None => {}
        }
    }
    None
}

/// Parses and checks one day's ranges.
fn ranges_of(ranges: &[[String; 2]], field: &str) -> Result<Ranges, String> {
    let mut out = Vec::with_capacity(ranges.len());
    for (i, [start, end]) in ranges.iter().enumerate() {
        let s = minute_of(start, false).ok_or_else(|| {
            format!("{field}[{i}]: start {start:?} is not a time HH:MM (00:00 to 23:59)")
        })?;
        let e = minute_of(end, true).ok_or_else(|| {
            format!("{field}[{i}]: end {end:?} is not a time HH:MM (00:01 to 24:00)")
        })?;
        if s >= e {
            return Err(format!("{field}[{i}]: {start} is not before {end}"));
        }
        out.push((s, e));
    }
    out.sort_unstable();
    if out.windows(2).any(|w| w[0].1 > w[1].0) {
        return Err(format!("{field}: ranges overlap"));
    }
    Ok(out)
}

/// Minutes from midnight of `HH:MM`; `24:00` only as an end.
fn minute_of(s: &str, end: bool) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) if end => Some(24 * 60),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
