//! Workflows and activities registered by name with raw payloads, for interop: the worker
//! serves types another SDK or the CLI starts, without a Rust definition of their shape.
//!
//! ```no_run
//! # use workflow_runtime::prelude::*;
//! # use workflow_runtime::dynamic::DynamicState;
//! # use workflow_runtime::client::proto::common::Payload;
//! # fn demo(client: Client) -> Result<(), Box<dyn std::error::Error>> {
//! let worker = Worker::builder(&client, "interop")
//!     // Any workflow type named "Echo": returns its first argument once signaled "go".
//!     .dynamic_workflow("Echo", |ctx: WorkflowContext<DynamicState>, args: Vec<Payload>| {
//!         Box::pin(async move {
//!             ctx.wait_condition(|s| s.signals.iter().any(|(name, _)| name == "go")).await?;
//!             Ok(args.into_iter().next().unwrap_or_default())
//!         })
//!     })
//!     .dynamic_activity("shout", |_ctx, args: Vec<Payload>| async move {
//!         Ok(args.into_iter().next().unwrap_or_default())
//!     })
//!     .build()?;
//! # Ok(()) }
//! ```

use crate::client::failure::Failure;
use crate::client::payload;
use crate::client::proto::common::Payload;
use crate::engine::driver::{SignalDelivered, SignalError, UpdateOutcome, WorkflowDriver, WorkflowFactory};
use crate::engine::run::STACK_TRACE_QUERY;
use crate::engine::run_state::RunState;
use crate::workflow::{WorkflowContext, WorkflowError, WorkflowResult};
use futures::future::LocalBoxFuture;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;

/// The state of a dynamic workflow: the signals it received, in history order, as
/// `(name, payloads)`; the code takes them out as it handles them.
#[derive(Debug, Default)]
pub struct DynamicState {
    /// Signals received and not yet taken.
    pub signals: VecDeque<(String, Vec<Payload>)>,
}

/// The code of a dynamic workflow.
pub(crate) type DynamicRun = Arc<
    dyn Fn(WorkflowContext<DynamicState>, Vec<Payload>) -> LocalBoxFuture<'static, WorkflowResult<Payload>>
        + Send
        + Sync,
>;

pub(crate) struct DynamicFactory {
    pub(crate) name: String,
    pub(crate) run: DynamicRun,
}

impl WorkflowFactory for DynamicFactory {
    fn create(&self) -> Box<dyn WorkflowDriver> {
        Box::new(DynamicDriver {
            name: self.name.clone(),
            run: self.run.clone(),
            state: None,
        })
    }
}

struct DynamicDriver {
    name: String,
    run: DynamicRun,
    state: Option<Rc<RefCell<DynamicState>>>,
}

impl WorkflowDriver for DynamicDriver {
    fn start(
        &mut self,
        run: Rc<RefCell<RunState>>,
        input: Vec<Payload>,
    ) -> LocalBoxFuture<'static, Result<Payload, WorkflowError>> {
        let state = Rc::new(RefCell::new(DynamicState::default()));
        self.state = Some(state.clone());
        (self.run)(WorkflowContext { run, state }, input)
    }

    fn signal(&mut self, name: &str, input: &[Payload]) -> Result<SignalDelivered, SignalError> {
        let state = self.state.as_ref().ok_or(SignalError::Unknown)?;
        state.borrow_mut().signals.push_back((name.to_string(), input.to_vec()));
        Ok(SignalDelivered {
            extra: 0,
            running: None,
        })
    }

    fn query(&self, name: &str, _input: &[Payload]) -> Result<Payload, String> {
        if name == "__pending_signals" {
            let names: Vec<String> = self
                .state
                .as_ref()
                .map(|s| s.borrow().signals.iter().map(|(n, _)| n.clone()).collect())
                .unwrap_or_default();
            return payload::to_payload(&names).map_err(|e| e.to_string());
        }
        Err(format!(
            "dynamic workflow `{}` answers no query `{name}`; known queries: __pending_signals, {STACK_TRACE_QUERY}",
            self.name
        ))
    }

    fn definition(&self) -> crate::client::proto::sdk::WorkflowDefinition {
        crate::client::proto::sdk::WorkflowDefinition {
            r#type: self.name.clone(),
            query_definitions: vec![crate::client::proto::sdk::WorkflowInteractionDefinition {
                name: "__pending_signals".to_string(),
                description: "The names of the signals received and not yet taken.".to_string(),
            }],
            ..Default::default()
        }
    }

    fn update(&mut self, name: &str, _input: &[Payload], _validate: bool) -> UpdateOutcome {
        UpdateOutcome::Rejected(Failure::application(
            format!("dynamic workflow `{}` has no update `{name}`", self.name),
            "UnknownUpdate",
        ))
    }
}
