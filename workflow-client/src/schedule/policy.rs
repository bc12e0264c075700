//! What a schedule does when actions overlap or were missed, its state (paused, limited), and
//! the backfill and trigger requests that take actions out of turn.

use crate::proto::enums::ScheduleOverlapPolicy as ProtoOverlap;
use crate::proto::schedule as ps;
use crate::schedule::spec::nonzero;
use crate::time::{to_proto_duration, to_timestamp};
use std::time::{Duration, SystemTime};

/// What happens when an action is due while the workflow its last action started still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OverlapPolicy {
    /// Skip the new action (the server's default).
    #[default]
    Skip,
    /// Start the new action once the running workflow closes; later ones are skipped meanwhile.
    BufferOne,
    /// Start every due action, one after another, as each running workflow closes.
    BufferAll,
    /// Request cancellation of the running workflow, then start the new one once it closes.
    CancelOther,
    /// Terminate the running workflow and start the new one at once.
    TerminateOther,
    /// Start the new action whatever runs.
    AllowAll,
}

impl From<OverlapPolicy> for ProtoOverlap {
    fn from(p: OverlapPolicy) -> Self {
        match p {
            OverlapPolicy::Skip => ProtoOverlap::Skip,
            OverlapPolicy::BufferOne => ProtoOverlap::BufferOne,
            OverlapPolicy::BufferAll => ProtoOverlap::BufferAll,
            OverlapPolicy::CancelOther => ProtoOverlap::CancelOther,
            OverlapPolicy::TerminateOther => ProtoOverlap::TerminateOther,
            OverlapPolicy::AllowAll => ProtoOverlap::AllowAll,
        }
    }
}

impl OverlapPolicy {
    /// The policy a wire value means (unspecified: the server's default, skip).
    fn from_wire(value: i32) -> Self {
        match ProtoOverlap::try_from(value).unwrap_or(ProtoOverlap::Unspecified) {
            ProtoOverlap::Unspecified | ProtoOverlap::Skip => OverlapPolicy::Skip,
            ProtoOverlap::BufferOne => OverlapPolicy::BufferOne,
            ProtoOverlap::BufferAll => OverlapPolicy::BufferAll,
            ProtoOverlap::CancelOther => OverlapPolicy::CancelOther,
            ProtoOverlap::TerminateOther => OverlapPolicy::TerminateOther,
            ProtoOverlap::AllowAll => OverlapPolicy::AllowAll,
        }
    }
}

/// The wire value of an optional override (`None`: the schedule's own policy).
pub(crate) fn overlap_override(p: Option<OverlapPolicy>) -> i32 {
    p.map_or(ProtoOverlap::Unspecified, ProtoOverlap::from) as i32
}

/// How a schedule treats overlaps, missed actions and failures.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SchedulePolicies {
    /// What happens when an action is due while the last one's workflow runs.
    pub overlap: OverlapPolicy,
    /// How late a missed action (the server was down) may still be taken; `None`: the server's
    /// default, one year (the server refuses less than 10 seconds).
    pub catchup_window: Option<Duration>,
    /// Pause the schedule when a workflow it started fails or times out (after its retries).
    pub pause_on_failure: bool,
    /// Start workflows with the action's workflow id as given, without the server's suffix of
    /// the scheduled time (so two actions cannot run at once).
    pub keep_original_workflow_id: bool,
}

impl From<&SchedulePolicies> for ps::SchedulePolicies {
    fn from(p: &SchedulePolicies) -> Self {
        ps::SchedulePolicies {
            overlap_policy: ProtoOverlap::from(p.overlap) as i32,
            catchup_window: p.catchup_window.map(to_proto_duration),
            pause_on_failure: p.pause_on_failure,
            keep_original_workflow_id: p.keep_original_workflow_id,
        }
    }
}

impl From<ps::SchedulePolicies> for SchedulePolicies {
    fn from(p: ps::SchedulePolicies) -> Self {
        SchedulePolicies {
            overlap: OverlapPolicy::from_wire(p.overlap_policy),
            catchup_window: nonzero(p.catchup_window.as_ref()),
            pause_on_failure: p.pause_on_failure,
            keep_original_workflow_id: p.keep_original_workflow_id,
        }
    }
}

/// Whether a schedule is paused, why, and how many actions it has left.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScheduleState {
    /// No scheduled action is taken while paused (trigger and backfill still act).
    pub paused: bool,
    /// Why it was paused or unpaused (the server may write it, e.g. on pause-on-failure).
    pub note: String,
    /// `Some(n)`: take only `n` more scheduled actions; `None`: no limit.
    pub remaining_actions: Option<u64>,
}

impl From<&ScheduleState> for ps::ScheduleState {
    fn from(s: &ScheduleState) -> Self {
        ps::ScheduleState {
            notes: s.note.clone(),
            paused: s.paused,
            limited_actions: s.remaining_actions.is_some(),
            remaining_actions: s.remaining_actions.map_or(0, |n| i64::try_from(n).unwrap_or(i64::MAX)),
        }
    }
}

impl From<ps::ScheduleState> for ScheduleState {
    fn from(s: ps::ScheduleState) -> Self {
        ScheduleState {
            paused: s.paused,
            note: s.notes,
            remaining_actions: s.limited_actions.then_some(s.remaining_actions.max(0) as u64),
        }
    }
}

/// Actions for a past (or future) period, taken now as if that time passed: the spec's times
/// after `start` and up to `end` (the server reads the start as exclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backfill {
    /// The period's start (exclusive).
    pub start: SystemTime,
    /// The period's end (inclusive).
    pub end: SystemTime,
    /// The overlap policy for these actions; `None`: the schedule's.
    pub overlap: Option<OverlapPolicy>,
}

impl Backfill {
    /// The actions of the spec's times in `start..=end`, with the schedule's overlap policy.
    pub fn new(start: SystemTime, end: SystemTime) -> Self {
        Backfill {
            start,
            end,
            overlap: None,
        }
    }

    /// Uses this overlap policy for the backfilled actions.
    pub fn overlap(mut self, overlap: OverlapPolicy) -> Self {
        self.overlap = Some(overlap);
        self
    }
}

impl From<&Backfill> for ps::BackfillRequest {
    fn from(b: &Backfill) -> Self {
        ps::BackfillRequest {
            start_time: Some(to_timestamp(b.start)),
            end_time: Some(to_timestamp(b.end)),
            overlap_policy: overlap_override(b.overlap),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_overlap_policy_round_trips() {
        use OverlapPolicy::*;
        for p in [Skip, BufferOne, BufferAll, CancelOther, TerminateOther, AllowAll] {
            assert_eq!(OverlapPolicy::from_wire(ProtoOverlap::from(p) as i32), p);
        }
        assert_eq!(OverlapPolicy::from_wire(0), Skip);
        assert_eq!(overlap_override(None), 0);
    }

    #[test]
    fn a_limited_state_round_trips() {
        let state = ScheduleState {
            paused: true,
            note: "maintenance".into(),
            remaining_actions: Some(3),
        };
        assert_eq!(ScheduleState::from(ps::ScheduleState::from(&state)), state);
        assert_eq!(
            ScheduleState::from(ps::ScheduleState::default()).remaining_actions,
            None
        );
    }
}
