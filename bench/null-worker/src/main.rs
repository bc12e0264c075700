//! The "null" bench worker: the least work a worker can do for the bench workflows, the ceiling
//! column of `cargo xtask bench`. It speaks raw gRPC through `workflow-client`'s generated
//! client (no SDK engine, no workflow code): each workflow task is answered with the commands
//! the bench workflows would send, worked out from the history's events, and each activity
//! with `n + 1` at once.
//!
//! It does what the best worker does to ask the server for little: a sticky queue (a run's
//! next tasks carry only the new events, and the run's state stays here), eager activities (the
//! answer that schedules `step` asks for the activity task back, and it is answered at once),
//! pollers that poll again while the previous task is answered, and the same connection
//! settings as this project's client. `BENCH_NULL_POLLERS` sets the polls kept open on the
//! normal and on the sticky workflow queue (8 each by default); two poll the activity queue
//! for any activity the server did not hand back eagerly.
//!
//! Contract (`bench/README.md`): `null-worker worker TASK_QUEUE` prints `ready` once it polls
//! and stops when a line arrives on stdin (or stdin closes). It runs the contract's three
//! workflows; it has no `replay` or `testenv` (there is no workflow code to run).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use workflow_client::proto::command::{Command, command::Attributes as Cmd};
use workflow_client::proto::command::{
    CompleteWorkflowExecutionCommandAttributes, FailWorkflowExecutionCommandAttributes,
    ScheduleActivityTaskCommandAttributes, StartTimerCommandAttributes,
};
use workflow_client::proto::common::{ActivityType, Payload, Payloads, WorkflowExecution, WorkflowType};
use workflow_client::proto::enums::{CommandType, HistoryEventFilterType, TaskQueueKind};
use workflow_client::proto::failure::Failure;
use workflow_client::proto::history::{HistoryEvent, history_event::Attributes as Event};
use workflow_client::proto::taskqueue::{StickyExecutionAttributes, TaskQueue};
use workflow_client::proto::workflowservice as ws;
use workflow_client::time::to_proto_duration;
use workflow_client::{Client, ClientOptions, LONG_POLL_TIMEOUT, WorkflowService};

/// How long a task on the sticky queue waits for this worker (this project's default).
const STICKY_TIMEOUT: Duration = Duration::from_secs(5);

/// A run's state, folded from its history's events.
#[derive(Default)]
struct Run {
    workflow: String,
    args: Vec<u64>,
    /// The last activity's result (`n`).
    value: u64,
    /// Activities and timers scheduled so far (their ids count up from 1).
    scheduled: u64,
    timers_fired: u64,
    /// An activity or timer is pending: nothing to do until it ends.
    waiting: bool,
}

impl Run {
    fn apply(&mut self, event: &HistoryEvent) {
        match &event.attributes {
            Some(Event::WorkflowExecutionStartedEventAttributes(a)) => {
                self.workflow = a.workflow_type.as_ref().map(|t| t.name.clone()).unwrap_or_default();
                self.args = a.input.iter().flat_map(|p| &p.payloads).map(number).collect();
            }
            Some(Event::ActivityTaskScheduledEventAttributes(_) | Event::TimerStartedEventAttributes(_)) => {
                self.scheduled += 1;
                self.waiting = true;
            }
            Some(Event::ActivityTaskCompletedEventAttributes(a)) => {
                self.value = a
                    .result
                    .iter()
                    .flat_map(|p| &p.payloads)
                    .map(number)
                    .next()
                    .unwrap_or(0);
                self.waiting = false;
            }
            Some(Event::TimerFiredEventAttributes(_)) => {
                self.timers_fired += 1;
                self.waiting = false;
            }
            _ => {}
        }
    }

