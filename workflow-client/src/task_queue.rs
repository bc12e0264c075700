//! What the server knows about a task queue: the workers polling it, its backlog, and the
//! build ids serving it.
//!
//! ```no_run
//! # async fn demo(client: workflow_client::Client) -> Result<(), workflow_client::ClientError> {
//! let orders = client.describe_task_queue("orders").await?;
//! for poller in &orders.workflow.pollers {
//!     println!("{} polled at {:?}", poller.identity, poller.last_access_time);
//! }
//! if let Some(backlog) = &orders.activity.backlog {
//!     println!("{} activity tasks waiting, the oldest for {:?}", backlog.approximate_count, backlog.approximate_age);
//! }
//! # Ok(()) }
//! ```

use crate::client::Client;
use crate::error::ClientError;
use crate::proto::enums::{TaskQueueKind, TaskQueueType};
use crate::proto::taskqueue::{self as pt, TaskQueue};
use crate::proto::workflowservice::{self as ws, DescribeTaskQueueResponse};
use crate::time::{from_proto_duration, from_timestamp};
use std::time::{Duration, SystemTime};

/// A task queue, as [`Client::describe_task_queue`] tells it: one part per kind of task.
#[derive(Debug, Clone)]
pub struct TaskQueueDescription {
    /// The queue's name.
    pub name: String,
    /// Workflow tasks: the workers polling for them and their backlog.
    pub workflow: TaskQueueTypeDescription,
    /// Activity tasks: the workers polling for them and their backlog.
    pub activity: TaskQueueTypeDescription,
    /// Which worker deployment versions the server routes the queue's tasks to (`None`:
    /// unversioned workers).
    pub versioning: Option<TaskQueueVersioning>,
}

impl TaskQueueDescription {
    /// The build ids of the workers polling the queue (either kind of task), each once, in
    /// order of first appearance.
    pub fn build_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = Vec::new();
        for poller in self.workflow.pollers.iter().chain(&self.activity.pollers) {
            if let Some(id) = poller.build_id.as_deref()
                && !ids.contains(&id)
            {
                ids.push(id);
            }
        }
        ids
    }
}

/// One kind of task of a queue (workflow tasks or activity tasks).
#[derive(Debug, Clone)]
pub struct TaskQueueTypeDescription {
    /// The workers that polled for this kind of task recently (within about a minute).
    pub pollers: Vec<Poller>,
    /// The backlog, when the server reports it (Temporal Server 1.25 and later).
    pub backlog: Option<Backlog>,
    /// The whole response, for fields not summarized here.
    pub raw: DescribeTaskQueueResponse,
}

/// A worker polling a task queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Poller {
    /// The worker's identity (`pid@host` unless configured).
    pub identity: String,
    /// When it last polled.
    pub last_access_time: Option<SystemTime>,
    /// The tasks per second it asked the server to hand it at most (the server reports
    /// 100 000 when it asked for no limit).
    pub rate_per_second: f64,
    /// The build id it declared, when it takes part in worker versioning.
    pub build_id: Option<String>,
    /// The worker deployment it belongs to, when it declared one.
    pub deployment_name: Option<String>,
}

impl From<pt::PollerInfo> for Poller {
    fn from(p: pt::PollerInfo) -> Self {
        let non_empty = |s: String| (!s.is_empty()).then_some(s);
        let deployment = p.deployment_options.unwrap_or_default();
        #[allow(deprecated)] // Older workers declare their build id in the capabilities only.
        let legacy_build_id = p.worker_version_capabilities.map(|c| c.build_id);
        Poller {
            identity: p.identity,
            last_access_time: p.last_access_time.as_ref().map(from_timestamp),
            rate_per_second: p.rate_per_second,
            build_id: non_empty(deployment.build_id).or_else(|| legacy_build_id.and_then(non_empty)),
            deployment_name: non_empty(deployment.deployment_name),
        }
    }
}

/// Tasks waiting in a queue, and how fast they come and go (the server's approximations).
#[derive(Debug, Clone, PartialEq)]
pub struct Backlog {
    /// About how many tasks wait (sticky queues' tasks not counted).
    pub approximate_count: u64,
    /// About how long the oldest task has waited.
    pub approximate_age: Duration,
    /// Tasks added per second, averaged over the last 30 seconds.
    pub tasks_add_rate: f32,
    /// Tasks handed to workers per second, averaged over the last 30 seconds.
    pub tasks_dispatch_rate: f32,
}

impl From<pt::TaskQueueStats> for Backlog {
    fn from(s: pt::TaskQueueStats) -> Self {
        Backlog {
            approximate_count: s.approximate_backlog_count.max(0) as u64,
            approximate_age: s
                .approximate_backlog_age
                .as_ref()
                .map(from_proto_duration)
                .unwrap_or_default(),
            tasks_add_rate: s.tasks_add_rate,
            tasks_dispatch_rate: s.tasks_dispatch_rate,
        }
    }
}

