//! When a schedule acts: intervals, calendars, cron strings, and the bounds around them.

use crate::proto::schedule as ps;
use crate::time::{from_proto_duration, from_timestamp, to_proto_duration, to_timestamp};
use std::ops::RangeInclusive;
use std::time::{Duration, SystemTime};

/// The times a schedule acts at: the union of its intervals, calendars and cron strings, minus
/// the excluded calendars, within `start_at..=end_at`, each delayed by up to `jitter`.
///
/// The server compiles cron strings into calendars (and `@every` into intervals), so a
/// described schedule shows calendars where it was given cron strings.
///
/// ```
/// use std::time::Duration;
/// use workflow_client::schedule::{CalendarSpec, ScheduleSpec};
/// let spec = ScheduleSpec::new()
///     .interval_with_offset(Duration::from_secs(3600), Duration::from_secs(15 * 60)) // every xx:15
///     .calendar(CalendarSpec::new().hour(9).minute(30).day_of_week(1..=5).comment("weekdays at 9:30"))
///     .cron("0 18 * * FRI")
///     .time_zone("Europe/Paris")
///     .jitter(Duration::from_secs(30));
/// assert_eq!(spec.intervals.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScheduleSpec {
    /// Fixed intervals since the epoch, each with an offset.
    pub intervals: Vec<IntervalSpec>,
    /// Calendar times.
    pub calendars: Vec<CalendarSpec>,
    /// Cron strings (5 to 7 fields, `@daily`-style shorthands, `@every 90m`, a trailing
    /// `# comment`), as the server reads them.
    pub cron_strings: Vec<String>,
    /// Calendar times that are skipped even when another part matches them.
    pub excluded_calendars: Vec<CalendarSpec>,
    /// No action before this time.
    pub start_at: Option<SystemTime>,
    /// No action after this time.
    pub end_at: Option<SystemTime>,
    /// Each action is delayed by a random amount up to this.
    pub jitter: Option<Duration>,
    /// The IANA time zone calendars and cron strings are read in (`None`: UTC).
    pub time_zone: Option<String>,
}

impl ScheduleSpec {
    /// A spec that matches nothing yet; add intervals, calendars or cron strings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also acts every `every` (counted from the Unix epoch, so every hour is on the hour).
    pub fn interval(self, every: Duration) -> Self {
        self.interval_with_offset(every, Duration::ZERO)
    }

    /// Also acts every `every`, shifted by `offset` (every hour at xx:15: one hour, 15 minutes).
    pub fn interval_with_offset(mut self, every: Duration, offset: Duration) -> Self {
        self.intervals.push(IntervalSpec { every, offset });
        self
    }

    /// Also acts at the times of `calendar`.
    pub fn calendar(mut self, calendar: CalendarSpec) -> Self {
        self.calendars.push(calendar);
        self
    }

    /// Also acts at the times of a cron string (`"0 12 * * MON-FRI"`, `"@hourly"`).
    pub fn cron(mut self, cron: impl Into<String>) -> Self {
        self.cron_strings.push(cron.into());
        self
    }

    /// Skips the times of `calendar`.
    pub fn exclude(mut self, calendar: CalendarSpec) -> Self {
        self.excluded_calendars.push(calendar);
        self
    }

    /// Acts at no time before `at`.
    pub fn start_at(mut self, at: SystemTime) -> Self {
        self.start_at = Some(at);
        self
    }

    /// Acts at no time after `at`.
    pub fn end_at(mut self, at: SystemTime) -> Self {
        self.end_at = Some(at);
        self
    }

    /// Delays each action by a random amount up to `jitter`.
    pub fn jitter(mut self, jitter: Duration) -> Self {
        self.jitter = Some(jitter);
        self
    }

    /// Reads calendars and cron strings in this IANA time zone (`"America/New_York"`).
    pub fn time_zone(mut self, name: impl Into<String>) -> Self {
        self.time_zone = Some(name.into());
        self
    }
}

/// Every `every` since the Unix epoch, shifted by `offset`; both are truncated to whole seconds
/// by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntervalSpec {
    /// The period.
    pub every: Duration,
    /// The shift from the epoch's multiples of `every`.
    pub offset: Duration,
}

/// Values of one calendar field: `start..=end` by `step`.
///
/// ```
/// use workflow_client::schedule::ScheduleRange;
/// assert_eq!(ScheduleRange::from(5), ScheduleRange::new(5, 5));
/// assert_eq!(ScheduleRange::from(0..=30).step(10), ScheduleRange { start: 0, end: 30, step: 10 });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleRange {
    /// The first value.
    pub start: i32,
    /// The last value (inclusive).
    pub end: i32,
    /// The distance between values (1: every value).
    pub step: i32,
}

