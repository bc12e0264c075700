//! The engine driven by hand-built histories: no network.

use super::run_cache::{RunCache, TaskOutcome};
use crate::client::payload::{from_payload, to_payload};
use crate::client::proto::command::{Command, command::Attributes as Cmd};
use crate::client::proto::common::{ActivityType, Payloads, WorkflowExecution, WorkflowType};
use crate::client::proto::enums::{EventType, WorkflowTaskFailedCause};
use crate::client::proto::history::{self as ph, History, HistoryEvent, history_event::Attributes as Ev};
use crate::client::proto::query::WorkflowQuery;
use crate::client::proto::workflowservice::PollWorkflowTaskQueueResponse;
use crate::engine::driver::{TypedFactory, WorkflowFactory};
use crate::prelude::*;
use futures::FutureExt;
use futures::future::LocalBoxFuture;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Calls an activity, sleeps, waits for a `finish` signal, and returns what it gathered.
#[derive(Default)]
struct Greeter {
    names: Vec<String>,
    done: bool,
}

impl WorkflowDefinition for Greeter {
    const NAME: &'static str = "Greeter";
    type Input = (String,);
    type Output = String;
}

struct Greet;
impl ActivityDefinition for Greet {
    const NAME: &'static str = "greet";
    type Input = (String,);
    type Output = String;
}

impl Workflow for Greeter {
    fn init(_: &Self::Input) -> Self {
        Greeter::default()
    }
    fn run(ctx: WorkflowContext<Self>, (name,): (String,)) -> LocalBoxFuture<'static, WorkflowResult<String>> {
        async move {
            match name.as_str() {
                "panic" => panic!("asked to panic"),
                "foreign" => ForeignWake(false).await,
                "yield-forever" => loop {
                    YieldOnce(false).await
                },
                "race" => {
                    // A timeout around a condition: when the condition wins, the timer is dropped.
                    let timer = ctx.sleep(Duration::from_secs(3600));
                    let finished = ctx.wait_condition(|s| s.done);
                    match futures::future::select(Box::pin(timer), Box::pin(finished)).await {
                        futures::future::Either::Left(_) => return Ok("timed out".into()),
                        futures::future::Either::Right(_) => return Ok("finished first".into()),
                    }
                }
                _ => {}
            }
            let greeting = ctx
                .activity(Greet, (name,))
                .start_to_close_timeout(Duration::from_secs(10))
                .await?;
            ctx.sleep(Duration::from_secs(60)).await?;
            ctx.wait_condition(|s| s.done).await?;
            let names = ctx.state(|s| s.names.join(","));
            Ok(format!("{greeting} + {names}"))
        }
        .boxed_local()
    }
    fn handlers(h: &mut crate::definition::Handlers<Self>) {
        h.signal_raw("add_name", |s, (n,): (String,)| s.names.push(n));
        h.signal_raw("finish", |s, (): ()| s.done = true);
        h.query_raw("names", |s, (): ()| s.names.clone());
    }
}

/// Pending once, woken from another thread: what a tokio timer or channel does.
struct ForeignWake(bool);
impl std::future::Future for ForeignWake {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        let waker = cx.waker().clone();
        std::thread::scope(|s| {
            s.spawn(move || waker.wake());
        });
        std::task::Poll::Pending
    }
}

/// Pending once, waking itself at once: a loop of these never waits on anything.
struct YieldOnce(bool);
impl std::future::Future for YieldOnce {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

/// Builds histories event by event, numbering them.
struct HistoryBuilder {
    events: Vec<HistoryEvent>,
}

impl HistoryBuilder {
    fn started(input: &str) -> Self {
        let mut h = HistoryBuilder { events: Vec::new() };
        h.add(
            EventType::WorkflowExecutionStarted,
            Ev::WorkflowExecutionStartedEventAttributes(ph::WorkflowExecutionStartedEventAttributes {
                workflow_type: Some(WorkflowType { name: "Greeter".into() }),
                input: Some(Payloads {
                    payloads: vec![to_payload(input).unwrap()],
                }),
                attempt: 1,
                ..Default::default()
            }),
        );
        h
    }

    fn add(&mut self, event_type: EventType, attributes: Ev) -> i64 {
        let event_id = self.events.len() as i64 + 1;
        self.events.push(HistoryEvent {
            event_id,
            event_type: event_type as i32,
            event_time: Some(crate::client::time::to_timestamp(
                std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + event_id as u64),
            )),
            attributes: Some(attributes),
            ..Default::default()
        });
        event_id
    }

