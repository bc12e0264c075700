//! The poll loop every task kind shares: for each poll, wait for a task slot, a poller's turn
//! and the rate limit (activities); long-poll; hand a task out (after the rate limit, for
//! activities) to run on its own tokio task while it holds the slot. The scaler moves the
//! number of turns on what polls bring back; failed polls back off; shutdown stops it.

use super::metrics::PollerMetrics;
use super::tuning::{PollOutcome, PollScaler, PollerBehavior, RateLimiter, SlotPermit, Slots};
use crate::client::proto::workflowservice as ws;
use crate::client::{ClientError, LONG_POLL_TIMEOUT, RpcError};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Pause after a failed poll (the client already retried transient errors).
const POLL_ERROR_BACKOFF: Duration = Duration::from_secs(1);

/// How long a poll in flight at shutdown may still deliver its task: the server may already
/// have handed one to it (it would otherwise wait for its timeout), and a server that knows
/// the worker is shutting down answers outstanding polls at once.
const SHUTDOWN_POLL_DRAIN: Duration = Duration::from_secs(1);

/// A poll's answer: a task, or empty when the long poll ended without one.
pub(super) trait PollAnswer: Send + 'static {
    /// The long poll ended without a task.
    fn is_empty(&self) -> bool;
    /// The server's suggested change to the number of pollers, if it made one.
    fn suggestion(&self) -> Option<i32>;
}

macro_rules! poll_answer {
    ($($t:ty),*) => {$(
        impl PollAnswer for $t {
            fn is_empty(&self) -> bool {
                self.task_token.is_empty()
            }
            fn suggestion(&self) -> Option<i32> {
                self.poller_scaling_decision.as_ref().map(|d| d.poll_request_delta_suggestion)
            }
        }
    )*};
}
poll_answer!(
    ws::PollWorkflowTaskQueueResponse,
    ws::PollActivityTaskQueueResponse,
    ws::PollNexusTaskQueueResponse
);

/// Where the poll loops of a worker report a poll the server does not serve (UNIMPLEMENTED:
/// no retry changes it, e.g. the test environment refusing a versioned worker): the first
/// report stops the worker, and its run ends with that error rather than polling in vain.
#[derive(Clone)]
pub(crate) struct Refusals {
    first: Arc<std::sync::Mutex<Option<(&'static str, String)>>>,
    shutdown: Arc<watch::Sender<bool>>,
}

impl Refusals {
    pub(super) fn new(shutdown: Arc<watch::Sender<bool>>) -> Self {
        Refusals {
            first: Default::default(),
            shutdown,
        }
    }

    fn report(&self, what: &'static str, message: String) {
        tracing::error!(%message, "the server does not serve {what} polls; the worker stops");
        self.first
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert((what, message));
        self.shutdown.send_replace(true);
    }

    /// How the worker's run ends: with the first refusal, if a poll was refused.
    pub(super) fn outcome(&self) -> Result<(), super::WorkerError> {
        match self.first.lock().unwrap_or_else(|e| e.into_inner()).take() {
            Some((what, message)) => Err(super::WorkerError::PollRefused { what, message }),
            None => Ok(()),
        }
    }
}

/// What a poll loop polls with.
pub(super) struct PollSettings {
    /// The task kind, for logs.
    pub(super) what: &'static str,
    pub(super) metrics: PollerMetrics,
    pub(super) slots: Slots,
    pub(super) pollers: PollerBehavior,
    /// The worker's own limit on task starts (activities).
    pub(super) rate: Option<Arc<RateLimiter>>,
    pub(super) shutdown: watch::Receiver<bool>,
    pub(super) refusals: Refusals,
}

/// Polls until shutdown. `poll` makes one long poll with the deadline it is given.
pub(super) async fn poll_loop<T, P, PFut, H, HFut>(settings: PollSettings, poll: P, handle: H)
where
    T: PollAnswer,
    P: Fn(Duration) -> PFut,
    PFut: Future<Output = Result<T, RpcError>> + Send,
    H: Fn(T) -> HFut,
    HFut: Future<Output = ()> + Send + 'static,
{
    let PollSettings {
        what,
        metrics,
        slots,
        pollers,
        rate,
        mut shutdown,
        refusals,
    } = settings;
    let scaler = &PollScaler::new(pollers);
    let (slots, metrics, poll, limit) = (&slots, &metrics, &poll, rate.as_deref());
    let poll_shutdown = &shutdown.clone();
    let refusals = &refusals;
    let next_turn = move || async move {
        let slot = slots.acquire().await;
        let turn = scaler.turn().await;
        // Last, right before the poll: tasks other polls brought meanwhile count.
        if let Some(limit) = limit {
            limit.ready().await;
        }
        (slot, turn)
    };
    let one_poll = move |slot: SlotPermit, turn| {
        let (polling, call) = metrics.polling(poll(scaler.poll_timeout(LONG_POLL_TIMEOUT)));
        let mut shutdown = poll_shutdown.clone();
        async move {
            let polled = call.await;
            drop(polling);
            match polled {
                Ok(answer) => {
                    let (task, suggestion) = (!answer.is_empty(), answer.suggestion());
                    tracing::trace!(task, ?suggestion, "{what} poll answered");
                    scaler.observe(PollOutcome::Answered { task, suggestion });
                    metrics.polled(task);
                    drop(turn);
                    task.then_some((answer, slot))
                }
                Err(e) if e.status.code() == tonic::Code::Unimplemented => {
                    drop((slot, turn));
                    refusals.report(what, e.status.message().to_string());
                    None
                }
                Err(e) => {
                    let overloaded = e.status.code() == tonic::Code::ResourceExhausted;
                    scaler.observe(match overloaded {
                        true => PollOutcome::Overloaded,
                        false => PollOutcome::Failed,
                    });
                    drop(slot);
                    tracing::warn!(error = %ClientError::from(e), "{what} poll failed; retrying");
                    // The failed poll's turn is held through the pause.
                    tokio::select! {
                        _ = shutdown.wait_for(|s| *s) => {}
                        _ = tokio::time::sleep(POLL_ERROR_BACKOFF) => {}
                    }
                    drop(turn);
                    None
                }
            }
        }
    };
    let hand_out = |polled: Option<(T, SlotPermit)>| {
        let Some((task, slot)) = polled else { return };
        // Counted at once, so the next poll waits for this task's start.
        let start = rate.as_ref().map(|r| r.waiting());
        let work = handle(task);
        tokio::spawn(async move {
            if let Some(start) = start {
                start.start().await;
            }
            work.await;
            drop(slot);
        });
    };

    let mut polls = FuturesUnordered::new();
    let mut turn = std::pin::pin!(next_turn());
    loop {
        tokio::select! {
            biased;
            _ = shutdown.wait_for(|s| *s) => break,
            Some(polled) = polls.next(), if !polls.is_empty() => hand_out(polled),
            (slot, place) = &mut turn => {
                polls.push(one_poll(slot, place));
                turn.set(next_turn());
            }
        }
    }
    // Polls in flight at shutdown may still deliver (run those tasks rather than lose them).
    let drain = async {
        while let Some(polled) = polls.next().await {
            hand_out(polled);
        }
    };
    let _ = tokio::time::timeout(SHUTDOWN_POLL_DRAIN, drain).await;
}
