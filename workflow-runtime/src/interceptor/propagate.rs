//! [`PropagateHeaders`]: a run's start headers carried on to what it starts.

use super::{WorkerInterceptor, WorkflowInterceptor, WorkflowOutbound};
use crate::client::proto::common::Payload;
use crate::workflow::WorkflowInfo;

/// Carries the named headers of each run's start on to everything the run issues that has
/// headers — activities, local activities, children, signals to other workflows and
/// continue-as-new — as the Go and Java SDKs' context propagators carry their context. A
/// header the call already has (set by an interceptor registered before) is kept.
///
/// Activities read them with [`ActivityContext::header`](crate::activity::ActivityContext::header),
/// children with [`WorkflowContext::header`](crate::workflow::WorkflowContext::header).
#[derive(Debug, Clone)]
pub struct PropagateHeaders {
    keys: Vec<String>,
}

impl PropagateHeaders {
    /// Carries the headers named `keys`.
    pub fn new<K: Into<String>>(keys: impl IntoIterator<Item = K>) -> Self {
        PropagateHeaders {
            keys: keys.into_iter().map(Into::into).collect(),
        }
    }
}

impl WorkerInterceptor for PropagateHeaders {
    fn workflow(&self, info: &WorkflowInfo) -> Option<Box<dyn WorkflowInterceptor>> {
        let carried: Vec<(String, Payload)> = self
            .keys
            .iter()
            .filter_map(|k| info.headers.get_payload(k).map(|p| (k.clone(), p.clone())))
            .collect();
        (!carried.is_empty()).then(|| Box::new(Carry(carried)) as Box<dyn WorkflowInterceptor>)
    }
}

/// The headers one run carries on.
struct Carry(Vec<(String, Payload)>);

impl WorkflowInterceptor for Carry {
    fn outbound(&mut self, call: &mut WorkflowOutbound<'_>) {
        let Some(headers) = call.headers.as_deref_mut() else {
            return;
        };
        for (key, value) in &self.0 {
            if headers.get_payload(key).is_none() {
                headers.insert_payload(key.clone(), value.clone());
            }
        }
    }
}
