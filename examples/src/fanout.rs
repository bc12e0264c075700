//! Dynamic fan-out: the workflow learns at run time how many pieces of work there are, runs one
//! activity per piece, all at once, and gathers the results in order.
//!
//! Wire names: task queue `fanout`; workflow `FanOutWorkflow(["file", …]) -> {"files": n,
//! "words": total, "largest": "file"}`; activity `count_words("file") -> n`.

use serde::{Deserialize, Serialize};
use workflow_runtime::futures::future::join_all;
use workflow_runtime::prelude::*;

/// The task queue of this example.
pub const TASK_QUEUE: &str = "fanout";

/// What the workflow reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Files counted.
    pub files: usize,
    /// Words in all of them.
    pub words: u64,
    /// The file with the most words.
    pub largest: String,
}

/// Counts the words of one (made-up) file: its name's length times ten.
#[activity(start_to_close_timeout = "30s")]
pub async fn count_words(file: String) -> Result<u64, ActivityError> {
    Ok(file.len() as u64 * 10)
}

/// Counts the words of every file, one activity each, in parallel.
#[workflow]
#[derive(Default)]
pub struct FanOut;

#[workflow(name = "FanOutWorkflow")]
impl FanOut {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, files: Vec<String>) -> WorkflowResult<Report> {
        let counts = join_all(files.iter().map(|f| ctx.activity(count_words, f.clone()).into_future())).await;
        let mut words = 0;
        let mut largest = (0, String::new());
        for (file, count) in files.iter().zip(counts) {
            let count = count?;
            words += count;
            if count > largest.0 {
                largest = (count, file.clone());
            }
        }
        Ok(Report {
            files: files.len(),
            words,
            largest: largest.1,
        })
    }
}

/// The worker of this example.
pub fn worker(client: &Client) -> Result<Worker, workflow_runtime::worker::WorkerError> {
    Worker::builder(client, TASK_QUEUE)
        .workflow::<FanOut>()
        .activity(count_words)
        .build()
}

/// Runs the workflow over `n` files and returns its report.
pub async fn start(client: &Client, workflow_id: &str, n: usize) -> Result<Report, ClientError> {
    let files = (1..=n).map(|i| format!("chapter-{i}.txt")).collect();
    FanOut::execute(client, StartOptions::new(workflow_id, TASK_QUEUE), files).await
}
