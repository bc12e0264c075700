//! The worker deployment calls: a [`WorkerDeploymentHandle`] from [`Client::worker_deployment`].

use super::{
    ConflictToken, RoutingOptions, VersionTarget, WorkerDeploymentDescription, WorkerDeploymentVersion,
    WorkerDeploymentVersionDescription,
};
use crate::client::{Client, RpcError, WorkflowService};
use crate::error::ClientError;
use crate::proto::workflowservice as ws;

/// The request of a routing change (two message types with the same fields): `$request` of
/// `$handle`'s deployment for a [`VersionTarget`], with the checks of [`RoutingOptions`] (the
/// client's identity unless another is given), and further fields by name.
macro_rules! routing_request {
    ($request:ident, $handle:expr, $target:expr, $options:expr $(, $field:ident)*) => {{
        let (handle, target, options): (&WorkerDeploymentHandle, VersionTarget, RoutingOptions) =
            ($handle, $target, $options);
        ws::$request {
            namespace: handle.client.namespace().to_string(),
            deployment_name: handle.name.clone(),
            build_id: target.into_build_id(),
            conflict_token: options.conflict_token.map(|t| t.0).unwrap_or_default(),
            identity: options.identity.unwrap_or_else(|| handle.client.identity().to_string()),
            ignore_missing_task_queues: options.ignore_missing_task_queues,
            allow_no_pollers: options.allow_no_pollers,
            $($field,)*
            ..Default::default()
        }
    }};
}

/// A handle to one worker deployment, by name. Cheap to clone.
#[derive(Debug, Clone)]
pub struct WorkerDeploymentHandle {
    client: Client,
    name: String,
}

impl Client {
    /// A handle to the worker deployment `name` (the server creates it when a worker of it
    /// first polls).
    pub fn worker_deployment(&self, name: impl Into<String>) -> WorkerDeploymentHandle {
        WorkerDeploymentHandle {
            client: self.clone(),
            name: name.into(),
        }
    }
}

impl RpcError {
    fn into_deployment_error(self, deployment_name: &str) -> ClientError {
        crate::error::deployment_error(self.status, self.attempts, deployment_name)
    }
}

impl WorkerDeploymentHandle {
    /// The deployment's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The deployment's routing (current and ramping versions) and its versions with their
    /// status. A deployment no worker has polled for is [`ClientError::NotFound`].
    pub async fn describe(&self) -> Result<WorkerDeploymentDescription, ClientError> {
        let request = ws::DescribeWorkerDeploymentRequest {
            namespace: self.client.namespace().to_string(),
            deployment_name: self.name.clone(),
        };
        self.client
            .call(request, None, |mut s, r| async move {
                s.describe_worker_deployment(r).await
            })
            .await
            .map(WorkerDeploymentDescription::from)
            .map_err(|e| e.into_deployment_error(&self.name))
    }

    /// One version of the deployment: its status, its drainage once it no longer gets new
    /// work, and the task queues its workers poll.
    pub async fn describe_version(&self, build_id: &str) -> Result<WorkerDeploymentVersionDescription, ClientError> {
        let request = ws::DescribeWorkerDeploymentVersionRequest {
            namespace: self.client.namespace().to_string(),
            deployment_version: Some(WorkerDeploymentVersion::new(&self.name, build_id).to_proto()),
            ..Default::default()
        };
        self.client
            .call(request, None, |mut s, r| async move {
                s.describe_worker_deployment_version(r).await
            })
            .await
            .map(WorkerDeploymentVersionDescription::from)
            .map_err(|e| e.into_deployment_error(&self.name))
    }

    /// Makes `target` the current version: new runs start on it, and the next tasks of
    /// auto-upgrade runs go to it; pinned runs stay where they are. Returns the routing's new
    /// token. By default the server refuses a version no worker has polled yet, or one that
    /// does not poll every task queue the current version polls (see [`RoutingOptions`]).
    ///
    /// ```no_run
    /// # async fn demo(client: workflow_client::Client) -> Result<(), workflow_client::ClientError> {
    /// use workflow_client::deployment::RoutingOptions;
    /// let shop = client.worker_deployment("shop");
    /// let seen = shop.describe().await?;
    /// // Fails with `DeploymentConflict` if someone changed the routing since `describe`.
    /// shop.set_current_version("v2", RoutingOptions::default().conflict_token(seen.conflict_token))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_current_version(
        &self,
        target: impl Into<VersionTarget>,
        options: RoutingOptions,
    ) -> Result<ConflictToken, ClientError> {
        let request = routing_request!(SetWorkerDeploymentCurrentVersionRequest, self, target.into(), options);
        let call = |mut s: WorkflowService, r| async move { s.set_worker_deployment_current_version(r).await };
        self.routed(self.client.call(request, None, call).await.map(|r| r.conflict_token))
    }

    /// Sends `percentage` percent (0 to 100) of new runs and of auto-upgrade runs' next tasks to
    /// `target` instead of the current version, which runs are chosen by their workflow id.
    /// 100 % still leaves the current version current; [`set_current_version`](Self::set_current_version)
    /// promotes it. Returns the routing's new token.
    pub async fn set_ramping_version(
        &self,
        target: impl Into<VersionTarget>,
        percentage: f32,
        options: RoutingOptions,
    ) -> Result<ConflictToken, ClientError> {
        if !(0.0..=100.0).contains(&percentage) {
            return Err(ClientError::InvalidArgument(format!(
                "a ramp percentage is between 0 and 100, not {percentage}"
            )));
        }
        self.ramp(target.into(), percentage, options).await
    }

    /// Ends the ramp: all new work goes to the current version again. Returns the routing's
    /// new token.
    pub async fn unset_ramping_version(&self, options: RoutingOptions) -> Result<ConflictToken, ClientError> {
        // No ramping version and no percentage: what the CLI's `set-ramping-version --delete` sends.
        self.ramp(VersionTarget::Unversioned, 0.0, options).await
    }

    async fn ramp(
        &self,
        target: VersionTarget,
        percentage: f32,
        options: RoutingOptions,
    ) -> Result<ConflictToken, ClientError> {
        let request = routing_request!(
            SetWorkerDeploymentRampingVersionRequest,
            self,
            target,
            options,
            percentage
        );
        let call = |mut s: WorkflowService, r| async move { s.set_worker_deployment_ramping_version(r).await };
        self.routed(self.client.call(request, None, call).await.map(|r| r.conflict_token))
    }

    /// A routing change's outcome: the routing's new token, or the error named by the
    /// deployment.
    fn routed(&self, answer: Result<Vec<u8>, RpcError>) -> Result<ConflictToken, ClientError> {
        answer
            .map(ConflictToken)
            .map_err(|e| e.into_deployment_error(&self.name))
    }
}
