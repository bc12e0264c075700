//! Durable workflows on Temporal, written as plain Rust.
//!
//! This is the crate applications depend on. It re-exports the client
//! ([`workflow_client`], as [`client`]) and will hold the worker, the deterministic workflow
//! engine and the time-skipping test environment.

pub use workflow_client as client;
pub use workflow_client::{
    Client, ClientError, ClientOptions, Failure, FailureKind, StartOptions, WorkflowDefinition, WorkflowHandle,
};

pub mod testing {
    //! Tools for testing workflows: a real Temporal dev server for integration tests, shared by
    //! all tests of a binary:
    //!
    //! ```no_run
    //! use workflow_runtime::testing::DevServer;
    //! # async fn demo() -> Result<(), workflow_runtime::ClientError> {
    //! let address = DevServer::shared_address(); // or TEMPORAL_ADDRESS, when set
    //! let client = workflow_runtime::Client::connect(workflow_runtime::ClientOptions::new(address)).await?;
    //! # Ok(()) }
    //! ```
    pub use workflow_client::dev_server::{DevServer, DevServerError, DevServerOptions, find_cli};
}
