//! Failures: the Temporal failure proto as a Rust type, with causes chained.
//!
//! A failure raised here converts to the same proto a Go, Java or Python SDK raises, and a
//! failure they raise converts to this type, so errors cross SDK boundaries intact.
//!
//! ```
//! use workflow_client::failure::{Failure, FailureKind};
//! let f = Failure::application("card declined", "PaymentError").non_retryable();
//! assert!(matches!(*f.kind, FailureKind::Application { non_retryable: true, .. }));
//! assert_eq!(f.to_string(), "card declined (PaymentError, non-retryable)");
//! ```

use crate::payload::{self, PayloadError};
use crate::proto::common::{ActivityType, Payload, Payloads, WorkflowExecution, WorkflowType};
use crate::proto::enums::{RetryState, TimeoutType};
use crate::proto::failure::{self as pf, failure::FailureInfo};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// The `source` this SDK writes into failures it creates.
pub const FAILURE_SOURCE: &str = "RustMacroSDK";

/// A Temporal failure: a message, its kind, and an optional cause.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// Human-readable message.
    pub message: String,
    /// Which SDK produced it (`RustMacroSDK`, `GoSDK`, `PythonSDK`, …).
    pub source: String,
    /// A stack trace, when the producer had one.
    pub stack_trace: String,
    /// What kind of failure this is (boxed, so that `Result<T, Failure>` stays small).
    pub kind: Box<FailureKind>,
    /// The failure that caused this one.
    pub cause: Option<Box<Failure>>,
}

/// The kinds of failure Temporal defines.
#[derive(Debug, Clone, PartialEq)]
pub enum FailureKind {
    /// Raised by user code (workflow or activity).
    Application {
        /// An error type name that retry policies can match on (`non_retryable_error_types`).
        type_name: String,
        /// Never retried, whatever the retry policy says.
        non_retryable: bool,
        /// Extra data for the catcher, as payloads.
        details: Vec<Payload>,
        /// Overrides the retry policy's next delay.
        next_retry_delay: Option<Duration>,
    },
    /// The operation was canceled.
    Canceled {
        /// Extra data, as payloads.
        details: Vec<Payload>,
    },
    /// A timeout fired.
    Timeout {
        /// Which timeout.
        timeout_type: TimeoutType,
        /// The last heartbeat details of a timed-out activity.
        last_heartbeat_details: Vec<Payload>,
    },
    /// The workflow was terminated.
    Terminated,
    /// The server reported a failure.
    Server {
        /// Whether retrying can help.
        non_retryable: bool,
    },
    /// An activity failed; the cause says why.
    Activity {
        /// The activity's type name.
        activity_type: String,
        /// The activity id.
        activity_id: String,
        /// Why retries stopped.
        retry_state: RetryState,
        /// Event id of the `ActivityTaskScheduled` event.
        scheduled_event_id: i64,
        /// Event id of the `ActivityTaskStarted` event.
        started_event_id: i64,
        /// The worker identity that ran the last attempt.
        identity: String,
    },
    /// A child workflow failed; the cause says why.
    ChildWorkflow {
        /// The child's namespace.
        namespace: String,
        /// The child's workflow id.
        workflow_id: String,
        /// The child's run id.
        run_id: String,
        /// The child's workflow type.
        workflow_type: String,
        /// Why retries stopped.
        retry_state: RetryState,
        /// Event id of the `StartChildWorkflowExecutionInitiated` event.
        initiated_event_id: i64,
        /// Event id of the `ChildWorkflowExecutionStarted` event.
        started_event_id: i64,
    },
    /// A kind this SDK does not model (Nexus, reset); the proto is kept as it came.
    Other(Box<FailureInfo>),
    /// No kind was given.
    Unspecified,
}

impl Failure {
    fn new(message: impl Into<String>, kind: FailureKind) -> Self {
        Failure {
            message: message.into(),
            source: FAILURE_SOURCE.to_string(),
            stack_trace: String::new(),
            kind: Box::new(kind),
            cause: None,
        }
    }

    /// An application failure with an error type name; retryable unless marked otherwise.
    pub fn application(message: impl Into<String>, type_name: impl Into<String>) -> Self {
        Failure::new(
            message,
            FailureKind::Application {
                type_name: type_name.into(),
                non_retryable: false,
                details: Vec::new(),
                next_retry_delay: None,
            },
        )
    }

    /// A cancellation failure.
    pub fn canceled(message: impl Into<String>) -> Self {
        Failure::new(message, FailureKind::Canceled { details: Vec::new() })
    }

    /// A timeout failure of the given kind.
    pub fn timeout(message: impl Into<String>, timeout_type: TimeoutType) -> Self {
        Failure::new(
            message,
            FailureKind::Timeout {
                timeout_type,
                last_heartbeat_details: Vec::new(),
            },
        )
    }

    /// A termination failure (the workflow was terminated from outside).
    pub fn terminated(message: impl Into<String>) -> Self {
        Failure::new(message, FailureKind::Terminated)
    }

    /// Marks an application failure as non-retryable (no effect on other kinds).
    pub fn non_retryable(mut self) -> Self {
        if let FailureKind::Application { non_retryable, .. } = &mut *self.kind {
            *non_retryable = true;
        }
        self
    }