    fn task(&mut self) -> i64 {
        self.add(
            EventType::WorkflowTaskScheduled,
            Ev::WorkflowTaskScheduledEventAttributes(Default::default()),
        );
        self.add(
            EventType::WorkflowTaskStarted,
            Ev::WorkflowTaskStartedEventAttributes(Default::default()),
        )
    }

    fn completed(&mut self) {
        self.add(
            EventType::WorkflowTaskCompleted,
            Ev::WorkflowTaskCompletedEventAttributes(Default::default()),
        );
    }

    fn activity_scheduled(&mut self, id: &str, ty: &str) -> i64 {
        self.add(
            EventType::ActivityTaskScheduled,
            Ev::ActivityTaskScheduledEventAttributes(ph::ActivityTaskScheduledEventAttributes {
                activity_id: id.into(),
                activity_type: Some(ActivityType { name: ty.into() }),
                ..Default::default()
            }),
        )
    }

    fn activity_completed(&mut self, scheduled_event_id: i64, result: &str) {
        self.add(
            EventType::ActivityTaskCompleted,
            Ev::ActivityTaskCompletedEventAttributes(ph::ActivityTaskCompletedEventAttributes {
                scheduled_event_id,
                result: Some(Payloads {
                    payloads: vec![to_payload(result).unwrap()],
                }),
                ..Default::default()
            }),
        );
    }

    fn timer_started(&mut self, id: &str) -> i64 {
        self.add(
            EventType::TimerStarted,
            Ev::TimerStartedEventAttributes(ph::TimerStartedEventAttributes {
                timer_id: id.into(),
                ..Default::default()
            }),
        )
    }

    fn timer_fired(&mut self, id: &str, started_event_id: i64) {
        self.add(
            EventType::TimerFired,
            Ev::TimerFiredEventAttributes(ph::TimerFiredEventAttributes {
                timer_id: id.into(),
                started_event_id,
            }),
        );
    }

    fn signal(&mut self, name: &str, input: Option<&str>) {
        self.add(
            EventType::WorkflowExecutionSignaled,
            Ev::WorkflowExecutionSignaledEventAttributes(ph::WorkflowExecutionSignaledEventAttributes {
                signal_name: name.into(),
                input: input.map(|i| Payloads {
                    payloads: vec![to_payload(i).unwrap()],
                }),
                ..Default::default()
            }),
        );
    }

    /// A task whose history is `self.events[from..]`, answering the last `WorkflowTaskStarted`.
    fn poll(&self, from: usize) -> PollWorkflowTaskQueueResponse {
        PollWorkflowTaskQueueResponse {
            task_token: vec![1],
            workflow_execution: Some(WorkflowExecution {
                workflow_id: "wf-1".into(),
                run_id: "run-1".into(),
            }),
            workflow_type: Some(WorkflowType { name: "Greeter".into() }),
            started_event_id: self.events.last().unwrap().event_id,
            history: Some(History {
                events: self.events[from..].to_vec(),
            }),
            ..Default::default()
        }
    }
}

fn engine(cache: usize) -> RunCache {
    let mut factories: BTreeMap<String, Arc<dyn WorkflowFactory>> = BTreeMap::new();
    factories.insert("Greeter".into(), Arc::new(TypedFactory::<Greeter>::new()));
    RunCache::new(Arc::new(factories), Default::default(), cache, "default".into())
}

fn commands(outcome: TaskOutcome) -> Vec<Command> {
    match outcome {
        TaskOutcome::Completed { commands, .. } => commands,
        other => panic!("expected commands, got {other:?}"),
    }
}

fn describe(commands: &[Command]) -> Vec<String> {
    commands
        .iter()
        .map(|c| match c.attributes.as_ref().unwrap() {
            Cmd::ScheduleActivityTaskCommandAttributes(a) => {
                format!("activity {} {}", a.activity_type.as_ref().unwrap().name, a.activity_id)
            }
            Cmd::StartTimerCommandAttributes(a) => format!("timer {}", a.timer_id),
            Cmd::CompleteWorkflowExecutionCommandAttributes(a) => format!(
                "complete {}",
                from_payload::<String>(&a.result.as_ref().unwrap().payloads[0]).unwrap()
            ),
            Cmd::FailWorkflowExecutionCommandAttributes(a) => {
                format!("fail {}", a.failure.as_ref().unwrap().message)
            }
            other => format!("{other:?}"),
        })
        .collect()
}

