//! The client against a real Temporal dev server (`TEMPORAL_ADDRESS`, or one started for this
//! binary). Workflow tasks are answered by a few raw gRPC calls in `raw_worker` below, so these
//! tests exercise the client alone, before any worker exists.

use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};
use workflow_client::failure::Failure;
use workflow_client::history::{history_from_json, history_to_json};
use workflow_client::payload::{self, PayloadError};
use workflow_client::proto::history::history_event::Attributes;
use workflow_client::{
    ActivityRef, Client, ClientError, ClientOptions, IdConflictPolicy, IdReusePolicy, QueryDefinition,
    QueryRejectCondition, RpcRetry, SignalDefinition, StartOptions, WorkflowDefinition, WorkflowExecutionStatus,
};
use workflow_dev_server::{self as dev_server, DevServer};

/// A keyword attribute the dev server of the tests registers.
const LISTED_BY: workflow_client::SearchAttributeKey<String> =
    workflow_client::SearchAttributeKey::keyword("CustomKeywordField");

async fn client() -> Client {
    let address = DevServer::shared_address();
    Client::connect(ClientOptions::new(address))
        .await
        .expect("connect to the dev server")
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4())
}

/// Waits for a condition with a bound, polling.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Order {
    id: String,
    qty: u32,
}

/// A workflow run by the raw worker below: it takes an order and a note.
struct OrderWorkflow;
impl WorkflowDefinition for OrderWorkflow {
    const NAME: &'static str = "OrderWorkflow";
    type Input = (Order, String);
    type Output = Order;
}

struct AddNote;
impl SignalDefinition for AddNote {
    type Workflow = OrderWorkflow;
    const NAME: &'static str = "add_note";
    type Input = (String,);
}

struct Status;
impl QueryDefinition for Status {
    type Workflow = OrderWorkflow;
    const NAME: &'static str = "status";
    type Input = (u32,);
    type Output = String;
}

/// The same workflow type, read with the wrong output type.
struct OrderAsNumber;
impl WorkflowDefinition for OrderAsNumber {
    const NAME: &'static str = "OrderWorkflow";
    type Input = (Order, String);
    type Output = u64;
}

mod raw_worker {
    //! Just enough of a worker, in raw protos, to complete workflow tasks the way a test wants.
    use workflow_client::proto::command::{self as pcmd, command::Attributes as CmdAttr};
    use workflow_client::proto::common::{ActivityType, Payloads};
    use workflow_client::proto::enums::{CommandType, QueryResultType, TaskQueueKind};
    use workflow_client::proto::taskqueue::TaskQueue;
    use workflow_client::proto::workflowservice as ws;
    use workflow_client::{Client, LONG_POLL_TIMEOUT};

    fn queue(name: &str) -> Option<TaskQueue> {
        Some(TaskQueue {
            name: name.to_string(),
            kind: TaskQueueKind::Normal as i32,
            ..Default::default()
        })
    }

    pub async fn poll(client: &Client, task_queue: &str) -> ws::PollWorkflowTaskQueueResponse {
        loop {
            let request = ws::PollWorkflowTaskQueueRequest {
                namespace: client.namespace().to_string(),
                task_queue: queue(task_queue),
                identity: "raw-test-worker".into(),
                ..Default::default()
            };
            let resp = client
                .call(request, Some(LONG_POLL_TIMEOUT), |mut s, r| async move {
                    s.poll_workflow_task_queue(r).await
                })
                .await
                .expect("poll workflow task");
            if !resp.task_token.is_empty() {
                return resp;
            }
        }
    }

    pub async fn poll_activity(client: &Client, task_queue: &str) -> ws::PollActivityTaskQueueResponse {
        loop {
            let request = ws::PollActivityTaskQueueRequest {
                namespace: client.namespace().to_string(),
                task_queue: queue(task_queue),
                identity: "raw-test-worker".into(),
                ..Default::default()
            };
            let resp = client
                .call(request, Some(LONG_POLL_TIMEOUT), |mut s, r| async move {
                    s.poll_activity_task_queue(r).await
                })
                .await
                .expect("poll activity task");
            if !resp.task_token.is_empty() {
                return resp;
            }
        }
    }

    pub async fn respond(client: &Client, task_token: Vec<u8>, commands: Vec<pcmd::Command>) {
        let request = ws::RespondWorkflowTaskCompletedRequest {
            task_token,
            commands,
            identity: "raw-test-worker".into(),
            namespace: client.namespace().to_string(),
            ..Default::default()
        };
        client
            .call(request, None, |mut s, r| async move {
                s.respond_workflow_task_completed(r).await
            })
            .await
            .expect("respond workflow task completed");
    }

