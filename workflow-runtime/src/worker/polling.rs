//! The poll loop both task kinds share: take a slot, long-poll, run the task on its own tokio
//! task while it holds the slot, back off after errors, stop at shutdown.

use super::metrics::PollerMetrics;
use crate::client::{ClientError, RpcError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, watch};

/// Pause after a failed poll (the client already retried transient errors).
const POLL_ERROR_BACKOFF: Duration = Duration::from_secs(1);

/// How long a poll in flight at shutdown may still deliver its task: the server may already
/// have handed one to it (it would otherwise wait for its timeout), and a server that knows
/// the worker is shutting down answers outstanding polls at once.
const SHUTDOWN_POLL_DRAIN: Duration = Duration::from_secs(1);

/// Polls until shutdown. `poll` returns `None` when the long poll ended without a task.
pub(super) async fn poll_loop<T, P, PFut, H, HFut>(
    what: &'static str,
    metrics: PollerMetrics,
    slots: Arc<Semaphore>,
    mut shutdown: watch::Receiver<bool>,
    poll: P,
    handle: H,
) where
    P: Fn() -> PFut,
    PFut: Future<Output = Result<Option<T>, RpcError>>,
    H: Fn(T) -> HFut,
    HFut: Future<Output = ()> + Send + 'static,
{
    loop {
        let permit = tokio::select! {
            biased;
            _ = shutdown.wait_for(|s| *s) => return,
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
        };
        let (polling, poll) = metrics.polling(poll());
        tokio::pin!(poll);
        let in_time = tokio::select! {
            biased;
            r = &mut poll => Some(r),
            _ = shutdown.wait_for(|s| *s) => None,
        };
        let polled = match in_time {
            Some(r) => r,
            None => {
                if let Ok(Ok(Some(task))) = tokio::time::timeout(SHUTDOWN_POLL_DRAIN, poll).await {
                    // Delivered as the worker stops: run it rather than lose it.
                    let work = handle(task);
                    tokio::spawn(async move {
                        work.await;
                        drop(permit);
                    });
                }
                return;
            }
        };
        drop(polling);
        match polled {
            Ok(None) => metrics.polled(false),
            Ok(Some(task)) => {
                metrics.polled(true);
                let work = handle(task);
                tokio::spawn(async move {
                    work.await;
                    drop(permit);
                });
            }
            Err(e) => {
                tracing::warn!(error = %ClientError::from(e), "{what} poll failed; retrying");
                tokio::select! {
                    _ = shutdown.wait_for(|s| *s) => return,
                    _ = tokio::time::sleep(POLL_ERROR_BACKOFF) => {}
                }
            }
        }
    }
}