    /// The command the workflow's code would send now, if any.
    fn next_command(&self, task_queue: &str) -> Option<Command> {
        if self.waiting {
            return None;
        }
        let arg = |i: usize| self.args.get(i).copied().unwrap_or(0);
        let id = (self.scheduled + 1).to_string();
        let timer = |seconds: u64| StartTimerCommandAttributes {
            timer_id: id.clone(),
            start_to_fire_timeout: Some(to_proto_duration(Duration::from_secs(seconds))),
        };
        Some(match self.workflow.as_str() {
            "BenchSequential" if self.value < arg(0) => command(
                CommandType::ScheduleActivityTask,
                Cmd::ScheduleActivityTaskCommandAttributes(ScheduleActivityTaskCommandAttributes {
                    activity_id: id.clone(),
                    activity_type: Some(ActivityType { name: "step".into() }),
                    task_queue: Some(TaskQueue {
                        name: task_queue.to_string(),
                        kind: TaskQueueKind::Normal as i32,
                        ..Default::default()
                    }),
                    input: Some(payloads(&self.value.to_string())),
                    start_to_close_timeout: Some(to_proto_duration(Duration::from_secs(30))),
                    request_eager_execution: true,
                    ..Default::default()
                }),
            ),
            "BenchSequential" => complete(&self.value.to_string()),
            "BenchIdle" if self.timers_fired == 0 => {
                command(CommandType::StartTimer, Cmd::StartTimerCommandAttributes(timer(86_400)))
            }
            "BenchIdle" => complete("null"),
            "BenchTimers" if self.timers_fired < arg(0) => {
                command(CommandType::StartTimer, Cmd::StartTimerCommandAttributes(timer(arg(1))))
            }
            "BenchTimers" => complete(&arg(0).to_string()),
            other => command(
                CommandType::FailWorkflowExecution,
                Cmd::FailWorkflowExecutionCommandAttributes(FailWorkflowExecutionCommandAttributes {
                    failure: Some(Failure {
                        message: format!("the null worker does not run workflow type `{other}`"),
                        ..Default::default()
                    }),
                }),
            ),
        })
    }
}

fn command(kind: CommandType, attributes: Cmd) -> Command {
    Command {
        command_type: kind as i32,
        attributes: Some(attributes),
        ..Default::default()
    }
}

fn complete(json: &str) -> Command {
    command(
        CommandType::CompleteWorkflowExecution,
        Cmd::CompleteWorkflowExecutionCommandAttributes(CompleteWorkflowExecutionCommandAttributes {
            result: Some(payloads(json)),
        }),
    )
}

/// One `json/plain` payload, the standard encoding every SDK reads.
fn payloads(json: &str) -> Payloads {
    Payloads {
        payloads: vec![Payload {
            metadata: [("encoding".to_string(), b"json/plain".to_vec())].into(),
            data: json.as_bytes().to_vec(),
            ..Default::default()
        }],
    }
}

