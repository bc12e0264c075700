//! The Temporal client of the workflow SDK: connect, start and drive workflows, typed or by name.
//!
//! Most users depend on `workflow-runtime`, which re-exports this crate; it can also be used
//! alone to drive workflows written in any Temporal SDK.
//!
//! ```no_run
//! use workflow_client::{Client, ClientOptions, StartOptions, WorkflowDefinition};
//!
//! struct Greeting;
//! impl WorkflowDefinition for Greeting {
//!     const NAME: &'static str = "GreetingWorkflow";
//!     type Input = (String,);
//!     type Output = String;
//! }
//!
//! # async fn demo() -> Result<(), workflow_client::ClientError> {
//! let client = Client::connect(ClientOptions::new("127.0.0.1:7233")).await?;
//! let handle = client
//!     .start::<Greeting>(StartOptions::new("greet-ada", "greetings"), ("Ada".to_string(),))
//!     .await?;
//! let greeting: String = handle.result().await?;
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

pub mod activity_completion;
pub mod batch;
pub mod client;
pub mod codecs;
pub mod converter;
pub mod definitions;
pub mod deployment;
pub mod eager;
pub mod error;
pub mod failure;
pub mod handle;
pub mod headers;
pub mod history;
pub mod interceptor;
#[cfg(feature = "metrics")]
pub mod metrics;
#[cfg(not(feature = "metrics"))]
#[path = "metrics_off.rs"]
mod metrics;
pub mod nexus_endpoints;
pub mod options;
pub mod payload;
pub mod protobuf;
pub mod proxy;
pub mod reset;
pub mod schedule;
pub mod search_attributes;
pub mod task_queue;
pub mod time;
pub mod transport;
pub mod visibility;

pub use activity_completion::ActivityRef;
pub use async_trait::async_trait;
pub use batch::{BatchHandle, BatchOperation, BatchOptions};
pub use client::{Client, LONG_POLL_TIMEOUT, RpcError, WorkflowService};
pub use converter::{CodecError, DataConverter, PayloadCodec};
pub use definitions::{QueryDefinition, SignalDefinition, UpdateDefinition, WorkflowDefinition};
pub use deployment::{VersioningBehavior, WorkerDeploymentHandle, WorkerDeploymentVersion};
pub use error::ClientError;
pub use failure::{Failure, FailureKind};
pub use handle::{
    QueryRejectCondition, UntypedUpdateHandle, UntypedWorkflowHandle, UpdateHandle, UpdateWaitStage, WorkflowHandle,
};
pub use headers::Headers;
pub use options::{ClientOptions, IdConflictPolicy, IdReusePolicy, RetryPolicy, RpcRetry, StartOptions, TlsOptions};
pub use payload::{Binary, PayloadArgs, PayloadError};
pub use protobuf::{Proto, ProtoBinary};
pub use proxy::{HttpConnectProxy, ProxyError};
pub use reset::{ResetOptions, ResetTarget};
pub use schedule::{ScheduleHandle, ScheduleOptions, ScheduleSpec};
pub use search_attributes::{SearchAttributeKey, SearchAttributeUpdate};
pub use task_queue::TaskQueueDescription;
pub use transport::Transport;
pub use visibility::{WorkflowDescription, WorkflowExecutionStatus, WorkflowSummary};

/// The Temporal API types this crate speaks, under short names.
pub mod proto {
    pub use prost_wkt_types::{Any, Duration, Timestamp};
    pub use temporalio_protos::google::rpc;
    pub use temporalio_protos::temporal::api::batch::v1 as batch;
    pub use temporalio_protos::temporal::api::command::v1 as command;
    pub use temporalio_protos::temporal::api::common::v1 as common;
    pub use temporalio_protos::temporal::api::deployment::v1 as deployment;
    pub use temporalio_protos::temporal::api::enums::v1 as enums;
    pub use temporalio_protos::temporal::api::errordetails::v1 as errordetails;
    pub use temporalio_protos::temporal::api::failure::v1 as failure;
    pub use temporalio_protos::temporal::api::history::v1 as history;
    pub use temporalio_protos::temporal::api::nexus::v1 as nexus;
    pub use temporalio_protos::temporal::api::operatorservice::v1 as operatorservice;
    pub use temporalio_protos::temporal::api::protocol::v1 as protocol;
    pub use temporalio_protos::temporal::api::query::v1 as query;
    pub use temporalio_protos::temporal::api::schedule::v1 as schedule;
    pub use temporalio_protos::temporal::api::sdk::v1 as sdk;
    pub use temporalio_protos::temporal::api::taskqueue::v1 as taskqueue;
    pub use temporalio_protos::temporal::api::update::v1 as update;
    pub use temporalio_protos::temporal::api::workflow::v1 as workflow;
    pub use temporalio_protos::temporal::api::workflowservice::v1 as workflowservice;
}
