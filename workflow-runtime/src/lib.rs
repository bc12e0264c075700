//! Durable workflows on Temporal, written as plain Rust.
//!
//! This is the crate applications depend on: the worker and its deterministic workflow engine
//! ([`worker`], [`workflow`](mod@workflow)), activities ([`activity`](mod@activity)), the definitions both are made of
//! ([`definition`]), testing tools ([`testing`]), and the client ([`client`], re-exported).
//!
//! Workflow code runs on a single-threaded executor fed by history: it is replayed after a
//! worker restart and must issue the same commands every time. Time, randomness, timers and
//! activities therefore go through the [`workflow::WorkflowContext`].

#![deny(missing_docs)]

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
pub mod activity;
pub mod definition;
pub mod dynamic;
mod engine;
pub mod interceptor;
mod messages;
#[cfg(feature = "metrics")]
pub mod metrics;
pub mod nexus;
pub mod replay;
pub mod worker;
pub mod workflow;

/// The `futures` crate, for combinators that are deterministic in workflow code
/// (`futures::future::select`, `select_biased!`, `join!`, `join_all`).
pub use futures;
pub use workflow_client as client;
pub use workflow_client::{
    Client, ClientError, ClientOptions, Failure, FailureKind, StartOptions, WorkflowDefinition, WorkflowHandle,
};

pub use workflow_macros::{
    activities, activity, deterministic, nexus_service, operation, query, run, signal, update, workflow,
    workflow_interface,
};

/// The names most workflow code needs.
pub mod prelude {
    pub use crate::activity::{ActivityContext, ActivityError, ActivityInfo};
    pub use crate::client::{
        Client, ClientError, ClientOptions, Failure, QueryDefinition, RetryPolicy, SignalDefinition, StartOptions,
        UpdateDefinition, WorkflowDefinition, WorkflowHandle,
    };
    pub use crate::definition::{Activity, ActivityDefinition, ActivityGroup, Workflow};
    pub use crate::worker::{Worker, WorkerOptions};
    pub use crate::workflow::{ActivityOptions, WorkflowContext, WorkflowError, WorkflowResult, WorkflowTime};
    pub use crate::{
        activities, activity, deterministic, nexus_service, operation, query, run, signal, update, workflow,
        workflow_interface,
    };
    pub use std::time::Duration;
}

pub mod testing;