/// A `json/plain` number (the bench's only argument type); 0 for anything else.
fn number(payload: &Payload) -> u64 {
    std::str::from_utf8(&payload.data)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

struct NullWorker {
    service: WorkflowService,
    namespace: String,
    task_queue: String,
    sticky_queue: String,
    identity: String,
    instance_key: String,
    /// The runs whose next tasks come to the sticky queue.
    runs: Mutex<HashMap<String, Run>>,
}

impl NullWorker {
    fn queue(&self, sticky: bool) -> TaskQueue {
        match sticky {
            true => TaskQueue {
                name: self.sticky_queue.clone(),
                kind: TaskQueueKind::Sticky as i32,
                normal_name: self.task_queue.clone(),
            },
            false => TaskQueue {
                name: self.task_queue.clone(),
                kind: TaskQueueKind::Normal as i32,
                ..Default::default()
            },
        }
    }

    fn runs(&self) -> std::sync::MutexGuard<'_, HashMap<String, Run>> {
        self.runs.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn poll_workflow_tasks(self: Arc<Self>, sticky: bool) {
        loop {
            let mut request = tonic::Request::new(ws::PollWorkflowTaskQueueRequest {
                namespace: self.namespace.clone(),
                task_queue: Some(self.queue(sticky)),
                identity: self.identity.clone(),
                worker_instance_key: self.instance_key.clone(),
                ..Default::default()
            });
            request.set_timeout(LONG_POLL_TIMEOUT);
            match self.service.clone().poll_workflow_task_queue(request).await {
                Ok(task) if !task.get_ref().task_token.is_empty() => {
                    tokio::spawn(self.clone().workflow_task(task.into_inner()));
                }
                Ok(_) => {}
                Err(e) => failed("workflow task poll", e).await,
            }
        }
    }

    async fn poll_activity_tasks(self: Arc<Self>) {
        loop {
            let mut request = tonic::Request::new(ws::PollActivityTaskQueueRequest {
                namespace: self.namespace.clone(),
                task_queue: Some(self.queue(false)),
                identity: self.identity.clone(),
                worker_instance_key: self.instance_key.clone(),
                ..Default::default()
            });
            request.set_timeout(LONG_POLL_TIMEOUT);
            match self.service.clone().poll_activity_task_queue(request).await {
                Ok(task) if !task.get_ref().task_token.is_empty() => {
                    tokio::spawn(self.clone().activity_task(task.into_inner()));
                }
                Ok(_) => {}
                Err(e) => failed("activity task poll", e).await,
            }
        }
    }

    /// Folds the task's events into the run's state and answers with the next command. A task
    /// that does not start at event 1 continues the cached run; a run missing here (not
    /// expected: nothing is evicted) is rebuilt from its whole history.
    async fn workflow_task(self: Arc<Self>, mut task: ws::PollWorkflowTaskQueueResponse) {
        let execution = task.workflow_execution.clone().unwrap_or_default();
        let mut events = task.history.take().map(|h| h.events).unwrap_or_default();
        if !task.next_page_token.is_empty() {
            events.extend(
                self.history(&execution, std::mem::take(&mut task.next_page_token))
                    .await,
            );
        }
        let starts_history = events.first().is_some_and(|e| e.event_id == 1);
        let cached = (!starts_history)
            .then(|| self.runs().remove(&execution.run_id))
            .flatten();
        let mut run = match cached {
            Some(run) => run,
            None if starts_history => Run::default(),
            None => {
                events = self.history(&execution, Vec::new()).await;
                Run::default()
            }
        };
        events.iter().for_each(|e| run.apply(e));
        let commands: Vec<Command> = run.next_command(&self.task_queue).into_iter().collect();
        let closes = commands.iter().any(|c| {
            c.command_type == CommandType::CompleteWorkflowExecution as i32
                || c.command_type == CommandType::FailWorkflowExecution as i32
        });
        if !closes {
            self.runs().insert(execution.run_id.clone(), run);
        }
        let request = ws::RespondWorkflowTaskCompletedRequest {
            task_token: task.task_token,
            commands,
            identity: self.identity.clone(),
            sticky_attributes: Some(StickyExecutionAttributes {
                worker_task_queue: Some(self.queue(true)),
                schedule_to_start_timeout: Some(to_proto_duration(STICKY_TIMEOUT)),
            }),
            namespace: self.namespace.clone(),
            ..Default::default()
        };
        match self.service.clone().respond_workflow_task_completed(request).await {
            Ok(answer) => {
                // The eager activities come back here: answer them at once.
                for activity in answer.into_inner().activity_tasks {
                    self.clone().activity_task(activity).await;
                }
            }
            Err(e) => {
                self.runs().remove(&execution.run_id);
                eprintln!("null worker: workflow task answer refused: {e}");
            }
        }
    }

    /// Runs `workflows` `BenchSequential(activities)`, `concurrency` at a time, with ids
    /// `ids-0`, …, each started eagerly; returns their start-to-result latencies in ms.
    async fn drive(self: &Arc<Self>, workflows: usize, concurrency: usize, activities: u64, ids: &str) -> Vec<f64> {
        let gate = Arc::new(tokio::sync::Semaphore::new(concurrency));
        let runs: Vec<_> = (0..workflows)
            .map(|i| {
                let (worker, gate, id) = (self.clone(), gate.clone(), format!("{ids}-{i}"));
                tokio::spawn(async move {
                    let _slot = gate.acquire_owned().await.expect("semaphore");
                    let started = std::time::Instant::now();
                    let result = worker.execute(id, activities).await;
                    assert_eq!(result, activities.to_string(), "BenchSequential's result");
                    started.elapsed().as_secs_f64() * 1000.0
                })
            })
            .collect();
        let mut latencies = Vec::with_capacity(workflows);
        for run in runs {
            latencies.push(run.await.expect("a run"));
        }
        latencies
    }

    /// Starts one `BenchSequential(activities)` asking for eager start, answers the first task
    /// the start hands back, and returns the result's JSON once the run completes.
    async fn execute(self: &Arc<Self>, workflow_id: String, activities: u64) -> String {
        let request = ws::StartWorkflowExecutionRequest {
            namespace: self.namespace.clone(),
            workflow_id: workflow_id.clone(),
            workflow_type: Some(WorkflowType {
                name: "BenchSequential".into(),
            }),
            task_queue: Some(self.queue(false)),
            input: Some(payloads(&activities.to_string())),
            identity: self.identity.clone(),
            request_id: format!("{}-{workflow_id}", self.instance_key),
            request_eager_execution: true,
            ..Default::default()
        };
        let started = self
            .service
            .clone()
            .start_workflow_execution(request)
            .await
            .expect("start BenchSequential")
            .into_inner();
        if let Some(task) = started.eager_workflow_task {
            tokio::spawn(self.clone().workflow_task(task));
        }
        let execution = WorkflowExecution {
            workflow_id,
            run_id: started.run_id,
        };
        let mut page_token = Vec::new();
        loop {
            let mut request = tonic::Request::new(ws::GetWorkflowExecutionHistoryRequest {
                namespace: self.namespace.clone(),
                execution: Some(execution.clone()),
                next_page_token: std::mem::take(&mut page_token),
                wait_new_event: true,
                history_event_filter_type: HistoryEventFilterType::CloseEvent as i32,
                ..Default::default()
            });
            request.set_timeout(LONG_POLL_TIMEOUT);
            let page = self
                .service
                .clone()
                .get_workflow_execution_history(request)
                .await
                .expect("wait for the result")
                .into_inner();
            let close = page
                .history
                .into_iter()
                .flat_map(|h| h.events)
                .find_map(|e| e.attributes);
            match close {
                Some(Event::WorkflowExecutionCompletedEventAttributes(done)) => {
                    let payload = done.result.into_iter().flat_map(|p| p.payloads).next();
                    return payload
                        .map(|p| String::from_utf8_lossy(&p.data).into_owned())
                        .unwrap_or_default();
                }
                Some(other) => panic!("{} did not complete: {other:?}", execution.workflow_id),
                None => page_token = page.next_page_token,
            }
        }
    }

    /// `step(n)` returns `n + 1`.
    async fn activity_task(self: Arc<Self>, task: ws::PollActivityTaskQueueResponse) {
        let n = task
            .input
            .iter()
            .flat_map(|p| &p.payloads)
            .map(number)
            .next()
            .unwrap_or(0);
        let request = ws::RespondActivityTaskCompletedRequest {
            task_token: task.task_token,
            result: Some(payloads(&(n + 1).to_string())),
            identity: self.identity.clone(),
            namespace: self.namespace.clone(),
            ..Default::default()
        };
        if let Err(e) = self.service.clone().respond_activity_task_completed(request).await {
            eprintln!("null worker: activity answer refused: {e}");
        }
    }

    /// The run's history from `page_token` on (empty: all of it), every page.
    async fn history(&self, execution: &WorkflowExecution, mut page_token: Vec<u8>) -> Vec<HistoryEvent> {
        let mut events = Vec::new();
        loop {
            let request = ws::GetWorkflowExecutionHistoryRequest {
                namespace: self.namespace.clone(),
                execution: Some(execution.clone()),
                next_page_token: page_token,
                ..Default::default()
            };
            match self.service.clone().get_workflow_execution_history(request).await {
                Ok(page) => {
                    let page = page.into_inner();
                    events.extend(page.history.map(|h| h.events).unwrap_or_default());
                    if page.next_page_token.is_empty() {
                        return events;
                    }
                    page_token = page.next_page_token;
                }
                Err(e) => {
                    eprintln!("null worker: could not fetch the history: {e}");
                    return events;
                }
            }
        }
    }
}

async fn failed(what: &str, e: tonic::Status) {
    eprintln!("null worker: {what} failed: {e}");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Connects and starts polling on `task_queue` (and on this worker's sticky queue).
async fn start(task_queue: String) -> Arc<NullWorker> {
    let address = std::env::var("TEMPORAL_ADDRESS").unwrap_or_else(|_| "127.0.0.1:7233".into());
    let client = Client::connect(ClientOptions::new(address))
        .await
        .expect("connect to Temporal");
    let pollers: usize = match std::env::var("BENCH_NULL_POLLERS") {
        Ok(count) => count
            .parse()
            .unwrap_or_else(|_| panic!("BENCH_NULL_POLLERS is {count:?}: a count of polls")),
        Err(_) => 8,
    };
    let instance_key = format!("null-{}-{}", std::process::id(), task_queue);
    let worker = Arc::new(NullWorker {
        service: client.workflow_service(),
        namespace: client.namespace().to_string(),
        sticky_queue: format!("{instance_key}-sticky"),
        task_queue,
        identity: client.identity().to_string(),
        instance_key,
        runs: Mutex::new(HashMap::new()),
    });
    for _ in 0..pollers {
        tokio::spawn(worker.clone().poll_workflow_tasks(false));
        tokio::spawn(worker.clone().poll_workflow_tasks(true));
    }
    for _ in 0..2 {
        tokio::spawn(worker.clone().poll_activity_tasks());
    }
    worker
}

/// Waits for a line on stdin (or its end).
async fn line_on_stdin() {
    let (stop, stopped) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        let _ = stop.send(());
    });
    let _ = stopped.await;
}

async fn worker(task_queue: String) {
    let worker = start(task_queue).await;
    println!("ready");
    line_on_stdin().await;
    stop(&worker).await;
}

/// `local`: the workflows started here, each asking for eager start, so the server hands the
/// first task back in the start's answer (the contract's `local` command).
async fn local(task_queue: String, workflows: usize, concurrency: usize, activities: u64, warm_up: usize) {
    let worker = start(task_queue.clone()).await;
    let warm_up_ids = format!("{task_queue}-warm-up");
    worker.drive(warm_up, warm_up.max(1), activities, &warm_up_ids).await;
    println!("ready");
    line_on_stdin().await;
    let started = std::time::Instant::now();
    let mut latencies = worker.drive(workflows, concurrency, activities, &task_queue).await;
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let percentile = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "{{\"workflows\": {workflows}, \"seconds\": {seconds:.3}, \"workflows_per_second\": {:.1}, \"p50_ms\": {:.1}, \"p99_ms\": {:.1}}}",
        workflows as f64 / seconds,
        percentile(0.5),
        percentile(0.99)
    );
    // Measured from outside until told to stop.
    line_on_stdin().await;
    stop(&worker).await;
}

