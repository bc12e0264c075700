//! Worker deployments (worker versioning): which version of a deployment's workers gets new
//! runs, and how far the old versions have drained.
//!
//! A worker declares the version it runs (a deployment name and a build id; see
//! `WorkerBuilder::deployment` in `workflow-runtime`); the server creates the deployment and the
//! version when that worker first polls. An operator then routes work with the calls here: the
//! *current* version gets new runs and the next tasks of auto-upgrade runs, a *ramping* version
//! gets a share of them, and a version that is neither drains: its pinned runs finish on it.
//!
//! ```no_run
//! # async fn demo(client: workflow_client::Client) -> Result<(), workflow_client::ClientError> {
//! use workflow_client::deployment::RoutingOptions;
//!
//! let shop = client.worker_deployment("shop");
//! // Send 10% of new work to build "v2", then all of it.
//! shop.set_ramping_version("v2", 10.0, RoutingOptions::default()).await?;
//! shop.set_current_version("v2", RoutingOptions::default()).await?;
//! // The old build may be shut down once its pinned runs are done.
//! let v1 = shop.describe_version("v1").await?;
//! println!("v1 is {:?}, drainage {:?}", v1.status, v1.drainage);
//! # Ok(()) }
//! ```

mod description;
mod handle;

pub use description::{
    DrainageStatus, VersionDrainage, VersionStatus, VersionSummary, WorkerDeploymentDescription,
    WorkerDeploymentVersionDescription,
};
pub use handle::WorkerDeploymentHandle;

use crate::proto::deployment as pd;
use crate::proto::enums;

/// One version of a worker deployment: the deployment's name and the build id of the code its
/// workers run. Shown as `deployment:build` (as the `TemporalWorkerDeploymentVersion` search
/// attribute writes it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WorkerDeploymentVersion {
    /// The deployment (one service or application, across its versions).
    pub deployment_name: String,
    /// The build of the code, unique within the deployment.
    pub build_id: String,
}

impl WorkerDeploymentVersion {
    /// The version `build_id` of deployment `deployment_name`.
    pub fn new(deployment_name: impl Into<String>, build_id: impl Into<String>) -> Self {
        WorkerDeploymentVersion {
            deployment_name: deployment_name.into(),
            build_id: build_id.into(),
        }
    }

    /// The wire form.
    pub fn to_proto(&self) -> pd::WorkerDeploymentVersion {
        pd::WorkerDeploymentVersion {
            build_id: self.build_id.clone(),
            deployment_name: self.deployment_name.clone(),
        }
    }

    /// The version a message names; `None` for an absent or empty one (the server's way of
    /// saying "unversioned workers").
    pub fn from_proto(version: Option<pd::WorkerDeploymentVersion>) -> Option<Self> {
        version
            .filter(|v| !v.build_id.is_empty())
            .map(|v| WorkerDeploymentVersion::new(v.deployment_name, v.build_id))
    }
}

impl std::fmt::Display for WorkerDeploymentVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.deployment_name, self.build_id)
    }
}

/// How a workflow's runs move between the versions of a worker deployment, declared per
/// workflow type (`#[workflow(versioning = "pinned")]`) or as a worker's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VersioningBehavior {
    /// A run stays on the version it started on until it closes: its code never changes under
    /// it, so changes need no `patched` branches. Old versions must keep running until their
    /// pinned runs are done (see [`VersionDrainage`]).
    Pinned,
    /// A run's next task goes to the deployment's current (or ramping) version: it moves to new
    /// code as it rolls out, so changes to it must replay old histories (`patched`).
    AutoUpgrade,
}

impl VersioningBehavior {
    /// The wire value.
    pub fn to_proto(self) -> enums::VersioningBehavior {
        match self {
            VersioningBehavior::Pinned => enums::VersioningBehavior::Pinned,
            VersioningBehavior::AutoUpgrade => enums::VersioningBehavior::AutoUpgrade,
        }
    }

    /// The behaviour a message carries; `None` for unspecified (an unversioned run).
    pub fn from_proto(value: i32) -> Option<Self> {
        match enums::VersioningBehavior::try_from(value).ok()? {
            enums::VersioningBehavior::Pinned => Some(VersioningBehavior::Pinned),
            enums::VersioningBehavior::AutoUpgrade => Some(VersioningBehavior::AutoUpgrade),
            enums::VersioningBehavior::Unspecified => None,
        }
    }
}