    pub async fn answer_query(client: &Client, task_token: Vec<u8>, answer: Result<Payloads, String>) {
        let (completed_type, query_result, error_message) = match answer {
            Ok(p) => (QueryResultType::Answered, Some(p), String::new()),
            Err(e) => (QueryResultType::Failed, None, e),
        };
        let request = ws::RespondQueryTaskCompletedRequest {
            task_token,
            completed_type: completed_type as i32,
            query_result,
            error_message,
            namespace: client.namespace().to_string(),
            ..Default::default()
        };
        client
            .call(request, None, |mut s, r| async move {
                s.respond_query_task_completed(r).await
            })
            .await
            .expect("respond query task completed");
    }

    pub fn complete(result: Payloads) -> pcmd::Command {
        pcmd::Command {
            command_type: CommandType::CompleteWorkflowExecution as i32,
            attributes: Some(CmdAttr::CompleteWorkflowExecutionCommandAttributes(
                pcmd::CompleteWorkflowExecutionCommandAttributes { result: Some(result) },
            )),
            ..Default::default()
        }
    }

    pub fn cancel_activity(scheduled_event_id: i64) -> pcmd::Command {
        pcmd::Command {
            command_type: CommandType::RequestCancelActivityTask as i32,
            attributes: Some(CmdAttr::RequestCancelActivityTaskCommandAttributes(
                pcmd::RequestCancelActivityTaskCommandAttributes { scheduled_event_id },
            )),
            ..Default::default()
        }
    }

    pub fn cancel_workflow() -> pcmd::Command {
        pcmd::Command {
            command_type: CommandType::CancelWorkflowExecution as i32,
            attributes: Some(CmdAttr::CancelWorkflowExecutionCommandAttributes(
                pcmd::CancelWorkflowExecutionCommandAttributes { details: None },
            )),
            ..Default::default()
        }
    }

    pub fn continue_as_new(workflow_type: &str, task_queue: &str, input: Payloads) -> pcmd::Command {
        pcmd::Command {
            command_type: CommandType::ContinueAsNewWorkflowExecution as i32,
            attributes: Some(CmdAttr::ContinueAsNewWorkflowExecutionCommandAttributes(
                pcmd::ContinueAsNewWorkflowExecutionCommandAttributes {
                    workflow_type: Some(workflow_client::proto::common::WorkflowType {
                        name: workflow_type.into(),
                    }),
                    task_queue: queue(task_queue),
                    input: Some(input),
                    ..Default::default()
                },
            )),
            ..Default::default()
        }
    }

    pub fn schedule_activity(id: &str, task_queue: &str) -> pcmd::Command {
        pcmd::Command {
            command_type: CommandType::ScheduleActivityTask as i32,
            attributes: Some(CmdAttr::ScheduleActivityTaskCommandAttributes(
                pcmd::ScheduleActivityTaskCommandAttributes {
                    activity_id: id.to_string(),
                    activity_type: Some(ActivityType { name: "approve".into() }),
                    task_queue: queue(task_queue),
                    start_to_close_timeout: Some(workflow_client::time::to_proto_duration(
                        std::time::Duration::from_secs(120),
                    )),
                    ..Default::default()
                },
            )),
            ..Default::default()
        }
    }
}

fn order() -> Order {
    Order {
        id: "o-1".into(),
        qty: 3,
    }
}

