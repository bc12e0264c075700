//! SDK metadata in history: who wrote a history (SDK name and version) and which of the
//! core-based SDKs' flags its commands follow.
//!
//! The flags are sdk-core's numbers, so a history written here tells a Python, TypeScript or
//! .NET replayer which checks and command shapes to expect, and a history they wrote tells
//! this engine the same. A flag is in force for a task when history recorded it (on the
//! `WorkflowTaskCompleted` that follows the task) or, for a task run live, from then on: it is
//! then recorded with the task's answer. Replaying an older history without the flag keeps the
//! older behaviour, so histories recorded before a flag existed still replay.

use crate::client::proto::sdk::WorkflowTaskCompletedMetadata;

/// The name this engine records as the SDK of a history.
pub const SDK_NAME: &str = env!("CARGO_PKG_NAME");
/// The version this engine records beside [`SDK_NAME`].
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// sdk-core's flags that this engine follows (their numbers are sdk-core's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum CoreFlag {
    /// Replay checks that activities, local activities and children keep their id and type.
    IdAndTypeChecks = 1,
    /// Each patch marker is followed by an upsert of the `TemporalChangeVersion` search
    /// attribute (the run's patch ids so far).
    UpsertChangeVersionOnPatch = 2,
    /// A workflow-ending command comes after every other command of its task.
    TerminalCommandsLast = 3,
}

/// The flags a run's history has, and what the current task adds.
#[derive(Debug, Default)]
pub(crate) struct SdkFlags {
    in_history: FlagSet,
    used_now: FlagSet,
    name_recorded: bool,
}

/// A set of flag numbers below 64, as bits (no allocation per run). Flags a history names at
/// 64 or above are unknown to this engine, which never asks for them, so they are dropped.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct FlagSet(u64);

impl FlagSet {
    fn bit(flag: u32) -> u64 {
        1u64.checked_shl(flag).unwrap_or(0)
    }

    fn contains(&self, flag: u32) -> bool {
        self.0 & Self::bit(flag) != 0
    }

    fn insert(&mut self, flag: u32) {
        self.0 |= Self::bit(flag);
    }

    fn is_empty(&self) -> bool {
        self.0 == 0
    }

    fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        (0..64).filter(|flag| self.contains(*flag))
    }
}

impl SdkFlags {
    /// Reads the metadata of a `WorkflowTaskCompleted` event.
    pub(crate) fn add_from_history(&mut self, metadata: Option<&WorkflowTaskCompletedMetadata>) {
        let Some(metadata) = metadata else { return };
        for flag in &metadata.core_used_flags {
            self.in_history.insert(*flag);
        }
        self.used_now.0 &= !self.in_history.0;
        if metadata.sdk_name == SDK_NAME && metadata.sdk_version == SDK_VERSION {
            self.name_recorded = true;
        }
    }

    /// Whether `flag` is in force: history has it, or the task runs live (it is then
    /// recorded with the task's answer).
    pub(crate) fn try_use(&mut self, flag: CoreFlag, replaying: bool) -> bool {
        let flag = flag as u32;
        if self.in_history.contains(flag) {
            return true;
        }
        if replaying {
            return false;
        }
        self.used_now.insert(flag);
        true
    }

    /// The metadata for the current task's answer, if it has anything new to record.
    pub(crate) fn for_answer(&self) -> Option<WorkflowTaskCompletedMetadata> {
        if self.used_now.is_empty() && self.name_recorded {
            return None;
        }
        let (sdk_name, sdk_version) = if self.name_recorded {
            (String::new(), String::new())
        } else {
            (SDK_NAME.to_string(), SDK_VERSION.to_string())
        };
        Some(WorkflowTaskCompletedMetadata {
            core_used_flags: self.used_now.iter().collect(),
            sdk_name,
            sdk_version,
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_is_used_live_and_recorded_once_history_has_it() {
        let mut flags = SdkFlags::default();
        assert!(
            !flags.try_use(CoreFlag::UpsertChangeVersionOnPatch, true),
            "not in history"
        );
        assert!(flags.try_use(CoreFlag::UpsertChangeVersionOnPatch, false));
        let answer = flags.for_answer().unwrap();
        assert_eq!(answer.core_used_flags, vec![2]);
        assert_eq!(answer.sdk_name, SDK_NAME);
        flags.add_from_history(Some(&answer));
        assert!(flags.for_answer().is_none(), "nothing new to record");
        assert!(
            flags.try_use(CoreFlag::UpsertChangeVersionOnPatch, true),
            "now in history"
        );
    }

    #[test]
    fn flags_from_other_sdks_beyond_ours_are_kept_out_of_the_answer() {
        let mut flags = SdkFlags::default();
        flags.add_from_history(Some(&WorkflowTaskCompletedMetadata {
            core_used_flags: vec![2, 70, 63],
            ..Default::default()
        }));
        assert!(flags.try_use(CoreFlag::UpsertChangeVersionOnPatch, true));
        assert!(!flags.try_use(CoreFlag::IdAndTypeChecks, true));
        assert!(flags.try_use(CoreFlag::TerminalCommandsLast, false));
        assert!(flags.try_use(CoreFlag::IdAndTypeChecks, false));
        let answer = flags.for_answer().expect("new flags to record");
        assert_eq!(answer.core_used_flags, vec![1, 3]);
    }
}