/// The whole life of a run, one task at a time; returns the commands of each task.
fn full_run(engine: &mut RunCache, sticky: bool) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut h = HistoryBuilder::started("Ada");
    h.task();
    out.push(describe(&commands(engine.process(&h.poll(0)))));

    let from = h.events.len();
    h.completed();
    let scheduled = h.activity_scheduled("1", "greet");
    h.activity_completed(scheduled, "Hello, Ada");
    h.task();
    out.push(describe(&commands(engine.process(&h.poll(if sticky {
        from
    } else {
        0
    })))));

    let from = h.events.len();
    h.completed();
    let timer = h.timer_started("1");
    h.signal("add_name", Some("Grace"));
    h.timer_fired("1", timer);
    h.task();
    out.push(describe(&commands(engine.process(&h.poll(if sticky {
        from
    } else {
        0
    })))));

    let from = h.events.len();
    h.completed();
    h.signal("finish", None);
    h.task();
    out.push(describe(&commands(engine.process(&h.poll(if sticky {
        from
    } else {
        0
    })))));
    out
}

#[test]
fn a_run_issues_commands_in_order_and_completes() {
    let tasks = full_run(&mut engine(10), true);
    assert_eq!(
        tasks,
        vec![
            vec!["activity greet 1".to_string()],
            vec!["timer 1".to_string()],
            vec![],
            vec!["complete Hello, Ada + Grace".to_string()],
        ]
    );
}

#[test]
fn cached_and_replayed_runs_give_identical_commands() {
    let sticky = full_run(&mut engine(10), true);
    let replayed = full_run(&mut engine(0), false);
    assert_eq!(sticky, replayed);
    // A sticky (partial) history with nothing cached asks for the full history.
    let mut h = HistoryBuilder::started("Ada");
    h.task();
    let from = h.events.len();
    h.completed();
    h.activity_scheduled("1", "greet");
    h.task();
    assert!(matches!(
        engine(10).process(&h.poll(from)),
        TaskOutcome::NeedFullHistory
    ));
}

#[test]
fn signals_before_the_first_task_are_not_lost() {
    let mut h = HistoryBuilder::started("Ada");
    h.signal("add_name", Some("Early"));
    h.signal("finish", None);
    h.task();
    let mut e = engine(10);
    assert_eq!(describe(&commands(e.process(&h.poll(0)))), ["activity greet 1"]);
    let query = WorkflowQuery {
        query_type: "names".into(),
        ..Default::default()
    };
    let mut poll = h.poll(h.events.len());
    poll.history = Some(History::default());
    poll.query = Some(query);
    match e.process(&poll) {
        TaskOutcome::QueryAnswer(Ok(p)) => assert_eq!(from_payload::<Vec<String>>(&p).unwrap(), ["Early"]),
        other => panic!("expected a query answer, got {other:?}"),
    }
}

#[test]
fn queries_list_known_names_and_describe_pending_work() {
    let mut h = HistoryBuilder::started("Ada");
    h.task();
    let mut e = engine(10);
    commands(e.process(&h.poll(0)));
    let ask = |e: &mut RunCache, name: &str| {
        let mut poll = h.poll(h.events.len());
        poll.history = Some(History::default());
        poll.query = Some(WorkflowQuery {
            query_type: name.into(),
            ..Default::default()
        });
        match e.process(&poll) {
            TaskOutcome::QueryAnswer(a) => a,
            other => panic!("expected a query answer, got {other:?}"),
        }
    };
    let unknown = ask(&mut e, "nope").unwrap_err();
    assert!(unknown.contains("no query `nope`"), "{unknown}");
    assert!(unknown.contains("names, __stack_trace"), "{unknown}");
    let trace: String = from_payload(&ask(&mut e, "__stack_trace").unwrap()).unwrap();
    assert!(trace.contains("waiting on activity greet (id 1)"), "{trace}");
}

#[test]
fn a_command_mismatch_fails_the_task_naming_both_sides() {
    let mut h = HistoryBuilder::started("Ada");
    h.task();
    h.completed();
    h.timer_started("1"); // the code schedules an activity here
    h.task();
    match engine(10).process(&h.poll(0)) {
        TaskOutcome::Failed { cause, failure } => {
            assert_eq!(cause, WorkflowTaskFailedCause::NonDeterministicError);
            let m = failure.message;
            assert!(m.contains("workflow Greeter (id wf-1) at event 5"), "{m}");
            assert!(m.contains("history recorded TimerStarted(id 1)"), "{m}");
            assert!(m.contains("the code did ScheduleActivityTask(type greet, id 1)"), "{m}");
        }
        other => panic!("expected a task failure, got {other:?}"),
    }
}

