//! Code generation from the checked models, one function per generated item.

pub(crate) mod activity;
pub(crate) mod client;
pub(crate) mod nexus;
pub(crate) mod workflow;
