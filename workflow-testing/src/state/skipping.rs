//! Time skipping on behalf of clients waiting for an outcome: while a client waits for a run
//! to close or an update to reach a stage, and everything else waits on time, the clock jumps
//! to the next timer or retry. The waits are recorded here, so the jump can happen wherever
//! the state changes (in the waiting call, or in the answer of the workflow task that left
//! everything waiting), with the same result.

use super::{State, UpdateStage};

/// What a client waits for.
#[derive(Debug, Clone)]
pub(crate) enum Awaited {
    /// The run closes.
    RunClosed(String),
    /// The update (run, update id) reaches the stage.
    Update((String, String), UpdateStage),
}

impl Awaited {
    /// Whether it happened.
    pub(crate) fn reached(&self, s: &State) -> bool {
        match self {
            Awaited::RunClosed(run_id) => s.executions.get(run_id).is_none_or(|e| !e.is_open()),
            Awaited::Update(key, stage) => s.updates.get(key).is_some_and(|u| u.stage >= *stage),
        }
    }
}

impl State {
    /// Records a client's wait; `awaited_done` ends it.
    pub(crate) fn awaiting(&mut self, awaited: Awaited) -> u64 {
        self.awaited_counter += 1;
        self.awaited.insert(self.awaited_counter, awaited);
        self.awaited_counter
    }

    /// A client's wait ended.
    pub(crate) fn awaited_done(&mut self, id: u64) {
        self.awaited.remove(&id);
    }

    /// While a client waits for what has not happened yet and everything waits on time, jumps
    /// the clock to the next timer or retry, firing it. Returns whether it moved.
    pub(crate) fn skip_time_for_waiters(&mut self) -> bool {
        if !self.awaited.values().any(|a| !a.reached(self)) || !self.is_idle() {
            return false;
        }
        let Some(next) = self.next_due() else { return false };
        self.advance_to(next);
        true
    }
}