    /// Attaches details to an application or canceled failure.
    pub fn with_details(mut self, new: Vec<Payload>) -> Self {
        match &mut *self.kind {
            FailureKind::Application { details, .. } | FailureKind::Canceled { details } => *details = new,
            FailureKind::Timeout {
                last_heartbeat_details, ..
            } => *last_heartbeat_details = new,
            _ => {}
        }
        self
    }

    /// Sets the cause.
    pub fn with_cause(mut self, cause: Failure) -> Self {
        self.cause = Some(Box::new(cause));
        self
    }

    /// Sets the stack trace.
    pub fn with_stack_trace(mut self, trace: impl Into<String>) -> Self {
        self.stack_trace = trace.into();
        self
    }

    /// The application error type name, when this is an application failure.
    pub fn application_type(&self) -> Option<&str> {
        match &*self.kind {
            FailureKind::Application { type_name, .. } => Some(type_name),
            _ => None,
        }
    }

    /// The detail payloads of this failure (application, canceled, or timeout heartbeat details).
    pub fn detail_payloads(&self) -> &[Payload] {
        match &*self.kind {
            FailureKind::Application { details, .. } | FailureKind::Canceled { details } => details,
            FailureKind::Timeout {
                last_heartbeat_details, ..
            } => last_heartbeat_details,
            _ => &[],
        }
    }

    /// Decodes the first detail payload as `T`.
    pub fn details<T: DeserializeOwned>(&self) -> Result<T, PayloadError> {
        payload::from_optional_payload(self.detail_payloads().first())
    }

    /// The innermost cause (this failure when it has none).
    pub fn root_cause(&self) -> &Failure {
        let mut f = self;
        while let Some(c) = &f.cause {
            f = c;
        }
        f
    }