/// Where a routing change sends work: one build of the deployment, or the workers that declare
/// no version. A build id converts into it (`"v2".into()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionTarget {
    /// The version with this build id.
    BuildId(String),
    /// Unversioned workers (those that poll without versioning).
    Unversioned,
}

impl VersionTarget {
    /// The build id field of a routing request: empty means unversioned workers.
    fn into_build_id(self) -> String {
        match self {
            VersionTarget::BuildId(id) => id,
            VersionTarget::Unversioned => String::new(),
        }
    }
}

impl From<&str> for VersionTarget {
    fn from(build_id: &str) -> Self {
        VersionTarget::BuildId(build_id.to_string())
    }
}

impl From<String> for VersionTarget {
    fn from(build_id: String) -> Self {
        VersionTarget::BuildId(build_id)
    }
}

/// The deployment's routing as one read saw it. Passed back in [`RoutingOptions`], it makes a
/// change fail with [`ClientError::DeploymentConflict`](crate::ClientError::DeploymentConflict)
/// when someone changed the routing in between.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictToken(pub(crate) Vec<u8>);

impl ConflictToken {
    /// The token's bytes, as the server issued them.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// How a routing change is made: its safety checks, and who makes it.
#[derive(Debug, Clone, Default)]
pub struct RoutingOptions {
    /// Refuse the change if the routing changed since this token was issued (by a describe or
    /// an earlier change); `None` changes it whatever it is now.
    pub conflict_token: Option<ConflictToken>,
    /// Make the change even if the new version does not poll every task queue the current one
    /// polls (by default the server refuses it, so that no queue is left without workers).
    pub ignore_missing_task_queues: bool,
    /// Make the change even if no worker of the new version has polled yet (by default the
    /// server refuses it, so that no task waits for workers that do not exist).
    pub allow_no_pollers: bool,
    /// Who makes the change, as the deployment records it (default: the client's identity).
    pub identity: Option<String>,
}

impl RoutingOptions {
    /// Refuses the change if the routing changed since `token` was issued.
    pub fn conflict_token(mut self, token: ConflictToken) -> Self {
        self.conflict_token = Some(token);
        self
    }

    /// See [`RoutingOptions::ignore_missing_task_queues`](#structfield.ignore_missing_task_queues).
    pub fn ignore_missing_task_queues(mut self, ignore: bool) -> Self {
        self.ignore_missing_task_queues = ignore;
        self
    }

    /// See [`RoutingOptions::allow_no_pollers`](#structfield.allow_no_pollers).
    pub fn allow_no_pollers(mut self, allow: bool) -> Self {
        self.allow_no_pollers = allow;
        self
    }

    /// Records `identity` as the one who made the change.
    pub fn identity(mut self, identity: impl Into<String>) -> Self {
        self.identity = Some(identity.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_read_empty_as_unversioned_and_show_as_the_search_attribute_does() {
        assert_eq!(WorkerDeploymentVersion::from_proto(None), None);
        let empty = pd::WorkerDeploymentVersion {
            build_id: String::new(),
            deployment_name: "shop".into(),
        };
        assert_eq!(WorkerDeploymentVersion::from_proto(Some(empty)), None);
        let v2 = WorkerDeploymentVersion::new("shop", "v2");
        assert_eq!(
            WorkerDeploymentVersion::from_proto(Some(v2.to_proto())),
            Some(v2.clone())
        );
        assert_eq!(v2.to_string(), "shop:v2");
    }

    #[test]
    fn behaviours_round_trip_and_unspecified_is_none() {
        for b in [VersioningBehavior::Pinned, VersioningBehavior::AutoUpgrade] {
            assert_eq!(VersioningBehavior::from_proto(b.to_proto() as i32), Some(b));
        }
        assert_eq!(VersioningBehavior::from_proto(0), None);
        assert_eq!(VersioningBehavior::from_proto(99), None);
    }

    #[test]
    fn unversioned_targets_are_the_empty_build_id() {
        assert_eq!(VersionTarget::from("v2").into_build_id(), "v2");
        assert_eq!(VersionTarget::Unversioned.into_build_id(), "");
    }
}
