//! Typed models of what the macros are put on, read from the syntax tree with the checks that
//! concern one item alone (a handler's signature, an activity's signature).

pub(crate) mod activity;
pub(crate) mod workflow;
