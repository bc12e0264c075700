//! The mutable state of one run, shared by the workflow context (which issues commands and
//! waits) and the engine (which applies history and wakes what waits).

use super::commands::WorkflowCommand;
use super::slots::SlotTable;
use crate::client::proto::common::Payload;
use crate::workflow::WorkflowInfo;
use crate::workflow::activity_call::ActivitySlot;
use crate::workflow::cancellation::ScopeNode;
use crate::workflow::child::ChildSlot;
use crate::workflow::external::ExternalSlot;
use crate::workflow::local_activity::{LocalActivityRequest, LocalSlot};
use crate::workflow::sdk_flags::SdkFlags;
use crate::workflow::timer::TimerSlot;
use std::collections::HashMap;
use std::rc::Rc;
use std::task::Waker;
use std::time::SystemTime;

/// The mutable state of one run that the context and the engine share.
pub(crate) struct RunState {
    pub(crate) info: WorkflowInfo,
    pub(crate) now: SystemTime,
    pub(crate) replaying: bool,
    pub(crate) rng: u64,
    /// Commands issued and not yet seen in history, in issue order.
    pub(crate) commands: std::collections::VecDeque<WorkflowCommand>,
    /// Activities, by sequence number (shared with local activities), found again by their
    /// `ActivityTaskScheduled` event.
    pub(crate) activities: SlotTable<ActivitySlot>,
    /// Timers, by sequence number (their timer id).
    pub(crate) timers: SlotTable<TimerSlot>,
    pub(crate) condition_wakers: Vec<Waker>,
    /// Futures that watch a cancellation scope.
    pub(crate) scope_wakers: Vec<Waker>,
    pub(crate) cancel_requested: bool,
    /// The run's root scope, cancelled when the workflow's cancellation is requested.
    pub(crate) root_scope: Rc<ScopeNode>,
    /// The scope code runs in now (the root, or that of the innermost `CancellationScope::run`).
    pub(crate) current_scope: Rc<ScopeNode>,
    /// On replay: the values the side effects of the activation being replayed recorded.
    pub(crate) recorded_side_effects: std::collections::VecDeque<Payload>,
    /// On replay: the patches the activation being replayed recorded.
    pub(crate) recorded_patches: std::collections::BTreeSet<String>,
    /// The run's search attributes and memo: from the start, with the upserts since.
    pub(crate) search_attributes: HashMap<String, Payload>,
    pub(crate) memo: HashMap<String, Payload>,
    /// What the workflow says it is doing, for the metadata query (the web UI shows it).
    pub(crate) current_details: String,
    /// The SDK flags of this run's history, and those the current task adds.
    pub(crate) flags: SdkFlags,
    /// The patch ids this run recorded markers for, in order (`TemporalChangeVersion`).
    pub(crate) marked_patches: std::collections::BTreeSet<String>,
    /// What `patched` answered for each id in this run (it answers the same every time).
    pub(crate) patches: std::collections::BTreeMap<String, bool>,
    pub(crate) next_side_effect_seq: u32,
    /// Local activities, numbered from the activities' sequence.
    pub(crate) locals: SlotTable<LocalSlot>,
    /// Local activities to hand to the worker after this activation.
    pub(crate) local_requests: Vec<LocalActivityRequest>,
    /// Children, found again by their `StartChildWorkflowExecutionInitiated` event.
    pub(crate) children: SlotTable<ChildSlot>,
    /// Signals and cancel requests to other workflows, found again by their `…Initiated` event.
    pub(crate) externals: SlotTable<ExternalSlot>,
    /// Nexus operations, found again by their `NexusOperationScheduled` event.
    pub(crate) nexus: SlotTable<crate::workflow::nexus_call::NexusSlot>,
    /// The run's interceptors (made by the worker's when the run starts).
    pub(crate) interceptors: Vec<Box<dyn crate::interceptor::WorkflowInterceptor>>,
}

impl RunState {
    pub(crate) fn new(info: WorkflowInfo) -> Self {
        // Seeded from the run id: the same numbers on every replay of this run.
        let mut seed = 0xcbf2_9ce4_8422_2325u64;
        for b in info.run_id.bytes() {
            seed = (seed ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
        let root_scope = ScopeNode::detached();
        RunState {
            info,
            current_scope: root_scope.clone(),
            root_scope,
            now: SystemTime::UNIX_EPOCH,
            replaying: false,
            rng: seed | 1,
            commands: Default::default(),
            activities: SlotTable::default(),
            timers: SlotTable::default(),
            condition_wakers: Vec::new(),
            scope_wakers: Vec::new(),
            cancel_requested: false,
            recorded_side_effects: Default::default(),
            recorded_patches: Default::default(),
            patches: Default::default(),
            search_attributes: HashMap::new(),
            memo: HashMap::new(),
            current_details: String::new(),
            flags: Default::default(),
            marked_patches: Default::default(),
            next_side_effect_seq: 1,
            locals: SlotTable::default(),
            local_requests: Vec::new(),
            children: SlotTable::default(),
            externals: SlotTable::default(),
            nexus: SlotTable::default(),
            interceptors: Vec::new(),
        }
    }

    pub(crate) fn next_random(&mut self) -> u64 {
        // xorshift64*: small, fast, and fully determined by the seed.
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// The next activity's sequence number (remote and local activities share it; a remote
    /// activity's default id is its number).
    pub(crate) fn next_activity_seq(&mut self) -> u32 {
        self.activities.next_seq()
    }

    /// A v4 UUID from the run's deterministic randomness.
    pub(crate) fn next_uuid(&mut self) -> uuid::Uuid {
        let hi = self.next_random() as u128;
        let lo = self.next_random() as u128;
        uuid::Builder::from_random_bytes(((hi << 64) | lo).to_be_bytes()).into_uuid()
    }

    /// Wakes every pending `wait_condition`: state may have changed.
    pub(crate) fn wake_conditions(&mut self) {
        for w in self.condition_wakers.drain(..) {
            w.wake();
        }
    }

    /// What each pending future waits on, for the `__stack_trace` query.
    pub(crate) fn describe_pending(&self) -> String {
        let mut lines = Vec::new();
        for (seq, slot) in self.activities.in_order().filter(|(_, s)| s.outcome.is_none()) {
            lines.push(format!("waiting on activity {} (id {seq})", slot.activity_type));
        }
        for (seq, slot) in self.locals.in_order().filter(|(_, s)| s.outcome.is_none()) {
            lines.push(format!(
                "waiting on local activity {} (id {seq})",
                slot.request.activity_type
            ));
        }
        for (seq, t) in self.timers.in_order().filter(|(_, t)| !t.fired && !t.canceled) {
            lines.push(format!("waiting on timer {seq} ({:?})", t.duration));
        }
        for (_, c) in self.children.in_order().filter(|(_, c)| c.outcome.is_none()) {
            lines.push(format!(
                "waiting on child workflow {} (id {})",
                c.workflow_type, c.workflow_id
            ));
        }
        for (_, e) in self.externals.in_order().filter(|(_, e)| e.outcome.is_none()) {
            lines.push(format!("waiting on delivery of the {}", e.description));
        }
        for (_, n) in self.nexus.in_order().filter(|(_, n)| n.outcome.is_none()) {
            lines.push(format!("waiting on {}", n.description));
        }
        if !self.condition_wakers.is_empty() {
            lines.push(format!("waiting on {} condition(s)", self.condition_wakers.len()));
        }
        if lines.is_empty() {
            lines.push("not waiting on anything".to_string());
        }
        lines.join("\n")
    }
}
