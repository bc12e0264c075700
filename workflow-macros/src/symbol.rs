//! The attribute names the macros recognise, in one place.

/// `#[run]`: a workflow's entry point.
pub(crate) const RUN: &str = "run";
/// `#[signal]`: a signal handler.
pub(crate) const SIGNAL: &str = "signal";
/// `#[query]`: a query handler.
pub(crate) const QUERY: &str = "query";
/// `#[update]`: an update handler.
pub(crate) const UPDATE: &str = "update";
/// `#[workflow]`: on a workflow's state struct and impl block.
pub(crate) const WORKFLOW: &str = "workflow";
/// `#[activity]`: on an activity function or a method of an `#[activities]` impl.
pub(crate) const ACTIVITY: &str = "activity";
/// `#[activities]`: on an impl block whose methods share state.
pub(crate) const ACTIVITIES: &str = "activities";
/// `#[deterministic]`: applies the lint to a helper function or an inline module.
pub(crate) const DETERMINISTIC: &str = "deterministic";
/// `#[operation]`: an operation of a `#[nexus_service]` trait.
pub(crate) const OPERATION: &str = "operation";
/// `#[doc = "…"]`: what a doc comment becomes.
pub(crate) const DOC: &str = "doc";

/// Whether an attribute is `#[name]` by its last segment, so `#[workflow_runtime::name]` too.
pub(crate) fn is_attr(attr: &syn::Attribute, name: &str) -> bool {
    attr.path().segments.last().is_some_and(|s| s.ident == name)
}
