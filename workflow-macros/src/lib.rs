//! Attribute macros of the workflow SDK. The macros land with the macros issue; this crate
//! exists now so the workspace has its final shape.
