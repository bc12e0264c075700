//! Child workflows and other workflows: a parent runs children to the end, sees a child's
//! failure with its cause, starts and signals one, is refused a reused id, cancels one and
//! abandons one; it signals a workflow it did not start and one that does not exist. The same
//! run in the in-process test environment gives the same commands as on the server.

use crate::{connect, record_history, replayer};
use std::time::Duration;
use workflow_runtime::client::IdReusePolicy;
use workflow_runtime::client::proto::enums::WorkflowExecutionStatus;
use workflow_runtime::client::proto::history::history_event::Attributes;
use workflow_runtime::prelude::*;
use workflow_runtime::testing::unique_id as unique;
use workflow_runtime::workflow::ParentClosePolicy;

/// A child: cooks a dish; a slow stew waits for `hurry` or for cancellation.
#[workflow]
#[derive(Default)]
pub struct Kitchen {
    hurried: bool,
}

#[workflow(name = "KitchenWorkflow")]
impl Kitchen {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, dish: String, minutes: u32) -> WorkflowResult<String> {
        match dish.as_str() {
            "burnt toast" => Err(WorkflowError::non_retryable("the toast burned", "Burnt")),
            // A cancel request ends the wait with a cancellation error, and so the run.
            "slow stew" => {
                ctx.wait_condition(|s| s.hurried).await?;
                Ok(format!("stew hurried after {minutes} min"))
            }
            _ => Ok(format!("{dish} ready in {minutes} min")),
        }
    }

    #[signal]
    fn hurry(&mut self) {
        self.hurried = true;
    }
}

/// A parent: runs kitchens as children in every way a workflow can, and signals a workflow it
/// did not start.
#[workflow]
#[derive(Default)]
pub struct Restaurant;

#[workflow(name = "RestaurantWorkflow")]
impl Restaurant {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, neighbour: String) -> WorkflowResult<Vec<String>> {
        let me = ctx.info().workflow_id;
        let mut log = Vec::new();
        // Run to the end, typed input and output.
        log.push(ctx.child::<Kitchen>(("soup".to_string(), 5)).await?);
        // A failing child: a child-workflow failure whose cause is the child's own failure.
        match ctx.child::<Kitchen>(("burnt toast".to_string(), 1)).await {
            Err(e) => log.push(format!("{} because {}", e.message, e.root_cause().message)),
            Ok(other) => log.push(other),
        }
        // Start, signal, then wait.
        let stew = ctx
            .child::<Kitchen>(("slow stew".to_string(), 90))
            .workflow_id(format!("{me}-stew"))
            .start()
            .await?;
        stew.signal_by_name("hurry", ()).await?;
        log.push(stew.result().await?);
        // The same id again, refused by the reuse policy.
        let again = ctx
            .child::<Kitchen>(("soup".to_string(), 1))
            .workflow_id(format!("{me}-stew"))
            .id_reuse_policy(IdReusePolicy::RejectDuplicate)
            .start()
            .await;
        match again {
            Err(e) => log.push(format!("second start refused: {}", e.application_type().unwrap_or(""))),
            Ok(_) => log.push("second start allowed".to_string()),
        }
        // Cancel a child; it ends as canceled.
        let called_off = ctx.child::<Kitchen>(("slow stew".to_string(), 60)).start().await?;
        called_off.cancel().await?;
        match called_off.result().await {
            Err(e) => log.push(format!("child canceled: {}", e.is_canceled())),
            Ok(other) => log.push(other),
        }
        // A child that outlives its parent.
        ctx.child::<Kitchen>(("slow stew".to_string(), 30))
            .workflow_id(format!("{me}-abandoned"))
            .parent_close_policy(ParentClosePolicy::Abandon)
            .start()
            .await?;
        // Signal a workflow this one did not start, and one that does not exist.
        ctx.external_workflow(&neighbour, "")
            .signal_by_name("hurry", ())
            .await?;
        match ctx
            .external_workflow(format!("{me}-nobody"), "")
            .signal_by_name("hurry", ())
            .await
        {
            Err(e) => log.push(format!("signal to nobody: {}", e.message)),
            Ok(()) => log.push("signal to nobody delivered".to_string()),
        }
        Ok(log)
    }
}

