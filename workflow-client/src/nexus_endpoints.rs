//! Nexus endpoints: the names workflows call Nexus operations through, routed by the server
//! to a namespace and task queue where a worker serves them (the operator API; what
//! `temporal operator nexus endpoint create` does).

use crate::client::Client;
use crate::error::ClientError;
use crate::proto::nexus as pn;
use crate::proto::operatorservice as os;

/// An endpoint as the server keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct NexusEndpoint {
    /// The server's id of the endpoint.
    pub id: String,
    /// Its version (for updates and deletes).
    pub version: i64,
    /// The name workflow code calls it by.
    pub name: String,
}

impl Client {
    /// Creates an endpoint named `name` that routes to `task_queue` in this client's
    /// namespace. An endpoint of that name already existing is
    /// [`ClientError::NexusEndpointAlreadyExists`].
    ///
    /// ```no_run
    /// # async fn demo(client: workflow_client::Client) -> Result<(), workflow_client::ClientError> {
    /// let endpoint = client.create_nexus_endpoint("inventory", "inventory-handlers").await?;
    /// // … workflow code calls operations through "inventory" …
    /// client.delete_nexus_endpoint(&endpoint).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_nexus_endpoint(&self, name: &str, task_queue: &str) -> Result<NexusEndpoint, ClientError> {
        let request = os::CreateNexusEndpointRequest {
            spec: Some(pn::EndpointSpec {
                name: name.to_string(),
                target: Some(pn::EndpointTarget {
                    variant: Some(pn::endpoint_target::Variant::Worker(pn::endpoint_target::Worker {
                        namespace: self.namespace().to_string(),
                        task_queue: task_queue.to_string(),
                    })),
                }),
                ..Default::default()
            }),
        };
        let response = self
            .call_operator(request, |mut s, r| async move { s.create_nexus_endpoint(r).await })
            .await
            .map_err(|e| match e.status.code() {
                tonic::Code::AlreadyExists => ClientError::NexusEndpointAlreadyExists { name: name.to_string() },
                _ => e.into_client_error(None),
            })?;
        let endpoint = response.endpoint.unwrap_or_default();
        Ok(NexusEndpoint {
            id: endpoint.id,
            version: endpoint.version,
            name: endpoint.spec.map(|s| s.name).unwrap_or_else(|| name.to_string()),
        })
    }

    /// Deletes `endpoint`.
    pub async fn delete_nexus_endpoint(&self, endpoint: &NexusEndpoint) -> Result<(), ClientError> {
        let request = os::DeleteNexusEndpointRequest {
            id: endpoint.id.clone(),
            version: endpoint.version,
        };
        self.call_operator(request, |mut s, r| async move { s.delete_nexus_endpoint(r).await })
            .await
            .map_err(|e| e.into_client_error(None))?;
        Ok(())
    }
}
