//! A perpetual workflow: it runs forever, one "day" at a time, and continues as new every few
//! days so its history stays short; its state (the running total) travels in the input.
//!
//! Wire names: task queue `perpetual`; workflow `MeterWorkflow({"day": 0, "total": 0,
//! "stop_after": 10}) -> total`; query `day`; activity `read_meter(day) -> units`.

use serde::{Deserialize, Serialize};
use workflow_runtime::prelude::*;

/// The task queue of this example.
pub const TASK_QUEUE: &str = "perpetual";
/// Days per run before continuing as new.
pub const DAYS_PER_RUN: u64 = 3;

/// What one run hands to the next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Carry {
    /// Days done so far, across runs.
    pub day: u64,
    /// Units read so far.
    pub total: u64,
    /// When to stop (a real meter would not; the example must end).
    pub stop_after: u64,
}

/// Reads the meter of one day.
#[activity(start_to_close_timeout = "10s")]
pub async fn read_meter(day: u64) -> Result<u64, ActivityError> {
    Ok(day % 7 + 1)
}

/// Reads a meter every day, forever (until `stop_after`).
#[workflow]
#[derive(Default)]
pub struct Meter {
    day: u64,
}

#[workflow(name = "MeterWorkflow")]
impl Meter {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, carry: Carry) -> WorkflowResult<u64> {
        let mut carry = carry;
        for _ in 0..DAYS_PER_RUN {
            if carry.day >= carry.stop_after {
                return Ok(carry.total);
            }
            carry.total += ctx.activity(read_meter, carry.day).await?;
            carry.day += 1;
            ctx.state_mut(|s| s.day = carry.day);
            ctx.sleep(Duration::from_secs(86_400)).await?;
        }
        Err(ctx.continue_as_new(carry))
    }

    /// The day the current run is at.
    #[query]
    fn day(&self) -> u64 {
        self.day
    }
}

/// The worker of this example.
pub fn worker(client: &Client) -> Result<Worker, workflow_runtime::worker::WorkerError> {
    Worker::builder(client, TASK_QUEUE)
        .workflow::<Meter>()
        .activity(read_meter)
        .build()
}

/// Starts the meter for `days` days; returns its handle (its result follows the chain).
pub async fn start(client: &Client, workflow_id: &str, days: u64) -> Result<MeterHandle, ClientError> {
    let carry = Carry {
        day: 0,
        total: 0,
        stop_after: days,
    };
    Meter::start(client, StartOptions::new(workflow_id, TASK_QUEUE), carry).await
}
