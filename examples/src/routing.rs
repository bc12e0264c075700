//! Task routing: the first activity downloads a file on whichever worker picks it up and
//! answers that worker's own task queue; the next activities are sent there, to use the file
//! it downloaded.
//!
//! Wire names: task queue `routing` (shared) plus one `routing-<host>` queue per worker;
//! workflow `ProcessFileWorkflow("url") -> "…"`; activities `download("url") ->
//! {"queue", "path"}` (shared queue), `checksum("path")` and `clean_up("path")` (the host's).

use serde::{Deserialize, Serialize};
use workflow_runtime::prelude::*;

/// The shared task queue of this example.
pub const TASK_QUEUE: &str = "routing";

/// Where a download landed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Download {
    /// The task queue only the downloading worker polls.
    pub queue: String,
    /// The file on that worker's disk.
    pub path: String,
}

/// One worker: its own queue name, and the files it holds.
pub struct Host {
    queue: String,
    files: std::sync::Mutex<std::collections::HashMap<String, String>>,
}

impl Host {
    /// A worker host named `name` (its queue is `routing-<name>`).
    pub fn new(name: &str) -> Self {
        Host {
            queue: format!("{TASK_QUEUE}-{name}"),
            files: Default::default(),
        }
    }
}

#[activities]
impl Host {
    /// Downloads `url` to this host's disk; answers the host's own queue.
    #[activity(start_to_close_timeout = "30s")]
    pub async fn download(&self, url: String) -> Result<Download, ActivityError> {
        let path = format!("/tmp/{}", url.rsplit('/').next().unwrap_or("file"));
        self.files
            .lock()
            .expect("files")
            .insert(path.clone(), format!("contents of {url}"));
        Ok(Download {
            queue: self.queue.clone(),
            path,
        })
    }

    /// Checksums a file this host holds (it fails anywhere else).
    #[activity(start_to_close_timeout = "30s", retry(maximum_attempts = 1))]
    pub async fn checksum(&self, path: String) -> Result<String, ActivityError> {
        let files = self.files.lock().expect("files");
        let contents = files
            .get(&path)
            .ok_or_else(|| ActivityError::non_retryable(format!("{path} is not on {}", self.queue), "NoFile"))?;
        Ok(format!(
            "{:08x} on {}",
            contents.len() * 2_654_435_761 % 4_294_967_296,
            self.queue
        ))
    }

    /// Deletes the file.
    #[activity(start_to_close_timeout = "30s")]
    pub async fn clean_up(&self, path: String) -> Result<(), ActivityError> {
        self.files.lock().expect("files").remove(&path);
        Ok(())
    }
}

/// Downloads on any worker, then works on the file on that worker.
#[workflow]
#[derive(Default)]
pub struct ProcessFile;

#[workflow(name = "ProcessFileWorkflow")]
impl ProcessFile {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, url: String) -> WorkflowResult<String> {
        let download = ctx.activity(HostDownload, url).await?;
        let sum = ctx
            .activity(HostChecksum, download.path.clone())
            .task_queue(&download.queue)
            .await?;
        ctx.activity(HostCleanUp, download.path)
            .task_queue(&download.queue)
            .await?;
        Ok(sum)
    }
}

/// A worker for host `name`: one worker on the shared queue (the workflow and downloads) and
/// one on the host's own queue (the file work); run both.
pub fn workers(client: &Client, name: &str) -> Result<(Worker, Worker), workflow_runtime::worker::WorkerError> {
    let host = std::sync::Arc::new(Host::new(name));
    let shared = Worker::builder(client, TASK_QUEUE)
        .workflow::<ProcessFile>()
        .activities(host.clone())
        .build()?;
    let own = Worker::builder(client, &host.queue).activities(host).build()?;
    Ok((shared, own))
}

/// Processes one file; returns the checksum line (which names the host queue).
pub async fn start(client: &Client, workflow_id: &str, url: &str) -> Result<String, ClientError> {
    ProcessFile::execute(client, StartOptions::new(workflow_id, TASK_QUEUE), url.to_string()).await
}
