//! What the server tells about a worker deployment and its versions: where it routes work,
//! each version's status, and how far a version no longer routed to has drained.

use super::{ConflictToken, WorkerDeploymentVersion};
use crate::proto::deployment::{self as pd, worker_deployment_info::WorkerDeploymentVersionSummary};
use crate::proto::enums::{self, RoutingConfigUpdateState, TaskQueueType};
use crate::proto::workflowservice::{DescribeWorkerDeploymentResponse, DescribeWorkerDeploymentVersionResponse};
use crate::time::from_timestamp;
use std::time::SystemTime;

/// A worker deployment, as [`describe`](super::WorkerDeploymentHandle::describe) tells it.
#[derive(Debug, Clone)]
pub struct WorkerDeploymentDescription {
    /// The deployment's name.
    pub name: String,
    /// When the server first saw a worker of it.
    pub create_time: Option<SystemTime>,
    /// The version that gets new runs and the next tasks of auto-upgrade runs (`None`:
    /// unversioned workers do).
    pub current_version: Option<WorkerDeploymentVersion>,
    /// The version that gets a share of that work instead, if any (`None` with a non-zero
    /// percentage: unversioned workers do).
    pub ramping_version: Option<WorkerDeploymentVersion>,
    /// The share of new work sent to the ramping version, in percent.
    pub ramping_percentage: f32,
    /// Whether the latest routing change has reached every task queue of the deployment (until
    /// then, some queues still route as before).
    pub routing_propagated: bool,
    /// The versions the server keeps for the deployment.
    pub versions: Vec<VersionSummary>,
    /// Who made the latest routing change.
    pub last_modifier_identity: String,
    /// The routing this description read, for a change that must not undo another's.
    pub conflict_token: ConflictToken,
    /// The whole response, for fields not read here.
    pub raw: DescribeWorkerDeploymentResponse,
}

impl From<DescribeWorkerDeploymentResponse> for WorkerDeploymentDescription {
    fn from(raw: DescribeWorkerDeploymentResponse) -> Self {
        let info = raw.worker_deployment_info.clone().unwrap_or_default();
        let routing = info.routing_config.unwrap_or_default();
        WorkerDeploymentDescription {
            name: info.name,
            create_time: info.create_time.as_ref().map(from_timestamp),
            current_version: WorkerDeploymentVersion::from_proto(routing.current_deployment_version),
            ramping_version: WorkerDeploymentVersion::from_proto(routing.ramping_deployment_version),
            ramping_percentage: routing.ramping_version_percentage,
            // Servers before the state existed report it unspecified: nothing to wait for.
            routing_propagated: info.routing_config_update_state != RoutingConfigUpdateState::InProgress as i32,
            versions: info.version_summaries.into_iter().map(VersionSummary::from).collect(),
            last_modifier_identity: info.last_modifier_identity,
            conflict_token: ConflictToken(raw.conflict_token.clone()),
            raw,
        }
    }
}

impl WorkerDeploymentDescription {
    /// The summary of the version with `build_id`, if the deployment has it.
    pub fn version(&self, build_id: &str) -> Option<&VersionSummary> {
        self.versions.iter().find(|v| v.version.build_id == build_id)
    }
}

/// Where a version stands in its deployment's routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VersionStatus {
    /// Its workers have polled, but it has never had work routed to it (or only runs pinned to
    /// it explicitly).
    Inactive,
    /// It is the current version.
    Current,
    /// It is the ramping version.
    Ramping,
    /// It no longer gets new work, and pinned runs are still open on it: keep its workers.
    Draining,
    /// It no longer gets new work and no pinned run is open on it: its workers may go (unless
    /// closed runs on it are still queried).
    Drained,
    /// It was created through the API and no worker of it has polled yet.
    Created,
    /// A status this client does not know.
    Unspecified,
}

impl VersionStatus {
    fn from_proto(value: i32) -> Self {
        use enums::WorkerDeploymentVersionStatus as S;
        match S::try_from(value).unwrap_or(S::Unspecified) {
            S::Inactive => VersionStatus::Inactive,
            S::Current => VersionStatus::Current,
            S::Ramping => VersionStatus::Ramping,
            S::Draining => VersionStatus::Draining,
            S::Drained => VersionStatus::Drained,
            S::Created => VersionStatus::Created,
            S::Unspecified => VersionStatus::Unspecified,
        }
    }
}

/// Whether pinned runs are still open on a version that no longer gets new work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DrainageStatus {
    /// Pinned runs are open on it.
    Draining,
    /// No pinned run is open on it.
    Drained,
}

/// How far a version that is neither current nor ramping has drained. The server refreshes it
/// periodically (every few minutes by default), not on each run's close.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionDrainage {
    /// Draining or drained.
    pub status: DrainageStatus,
    /// When the status last changed.
    pub last_changed_time: Option<SystemTime>,
    /// When the server last counted the version's open pinned runs.
    pub last_checked_time: Option<SystemTime>,
}

impl VersionDrainage {
    fn from_proto(info: Option<pd::VersionDrainageInfo>) -> Option<Self> {
        let info = info?;
        let status = match enums::VersionDrainageStatus::try_from(info.status).ok()? {
            enums::VersionDrainageStatus::Draining => DrainageStatus::Draining,
            enums::VersionDrainageStatus::Drained => DrainageStatus::Drained,
            enums::VersionDrainageStatus::Unspecified => return None,
        };
        Some(VersionDrainage {
            status,
            last_changed_time: info.last_changed_time.as_ref().map(from_timestamp),
            last_checked_time: info.last_checked_time.as_ref().map(from_timestamp),
        })
    }
}

