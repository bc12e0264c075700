//! Child workflows: a parent splits a batch into chunks and runs one child workflow per
//! chunk, all at once; each child has its own id and history, and the parent sums their
//! results. A child that fails surfaces in the parent with its cause.
//!
//! Wire names: task queue `child-workflows`; workflows `BatchWorkflow([n, …]) -> {"sum",
//! "failed"}` and `ChunkWorkflow([n, …]) -> sum` (children, ids `<parent id>-chunk-<i>`).

use serde::{Deserialize, Serialize};
use workflow_runtime::futures::future::join_all;
use workflow_runtime::prelude::*;

/// The task queue of this example.
pub const TASK_QUEUE: &str = "child-workflows";
/// Numbers per child.
pub const CHUNK: usize = 3;

/// What the parent reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Total {
    /// The sum of the chunks that succeeded.
    pub sum: u64,
    /// Why each failed chunk failed.
    pub failed: Vec<String>,
}

/// Sums a chunk; refuses a chunk holding 13.
#[workflow]
#[derive(Default)]
pub struct Chunk;

#[workflow(name = "ChunkWorkflow")]
impl Chunk {
    #[run]
    async fn run(_ctx: WorkflowContext<Self>, numbers: Vec<u64>) -> WorkflowResult<u64> {
        if numbers.contains(&13) {
            return Err(WorkflowError::non_retryable("13 is not summed", "Unlucky"));
        }
        Ok(numbers.iter().sum())
    }
}

/// Runs one child per chunk.
#[workflow]
#[derive(Default)]
pub struct Batch;

#[workflow(name = "BatchWorkflow")]
impl Batch {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, numbers: Vec<u64>) -> WorkflowResult<Total> {
        let me = ctx.info().workflow_id;
        let children = numbers.chunks(CHUNK).enumerate().map(|(i, chunk)| {
            ctx.child::<Chunk>(chunk.to_vec())
                .workflow_id(format!("{me}-chunk-{i}"))
                .into_future()
        });
        let mut total = Total {
            sum: 0,
            failed: Vec::new(),
        };
        for result in join_all(children).await {
            match result {
                Ok(sum) => total.sum += sum,
                Err(e) => total.failed.push(e.root_cause().message.clone()),
            }
        }
        Ok(total)
    }
}

/// The worker of this example.
pub fn worker(client: &Client) -> Result<Worker, workflow_runtime::worker::WorkerError> {
    Worker::builder(client, TASK_QUEUE)
        .workflow::<Batch>()
        .workflow::<Chunk>()
        .build()
}

/// Sums `numbers` in chunks.
pub async fn start(client: &Client, workflow_id: &str, numbers: Vec<u64>) -> Result<Total, ClientError> {
    Batch::execute(client, StartOptions::new(workflow_id, TASK_QUEUE), numbers).await
}
