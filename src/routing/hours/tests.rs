//! Business hours across daylight-saving changes, holidays, 24:00 and validation.

use super::*;

fn spec(json: serde_json::Value) -> Schedule {
    Schedule::compile(&serde_json::from_value(json).unwrap()).unwrap()
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn every_day(ranges: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "timezone": "Europe/London",
        "weekly": {"mon": ranges, "tue": ranges, "wed": ranges, "thu": ranges,
                   "fri": ranges, "sat": ranges, "sun": ranges}
    })
}

#[test]
fn london_opening_instants_follow_daylight_saving() {
    let s = spec(every_day(serde_json::json!([["08:00", "18:00"]])));
    let day = |d: &str| s.day(NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap());
    // Winter (GMT): 08:00 local is 08:00Z.
    assert_eq!(
        day("2027-03-27"),
        vec![(utc("2027-03-27T08:00:00Z"), utc("2027-03-27T18:00:00Z"))]
    );
    // 2027-03-28: clocks go forward at 01:00 GMT; 08:00 BST is 07:00Z.
    assert_eq!(
        day("2027-03-28"),
        vec![(utc("2027-03-28T07:00:00Z"), utc("2027-03-28T17:00:00Z"))]
    );
    // 2026-10-25: clocks go back at 02:00 BST; that day opens at 08:00 GMT = 08:00Z, the day
    // before at 07:00Z.
    assert_eq!(
        day("2026-10-24"),
        vec![(utc("2026-10-24T07:00:00Z"), utc("2026-10-24T17:00:00Z"))]
    );
    assert_eq!(
        day("2026-10-25"),
        vec![(utc("2026-10-25T08:00:00Z"), utc("2026-10-25T18:00:00Z"))]
    );
}

#[test]
fn openings_in_the_gap_and_the_repeated_hour() {
    let s = spec(every_day(serde_json::json!([["01:30", "03:00"]])));
    let day = |d: &str| s.day(NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap());
    // 01:30 does not exist on 2027-03-28: the queue opens when the gap ends (02:00 BST = 01:00Z),
    // and 03:00 BST is 02:00Z.
    assert_eq!(
        day("2027-03-28"),
        vec![(utc("2027-03-28T01:00:00Z"), utc("2027-03-28T02:00:00Z"))]
    );
    // 01:30 happens twice on 2026-10-25: the first (BST, 00:30Z); 03:00 GMT is 03:00Z.
    assert_eq!(
        day("2026-10-25"),
        vec![(utc("2026-10-25T00:30:00Z"), utc("2026-10-25T03:00:00Z"))]
    );
}

#[test]
fn open_now_and_next_change() {
    let s = spec(serde_json::json!({
        "timezone": "Europe/London",
        "weekly": {"mon": [["08:00", "12:00"], ["13:00", "18:00"]], "tue": [["08:00", "18:00"]]},
        "holidays": [{"date": "2026-12-29", "hours": []}]
    }));
    // Monday 2026-12-07 10:00Z: open until 12:00.
    let state = s.state_at(utc("2026-12-07T10:00:00Z"));
    assert!(state.open_now);
    assert_eq!(state.next_change_at, Some(utc("2026-12-07T12:00:00Z")));
    // At lunch: opens at 13:00.
    let state = s.state_at(utc("2026-12-07T12:00:00Z"));
    assert!(!state.open_now);
    assert_eq!(state.next_change_at, Some(utc("2026-12-07T13:00:00Z")));
    // Tuesday evening: closed until next Monday.
    let state = s.state_at(utc("2026-12-08T18:00:00Z"));
    assert!(!state.open_now);
    assert_eq!(state.next_change_at, Some(utc("2026-12-14T08:00:00Z")));
    // Monday 28th evening: Tuesday 29th is a holiday, so the next opening is Monday 4 January.
    let state = s.state_at(utc("2026-12-28T19:00:00Z"));
    assert_eq!(state.next_change_at, Some(utc("2027-01-04T08:00:00Z")));
}

#[test]
fn days_open_until_midnight_join_the_next() {
    let s = spec(every_day(serde_json::json!([["00:00", "24:00"]])));
    let state = s.state_at(utc("2026-12-07T10:00:00Z"));
    assert!(state.open_now);
    assert_eq!(state.next_change_at, None, "always open never changes");
    let s = spec(serde_json::json!({
        "timezone": "UTC",
        "weekly": {"mon": [["20:00", "24:00"]], "tue": [["00:00", "02:00"]]}
    }));
    let state = s.state_at(utc("2026-12-07T23:00:00Z"));
    assert!(state.open_now);
    assert_eq!(state.next_change_at, Some(utc("2026-12-08T02:00:00Z")));
}

#[test]
fn a_schedule_with_no_hours_is_never_open() {
    let s = spec(serde_json::json!({"timezone": "UTC"}));
    let state = s.state_at(utc("2026-12-07T10:00:00Z"));
    assert!(!state.open_now);
    assert_eq!(state.next_change_at, None);
}

#[test]
fn bad_schedules_name_the_field() {
    let bad = |json: serde_json::Value| {
        Schedule::compile(&serde_json::from_value(json).unwrap()).unwrap_err()
    };
    assert!(bad(serde_json::json!({"timezone": "Mars/Olympus"})).contains("schedule.timezone"));
    assert!(
        bad(serde_json::json!({"timezone": "UTC", "weekly": {"mon": [["09:00", "08:00"]]}}))
            .contains("schedule.weekly.mon[0]")
    );
    assert!(
        bad(serde_json::json!({"timezone": "UTC", "weekly": {"mon": [["08:00", "12:00"], ["11:00", "13:00"]]}}))
            .contains("overlap")
    );
    assert!(
        bad(serde_json::json!({"timezone": "UTC", "weekly": {"mon": [["24:00", "24:00"]]}}))
            .contains("start")
    );
    assert!(
        bad(serde_json::json!({"timezone": "UTC", "weekly": {"funday": []}})).contains("funday")
    );
    assert!(
        bad(serde_json::json!({"timezone": "UTC", "holidays": [{"date": "2026-13-01", "hours": []}]}))
            .contains("schedule.holidays[0].date")
    );
}