/// Where the server routes a queue's tasks among worker deployment versions.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskQueueVersioning {
    /// The build id of the current version (`None`: unversioned workers).
    pub current_build_id: Option<String>,
    /// The build id of the ramping version, if any.
    pub ramping_build_id: Option<String>,
    /// The share of tasks routed to the ramping version, in percent.
    pub ramping_percentage: f32,
    /// When this routing last changed.
    pub update_time: Option<SystemTime>,
}

impl TaskQueueVersioning {
    /// The routing the server reported, `None` when it routes to unversioned workers only.
    fn from_info(v: pt::TaskQueueVersioningInfo) -> Option<Self> {
        let build_id = |d: Option<crate::proto::deployment::WorkerDeploymentVersion>| {
            d.map(|d| d.build_id).filter(|id| !id.is_empty())
        };
        let current_build_id = build_id(v.current_deployment_version);
        let ramping_build_id = build_id(v.ramping_deployment_version);
        (current_build_id.is_some() || ramping_build_id.is_some()).then(|| TaskQueueVersioning {
            current_build_id,
            ramping_build_id,
            ramping_percentage: v.ramping_version_percentage,
            // The server sends year 1 for "never".
            update_time: v.update_time.filter(|t| t.seconds > 0).as_ref().map(from_timestamp),
        })
    }
}

impl Client {
    /// Describes a task queue: for workflow tasks and for activity tasks, the workers polling
    /// it and its backlog; and the worker deployment versions its tasks are routed to.
    pub async fn describe_task_queue(&self, name: &str) -> Result<TaskQueueDescription, ClientError> {
        let (workflow, versioning) = self.describe_task_queue_type(name, TaskQueueType::Workflow).await?;
        let (activity, _) = self.describe_task_queue_type(name, TaskQueueType::Activity).await?;
        Ok(TaskQueueDescription {
            name: name.to_string(),
            workflow,
            activity,
            versioning: versioning.and_then(TaskQueueVersioning::from_info),
        })
    }

    async fn describe_task_queue_type(
        &self,
        name: &str,
        kind: TaskQueueType,
    ) -> Result<(TaskQueueTypeDescription, Option<pt::TaskQueueVersioningInfo>), ClientError> {
        let request = ws::DescribeTaskQueueRequest {
            namespace: self.namespace().to_string(),
            task_queue: Some(TaskQueue {
                name: name.to_string(),
                kind: TaskQueueKind::Normal as i32,
                normal_name: String::new(),
            }),
            task_queue_type: kind as i32,
            report_stats: true,
            ..Default::default()
        };
        let resp = self
            .call(request, None, |mut s, r| async move { s.describe_task_queue(r).await })
            .await?;
        let versioning = resp.versioning_info.clone();
        let description = TaskQueueTypeDescription {
            pollers: resp.pollers.iter().cloned().map(Poller::from).collect(),
            backlog: resp.stats.map(Backlog::from),
            raw: resp,
        };
        Ok((description, versioning))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::deployment::WorkerDeploymentOptions;

    #[test]
    fn pollers_read_their_build_id_from_either_declaration() {
        let versioned = pt::PollerInfo {
            identity: "1@a".into(),
            rate_per_second: 5.0,
            deployment_options: Some(WorkerDeploymentOptions {
                deployment_name: "shop".into(),
                build_id: "v2".into(),
                worker_versioning_mode: 0,
            }),
            ..Default::default()
        };
        #[allow(deprecated)]
        let legacy = pt::PollerInfo {
            identity: "2@b".into(),
            worker_version_capabilities: Some(crate::proto::common::WorkerVersionCapabilities {
                build_id: "v1".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let plain = pt::PollerInfo {
            identity: "3@c".into(),
            ..Default::default()
        };
        let description = TaskQueueDescription {
            name: "q".into(),
            workflow: TaskQueueTypeDescription {
                pollers: [versioned, legacy.clone()].into_iter().map(Poller::from).collect(),
                backlog: None,
                raw: Default::default(),
            },
            activity: TaskQueueTypeDescription {
                pollers: [legacy, plain].into_iter().map(Poller::from).collect(),
                backlog: None,
                raw: Default::default(),
            },
            versioning: None,
        };
        assert_eq!(description.build_ids(), ["v2", "v1"]);
        let first = &description.workflow.pollers[0];
        assert_eq!(first.deployment_name.as_deref(), Some("shop"));
        assert_eq!(first.rate_per_second, 5.0);
        assert_eq!(description.activity.pollers[1].build_id, None);
    }

    #[test]
    fn unversioned_routing_reads_as_none() {
        use crate::proto::deployment::WorkerDeploymentVersion;
        assert_eq!(
            TaskQueueVersioning::from_info(pt::TaskQueueVersioningInfo::default()),
            None
        );
        let ramping = pt::TaskQueueVersioningInfo {
            ramping_deployment_version: Some(WorkerDeploymentVersion {
                build_id: "v2".into(),
                deployment_name: "shop".into(),
            }),
            ramping_version_percentage: 25.0,
            ..Default::default()
        };
        let routing = TaskQueueVersioning::from_info(ramping).unwrap();
        assert_eq!(routing.current_build_id, None);
        assert_eq!(routing.ramping_build_id.as_deref(), Some("v2"));
        assert_eq!(routing.ramping_percentage, 25.0);
    }
}