#[test]
fn unknown_types_panics_and_bad_input_are_reported() {
    let mut h = HistoryBuilder::started("Ada");
    h.task();
    let mut poll = h.poll(0);
    poll.workflow_type = Some(WorkflowType { name: "Nope".into() });
    match engine(10).process(&poll) {
        TaskOutcome::Failed { failure, .. } => {
            assert!(
                failure.message.contains("`Nope` is not registered"),
                "{}",
                failure.message
            );
            assert!(failure.message.contains("registered: Greeter"), "{}", failure.message);
        }
        other => panic!("expected a task failure, got {other:?}"),
    }

    let mut h = HistoryBuilder::started("panic");
    h.task();
    match engine(10).process(&h.poll(0)) {
        TaskOutcome::Failed { cause, failure } => {
            assert_eq!(cause, WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure);
            assert!(
                failure.message.contains("panicked: asked to panic"),
                "{}",
                failure.message
            );
        }
        other => panic!("expected a task failure, got {other:?}"),
    }

    let mut h = HistoryBuilder::started("Ada");
    if let Some(Ev::WorkflowExecutionStartedEventAttributes(a)) = &mut h.events[0].attributes {
        a.input = Some(Payloads {
            payloads: vec![to_payload(&42).unwrap()],
        });
    }
    h.task();
    let failed = describe(&commands(engine(10).process(&h.poll(0))));
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0].starts_with("fail the input of workflow `Greeter` does not decode"),
        "{failed:?}"
    );
    assert!(failed[0].contains("`alloc::string::String`"), "{failed:?}");
}

#[test]
fn foreign_wakes_and_code_that_never_waits_fail_the_task() {
    for (input, expected) in [
        ("foreign", "woken from outside the deterministic executor"),
        ("yield-forever", "did not yield: it woke itself 10000 times"),
    ] {
        let mut h = HistoryBuilder::started(input);
        h.task();
        match engine(10).process(&h.poll(0)) {
            TaskOutcome::Failed { failure, .. } => {
                assert!(failure.message.contains(expected), "{input}: {}", failure.message);
                assert!(
                    failure.message.contains("workflow Greeter (id wf-1)"),
                    "{}",
                    failure.message
                );
            }
            other => panic!("{input}: expected a task failure, got {other:?}"),
        }
    }
}

#[test]
fn a_signal_that_does_not_decode_is_dropped_and_the_run_goes_on() {
    let mut h = HistoryBuilder::started("Ada");
    h.add(
        EventType::WorkflowExecutionSignaled,
        Ev::WorkflowExecutionSignaledEventAttributes(ph::WorkflowExecutionSignaledEventAttributes {
            signal_name: "add_name".into(),
            input: Some(Payloads {
                payloads: vec![to_payload(&123).unwrap()],
            }),
            ..Default::default()
        }),
    );
    h.signal("add_name", Some("Valid"));
    h.signal("no_such_signal", None);
    h.task();
    let mut e = engine(10);
    assert_eq!(describe(&commands(e.process(&h.poll(0)))), ["activity greet 1"]);
    let mut poll = h.poll(h.events.len());
    poll.history = Some(History::default());
    poll.query = Some(WorkflowQuery {
        query_type: "names".into(),
        ..Default::default()
    });
    match e.process(&poll) {
        TaskOutcome::QueryAnswer(Ok(p)) => assert_eq!(from_payload::<Vec<String>>(&p).unwrap(), ["Valid"]),
        other => panic!("expected a query answer, got {other:?}"),
    }
}

#[test]
fn a_dropped_timer_is_canceled_or_withdrawn() {
    // Sent in an earlier task, then dropped: a CancelTimer command.
    let mut h = HistoryBuilder::started("race");
    h.task();
    let mut e = engine(10);
    let first = commands(e.process(&h.poll(0)));
    assert_eq!(describe(&first), ["timer 1"]);
    let from = h.events.len();
    h.completed();
    h.timer_started("1");
    h.signal("finish", None);
    h.task();
    let second = commands(e.process(&h.poll(from)));
    assert!(
        matches!(second[0].attributes, Some(Cmd::CancelTimerCommandAttributes(ref a)) if a.timer_id == "1"),
        "{second:?}"
    );
    assert_eq!(describe(&second[1..]), ["complete finished first"]);

    // Dropped in the task that started it: the start is withdrawn, nothing about it is sent.
    let mut h = HistoryBuilder::started("race");
    h.signal("finish", None);
    h.task();
    assert_eq!(
        describe(&commands(engine(10).process(&h.poll(0)))),
        ["complete finished first"]
    );
}

