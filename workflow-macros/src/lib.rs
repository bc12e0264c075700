//! Attribute macros of the workflow SDK; use them through `workflow_runtime::prelude`.
//!
//! - `#[workflow]` on a workflow's state struct and on its `impl` block, with `#[run]`,
//!   `#[signal]` and `#[query]` on the methods inside;
//! - `#[activity]` on an `async fn`;
//! - `#[deterministic]` on helper functions called from workflow code.
//!
//! Workflow code is checked for calls that would differ on replay (the clock, randomness,
//! threads, I/O, …): each is a compile error on the call, naming the replacement. A statement
//! can opt out with `#[allow_nondeterministic(reason = "…")]`.
//!
//! Generated code names only `::workflow_runtime::__private` (or the path given with
//! `crate = "…"`), so a crate that depends on `workflow-runtime` and serde needs nothing else.

mod activity;
mod errors;
mod lint;
mod options;
mod workflow;

#[cfg(test)]
mod expansion_tests;

use proc_macro::TokenStream;

/// Marks a workflow: on its state struct (generates the typed handle `NameHandle`) and on
/// its `impl` block (generates the definition, the handler tables, and the typed client
/// stubs `Name::start`, `Name::execute`, `Name::handle`, `Name::<signal>_with_start`,
/// `Name::<update>_with_start`, and one
/// method per signal and query on the handle).
///
/// Options on the impl: `name = "WireName"` (default: the type's name), `crate = "path"`.
#[proc_macro_attribute]
pub fn workflow(args: TokenStream, item: TokenStream) -> TokenStream {
    workflow::expand(args.into(), item.into()).into()
}

/// Marks an activity: an `async fn` whose arguments (after an optional first
/// `ctx: ActivityContext`) are its input and which returns `Result<T, ActivityError>`.
///
/// Options: `name = "wire-name"`, default timeouts (`start_to_close_timeout = "30s"`,
/// `schedule_to_close_timeout`, `schedule_to_start_timeout`, `heartbeat_timeout`),
/// `task_queue = "…"`, `retry(maximum_attempts = 3, initial_interval = "1s",
/// backoff_coefficient = 2.0, maximum_interval = "1m", non_retryable_error_types = ["…"])`,
/// `crate = "path"`.
#[proc_macro_attribute]
pub fn activity(args: TokenStream, item: TokenStream) -> TokenStream {
    activity::expand(args.into(), item.into()).into()
}

/// Marks an `impl` block of shared state (a pool, a client) whose `#[activity]` methods are
/// activities: each method taking `&self` gets a marker type `{Type}{Method}` for workflow
/// code (`ctx.activity(PaymentsCharge, order)`), and the worker registers them all with
/// `.activities(instance)`.
#[proc_macro_attribute]
pub fn activities(args: TokenStream, item: TokenStream) -> TokenStream {
    activity::expand_group(args.into(), item.into()).into()
}

/// Applies the determinism lint to a helper function called from workflow code.
#[proc_macro_attribute]
pub fn deterministic(args: TokenStream, item: TokenStream) -> TokenStream {
    workflow::expand_deterministic(args.into(), item.into()).into()
}

fn misplaced(what: &str, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    let message = format!("`#[{what}]` marks a method inside a `#[workflow]` impl block");
    let e = syn::Error::new(proc_macro2::Span::call_site(), message).to_compile_error();
    quote::quote!(#e #item).into()
}

/// Marks the entry point of a workflow (inside a `#[workflow]` impl).
#[proc_macro_attribute]
pub fn run(_args: TokenStream, item: TokenStream) -> TokenStream {
    misplaced("run", item)
}

/// Marks a signal handler (inside a `#[workflow]` impl): `fn name(&mut self, args…)`.
#[proc_macro_attribute]
pub fn signal(_args: TokenStream, item: TokenStream) -> TokenStream {
    misplaced("signal", item)
}

/// Marks an update handler (inside a `#[workflow]` impl): `fn name(&mut self, args…) ->
/// WorkflowResult<T>`, with an optional `validator = "method"` that can reject it first.
#[proc_macro_attribute]
pub fn update(_args: TokenStream, item: TokenStream) -> TokenStream {
    misplaced("update", item)
}

/// Marks a query handler (inside a `#[workflow]` impl): `fn name(&self, args…) -> T`.
#[proc_macro_attribute]
pub fn query(_args: TokenStream, item: TokenStream) -> TokenStream {
    misplaced("query", item)
}
