//! The deterministic engine: one run of a workflow as a state machine that history drives.
//!
//! Each run lives on one worker thread, in a single-threaded executor: its futures are polled
//! only here and woken only by history events (activity results, timers, signals), and tokio
//! never runs workflow code. Applying a task's events matches each recorded command against
//! the one the code issued ([`commands`]), resolves what the code waits on, and polls the code
//! until it waits again; what it issued becomes the task's answer.

pub(crate) mod commands;
pub(crate) mod driver;
pub(crate) mod intercept;
pub(crate) mod matcher;
pub(crate) mod resolve;
pub(crate) mod run;
pub(crate) mod run_state;
pub(crate) mod slots;
pub(crate) mod updates;
pub(crate) mod watchdog;