/// One version of a deployment, as the deployment's description lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionSummary {
    /// The version.
    pub version: WorkerDeploymentVersion,
    /// Where it stands in the routing.
    pub status: VersionStatus,
    /// How far it has drained (only once it is neither current nor ramping).
    pub drainage: Option<VersionDrainage>,
    /// When the server first saw a worker of it.
    pub create_time: Option<SystemTime>,
}

impl From<WorkerDeploymentVersionSummary> for VersionSummary {
    fn from(s: WorkerDeploymentVersionSummary) -> Self {
        VersionSummary {
            version: WorkerDeploymentVersion::from_proto(s.deployment_version)
                .unwrap_or_else(|| WorkerDeploymentVersion::new("", "")),
            status: VersionStatus::from_proto(s.status),
            drainage: VersionDrainage::from_proto(s.drainage_info),
            create_time: s.create_time.as_ref().map(from_timestamp),
        }
    }
}

/// One version of a deployment, as
/// [`describe_version`](super::WorkerDeploymentHandle::describe_version) tells it.
#[derive(Debug, Clone)]
pub struct WorkerDeploymentVersionDescription {
    /// The version.
    pub version: WorkerDeploymentVersion,
    /// Where it stands in the routing.
    pub status: VersionStatus,
    /// How far it has drained (only once it is neither current nor ramping).
    pub drainage: Option<VersionDrainage>,
    /// The share of new work it gets while ramping, in percent.
    pub ramp_percentage: f32,
    /// Since when it is current, if it is.
    pub current_since_time: Option<SystemTime>,
    /// Since when it is ramping, if it is.
    pub ramping_since_time: Option<SystemTime>,
    /// The task queues its workers have polled, with the kind of task.
    pub task_queues: Vec<(String, TaskQueueType)>,
    /// The whole response, for fields not read here.
    pub raw: DescribeWorkerDeploymentVersionResponse,
}

impl From<DescribeWorkerDeploymentVersionResponse> for WorkerDeploymentVersionDescription {
    fn from(raw: DescribeWorkerDeploymentVersionResponse) -> Self {
        let info = raw.worker_deployment_version_info.clone().unwrap_or_default();
        WorkerDeploymentVersionDescription {
            version: WorkerDeploymentVersion::from_proto(info.deployment_version)
                .unwrap_or_else(|| WorkerDeploymentVersion::new("", "")),
            status: VersionStatus::from_proto(info.status),
            drainage: VersionDrainage::from_proto(info.drainage_info),
            ramp_percentage: info.ramp_percentage,
            current_since_time: info.current_since_time.as_ref().map(from_timestamp),
            ramping_since_time: info.ramping_since_time.as_ref().map(from_timestamp),
            task_queues: raw
                .version_task_queues
                .iter()
                .map(|q| {
                    let kind = TaskQueueType::try_from(q.r#type).unwrap_or(TaskQueueType::Unspecified);
                    (q.name.clone(), kind)
                })
                .collect(),
            raw,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::deployment::{RoutingConfig, VersionDrainageInfo, WorkerDeploymentInfo};

    fn summary(build_id: &str, status: enums::WorkerDeploymentVersionStatus) -> WorkerDeploymentVersionSummary {
        WorkerDeploymentVersionSummary {
            deployment_version: Some(WorkerDeploymentVersion::new("shop", build_id).to_proto()),
            status: status as i32,
            ..Default::default()
        }
    }

    #[test]
    fn a_deployment_reads_its_routing_versions_and_token() {
        let mut draining = summary("v1", enums::WorkerDeploymentVersionStatus::Draining);
        draining.drainage_info = Some(VersionDrainageInfo {
            status: enums::VersionDrainageStatus::Draining as i32,
            ..Default::default()
        });
        let raw = DescribeWorkerDeploymentResponse {
            conflict_token: vec![7, 7],
            worker_deployment_info: Some(WorkerDeploymentInfo {
                name: "shop".into(),
                version_summaries: vec![draining, summary("v2", enums::WorkerDeploymentVersionStatus::Current)],
                routing_config: Some(RoutingConfig {
                    current_deployment_version: Some(WorkerDeploymentVersion::new("shop", "v2").to_proto()),
                    ramping_version_percentage: 0.0,
                    ..Default::default()
                }),
                routing_config_update_state: RoutingConfigUpdateState::InProgress as i32,
                ..Default::default()
            }),
        };
        let d = WorkerDeploymentDescription::from(raw);
        assert_eq!(d.name, "shop");
        assert_eq!(d.current_version, Some(WorkerDeploymentVersion::new("shop", "v2")));
        assert_eq!(d.ramping_version, None);
        assert!(!d.routing_propagated);
        assert_eq!(d.conflict_token.as_bytes(), [7, 7]);
        assert_eq!(d.version("v2").map(|v| v.status), Some(VersionStatus::Current));
        let v1 = d.version("v1").expect("v1 listed");
        assert_eq!(v1.status, VersionStatus::Draining);
        assert_eq!(v1.drainage.as_ref().map(|d| d.status), Some(DrainageStatus::Draining));
        assert!(d.version("v3").is_none());
    }

    #[test]
    fn unspecified_drainage_is_none() {
        assert_eq!(VersionDrainage::from_proto(Some(VersionDrainageInfo::default())), None);
        assert_eq!(VersionDrainage::from_proto(None), None);
    }
}