impl ScheduleRange {
    /// Every value from `start` to `end`, both included.
    pub fn new(start: i32, end: i32) -> Self {
        ScheduleRange { start, end, step: 1 }
    }

    /// Every `step`-th value of the range.
    pub fn step(mut self, step: i32) -> Self {
        self.step = step;
        self
    }
}

impl From<i32> for ScheduleRange {
    fn from(value: i32) -> Self {
        ScheduleRange::new(value, value)
    }
}

impl From<RangeInclusive<i32>> for ScheduleRange {
    fn from(range: RangeInclusive<i32>) -> Self {
        ScheduleRange::new(*range.start(), *range.end())
    }
}

/// What a [`CalendarSpec`] field accepts: a value (`9`), a range (`1..=5`), a
/// [`ScheduleRange`] with a step, or a list of these (`[0, 30]`, `vec![1..=5, 7..=9]`).
pub trait IntoRanges {
    /// The ranges.
    fn into_ranges(self) -> Vec<ScheduleRange>;
}

impl<T: Into<ScheduleRange>> IntoRanges for T {
    fn into_ranges(self) -> Vec<ScheduleRange> {
        vec![self.into()]
    }
}

impl<T: Into<ScheduleRange>, const N: usize> IntoRanges for [T; N] {
    fn into_ranges(self) -> Vec<ScheduleRange> {
        self.into_iter().map(Into::into).collect()
    }
}

impl<T: Into<ScheduleRange>> IntoRanges for Vec<T> {
    fn into_ranges(self) -> Vec<ScheduleRange> {
        self.into_iter().map(Into::into).collect()
    }
}

/// Calendar times: a time matches when each field matches one of its ranges. Fields left alone
/// match second 0, minute 0, hour 0, every day of the month, every month, every year and every
/// day of the week, so `CalendarSpec::new().hour(9)` is every day at 09:00:00.
///
/// ```
/// use workflow_client::schedule::{CalendarSpec, ScheduleRange};
/// // Every 15 minutes during office hours on weekdays (0 is Sunday), in January and July.
/// let office = CalendarSpec::new()
///     .minute(ScheduleRange::new(0, 59).step(15))
///     .hour(9..=17)
///     .day_of_week(1..=5)
///     .month([1, 7])
///     .comment("office hours");
/// assert_eq!(office.hour, vec![ScheduleRange::new(9, 17)]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CalendarSpec {
    /// Seconds, 0–59.
    pub second: Vec<ScheduleRange>,
    /// Minutes, 0–59.
    pub minute: Vec<ScheduleRange>,
    /// Hours, 0–23.
    pub hour: Vec<ScheduleRange>,
    /// Days of the month, 1–31.
    pub day_of_month: Vec<ScheduleRange>,
    /// Months, 1–12.
    pub month: Vec<ScheduleRange>,
    /// Years; empty matches every year.
    pub year: Vec<ScheduleRange>,
    /// Days of the week, 0–6 (0 is Sunday).
    pub day_of_week: Vec<ScheduleRange>,
    /// What the calendar is for, kept with it.
    pub comment: String,
}

impl Default for CalendarSpec {
    fn default() -> Self {
        CalendarSpec {
            second: vec![ScheduleRange::from(0)],
            minute: vec![ScheduleRange::from(0)],
            hour: vec![ScheduleRange::from(0)],
            day_of_month: vec![ScheduleRange::new(1, 31)],
            month: vec![ScheduleRange::new(1, 12)],
            year: Vec::new(),
            day_of_week: vec![ScheduleRange::new(0, 6)],
            comment: String::new(),
        }
    }
}

impl CalendarSpec {
    /// Every day at midnight; set the fields that differ.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the seconds.
    pub fn second(mut self, ranges: impl IntoRanges) -> Self {
        self.second = ranges.into_ranges();
        self
    }
    /// Sets the minutes.
    pub fn minute(mut self, ranges: impl IntoRanges) -> Self {
        self.minute = ranges.into_ranges();
        self
    }
    /// Sets the hours.
    pub fn hour(mut self, ranges: impl IntoRanges) -> Self {
        self.hour = ranges.into_ranges();
        self
    }
    /// Sets the days of the month.
    pub fn day_of_month(mut self, ranges: impl IntoRanges) -> Self {
        self.day_of_month = ranges.into_ranges();
        self
    }
    /// Sets the months.
    pub fn month(mut self, ranges: impl IntoRanges) -> Self {
        self.month = ranges.into_ranges();
        self
    }
    /// Sets the years.
    pub fn year(mut self, ranges: impl IntoRanges) -> Self {
        self.year = ranges.into_ranges();
        self
    }
    /// Sets the days of the week (0 is Sunday).
    pub fn day_of_week(mut self, ranges: impl IntoRanges) -> Self {
        self.day_of_week = ranges.into_ranges();
        self
    }
    /// Sets the comment.
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = comment.into();
        self
    }
}

