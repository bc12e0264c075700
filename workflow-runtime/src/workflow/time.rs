//! Workflow time: the instants workflow code reads with `ctx.now()`.

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::time::{Duration, SystemTime};

/// An instant of workflow time: the start time of the current workflow task, as history
/// recorded it, so every replay of the run reads the same value.
///
/// It has no way to read the machine's clock (no `now()`, no `elapsed()`): the distance to
/// another workflow time is [`duration_since`](Self::duration_since). Convert it explicitly
/// where a wall-clock type is wanted: [`to_system_time`](Self::to_system_time) (and from there
/// `chrono::DateTime::<Utc>::from(…)` or `time::OffsetDateTime::from(…)`).
///
/// ```
/// use std::time::Duration;
/// use workflow_runtime::workflow::WorkflowTime;
///
/// let start = WorkflowTime::from_unix_millis(1_767_225_600_000); // 2026-01-01T00:00:00Z
/// let due = start + Duration::from_secs(90);
/// assert_eq!(due.duration_since(start), Some(Duration::from_secs(90)));
/// assert_eq!(start.duration_since(due), None);
/// assert_eq!(due.to_string(), "2026-01-01T00:01:30.000Z");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct WorkflowTime(SystemTime);

impl WorkflowTime {
    /// 1970-01-01T00:00:00Z.
    pub const UNIX_EPOCH: WorkflowTime = WorkflowTime(SystemTime::UNIX_EPOCH);

    /// The instant `millis` milliseconds after the Unix epoch.
    pub fn from_unix_millis(millis: u64) -> Self {
        WorkflowTime(SystemTime::UNIX_EPOCH + Duration::from_millis(millis))
    }

    /// Milliseconds since the Unix epoch (0 for an instant before it).
    pub fn unix_millis(self) -> u64 {
        self.0
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    /// The same instant as a [`SystemTime`], for APIs that take one.
    pub fn to_system_time(self) -> SystemTime {
        self.0
    }

    /// How long after `earlier` this instant is; `None` when `earlier` is later.
    pub fn duration_since(self, earlier: WorkflowTime) -> Option<Duration> {
        self.0.duration_since(earlier.0).ok()
    }

    /// How long after `earlier` this instant is, or zero when `earlier` is later.
    pub fn saturating_duration_since(self, earlier: WorkflowTime) -> Duration {
        self.duration_since(earlier).unwrap_or_default()
    }

    /// `self + duration`, or `None` when it cannot be represented.
    pub fn checked_add(self, duration: Duration) -> Option<WorkflowTime> {
        self.0.checked_add(duration).map(WorkflowTime)
    }

    /// `self - duration`, or `None` when it cannot be represented.
    pub fn checked_sub(self, duration: Duration) -> Option<WorkflowTime> {
        self.0.checked_sub(duration).map(WorkflowTime)
    }
}

impl From<SystemTime> for WorkflowTime {
    /// A workflow time from a recorded instant (a timestamp history or a payload carried).
    fn from(time: SystemTime) -> Self {
        WorkflowTime(time)
    }
}

impl From<WorkflowTime> for SystemTime {
    fn from(time: WorkflowTime) -> Self {
        time.0
    }
}

impl Add<Duration> for WorkflowTime {
    type Output = WorkflowTime;
    fn add(self, duration: Duration) -> WorkflowTime {
        WorkflowTime(self.0 + duration)
    }
}

impl AddAssign<Duration> for WorkflowTime {
    fn add_assign(&mut self, duration: Duration) {
        self.0 += duration;
    }
}

impl Sub<Duration> for WorkflowTime {
    type Output = WorkflowTime;
    fn sub(self, duration: Duration) -> WorkflowTime {
        WorkflowTime(self.0 - duration)
    }
}

impl SubAssign<Duration> for WorkflowTime {
    fn sub_assign(&mut self, duration: Duration) {
        self.0 -= duration;
    }
}

impl fmt::Debug for WorkflowTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WorkflowTime({self})")
    }
}

impl fmt::Display for WorkflowTime {
    /// RFC 3339 in UTC with milliseconds: `2026-01-01T00:01:30.000Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.unix_millis();
        let (days, ms_of_day) = (millis / 86_400_000, millis % 86_400_000);
        let (year, month, day) = civil_date(days as i64);
        let (h, m, s, ms) = (
            ms_of_day / 3_600_000,
            ms_of_day / 60_000 % 60,
            ms_of_day / 1000 % 60,
            ms_of_day % 1000,
        );
        write!(f, "{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{ms:03}Z")
    }
}

/// The proleptic Gregorian date `days` after 1970-01-01 (counting 400-year eras of 146,097
/// days from 0000-03-01, so leap days fall at the end of each counted year).
fn civil_date(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // 0 = March
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::WorkflowTime;

    #[test]
    fn dates_print_as_rfc_3339_across_leap_years_and_month_ends() {
        let at = |millis: u64| WorkflowTime::from_unix_millis(millis).to_string();
        assert_eq!(at(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(at(1_709_164_799_999), "2024-02-28T23:59:59.999Z");
        assert_eq!(at(1_735_689_599_000), "2024-12-31T23:59:59.000Z");
        assert_eq!(at(4_107_542_400_000), "2100-03-01T00:00:00.000Z");
    }

    #[test]
    fn it_serializes_as_the_instant_it_holds() {
        let t = WorkflowTime::from_unix_millis(1_767_225_600_123);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, serde_json::to_string(&t.to_system_time()).unwrap());
        assert_eq!(serde_json::from_str::<WorkflowTime>(&json).unwrap(), t);
    }
}
