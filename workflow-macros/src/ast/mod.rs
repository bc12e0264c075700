//! Typed models of what the macros are put on, read from the syntax tree with the checks that
//! concern one item alone (a handler's signature, an activity's signature, a Nexus operation's);
//! a workflow's interface reads into the same model as its impl block.

pub(crate) mod activity;
pub(crate) mod interface;
pub(crate) mod nexus;
pub(crate) mod workflow;