#[tokio::test]
async fn start_describe_and_duplicate_id() {
    let client = client().await;
    let id = unique("dup");
    let opts = StartOptions::new(&id, unique("tq"));
    let first = client
        .start::<OrderWorkflow>(opts.clone(), (order(), "hi".into()))
        .await
        .unwrap();
    let run_id = first.run_id().unwrap().to_string();
    let desc = first.describe().await.unwrap();
    assert_eq!(desc.summary.status, WorkflowExecutionStatus::Running);
    assert_eq!(desc.summary.workflow_type, "OrderWorkflow");
    assert_eq!(desc.summary.run_id, run_id);

    match client
        .start::<OrderWorkflow>(opts.clone(), (order(), "again".into()))
        .await
    {
        Err(ClientError::AlreadyStarted {
            workflow_id,
            run_id: running,
        }) => {
            assert_eq!(workflow_id, id);
            assert_eq!(running, run_id);
        }
        other => panic!("expected AlreadyStarted, got {other:?}"),
    }
    // With "use existing", the same start returns the running run.
    let again = client
        .start::<OrderWorkflow>(
            opts.clone().id_conflict_policy(IdConflictPolicy::UseExisting),
            (order(), "x".into()),
        )
        .await
        .unwrap();
    assert_eq!(again.run_id(), Some(run_id.as_str()));

    // After it closes, "reject duplicate" still refuses the id.
    first.terminate("done with it").await.unwrap();
    let refused = client
        .start::<OrderWorkflow>(
            opts.id_reuse_policy(IdReusePolicy::RejectDuplicate),
            (order(), "x".into()),
        )
        .await;
    assert!(
        matches!(refused, Err(ClientError::AlreadyStarted { .. })),
        "{refused:?}"
    );
}