fn ranges_to_proto(ranges: &[ScheduleRange]) -> Vec<ps::Range> {
    ranges
        .iter()
        .map(|r| ps::Range {
            start: r.start,
            end: r.end,
            step: r.step,
        })
        .collect()
}

/// The server's reading of a range: an end before the start means the start alone, and no
/// step means 1.
fn ranges_from_proto(ranges: Vec<ps::Range>) -> Vec<ScheduleRange> {
    ranges
        .into_iter()
        .map(|r| ScheduleRange {
            start: r.start,
            end: r.end.max(r.start),
            step: r.step.max(1),
        })
        .collect()
}

impl From<&CalendarSpec> for ps::StructuredCalendarSpec {
    fn from(c: &CalendarSpec) -> Self {
        ps::StructuredCalendarSpec {
            second: ranges_to_proto(&c.second),
            minute: ranges_to_proto(&c.minute),
            hour: ranges_to_proto(&c.hour),
            day_of_month: ranges_to_proto(&c.day_of_month),
            month: ranges_to_proto(&c.month),
            year: ranges_to_proto(&c.year),
            day_of_week: ranges_to_proto(&c.day_of_week),
            comment: c.comment.clone(),
        }
    }
}

impl From<ps::StructuredCalendarSpec> for CalendarSpec {
    fn from(c: ps::StructuredCalendarSpec) -> Self {
        CalendarSpec {
            second: ranges_from_proto(c.second),
            minute: ranges_from_proto(c.minute),
            hour: ranges_from_proto(c.hour),
            day_of_month: ranges_from_proto(c.day_of_month),
            month: ranges_from_proto(c.month),
            year: ranges_from_proto(c.year),
            day_of_week: ranges_from_proto(c.day_of_week),
            comment: c.comment,
        }
    }
}

impl From<&ScheduleSpec> for ps::ScheduleSpec {
    fn from(s: &ScheduleSpec) -> Self {
        ps::ScheduleSpec {
            structured_calendar: s.calendars.iter().map(Into::into).collect(),
            cron_string: s.cron_strings.clone(),
            interval: s
                .intervals
                .iter()
                .map(|i| ps::IntervalSpec {
                    interval: Some(to_proto_duration(i.every)),
                    phase: Some(to_proto_duration(i.offset)),
                })
                .collect(),
            exclude_structured_calendar: s.excluded_calendars.iter().map(Into::into).collect(),
            start_time: s.start_at.map(to_timestamp),
            end_time: s.end_at.map(to_timestamp),
            jitter: s.jitter.map(to_proto_duration),
            timezone_name: s.time_zone.clone().unwrap_or_default(),
            ..Default::default()
        }
    }
}

/// A duration the server reports, where zero means unset.
pub(crate) fn nonzero(d: Option<&crate::proto::Duration>) -> Option<Duration> {
    d.map(from_proto_duration).filter(|d| !d.is_zero())
}

impl From<ps::ScheduleSpec> for ScheduleSpec {
    fn from(s: ps::ScheduleSpec) -> Self {
        ScheduleSpec {
            intervals: s
                .interval
                .iter()
                .map(|i| IntervalSpec {
                    every: i.interval.as_ref().map(from_proto_duration).unwrap_or_default(),
                    offset: i.phase.as_ref().map(from_proto_duration).unwrap_or_default(),
                })
                .collect(),
            calendars: s.structured_calendar.into_iter().map(Into::into).collect(),
            cron_strings: s.cron_string,
            excluded_calendars: s.exclude_structured_calendar.into_iter().map(Into::into).collect(),
            start_at: s.start_time.as_ref().map(from_timestamp),
            end_at: s.end_time.as_ref().map(from_timestamp),
            jitter: nonzero(s.jitter.as_ref()),
            time_zone: (!s.timezone_name.is_empty()).then_some(s.timezone_name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_survives_the_wire_form() {
        let spec = ScheduleSpec::new()
            .interval_with_offset(Duration::from_secs(60), Duration::from_secs(5))
            .calendar(
                CalendarSpec::new()
                    .hour([9, 17])
                    .minute(ScheduleRange::new(0, 59).step(15)),
            )
            .exclude(CalendarSpec::new().day_of_week([0, 6]).year(2030..=2031))
            .cron("@hourly")
            .start_at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000))
            .jitter(Duration::from_secs(3))
            .time_zone("Asia/Tokyo");
        assert_eq!(ScheduleSpec::from(ps::ScheduleSpec::from(&spec)), spec);
    }

    #[test]
    fn ranges_read_as_the_server_reads_them() {
        let wire = vec![ps::Range {
            start: 4,
            end: 0,
            step: 0,
        }];
        assert_eq!(ranges_from_proto(wire), vec![ScheduleRange::from(4)]);
    }
}