    /// Whether a retry policy may retry this failure (application and server failures marked
    /// non-retryable may not).
    pub fn is_non_retryable(&self) -> bool {
        matches!(
            *self.kind,
            FailureKind::Application {
                non_retryable: true,
                ..
            } | FailureKind::Server { non_retryable: true }
        )
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        match &*self.kind {
            FailureKind::Application {
                type_name,
                non_retryable,
                ..
            } => match (type_name.is_empty(), non_retryable) {
                (false, true) => write!(f, " ({type_name}, non-retryable)")?,
                (false, false) => write!(f, " ({type_name})")?,
                (true, true) => f.write_str(" (non-retryable)")?,
                (true, false) => {}
            },
            FailureKind::Timeout { timeout_type, .. } => write!(f, " (timeout: {})", timeout_type.as_str_name())?,
            FailureKind::Activity {
                activity_type,
                activity_id,
                ..
            } => write!(f, " (activity {activity_type}, id {activity_id})")?,
            FailureKind::ChildWorkflow {
                workflow_type,
                workflow_id,
                ..
            } => write!(f, " (child workflow {workflow_type}, id {workflow_id})")?,
            _ => {}
        }
        if let Some(cause) = &self.cause {
            write!(f, ": caused by: {cause}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.as_deref().map(|c| c as _)
    }
}

fn payload_list(p: Option<Payloads>) -> Vec<Payload> {
    p.map(|p| p.payloads).unwrap_or_default()
}

fn payloads_opt(p: Vec<Payload>) -> Option<Payloads> {
    if p.is_empty() {
        None
    } else {
        Some(Payloads { payloads: p })
    }
}

impl From<pf::Failure> for Failure {
    fn from(p: pf::Failure) -> Self {
        let kind = match p.failure_info {
            None => FailureKind::Unspecified,
            Some(FailureInfo::ApplicationFailureInfo(i)) => FailureKind::Application {
                type_name: i.r#type,
                non_retryable: i.non_retryable,
                details: payload_list(i.details),
                next_retry_delay: i.next_retry_delay.and_then(|d| Duration::try_from(d).ok()),
            },
            Some(FailureInfo::CanceledFailureInfo(i)) => FailureKind::Canceled {
                details: payload_list(i.details),
            },
            Some(FailureInfo::TimeoutFailureInfo(i)) => FailureKind::Timeout {
                timeout_type: TimeoutType::try_from(i.timeout_type).unwrap_or(TimeoutType::Unspecified),
                last_heartbeat_details: payload_list(i.last_heartbeat_details),
            },
            Some(FailureInfo::TerminatedFailureInfo(_)) => FailureKind::Terminated,
            Some(FailureInfo::ServerFailureInfo(i)) => FailureKind::Server {
                non_retryable: i.non_retryable,
            },
            Some(FailureInfo::ActivityFailureInfo(i)) => FailureKind::Activity {
                activity_type: i.activity_type.map(|t| t.name).unwrap_or_default(),
                activity_id: i.activity_id,
                retry_state: RetryState::try_from(i.retry_state).unwrap_or(RetryState::Unspecified),
                scheduled_event_id: i.scheduled_event_id,
                started_event_id: i.started_event_id,
                identity: i.identity,
            },
            Some(FailureInfo::ChildWorkflowExecutionFailureInfo(i)) => {
                let exec = i.workflow_execution.unwrap_or_default();
                FailureKind::ChildWorkflow {
                    namespace: i.namespace,
                    workflow_id: exec.workflow_id,
                    run_id: exec.run_id,
                    workflow_type: i.workflow_type.map(|t| t.name).unwrap_or_default(),
                    retry_state: RetryState::try_from(i.retry_state).unwrap_or(RetryState::Unspecified),
                    initiated_event_id: i.initiated_event_id,
                    started_event_id: i.started_event_id,
                }
            }
            Some(other) => FailureKind::Other(Box::new(other)),
        };
        Failure {
            message: p.message,
            source: p.source,
            stack_trace: p.stack_trace,
            kind: Box::new(kind),
            cause: p.cause.map(|c| Box::new(Failure::from(*c))),
        }
    }
}

impl From<Failure> for pf::Failure {
    fn from(f: Failure) -> Self {
        let failure_info = match *f.kind {
            FailureKind::Unspecified => None,
            FailureKind::Application {
                type_name,
                non_retryable,
                details,
                next_retry_delay,
            } => Some(FailureInfo::ApplicationFailureInfo(pf::ApplicationFailureInfo {
                r#type: type_name,
                non_retryable,
                details: payloads_opt(details),
                next_retry_delay: next_retry_delay.and_then(|d| d.try_into().ok()),
                ..Default::default()
            })),
            FailureKind::Canceled { details } => Some(FailureInfo::CanceledFailureInfo(pf::CanceledFailureInfo {
                details: payloads_opt(details),
                ..Default::default()
            })),
            FailureKind::Timeout {
                timeout_type,
                last_heartbeat_details,
            } => Some(FailureInfo::TimeoutFailureInfo(pf::TimeoutFailureInfo {
                timeout_type: timeout_type as i32,
                last_heartbeat_details: payloads_opt(last_heartbeat_details),
            })),
            FailureKind::Terminated => Some(FailureInfo::TerminatedFailureInfo(Default::default())),
            FailureKind::Server { non_retryable } => {
                Some(FailureInfo::ServerFailureInfo(pf::ServerFailureInfo { non_retryable }))
            }
            FailureKind::Activity {
                activity_type,
                activity_id,
                retry_state,
                scheduled_event_id,
                started_event_id,
                identity,
            } => Some(FailureInfo::ActivityFailureInfo(pf::ActivityFailureInfo {
                scheduled_event_id,
                started_event_id,
                identity,
                activity_type: Some(ActivityType { name: activity_type }),
                activity_id,
                retry_state: retry_state as i32,
            })),
            FailureKind::ChildWorkflow {
                namespace,
                workflow_id,
                run_id,
                workflow_type,
                retry_state,
                initiated_event_id,
                started_event_id,
            } => Some(FailureInfo::ChildWorkflowExecutionFailureInfo(
                pf::ChildWorkflowExecutionFailureInfo {
                    namespace,
                    workflow_execution: Some(WorkflowExecution { workflow_id, run_id }),
                    workflow_type: Some(WorkflowType { name: workflow_type }),
                    initiated_event_id,
                    started_event_id,
                    retry_state: retry_state as i32,
                },
            )),
            FailureKind::Other(info) => Some(*info),
        };
        pf::Failure {
            message: f.message,
            source: f.source,
            stack_trace: f.stack_trace,
            encoded_attributes: None,
            cause: f.cause.map(|c| Box::new(pf::Failure::from(*c))),
            failure_info,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proto_round_trip_keeps_every_field_and_cause() {
        let inner = Failure::timeout("too slow", TimeoutType::StartToClose)
            .with_details(vec![payload::to_payload(&7).unwrap()]);
        let f = Failure::application("boom", "Boom")
            .non_retryable()
            .with_details(vec![payload::to_payload(&"why").unwrap()])
            .with_stack_trace("at main")
            .with_cause(inner);
        let proto: pf::Failure = f.clone().into();
        assert_eq!(proto.source, FAILURE_SOURCE);
        let back = Failure::from(proto);
        assert_eq!(back, f);
        assert_eq!(back.details::<String>().unwrap(), "why");
        assert_eq!(back.root_cause().details::<i32>().unwrap(), 7);
        assert!(back.is_non_retryable());
        assert_eq!(
            back.to_string(),
            "boom (Boom, non-retryable): caused by: too slow (timeout: TIMEOUT_TYPE_START_TO_CLOSE)"
        );
    }

    #[test]
    fn reads_failures_other_sdks_write() {
        // The proto the Python SDK sends for `ApplicationError("bad", type="Bad")`.
        let proto = pf::Failure {
            message: "bad".into(),
            source: "PythonSDK".into(),
            failure_info: Some(FailureInfo::ApplicationFailureInfo(pf::ApplicationFailureInfo {
                r#type: "Bad".into(),
                ..Default::default()
            })),
            ..Default::default()
        };
        let f = Failure::from(proto);
        assert_eq!(f.application_type(), Some("Bad"));
        assert_eq!(f.source, "PythonSDK");
        assert!(!f.is_non_retryable());
    }
}