#[tokio::test]
async fn unknown_workflow_is_not_found() {
    let client = client().await;
    let err = client
        .untyped_handle(unique("missing"), None)
        .describe()
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn terminate_then_result_is_terminated() {
    let client = client().await;
    let handle = client
        .start::<OrderWorkflow>(StartOptions::new(unique("term"), unique("tq")), (order(), "n".into()))
        .await
        .unwrap();
    handle.terminate("operator said so").await.unwrap();
    match handle.result().await {
        Err(ClientError::WorkflowTerminated { reason }) => assert_eq!(reason, "operator said so"),
        other => panic!("expected WorkflowTerminated, got {other:?}"),
    }
    let desc = handle.describe().await.unwrap();
    assert_eq!(desc.summary.status, WorkflowExecutionStatus::Terminated);
}

#[tokio::test]
async fn cancel_request_shows_in_describe() {
    let client = client().await;
    let handle = client
        .start::<OrderWorkflow>(StartOptions::new(unique("cancel"), unique("tq")), (order(), "n".into()))
        .await
        .unwrap();
    assert!(!handle.describe().await.unwrap().cancel_requested);
    handle.cancel("customer changed their mind").await.unwrap();
    assert!(handle.describe().await.unwrap().cancel_requested);
    handle.terminate("cleanup").await.unwrap();
}

#[tokio::test]
async fn signal_and_signal_with_start_reach_history() {
    let client = client().await;
    let tq = unique("tq");
    let id = unique("sig");
    let handle = client
        .signal_with_start::<OrderWorkflow, AddNote>(
            StartOptions::new(&id, &tq),
            (order(), "first".into()),
            ("from signal-with-start".into(),),
        )
        .await
        .unwrap();
    handle.signal::<AddNote>(("second".into(),)).await.unwrap();
    let history = handle.fetch_history().await.unwrap();
    let notes: Vec<String> = history
        .events
        .iter()
        .filter_map(|e| match &e.attributes {
            Some(Attributes::WorkflowExecutionSignaledEventAttributes(a)) => {
                assert_eq!(a.signal_name, "add_note");
                Some(payload::from_payload::<String>(&a.input.as_ref().unwrap().payloads[0]).unwrap())
            }
            _ => None,
        })
        .collect();
    assert_eq!(notes, ["from signal-with-start", "second"]);
    handle.terminate("cleanup").await.unwrap();
}

#[tokio::test]
async fn result_query_and_decode_errors_with_a_raw_worker() {
    let client = client().await;
    let tq = unique("tq");
    let id = unique("result");
    let handle = client
        .start::<OrderWorkflow>(StartOptions::new(&id, &tq), (order(), "note".into()))
        .await
        .unwrap();

    // First task: the worker reads the typed input and keeps the workflow open.
    let task = raw_worker::poll(&client, &tq).await;
    let started = task.history.as_ref().unwrap().events.first().unwrap();
    let Some(Attributes::WorkflowExecutionStartedEventAttributes(a)) = &started.attributes else {
        panic!("first event is not WorkflowExecutionStarted")
    };
    let input = &a.input.as_ref().unwrap().payloads;
    assert_eq!(payload::from_payload::<Order>(&input[0]).unwrap(), order());
    raw_worker::respond(&client, task.task_token, vec![]).await;

    // A query is answered by the worker; a failing handler comes back as QueryFailed.
    let querying = {
        let handle = handle.clone();
        tokio::spawn(async move { handle.query::<Status>((7,)).await })
    };
    let task = raw_worker::poll(&client, &tq).await;
    let query = task.query.expect("a legacy query task");
    assert_eq!(query.query_type, "status");
    let arg: u32 = payload::from_payload(&query.query_args.unwrap().payloads[0]).unwrap();
    let answer = client
        .data_converter()
        .encode_value(&format!("status {arg}"))
        .await
        .unwrap();
    raw_worker::answer_query(&client, task.task_token, Ok(answer)).await;
    assert_eq!(querying.await.unwrap().unwrap(), "status 7");

    let failing = {
        let handle = handle.untyped().clone();
        tokio::spawn(async move { handle.query("nope", vec![], QueryRejectCondition::None).await })
    };
    let task = raw_worker::poll(&client, &tq).await;
    raw_worker::answer_query(
        &client,
        task.task_token,
        Err("unknown query `nope`; known: status".into()),
    )
    .await;
    match failing.await.unwrap() {
        Err(ClientError::QueryFailed { name, message }) => {
            assert_eq!(name, "nope");
            assert!(message.contains("known: status"), "{message}");
        }
        other => panic!("expected QueryFailed, got {other:?}"),
    }

    // Completing: the typed result decodes, and the wrong output type names itself.
    handle.signal::<AddNote>(("wake up".into(),)).await.unwrap();
    let task = raw_worker::poll(&client, &tq).await;
    let result = client
        .data_converter()
        .encode_value(&Order {
            id: "o-1".into(),
            qty: 4,
        })
        .await
        .unwrap();
    raw_worker::respond(&client, task.task_token, vec![raw_worker::complete(result)]).await;
    assert_eq!(handle.result().await.unwrap().qty, 4);

    let wrong = client.handle::<OrderAsNumber>(&id, None).result().await.unwrap_err();
    match &wrong {
        ClientError::Payload(PayloadError::Decode {
            type_name, encoding, ..
        }) => {
            assert_eq!(*type_name, "u64");
            assert_eq!(encoding, "json/plain");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert!(wrong.to_string().contains("as `u64`"), "{wrong}");

    // A query on the closed run is refused by the reject condition.
    let rejected = handle
        .query_with::<Status>((1,), QueryRejectCondition::NotOpen)
        .await
        .unwrap_err();
    assert!(
        matches!(&rejected, ClientError::QueryRejected { status } if status == "completed"),
        "{rejected:?}"
    );
}

#[tokio::test]
async fn async_activity_completion_by_token_and_by_id() {
    let client = client().await;
    let tq = unique("tq");
    let id = unique("async-act");
    let handle = client
        .start::<OrderWorkflow>(StartOptions::new(&id, &tq), (order(), "n".into()))
        .await
        .unwrap();
    let task = raw_worker::poll(&client, &tq).await;
    raw_worker::respond(
        &client,
        task.task_token,
        vec![
            raw_worker::schedule_activity("a1", &tq),
            raw_worker::schedule_activity("a2", &tq),
            raw_worker::schedule_activity("a3", &tq),
            raw_worker::schedule_activity("a4", &tq),
        ],
    )
    .await;
    let mut tokens = std::collections::BTreeMap::new();
    for _ in 0..4 {
        let t = raw_worker::poll_activity(&client, &tq).await;
        tokens.insert(t.activity_id.clone(), t.task_token);
    }
    let by_token = ActivityRef::TaskToken(tokens["a1"].clone());
    assert!(
        !client
            .heartbeat_activity(&by_token, vec![payload::to_payload(&50).unwrap()])
            .await
            .unwrap()
    );
    client.complete_activity(&by_token, "approved by token").await.unwrap();
    let a2 = ActivityRef::by_id(&id, None, "a2");
    assert!(!client.heartbeat_activity(&a2, vec![]).await.unwrap());
    client.complete_activity(&a2, "approved by id").await.unwrap();
    client
        .fail_activity(
            &ActivityRef::by_id(&id, None, "a3"),
            Failure::application("rejected", "Rejected").non_retryable(),
        )
        .await
        .unwrap();
    // Reporting "canceled" is refused until the workflow asks to cancel the activity.
    let a4 = ActivityRef::TaskToken(tokens["a4"].clone());
    let refused = client.report_activity_canceled(&a4, vec![]).await.unwrap_err();
    assert!(matches!(refused, ClientError::InvalidArgument(_)), "{refused:?}");
    handle.cancel("stop").await.unwrap();
    let task = raw_worker::poll(&client, &tq).await;
    let a4_scheduled = task
        .history
        .as_ref()
        .unwrap()
        .events
        .iter()
        .find_map(|e| match &e.attributes {
            Some(Attributes::ActivityTaskScheduledEventAttributes(a)) if a.activity_id == "a4" => Some(e.event_id),
            _ => None,
        })
        .expect("a4 was scheduled");
    raw_worker::respond(
        &client,
        task.task_token,
        vec![raw_worker::cancel_activity(a4_scheduled)],
    )
    .await;
    assert!(
        client.heartbeat_activity(&a4, vec![]).await.unwrap(),
        "heartbeat sees the cancel request"
    );
    client.report_activity_canceled(&a4, vec![]).await.unwrap();

    let history = handle.fetch_history().await.unwrap();
    let mut completed = Vec::new();
    let mut failed = Vec::new();
    let mut canceled = 0;
    for e in &history.events {
        match &e.attributes {
            Some(Attributes::ActivityTaskCompletedEventAttributes(a)) => {
                completed.push(payload::from_payload::<String>(&a.result.as_ref().unwrap().payloads[0]).unwrap())
            }
            Some(Attributes::ActivityTaskFailedEventAttributes(a)) => {
                failed.push(Failure::from(a.failure.clone().unwrap()))
            }
            Some(Attributes::ActivityTaskCanceledEventAttributes(_)) => canceled += 1,
            _ => {}
        }
    }
    completed.sort();
    assert_eq!(completed, ["approved by id", "approved by token"]);
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].application_type(), Some("Rejected"));
    assert_eq!(canceled, 1);
    handle.terminate("cleanup").await.unwrap();
}

#[tokio::test]
async fn list_and_count_with_a_query() {
    let client = client().await;
    let tq = unique("tq");
    let mut ids = Vec::new();
    for i in 0..3 {
        let id = unique(&format!("list{i}"));
        client
            .start_untyped(
                "ListedWorkflow",
                StartOptions::new(&id, &tq).search_attribute(LISTED_BY, tq.clone()),
                vec![],
            )
            .await
            .unwrap();
        ids.push(id);
    }
    let query = format!("{} = '{tq}'", LISTED_BY.name());
    eventually("visibility to list 3 runs", || async {
        client.count_workflows(&query).await.unwrap() == 3
    })
    .await;
    let listed: Vec<_> = client.list_workflows(&query).try_collect().await.unwrap();
    // The typed key reads the attribute back from each summary.
    assert!(
        listed
            .iter()
            .all(|s| LISTED_BY.get(&s.search_attributes).unwrap().unwrap() == tq)
    );
    let mut listed_ids: Vec<_> = listed.iter().map(|s| s.workflow_id.clone()).collect();
    listed_ids.sort();
    ids.sort();
    assert_eq!(listed_ids, ids);
    assert!(listed.iter().all(|s| s.workflow_type == "ListedWorkflow"));
    let running = format!("{query} AND ExecutionStatus = 'Running'");
    assert_eq!(client.count_workflows(&running).await.unwrap(), 3);
    for id in &ids {
        client
            .untyped_handle(id, None)
            .terminate("cleanup", vec![])
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn history_export_import_round_trip_and_cli_reads_it() {
    let client = client().await;
    let id = unique("hist");
    let handle = client
        .start::<OrderWorkflow>(StartOptions::new(&id, unique("tq")), (order(), "note".into()))
        .await
        .unwrap();
    handle.signal::<AddNote>(("n1".into(),)).await.unwrap();
    handle.terminate("end").await.unwrap();
    let history = handle.fetch_history().await.unwrap();
    assert!(history.events.len() >= 4);
    let json = history_to_json(&history).unwrap();
    assert!(
        json.contains("\"eventType\": \"EVENT_TYPE_WORKFLOW_EXECUTION_STARTED\""),
        "{json}"
    );
    assert_eq!(history_from_json(&json).unwrap(), history);

    // The CLI's own JSON of the same run reads to the same history.
    let cli = dev_server::find_cli().expect("the temporal CLI");
    let out = std::process::Command::new(cli)
        .args([
            "workflow",
            "show",
            "--output",
            "json",
            "--address",
            &DevServer::shared_address(),
        ])
        .args(["--workflow-id", &id])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let from_cli = history_from_json(std::str::from_utf8(&out.stdout).unwrap()).unwrap();
    assert_eq!(from_cli, history);
}

#[tokio::test]
async fn payloads_show_as_json_in_the_cli() {
    let client = client().await;
    let id = unique("interop");
    let handle = client
        .start::<OrderWorkflow>(StartOptions::new(&id, unique("tq")), (order(), "a note".into()))
        .await
        .unwrap();
    handle.terminate("end").await.unwrap();
    let cli = dev_server::find_cli().expect("the temporal CLI");
    let out = std::process::Command::new(cli)
        .args([
            "workflow",
            "show",
            "--detailed",
            "--address",
            &DevServer::shared_address(),
        ])
        .args(["--workflow-id", &id])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("input[0].id: o-1"), "{text}");
    assert!(text.contains("input[0].qty: 3"), "{text}");
    assert!(text.contains("input[1]: a note"), "{text}");
}

#[tokio::test]
async fn unreachable_address_is_unavailable_within_the_bound() {
    let port = dev_server::free_port().unwrap();
    let started = Instant::now();
    let err = Client::connect(
        ClientOptions::new(format!("127.0.0.1:{port}"))
            .connect_timeout(Duration::from_secs(1))
            .retry(RpcRetry {
                max_attempts: 3,
                initial_backoff: Duration::from_millis(50),
                max_backoff: Duration::from_millis(100),
                multiplier: 2.0,
            }),
    )
    .await
    .unwrap_err();
    match &err {
        ClientError::Unavailable { attempts, message } => {
            assert_eq!(*attempts, 3);
            assert!(message.contains(&port.to_string()), "{message}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn api_key_and_headers_are_sent_but_never_printed() {
    let options = ClientOptions::new(DevServer::shared_address())
        .api_key("s3cr3t-key")
        .header("x-team", "payments");
    let printed = format!("{options:?}");
    assert!(!printed.contains("s3cr3t-key"), "{printed}");
    assert!(printed.contains("x-team"), "{printed}");
    // The dev server ignores the key; the call must still go through with it attached.
    let client = Client::connect(options).await.unwrap();
    assert!(!format!("{client:?}").contains("s3cr3t-key"));
    client.count_workflows("").await.unwrap();
}

#[tokio::test]
async fn result_follows_continue_as_new_and_reports_cancellation_and_timeouts() {
    let client = client().await;
    let tq = unique("tq");
    let id = unique("chain");
    let handle = client
        .start::<OrderWorkflow>(StartOptions::new(&id, &tq), (order(), "first run".into()))
        .await
        .unwrap();
    let first_run = handle.run_id().unwrap().to_string();
    // Run 1 continues as new with other input; run 2 completes.
    let task = raw_worker::poll(&client, &tq).await;
    let next_input = client
        .data_converter()
        .encode_args(&(order(), "second run".to_string()))
        .await
        .unwrap();
    raw_worker::respond(
        &client,
        task.task_token,
        vec![raw_worker::continue_as_new("OrderWorkflow", &tq, next_input)],
    )
    .await;
    let task = raw_worker::poll(&client, &tq).await;
    assert_ne!(task.workflow_execution.as_ref().unwrap().run_id, first_run);
    let result = client
        .data_converter()
        .encode_value(&Order {
            id: "o-2".into(),
            qty: 9,
        })
        .await
        .unwrap();
    raw_worker::respond(&client, task.task_token, vec![raw_worker::complete(result)]).await;
    let out = tokio::time::timeout(Duration::from_secs(30), handle.result())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.id, "o-2", "the handle of run 1 returns the result of run 2");

    // A workflow that accepts cancellation ends canceled.
    let canceled = client
        .start::<OrderWorkflow>(StartOptions::new(unique("canceled"), &tq), (order(), "n".into()))
        .await
        .unwrap();
    let task = raw_worker::poll(&client, &tq).await;
    raw_worker::respond(&client, task.task_token, vec![raw_worker::cancel_workflow()]).await;
    assert!(
        matches!(canceled.result().await, Err(ClientError::WorkflowCanceled { .. })),
        "expected WorkflowCanceled"
    );

    // A run timeout with no worker ends timed out.
    let timing_out = client
        .start::<OrderWorkflow>(
            StartOptions::new(unique("timeout"), unique("nobody-polls")).run_timeout(Duration::from_secs(1)),
            (order(), "n".into()),
        )
        .await
        .unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(30), timing_out.result())
        .await
        .unwrap();
    assert!(matches!(outcome, Err(ClientError::WorkflowTimedOut)), "{outcome:?}");
}
