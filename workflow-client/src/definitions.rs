//! The typed surface: what a workflow, signal, query and update *is* on the wire.
//!
//! The `#[workflow]` macro implements these traits; they can also be implemented by hand, which
//! is how a Rust program calls a workflow written in another SDK with full type checking.
//!
//! ```
//! use workflow_client::definitions::{SignalDefinition, WorkflowDefinition};
//!
//! /// A workflow written in Python, called from Rust.
//! struct Greeting;
//! impl WorkflowDefinition for Greeting {
//!     const NAME: &'static str = "GreetingWorkflow";
//!     type Input = (String,);
//!     type Output = String;
//! }
//! struct Rename;
//! impl SignalDefinition for Rename {
//!     type Workflow = Greeting;
//!     const NAME: &'static str = "rename";
//!     type Input = (String,);
//! }
//! ```

use crate::payload::PayloadArgs;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A workflow type: its wire name, its argument list and its result.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a workflow",
    label = "expected a type marked `#[workflow]`",
    note = "put `#[workflow]` on the workflow's struct and on its impl block, or implement `WorkflowDefinition` by hand for a workflow written elsewhere"
)]
pub trait WorkflowDefinition: 'static {
    /// The workflow type name other SDKs and the CLI use.
    const NAME: &'static str;
    /// The arguments, as a tuple (one payload each).
    type Input: PayloadArgs + Send + 'static;
    /// The result.
    type Output: Serialize + DeserializeOwned + Send + 'static;
}

/// A signal of workflow `Workflow`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a signal",
    label = "expected a signal of this workflow",
    note = "signals are the methods marked `#[signal]` inside a `#[workflow]` impl"
)]
pub trait SignalDefinition: 'static {
    /// The workflow that handles it.
    type Workflow: WorkflowDefinition;
    /// The signal name on the wire.
    const NAME: &'static str;
    /// The arguments, as a tuple.
    type Input: PayloadArgs + Send + 'static;
}

/// A query of workflow `Workflow`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a query",
    label = "expected a query of this workflow",
    note = "queries are the methods marked `#[query]` inside a `#[workflow]` impl"
)]
pub trait QueryDefinition: 'static {
    /// The workflow that answers it.
    type Workflow: WorkflowDefinition;
    /// The query name on the wire.
    const NAME: &'static str;
    /// The arguments, as a tuple.
    type Input: PayloadArgs + Send + 'static;
    /// The answer.
    type Output: Serialize + DeserializeOwned + Send + 'static;
}

/// An update of workflow `Workflow`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an update",
    label = "expected an update of this workflow",
    note = "updates are the methods marked `#[update]` inside a `#[workflow]` impl"
)]
pub trait UpdateDefinition: 'static {
    /// The workflow that handles it.
    type Workflow: WorkflowDefinition;
    /// The update name on the wire.
    const NAME: &'static str;
    /// The arguments, as a tuple.
    type Input: PayloadArgs + Send + 'static;
    /// The result.
    type Output: Serialize + DeserializeOwned + Send + 'static;
}
