//! Worker versioning, the worker's side: the deployment version a worker declares on every
//! poll and answer, and the versioning behaviour it reports for each workflow task.

use crate::client::deployment::{VersioningBehavior, WorkerDeploymentVersion};
use crate::client::proto::deployment as pd;
use crate::client::proto::enums;
use crate::engine::driver::WorkflowFactory;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Which worker deployment version a worker runs, and whether the server routes work by it.
///
/// A *versioned* worker gets only the work the deployment's routing sends to its version: new
/// runs once its version is current (or ramping), and the tasks of runs on it. Every workflow
/// type it runs needs a [`VersioningBehavior`]: its own (`#[workflow(versioning = "pinned")]`)
/// or the worker's default; [`WorkerBuilder::build`](super::WorkerBuilder::build) refuses a
/// worker where one has neither. An *unversioned* worker only declares its deployment and build
/// (shown in task queue descriptions and histories) and takes any task of its queue.
///
/// ```no_run
/// # use workflow_runtime::prelude::*;
/// use workflow_runtime::client::{VersioningBehavior, WorkerDeploymentVersion};
/// use workflow_runtime::worker::WorkerDeploymentOptions;
/// # fn demo(client: &Client) -> Result<(), Box<dyn std::error::Error>> {
/// let version = WorkerDeploymentVersion::new("shop", std::env!("CARGO_PKG_VERSION"));
/// let worker = Worker::builder(client, "orders")
///     .deployment(
///         WorkerDeploymentOptions::versioned(version)
///             .default_versioning_behavior(VersioningBehavior::AutoUpgrade),
///     )
///     // .workflow::<OrderWorkflow>()
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerDeploymentOptions {
    /// The deployment and build this worker's code is.
    pub version: WorkerDeploymentVersion,
    /// Whether the server routes work to this worker by its version (see above).
    pub use_worker_versioning: bool,
    /// The behaviour of the workflow types that declare none (versioned workers only).
    pub default_versioning_behavior: Option<VersioningBehavior>,
}

impl WorkerDeploymentOptions {
    /// A versioned worker of `version`.
    pub fn versioned(version: WorkerDeploymentVersion) -> Self {
        WorkerDeploymentOptions {
            version,
            use_worker_versioning: true,
            default_versioning_behavior: None,
        }
    }

    /// An unversioned worker that declares `version` (the server routes nothing by it).
    pub fn unversioned(version: WorkerDeploymentVersion) -> Self {
        WorkerDeploymentOptions {
            use_worker_versioning: false,
            ..WorkerDeploymentOptions::versioned(version)
        }
    }

    /// Sets the behaviour of the workflow types that declare none.
    pub fn default_versioning_behavior(mut self, behavior: VersioningBehavior) -> Self {
        self.default_versioning_behavior = Some(behavior);
        self
    }

    /// What cannot work in these options, one line each (as the core-based SDKs check them).
    pub(super) fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.use_worker_versioning {
            if self.version.deployment_name.is_empty() {
                problems.push("a versioned worker needs a deployment name".to_string());
            }
            if self.version.build_id.is_empty() {
                problems.push("a versioned worker needs a build id".to_string());
            }
        } else if self.default_versioning_behavior.is_some() {
            problems.push(
                "default_versioning_behavior is for versioned workers; an unversioned worker's runs have none"
                    .to_string(),
            );
        }
        problems
    }

    /// What every poll and task answer of the worker carries.
    pub(super) fn to_proto(&self) -> pd::WorkerDeploymentOptions {
        let mode = match self.use_worker_versioning {
            true => enums::WorkerVersioningMode::Versioned,
            false => enums::WorkerVersioningMode::Unversioned,
        };
        pd::WorkerDeploymentOptions {
            deployment_name: self.version.deployment_name.clone(),
            build_id: self.version.build_id.clone(),
            worker_versioning_mode: mode as i32,
        }
    }
}

/// The behaviour a versioned worker reports on each workflow task it completes, by workflow
/// type (as sdk-core does, the workflow type's own, else the worker's default).
#[derive(Debug, Clone, Default)]
pub(super) struct Behaviors {
    by_type: BTreeMap<String, VersioningBehavior>,
}

impl Behaviors {
    /// Each registered type's behaviour; `Err` lists the types that have none.
    pub(super) fn resolve(
        options: &WorkerDeploymentOptions,
        workflows: &BTreeMap<String, Arc<dyn WorkflowFactory>>,
    ) -> Result<Self, Vec<String>> {
        let mut by_type = BTreeMap::new();
        let mut missing = Vec::new();
        for (name, factory) in workflows.iter() {
            match factory.versioning_behavior().or(options.default_versioning_behavior) {
                Some(b) => {
                    by_type.insert(name.clone(), b);
                }
                None => missing.push(name.clone()),
            }
        }
        match missing.is_empty() {
            true => Ok(Behaviors { by_type }),
            false => Err(missing),
        }
    }

    /// What a task of `workflow_type` reports (unspecified for a type the worker does not run:
    /// its task fails anyway).
    pub(super) fn of(&self, workflow_type: &str) -> enums::VersioningBehavior {
        self.by_type
            .get(workflow_type)
            .map_or(enums::VersioningBehavior::Unspecified, |b| b.to_proto())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop(build_id: &str) -> WorkerDeploymentVersion {
        WorkerDeploymentVersion::new("shop", build_id)
    }

    #[test]
    fn versioned_workers_need_a_name_and_build_and_unversioned_ones_no_default() {
        assert!(WorkerDeploymentOptions::versioned(shop("v1")).problems().is_empty());
        let nameless = WorkerDeploymentOptions::versioned(WorkerDeploymentVersion::new("", ""));
        assert_eq!(
            nameless.problems(),
            [
                "a versioned worker needs a deployment name",
                "a versioned worker needs a build id"
            ]
        );
        let unversioned = WorkerDeploymentOptions::unversioned(shop("v1"));
        assert!(unversioned.problems().is_empty());
        let with_default = unversioned.default_versioning_behavior(VersioningBehavior::Pinned);
        assert!(with_default.problems()[0].contains("for versioned workers"));
    }

    #[test]
    fn the_wire_form_names_the_mode() {
        let versioned = WorkerDeploymentOptions::versioned(shop("v2")).to_proto();
        assert_eq!(versioned.deployment_name, "shop");
        assert_eq!(versioned.build_id, "v2");
        assert_eq!(
            versioned.worker_versioning_mode,
            enums::WorkerVersioningMode::Versioned as i32
        );
        let unversioned = WorkerDeploymentOptions::unversioned(shop("v2")).to_proto();
        assert_eq!(
            unversioned.worker_versioning_mode,
            enums::WorkerVersioningMode::Unversioned as i32
        );
    }
}