/// Feeds `task`'s history in pages of `page` events as the worker does with a long history:
/// each part complete so far to [`RunCache::process_part`], the rest with the task.
fn process_in_pages(engine: &mut RunCache, task: &PollWorkflowTaskQueueResponse, page: usize) -> TaskOutcome {
    let all = task.history.clone().unwrap().events;
    let mut pages = all.chunks(page);
    let mut at_hand = pages.next().unwrap().to_vec();
    for next in pages {
        if let Some(events) = super::run_cache::take_complete_part(&mut at_hand) {
            let part = PollWorkflowTaskQueueResponse {
                history: Some(History { events }),
                ..task.clone()
            };
            match engine.process_part(&part) {
                TaskOutcome::Replaying => {}
                other => return other,
            }
        }
        at_hand.extend_from_slice(next);
    }
    engine.process(&PollWorkflowTaskQueueResponse {
        history: Some(History { events: at_hand }),
        ..task.clone()
    })
}

#[test]
fn a_history_replayed_page_by_page_answers_as_the_whole_history_does() {
    // The last task of `full_run`, its whole history at hand.
    let mut h = HistoryBuilder::started("Ada");
    h.task();
    h.completed();
    let scheduled = h.activity_scheduled("1", "greet");
    h.activity_completed(scheduled, "Hello, Ada");
    h.task();
    h.completed();
    let timer = h.timer_started("1");
    h.signal("add_name", Some("Grace"));
    h.timer_fired("1", timer);
    h.task();
    h.completed();
    h.signal("finish", None);
    h.task();
    let whole = describe(&commands(engine(0).process(&h.poll(0))));
    assert_eq!(whole, vec!["complete Hello, Ada + Grace".to_string()]);
    for page in 1..=h.events.len() {
        let mut paged = engine(0);
        let answer = describe(&commands(process_in_pages(&mut paged, &h.poll(0), page)));
        assert_eq!(answer, whole, "pages of {page} events");
        assert_eq!(paged.replay_started(&h.poll(0)), None, "no run left half replayed");
    }

    // A part that does not match the code fails the task as the whole history would.
    let mut bad = HistoryBuilder::started("Ada");
    bad.task();
    bad.completed();
    bad.timer_started("1");
    bad.task();
    bad.completed();
    bad.task();
    let mut paged = engine(0);
    match process_in_pages(&mut paged, &bad.poll(0), 4) {
        TaskOutcome::Failed { cause, failure } => {
            assert_eq!(cause, WorkflowTaskFailedCause::NonDeterministicError, "{failure:?}")
        }
        other => panic!("expected a nondeterminism failure, got {other:?}"),
    }

    // A run evicted between parts is gone: its next part starts over or asks for the history.
    let mut paged = engine(0);
    let mut at_hand = h.events.clone();
    let events = super::run_cache::take_complete_part(&mut at_hand).unwrap();
    let part = PollWorkflowTaskQueueResponse {
        history: Some(History { events }),
        ..h.poll(0)
    };
    assert!(matches!(paged.process_part(&part), TaskOutcome::Replaying));
    assert!(paged.replay_started(&part).is_some(), "replaying from the first event");
    paged.evict("run-1");
    assert_eq!(paged.replay_started(&part), None);
    let rest = PollWorkflowTaskQueueResponse {
        history: Some(History { events: at_hand }),
        ..h.poll(0)
    };
    assert!(matches!(paged.process(&rest), TaskOutcome::NeedFullHistory));
}

/// A run pushed out of the cache to make room for another is announced (the worker then
/// resets its stickiness); a run kept again in its own place, a run that finishes, and a run
/// the worker evicts itself (a refused answer, a failed task) are not.
#[test]
fn only_a_run_pushed_out_to_make_room_is_announced() {
    let mut engine = engine(1);
    let (evictions, mut announced) = tokio::sync::mpsc::unbounded_channel();
    engine.evictions = Some(evictions);
    full_run(&mut engine, true);
    assert!(announced.try_recv().is_err());

    let first_task = |workflow_id: &str, run_id: &str| {
        let mut h = HistoryBuilder::started("Ada");
        h.task();
        let mut task = h.poll(0);
        task.workflow_execution = Some(WorkflowExecution {
            workflow_id: workflow_id.into(),
            run_id: run_id.into(),
        });
        task
    };
    commands(engine.process(&first_task("wf-a", "run-a")));
    assert!(announced.try_recv().is_err());
    commands(engine.process(&first_task("wf-b", "run-b")));
    assert_eq!(
        announced.try_recv().ok(),
        Some(WorkflowExecution {
            workflow_id: "wf-a".into(),
            run_id: "run-a".into(),
        })
    );
    engine.evict("run-b");
    assert!(announced.try_recv().is_err());
}
