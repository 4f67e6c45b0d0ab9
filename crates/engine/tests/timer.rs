//! ISO 8601 timer schedules through the public interface.
use baton_engine::timer::{parse_cycle, parse_date, parse_duration, Schedule};
use jiff::Timestamp;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn after(text: &str, armed: &str) -> Timestamp {
    parse_duration(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .first_due(ts(armed))
}

fn err(r: Result<Schedule, baton_engine::timer::TimerError>) -> String {
    match r {
        Ok(s) => panic!("expected an error, got {s:?}"),
        Err(e) => e.0,
    }
}

#[test]
fn dates_with_offset_or_z() {
    let armed = ts("2030-01-01T00:00:00Z");
    assert_eq!(
        parse_date("2026-03-01T09:00:00Z").unwrap().first_due(armed),
        ts("2026-03-01T09:00:00Z")
    );
    assert_eq!(
        parse_date(" 2026-03-01T10:00:00+01:00 ")
            .unwrap()
            .first_due(armed),
        ts("2026-03-01T09:00:00Z")
    );
    assert_eq!(
        parse_date("2026-03-01T09:00:00.250Z")
            .unwrap()
            .first_due(armed),
        ts("2026-03-01T09:00:00.25Z")
    );
}

#[test]
fn dates_without_offset_are_utc() {
    let armed = ts("2020-01-01T00:00:00Z");
    assert_eq!(
        parse_date("2026-03-01T09:00:00").unwrap().first_due(armed),
        ts("2026-03-01T09:00:00Z")
    );
    assert_eq!(
        parse_date("2026-03-01").unwrap().first_due(armed),
        ts("2026-03-01T00:00:00Z")
    );
}

#[test]
fn a_date_in_the_past_is_due_at_that_instant() {
    let s = parse_date("2000-01-01T00:00:00Z").unwrap();
    assert_eq!(
        s.first_due(ts("2026-01-01T00:00:00Z")),
        ts("2000-01-01T00:00:00Z")
    );
    assert_eq!(s.next_after(ts("2000-01-01T00:00:00Z"), 1), None);
}

#[test]
fn bad_dates_say_what_a_good_one_looks_like() {
    assert_eq!(
        err(parse_date("2026-13-01")),
        "'2026-13-01' is not an ISO 8601 date-time such as 2026-03-01T09:00:00Z"
    );
    assert!(err(parse_date("tomorrow")).contains("'tomorrow' is not an ISO 8601 date-time"));
    assert!(err(parse_date("2026-02-30T00:00:00Z")).contains("not an ISO 8601 date-time"));
    assert!(err(parse_date("")).contains("empty"));
}

#[test]
fn durations() {
    let t0 = "2026-01-01T00:00:00Z";
    assert_eq!(after("PT30M", t0), ts("2026-01-01T00:30:00Z"));
    assert_eq!(after("P1D", t0), ts("2026-01-02T00:00:00Z"));
    assert_eq!(after("P1M", t0), ts("2026-02-01T00:00:00Z"));
    assert_eq!(after("P2W", t0), ts("2026-01-15T00:00:00Z"));
    assert_eq!(after("PT0.5S", t0), ts("2026-01-01T00:00:00.5Z"));
    assert_eq!(after("P1Y2M3DT4H5M6S", t0), ts("2027-03-04T04:05:06Z"));
    assert_eq!(after("PT0S", t0), ts(t0));
    // One-shot: nothing after it.
    assert_eq!(parse_duration("PT1H").unwrap().next_after(ts(t0), 1), None);
}

#[test]
fn months_clamp_to_the_end_of_the_month() {
    assert_eq!(
        after("P1M", "2026-01-31T00:00:00Z"),
        ts("2026-02-28T00:00:00Z")
    );
    assert_eq!(
        after("P1M", "2028-01-31T12:00:00Z"),
        ts("2028-02-29T12:00:00Z")
    );
    assert_eq!(
        after("P1Y", "2028-02-29T00:00:00Z"),
        ts("2029-02-28T00:00:00Z")
    );
    assert_eq!(
        after("P1D", "2028-02-28T00:00:00Z"),
        ts("2028-02-29T00:00:00Z")
    );
}

#[test]
fn bad_durations() {
    for bad in ["", "   ", "30 minutes", "P", "PT", "1H", "PTXS", "P1D2"] {
        let m = err(parse_duration(bad));
        assert!(
            m.contains("ISO 8601 duration") || m.contains("empty"),
            "{bad:?}: {m}"
        );
    }
    assert!(err(parse_duration("-P1D")).contains("negative"));
}

#[test]
fn cycle_with_count() {
    let s = parse_cycle("R3/PT10S").unwrap();
    let armed = ts("2026-01-01T00:00:00Z");
    let first = s.first_due(armed);
    assert_eq!(first, ts("2026-01-01T00:00:10Z"));
    let second = s.next_after(first, 1).unwrap();
    assert_eq!(second, ts("2026-01-01T00:00:20Z"));
    let third = s.next_after(second, 2).unwrap();
    assert_eq!(third, ts("2026-01-01T00:00:30Z"));
    // Fired three times: exhausted.
    assert_eq!(s.next_after(third, 3), None);
}

#[test]
fn cycle_forever() {
    let s = parse_cycle("R/PT1H").unwrap();
    assert!(matches!(
        s,
        Schedule::Cycle {
            repetitions: None,
            start: None,
            ..
        }
    ));
    let armed = ts("2026-01-01T00:00:00Z");
    assert_eq!(s.first_due(armed), ts("2026-01-01T01:00:00Z"));
    assert_eq!(
        s.next_after(ts("2026-01-01T05:00:00Z"), 1_000_000),
        Some(ts("2026-01-01T06:00:00Z"))
    );
}

#[test]
fn cycle_with_start() {
    let s = parse_cycle("R3/2026-01-01T00:00:00Z/P1D").unwrap();
    // Armed before the start: the start is the first due time.
    assert_eq!(
        s.first_due(ts("2025-12-01T00:00:00Z")),
        ts("2026-01-01T00:00:00Z")
    );
    // Armed after the start: one period from arming.
    assert_eq!(
        s.first_due(ts("2026-02-01T08:00:00Z")),
        ts("2026-02-02T08:00:00Z")
    );
    assert_eq!(
        s.next_after(ts("2026-01-01T00:00:00Z"), 1),
        Some(ts("2026-01-02T00:00:00Z"))
    );
    assert_eq!(s.next_after(ts("2026-01-03T00:00:00Z"), 3), None);

    let s = parse_cycle("R/2026-01-01T00:00:00Z/P1D").unwrap();
    assert!(matches!(
        s,
        Schedule::Cycle {
            repetitions: None,
            start: Some(_),
            ..
        }
    ));
    assert_eq!(
        s.next_after(ts("2026-01-09T00:00:00Z"), 500),
        Some(ts("2026-01-10T00:00:00Z"))
    );
}

#[test]
fn monthly_cycle_clamps() {
    let s = parse_cycle("R/2026-01-31T00:00:00Z/P1M").unwrap();
    let first = s.first_due(ts("2026-01-01T00:00:00Z"));
    assert_eq!(first, ts("2026-01-31T00:00:00Z"));
    assert_eq!(s.next_after(first, 1), Some(ts("2026-02-28T00:00:00Z")));
}

#[test]
fn bad_cycles() {
    assert!(err(parse_cycle("PT10S")).contains("write R/PT10S"));
    assert!(err(parse_cycle("0 0 25 * * ?")).contains("the hour field '25'"));
    assert!(err(parse_cycle("*/5 * * 13 *")).contains("the month field '13'"));
    assert!(err(parse_cycle("R0/PT1S")).contains("zero times"));
    assert!(err(parse_cycle("Rx/PT1S")).contains("not a whole number"));
    assert!(err(parse_cycle("R5/PT0S")).contains("longer than zero"));
    assert!(err(parse_cycle("R5/banana")).contains("supported"));
    assert!(err(parse_cycle("R5/2026-01-01T00:00:00Z/2026-02-01T00:00:00Z")).contains("supported"));
    assert!(err(parse_cycle("R5/2026-13-01T00:00:00Z/P1D"))
        .contains("'2026-13-01T00:00:00Z' is not an ISO 8601 date-time"));
    assert!(err(parse_cycle("R5/PT1X")).contains("'PT1X' is not an ISO 8601 duration"));
    assert!(err(parse_cycle("R5")).contains("not an ISO 8601 repeating interval"));
    assert!(err(parse_cycle("R5/PT1S/PT1S/PT1S")).contains("not an ISO 8601 repeating interval"));
    assert!(err(parse_cycle("")).contains("empty"));
    assert!(err(parse_cycle("every day")).contains("not an ISO 8601 repeating interval"));
}

#[test]
fn far_future_saturates_instead_of_panicking() {
    let s = parse_duration("P9000Y").unwrap();
    let due = s.first_due(ts("2026-01-01T00:00:00Z"));
    assert_eq!(due, Timestamp::MAX);
    let c = parse_cycle("R/P5000Y").unwrap();
    assert_eq!(c.next_after(Timestamp::MAX, 1), None);
}

#[test]
fn cron_cycles_repeat_forever_in_utc() {
    // Quartz/Camunda style with seconds and '?': noon on weekdays.
    let s = parse_cycle("0 0 12 ? * MON-FRI").unwrap();
    // Friday 6 March 2026, 13:00: the next is Monday noon, then Tuesday noon.
    let first = s.first_due(ts("2026-03-06T13:00:00Z"));
    assert_eq!(first, ts("2026-03-09T12:00:00Z"));
    assert_eq!(s.next_after(first, 1), Some(ts("2026-03-10T12:00:00Z")));
    assert_eq!(
        s.next_after(first, 10_000),
        Some(ts("2026-03-10T12:00:00Z")),
        "no repetition limit"
    );
    // Unix 5-field, month end.
    let s = parse_cycle("0 18 L * *").unwrap();
    assert_eq!(
        s.first_due(ts("2026-02-01T00:00:00Z")),
        ts("2026-02-28T18:00:00Z")
    );
}