#[tokio::test]
async fn child_workflows_and_external_workflows() {
    let client = connect().await;
    let tq = unique("children");
    let worker = Worker::builder(&client, &tq)
        .workflow::<Kitchen>()
        .workflow::<Restaurant>()
        .build()
        .unwrap();
    let running = worker.spawn();

    let neighbour_id = unique("neighbour");
    let neighbour = Kitchen::start(
        &client,
        StartOptions::new(&neighbour_id, &tq),
        "slow stew".to_string(),
        7,
    )
    .await
    .unwrap();
    let id = unique("restaurant");
    let restaurant = Restaurant::start(&client, StartOptions::new(&id, &tq), neighbour_id.clone())
        .await
        .unwrap();
    let log = tokio::time::timeout(Duration::from_secs(60), restaurant.result())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        log,
        [
            "soup ready in 5 min",
            "child workflow failed because the toast burned",
            "stew hurried after 90 min",
            "second start refused: ChildWorkflowNotStarted",
            "child canceled: true",
            "signal to nobody: the signal was not delivered: SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND",
        ]
    );
    // The neighbour got the parent's signal.
    assert_eq!(neighbour.result().await.unwrap(), "stew hurried after 7 min");

    // The abandoned child outlived its parent; it finishes when told to.
    let abandoned = Kitchen::handle(&client, format!("{id}-abandoned"));
    let status = abandoned.describe().await.unwrap().summary.status;
    assert_eq!(status, WorkflowExecutionStatus::Running);
    abandoned.hurry().await.unwrap();
    assert_eq!(abandoned.result().await.unwrap(), "stew hurried after 30 min");

    // The failed child's failure reached the parent with the child's identity and cause.
    let history = restaurant.fetch_history().await.unwrap();
    let failed = history
        .events
        .iter()
        .find_map(|e| match &e.attributes {
            Some(Attributes::ChildWorkflowExecutionFailedEventAttributes(a)) => Some(a.clone()),
            _ => None,
        })
        .expect("a failed child in history");
    assert_eq!(failed.workflow_type.unwrap().name, "KitchenWorkflow");
    let child_types: Vec<String> = history
        .events
        .iter()
        .filter_map(|e| match &e.attributes {
            Some(Attributes::StartChildWorkflowExecutionInitiatedEventAttributes(a)) => {
                Some(a.workflow_type.clone().unwrap().name)
            }
            _ => None,
        })
        .collect();
    assert_eq!(child_types.len(), 6);
    assert!(child_types.iter().all(|t| t == "KitchenWorkflow"));

    // The parent's history replays without a server.
    replayer().replay(&history).unwrap();
    record_history("children", &history);

    running.stop().await.unwrap();
}

/// The same parent and children in the in-process test environment: the same outcome, and the
/// same commands as the run on the real server recorded in `tests/histories/children.json`.
#[tokio::test]
async fn children_in_the_test_environment_match_the_server() {
    let env = workflow_runtime::testing::TestEnv::start().await.unwrap();
    let worker = Worker::builder(env.client(), "children")
        .workflow::<Kitchen>()
        .workflow::<Restaurant>()
        .build()
        .unwrap();
    let running = worker.spawn();

    let neighbour = Kitchen::start(
        env.client(),
        StartOptions::new("neighbour", "children"),
        "slow stew".to_string(),
        7,
    )
    .await
    .unwrap();
    let restaurant = Restaurant::start(
        env.client(),
        StartOptions::new("restaurant", "children"),
        "neighbour".into(),
    )
    .await
    .unwrap();
    let log = restaurant.result().await.unwrap();
    assert_eq!(log.len(), 6, "{log:?}");
    assert_eq!(log[1], "child workflow failed because the toast burned");
    assert_eq!(log[3], "second start refused: ChildWorkflowNotStarted");
    assert_eq!(log[4], "child canceled: true");
    assert_eq!(neighbour.result().await.unwrap(), "stew hurried after 7 min");
    // The abandoned child outlived its parent.
    let abandoned = Kitchen::handle(env.client(), "restaurant-abandoned");
    assert_eq!(
        abandoned.describe().await.unwrap().summary.status,
        WorkflowExecutionStatus::Running
    );
    abandoned.hurry().await.unwrap();
    assert_eq!(abandoned.result().await.unwrap(), "stew hurried after 30 min");

    let here = env.history("restaurant").unwrap();
    replayer().replay(&here).unwrap();
    let recorded =
        std::fs::read_to_string(format!("{}/tests/histories/children.json", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let there = workflow_runtime::client::history::history_from_json(&recorded).unwrap();
    assert_eq!(
        workflow_runtime::client::history::command_events(&here),
        workflow_runtime::client::history::command_events(&there)
    );

    running.stop().await.unwrap();
}
