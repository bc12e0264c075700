//! The workflow features beyond activities and timers, each run by the worker on a real server,
//! one module a feature: child workflows and signals to other workflows (`children`),
//! cancellation (`cancellation`), versioning with patches (`versioning`), search attributes and
//! memo (`search_attributes`), local activities (`local_activities`), bad input (`bad_input`),
//! interceptors and headers (`interceptors`), what stays out of the logs (`logs`), a history
//! of many pages (`long_history`). Every feature's history is also kept under
//! `tests/histories/` and replayed without a server (`histories`).
//!
//! This file holds what the modules share: the client, the history recorder and the replayer
//! that knows every workflow of the binary.

mod bad_input;
mod cancellation;
mod children;
mod eager_start;
mod histories;
mod interceptors;
mod local_activities;
mod logs;
mod long_history;
mod search_attributes;
// Public, as these workflows were at the crate root before: `ShippingV4` is only replayed, never
// started, and its generated handle would otherwise be dead code.
pub mod versioning;

use crate::cancellation::{Guarded, Patient};
use crate::children::{Kitchen, Restaurant};
use crate::local_activities::Quote;
use crate::search_attributes::Tracked;
use crate::versioning::ShippingV2;
use workflow_runtime::prelude::*;
use workflow_runtime::replay::Replayer;
use workflow_runtime::testing::dev_server_client;

async fn connect() -> Client {
    dev_server_client().await.unwrap()
}

#[path = "../support/captured_logs.rs"]
mod captured_logs;
#[path = "../support/history_files.rs"]
mod history_files;
use history_files::record_history;

/// A replayer that knows every workflow whose history the modules record.
fn replayer() -> Replayer {
    Replayer::new()
        .workflow::<ShippingV2>()
        .workflow::<Kitchen>()
        .workflow::<Restaurant>()
        .workflow::<Patient>()
        .workflow::<Tracked>()
        .workflow::<Guarded>()
        .workflow::<Quote>()
}

use workflow_runtime::testing::event_names;

fn position(names: &[String], name: &str) -> Option<usize> {
    names.iter().position(|n| n == name)
}
