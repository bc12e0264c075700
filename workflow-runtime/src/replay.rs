//! Replays a recorded history against the registered workflow code, in-process, with no
//! server: a plain function call a debugger can step through.
//!
//! ```no_run
//! # use workflow_runtime::replay::Replayer;
//! # fn demo<W: workflow_runtime::definition::Workflow>() -> Result<(), workflow_runtime::replay::ReplayError> {
//! // `temporal workflow show --workflow-id order-42 --output json > order-42.json`
//! let json = std::fs::read_to_string("order-42.json").unwrap();
//! Replayer::new().workflow::<W>().replay_json(&json)?;
//! # Ok(()) }
//! ```

use crate::client::ClientError;
use crate::client::history::history_from_json;
use crate::client::proto::history::{History, history_event::Attributes};
use crate::definition::Workflow;
use crate::engine::driver::{TypedFactory, WorkflowFactory};
use crate::engine::run::Run;
use crate::workflow::{TaskError, WorkflowInfo};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Why a replay did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The history JSON could not be read.
    #[error(transparent)]
    Json(#[from] ClientError),
    /// The code did not replay the history: nondeterminism, a panic, an unknown type.
    #[error(transparent)]
    Task(#[from] TaskError),
    /// The code issued other commands than history recorded; `side_by_side` shows the task
    /// where they part.
    #[error("{error}\n{side_by_side}")]
    Divergence {
        /// The nondeterminism error.
        error: Box<TaskError>,
        /// Recorded events beside issued commands, the first difference marked.
        side_by_side: String,
    },
}

/// Replays histories against registered workflow types.
#[derive(Default)]
pub struct Replayer {
    factories: BTreeMap<String, Arc<dyn WorkflowFactory>>,
    data_converter: Option<crate::client::DataConverter>,
}

impl Replayer {
    /// A replayer with no workflow registered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers workflow `W`.
    pub fn workflow<W: Workflow>(mut self) -> Self {
        self.factories
            .insert(W::NAME.to_string(), Arc::new(TypedFactory::<W>::new()));
        self
    }

    /// Decodes the history's payloads with `converter` before replaying, as the worker does:
    /// a history written through a codec (encryption, compression) replays as exported. The
    /// codec runs on a blocking executor inside the replay call, so it must not need the
    /// tokio runtime of the calling thread (the ready-made codecs do not).
    pub fn data_converter(mut self, converter: crate::client::DataConverter) -> Self {
        self.data_converter = Some(converter);
        self
    }

    /// Replays a history in the JSON the CLI and the web UI export.
    pub fn replay_json(&self, json: &str) -> Result<(), ReplayError> {
        let history = history_from_json(json)?;
        self.replay_explained(&history)
    }

    /// Replays a history like [`Replayer::replay`]; a divergence comes with a side-by-side
    /// table of the recorded events and the issued commands of the task where they part.
    pub fn replay_explained(&self, history: &History) -> Result<(), ReplayError> {
        let mut table = None;
        match self.replay_inner(history, &mut table) {
            Ok(()) => Ok(()),
            Err(error) => match table {
                Some(side_by_side) => Err(ReplayError::Divergence {
                    error: Box::new(error),
                    side_by_side,
                }),
                None => Err(ReplayError::Task(error)),
            },
        }
    }

    /// Replays a history: every command the code issues must be the one history recorded.
    pub fn replay(&self, history: &History) -> Result<(), TaskError> {
        self.replay_inner(history, &mut None)
    }

    fn replay_inner(&self, history: &History, table: &mut Option<String>) -> Result<(), TaskError> {
        let bad = |detail: &str| TaskError::BadHistory {
            workflow_id: String::new(),
            detail: detail.to_string(),
        };
        let decoded;
        let history = match &self.data_converter {
            Some(converter) => {
                let mut task = crate::client::proto::workflowservice::PollWorkflowTaskQueueResponse {
                    history: Some(history.clone()),
                    ..Default::default()
                };
                futures::executor::block_on(crate::worker::codec::decode_workflow_task(converter, &mut task))
                    .map_err(|e| bad(&format!("the data converter could not decode the history: {e}")))?;
                decoded = task.history.unwrap_or_default();
                &decoded
            }
            None => history,
        };
        let Some(Attributes::WorkflowExecutionStartedEventAttributes(started)) =
            history.events.first().and_then(|e| e.attributes.as_ref())
        else {
            return Err(bad("the first event is not WorkflowExecutionStarted"));
        };
        let workflow_type = started
            .workflow_type
            .as_ref()
            .map(|t| t.name.clone())
            .unwrap_or_default();
        let Some(factory) = self.factories.get(&workflow_type) else {
            return Err(TaskError::UnknownWorkflowType {
                workflow_type,
                registered: self.factories.keys().cloned().collect::<Vec<_>>().join(", "),
            });
        };
        let info = WorkflowInfo {
            workflow_type,
            workflow_id: started.workflow_id.clone(),
            run_id: started.original_execution_run_id.clone(),
            namespace: String::new(),
            task_queue: started.task_queue.as_ref().map(|q| q.name.clone()).unwrap_or_default(),
            attempt: started.attempt.max(1) as u32,
            ..Default::default()
        };
        // Replaying is the point here: the code's logs are kept, to follow it in a debugger.
        let settings = crate::engine::run::RunSettings {
            log_during_replay: true,
            ..Default::default()
        };
        let mut run = Run::new(factory.create(), info.clone()).with_settings(settings);
        let activation = match run.apply(&history.events, 0, &[]) {
            Ok(a) => a,
            Err(e) => {
                *table = run.divergence().map(str::to_string);
                return Err(e);
            }
        };
        // A closed history leaves nothing to send: a command still pending means the code
        // goes on where the recorded run ended.
        let closed = history.events.last().is_some_and(|e| {
            matches!(
                e.attributes,
                Some(
                    Attributes::WorkflowExecutionCompletedEventAttributes(_)
                        | Attributes::WorkflowExecutionFailedEventAttributes(_)
                        | Attributes::WorkflowExecutionContinuedAsNewEventAttributes(_)
                        | Attributes::WorkflowExecutionCanceledEventAttributes(_)
                )
            )
        });
        if closed && let Some(extra) = activation.commands.first().or(run.pending_commands().first()) {
            return Err(TaskError::Nondeterminism {
                workflow_type: info.workflow_type,
                workflow_id: info.workflow_id,
                event_id: history.events.last().map(|e| e.event_id).unwrap_or_default(),
                recorded: "the end of the run".to_string(),
                produced: extra.describe(),
            });
        }
        Ok(())
    }
}
