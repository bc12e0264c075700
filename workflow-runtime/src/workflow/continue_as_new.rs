//! Continue-as-new: end a run by starting a fresh run of the same workflow, carrying over what
//! the official SDKs carry (memo, search attributes, headers, task queue, timeouts, retry
//! policy) unless told otherwise.
//!
//! ```no_run
//! # use workflow_runtime::prelude::*;
//! # use workflow_runtime::workflow::ContinueAsNewOptions;
//! # #[workflow] #[derive(Default)] pub struct Poller;
//! # #[workflow] impl Poller {
//! #[run]
//! async fn run(ctx: WorkflowContext<Self>, round: u32) -> WorkflowResult<()> {
//!     ctx.sleep(std::time::Duration::from_secs(60)).await?;
//!     // The next run keeps this run's memo and search attributes, with one memo field changed.
//!     let options = ContinueAsNewOptions::new().memo("round", &(round + 1));
//!     Err(ctx.continue_as_new_with(round + 1, options))
//! }
//! # }
//! ```

use crate::client::SearchAttributeUpdate;
use crate::client::options::RetryPolicy;
use crate::client::payload;
use crate::client::proto::command as pc;
use crate::client::proto::common::{Memo, Payload, Payloads, SearchAttributes, WorkflowType};
use crate::client::proto::enums::TaskQueueKind;
use crate::client::proto::taskqueue::TaskQueue;
use crate::client::time::to_proto_duration;
use crate::engine::run_state::RunState;
use crate::workflow::WorkflowError;
use std::collections::HashMap;
use std::time::Duration;

/// What the next run changes; everything left unset is carried over from this run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContinueAsNewOptions {
    task_queue: Option<String>,
    run_timeout: Option<Duration>,
    task_timeout: Option<Duration>,
    retry_policy: Option<RetryPolicy>,
    keep_memo: Option<bool>,
    memo: Vec<(String, Result<Payload, String>)>,
    keep_search_attributes: Option<bool>,
    search_attributes: Vec<(String, Result<Payload, String>)>,
}

impl ContinueAsNewOptions {
    /// Carries everything over.
    pub fn new() -> Self {
        Self::default()
    }
    /// Runs the next run on another task queue.
    pub fn task_queue(mut self, queue: impl Into<String>) -> Self {
        self.task_queue = Some(queue.into());
        self
    }
    /// Limits the next run.
    pub fn run_timeout(mut self, d: Duration) -> Self {
        self.run_timeout = Some(d);
        self
    }
    /// Sets the next run's workflow task timeout.
    pub fn task_timeout(mut self, d: Duration) -> Self {
        self.task_timeout = Some(d);
        self
    }
    /// Sets the next run's retry policy.
    pub fn retry_policy(mut self, p: RetryPolicy) -> Self {
        self.retry_policy = Some(p);
        self
    }
    /// Starts the next run with no memo but the fields set here.
    pub fn clear_memo(mut self) -> Self {
        self.keep_memo = Some(false);
        self
    }
    /// Sets one memo field of the next run.
    pub fn memo<T: serde::Serialize + ?Sized>(mut self, key: &str, value: &T) -> Self {
        self.memo
            .push((key.to_string(), payload::to_payload(value).map_err(|e| e.to_string())));
        self
    }
    /// Starts the next run with no search attributes but the ones set here.
    pub fn clear_search_attributes(mut self) -> Self {
        self.keep_search_attributes = Some(false);
        self
    }
    /// Sets (or, with a key's `unset`, removes) search attributes of the next run.
    pub fn search_attributes(mut self, updates: impl IntoIterator<Item = SearchAttributeUpdate>) -> Self {
        for update in updates {
            let (name, value) = update.into_parts();
            self.search_attributes
                .push((name.to_string(), value.map_err(|e| e.to_string())));
        }
        self
    }
}

/// The next run's input and options, carried out of `#[run]` in a [`WorkflowError`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ContinueAsNew {
    pub(crate) input: Vec<Payload>,
    pub(crate) options: ContinueAsNewOptions,
}

impl ContinueAsNew {
    /// The command's attributes: the options over what this run had.
    pub(crate) fn attributes(
        self,
        run: &RunState,
    ) -> Result<pc::ContinueAsNewWorkflowExecutionCommandAttributes, WorkflowError> {
        let bad = |what: String| WorkflowError::non_retryable(format!("continue-as-new {what}"), "PayloadError");
        let options = self.options;
        let mut memo = if options.keep_memo.unwrap_or(true) {
            run.memo.clone()
        } else {
            HashMap::new()
        };
        for (key, value) in options.memo {
            memo.insert(key.clone(), value.map_err(|e| bad(format!("memo `{key}`: {e}")))?);
        }
        let mut search_attributes = if options.keep_search_attributes.unwrap_or(true) {
            run.search_attributes.clone()
        } else {
            HashMap::new()
        };
        for (name, value) in options.search_attributes {
            let value = value.map_err(|e| bad(format!("search attribute `{name}`: {e}")))?;
            search_attributes.insert(name, value);
        }
        // An unset attribute is an empty value: leave it out of the new run.
        search_attributes.retain(|_, v| !v.data.is_empty() && v.data != b"null");
        Ok(pc::ContinueAsNewWorkflowExecutionCommandAttributes {
            workflow_type: Some(WorkflowType {
                name: run.info.workflow_type.clone(),
            }),
            task_queue: Some(TaskQueue {
                name: options.task_queue.unwrap_or_else(|| run.info.task_queue.clone()),
                kind: TaskQueueKind::Normal as i32,
                ..Default::default()
            }),
            input: (!self.input.is_empty()).then_some(Payloads { payloads: self.input }),
            workflow_run_timeout: options
                .run_timeout
                .map(to_proto_duration)
                .or(run.info.run_timeout.map(to_proto_duration)),
            workflow_task_timeout: options
                .task_timeout
                .map(to_proto_duration)
                .or(Some(to_proto_duration(run.info.task_timeout))),
            retry_policy: options
                .retry_policy
                .map(Into::into)
                .or_else(|| run.info.retry_policy.clone().map(Into::into)),
            header: run.info.headers.to_proto(),
            memo: (!memo.is_empty()).then_some(Memo { fields: memo }),
            search_attributes: (!search_attributes.is_empty()).then_some(SearchAttributes {
                indexed_fields: search_attributes,
            }),
            ..Default::default()
        })
    }
}