/// Tells the server this worker is gone, then exits.
async fn stop(worker: &NullWorker) -> ! {
    // The server ends this worker's polls and sends its runs' next tasks to the normal queue.
    let request = ws::ShutdownWorkerRequest {
        namespace: worker.namespace.clone(),
        sticky_task_queue: worker.sticky_queue.clone(),
        identity: worker.identity.clone(),
        worker_instance_key: worker.instance_key.clone(),
        task_queue: worker.task_queue.clone(),
        reason: "bench over".into(),
        ..Default::default()
    };
    let mut service = worker.service.clone();
    let shutdown = service.shutdown_worker(request);
    if let Err(e) = tokio::time::timeout(Duration::from_secs(5), shutdown).await {
        eprintln!("null worker: ShutdownWorker did not answer: {e}");
    }
    std::process::exit(0);
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match (args.get(1).map(String::as_str), args.get(2)) {
        (Some("worker"), Some(task_queue)) => worker(task_queue.clone()).await,
        (Some("local"), Some(task_queue)) => {
            let arg = |i: usize, what: &str| -> usize {
                args.get(i)
                    .and_then(|a| a.parse().ok())
                    .unwrap_or_else(|| panic!("argument {i} ({what}) is missing or invalid"))
            };
            let (n, c, a, w) = (
                arg(3, "workflows"),
                arg(4, "concurrency"),
                arg(5, "activities"),
                arg(6, "warm-up"),
            );
            local(task_queue.clone(), n, c, a as u64, w).await
        }
        _ => {
            eprintln!(
                "usage: null-worker worker TASK_QUEUE | null-worker local TASK_QUEUE WORKFLOWS CONCURRENCY ACTIVITIES WARM_UP \
                 (the null worker has no replay or testenv)"
            );
            std::process::exit(2);
        }
    }
}
