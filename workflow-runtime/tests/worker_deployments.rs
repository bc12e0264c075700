//! Worker versioning on the real dev server: two builds of one worker deployment, a pinned and
//! an auto-upgrade workflow type, the operator calls that move work between the builds
//! (ramping, current version, conflict tokens), drainage, and the checks a versioned worker's
//! build makes.
//!
//! Drainage is refreshed every few minutes by default; the dev servers of the tests refresh it
//! every second (`workflow_dev_server::test_dynamic_config`).

use std::time::Duration;
use workflow_runtime::client::deployment::{DrainageStatus, RoutingOptions, VersionStatus, WorkerDeploymentHandle};
use workflow_runtime::client::proto::enums::{TaskQueueType, VersioningBehavior as WireBehavior};
use workflow_runtime::client::proto::history::History;
use workflow_runtime::client::proto::history::history_event::Attributes;
use workflow_runtime::client::{VersioningBehavior, WorkerDeploymentVersion};
use workflow_runtime::prelude::*;
use workflow_runtime::testing::{dev_server_client, eventually, unique_id};
use workflow_runtime::worker::{RunningWorker, WorkerBuilder, WorkerDeploymentOptions, WorkerError};

/// Bounds what the server does in its own time.
const BOUND: Duration = Duration::from_secs(60);

/// One build of an order workflow type: it waits for `proceed`, then says which build finished
/// it. The builds of a type differ only in that answer, so each replays the other's history.
macro_rules! order_build {
    ($ty:ident, $wire:literal, $versioning:literal, $build:literal) => {
        #[workflow]
        #[derive(Default)]
        pub struct $ty {
            go: bool,
        }

        #[workflow(name = $wire, versioning = $versioning)]
        impl $ty {
            #[run]
            async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
                ctx.wait_condition(|s| s.go).await?;
                Ok($build.to_string())
            }

            #[signal]
            fn proceed(&mut self) {
                self.go = true;
            }
        }
    };
}

order_build!(PinnedV1, "PinnedOrder", "pinned", "v1");
order_build!(PinnedV2, "PinnedOrder", "pinned", "v2");
order_build!(UpgradingV1, "UpgradingOrder", "auto_upgrade", "v1");
order_build!(UpgradingV2, "UpgradingOrder", "auto_upgrade", "v2");

/// A workflow type that declares no behaviour.
#[workflow]
#[derive(Default)]
pub struct Undeclared;

#[workflow]
impl Undeclared {
    #[run]
    async fn run(_ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        Ok(())
    }
}

async fn bounded<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, fut)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// A versioned worker of build `build_id` of `deployment`.
fn versioned(deployment: &str, build_id: &str) -> WorkerDeploymentOptions {
    WorkerDeploymentOptions::versioned(WorkerDeploymentVersion::new(deployment, build_id))
}

/// Waits until a worker of `build_id` has polled `queue` (the server knows the version then,
/// and lets it become current or ramping).
async fn await_polls(shop: &WorkerDeploymentHandle, build_id: &str, queue: &str) {
    eventually(&format!("build {build_id} polling {queue}"), BOUND, || async {
        let version = shop.describe_version(build_id).await.ok()?;
        version
            .task_queues
            .iter()
            .any(|(name, kind)| name == queue && *kind == TaskQueueType::Workflow)
            .then_some(())
    })
    .await
}

/// Waits until the deployment's latest routing change has reached its task queues.
async fn await_propagation(shop: &WorkerDeploymentHandle) {
    eventually("the routing change to propagate", BOUND, || async {
        shop.describe().await.ok().filter(|d| d.routing_propagated).map(drop)
    })
    .await
}

/// Waits until `handle`'s run has completed a workflow task on `build_id`.
async fn await_run_on<W: WorkflowDefinition>(handle: &WorkflowHandle<W>, build_id: &str) {
    eventually(
        &format!("run {} on {build_id}", handle.workflow_id()),
        BOUND,
        || async {
            let d = handle.describe().await.ok()?;
            (d.deployment_version.as_ref().map(|v| v.build_id.as_str()) == Some(build_id)).then_some(())
        },
    )
    .await
}

/// Each completed workflow task of a history: the build that completed it and the behaviour
/// it reported.
fn completions(history: &History) -> Vec<(String, WireBehavior)> {
    history
        .events
        .iter()
        .filter_map(|e| match &e.attributes {
            Some(Attributes::WorkflowTaskCompletedEventAttributes(a)) => Some((
                a.deployment_version
                    .as_ref()
                    .map(|v| v.build_id.clone())
                    .unwrap_or_default(),
                WireBehavior::try_from(a.versioning_behavior).unwrap_or(WireBehavior::Unspecified),
            )),
            _ => None,
        })
        .collect()
}

/// Starts build `build_id` of the deployment with its pinned type `P` and auto-upgrade type
/// `U` on `queue`, and waits until the server has seen it poll.
async fn start_build<P: Workflow, U: Workflow>(
    client: &Client,
    shop: &WorkerDeploymentHandle,
    queue: &str,
    build_id: &str,
) -> RunningWorker {
    let worker = Worker::builder(client, queue)
        .workflow::<P>()
        .workflow::<U>()
        .deployment(versioned(shop.name(), build_id))
        .build()
        .expect("a valid versioned worker")
        .spawn();
    await_polls(shop, build_id, queue).await;
    worker
}

#[tokio::test]
async fn a_pinned_run_stays_on_its_build_while_an_auto_upgrade_run_and_new_runs_move_to_the_current_one() {
    let client = dev_server_client().await.expect("connect to the dev server");
    let deployment = unique_id("shop");
    let queue = unique_id("orders");
    let shop = client.worker_deployment(&deployment);

    // Build v1 polls and becomes current; a pinned and an auto-upgrade run start on it.
    let v1 = start_build::<PinnedV1, UpgradingV1>(&client, &shop, &queue, "v1").await;
    shop.set_current_version("v1", RoutingOptions::default())
        .await
        .expect("v1 becomes current");
    await_propagation(&shop).await;
    let pinned = PinnedV1::start(&client, StartOptions::new(unique_id("pinned"), &queue))
        .await
        .unwrap();
    let upgrading = UpgradingV1::start(&client, StartOptions::new(unique_id("upgrading"), &queue))
        .await
        .unwrap();
    await_run_on(&pinned, "v1").await;
    await_run_on(&upgrading, "v1").await;
    let described = pinned.describe().await.unwrap();
    assert_eq!(described.versioning_behavior, Some(VersioningBehavior::Pinned));
    assert_eq!(
        described.deployment_version,
        Some(WorkerDeploymentVersion::new(&deployment, "v1"))
    );
    let described = upgrading.describe().await.unwrap();
    assert_eq!(described.versioning_behavior, Some(VersioningBehavior::AutoUpgrade));

    // Build v2 polls (on a client of its own, as another process would); it ramps, and a
    // change based on a stale read is refused.
    let v2_client = dev_server_client().await.unwrap();
    let v2 = start_build::<PinnedV2, UpgradingV2>(&v2_client, &shop, &queue, "v2").await;
    let before_ramp = shop.describe().await.unwrap();
    assert_eq!(
        before_ramp.current_version,
        Some(WorkerDeploymentVersion::new(&deployment, "v1"))
    );
    let after_ramp = shop
        .set_ramping_version(
            "v2",
            25.0,
            RoutingOptions::default().conflict_token(before_ramp.conflict_token.clone()),
        )
        .await
        .expect("v2 ramps");
    let ramping = shop.describe().await.unwrap();
    assert_eq!(
        ramping.ramping_version,
        Some(WorkerDeploymentVersion::new(&deployment, "v2"))
    );
    assert_eq!(ramping.ramping_percentage, 25.0);
    assert_eq!(ramping.last_modifier_identity, client.identity());
    assert_eq!(ramping.version("v2").map(|v| v.status), Some(VersionStatus::Ramping));
    let v2_described = shop.describe_version("v2").await.unwrap();
    assert_eq!(v2_described.status, VersionStatus::Ramping);
    assert_eq!(v2_described.ramp_percentage, 25.0);
    let stale = shop
        .set_ramping_version(
            "v2",
            50.0,
            RoutingOptions::default().conflict_token(before_ramp.conflict_token),
        )
        .await
        .expect_err("a change based on a stale read");
    assert!(
        matches!(&stale, ClientError::DeploymentConflict { deployment_name } if *deployment_name == deployment),
        "{stale:?}"
    );
    assert!(matches!(
        shop.set_ramping_version("v2", 120.0, RoutingOptions::default()).await,
        Err(ClientError::InvalidArgument(_))
    ));
    shop.unset_ramping_version(RoutingOptions::default().conflict_token(after_ramp))
        .await
        .expect("the ramp ends");
    let unramped = shop.describe().await.unwrap();
    assert_eq!(unramped.ramping_version, None);
    assert_eq!(unramped.ramping_percentage, 0.0);

    // v2 becomes current: v1 drains, holding the pinned run.
    shop.set_current_version("v2", RoutingOptions::default())
        .await
        .expect("v2 becomes current");
    await_propagation(&shop).await;
    let current = shop.describe().await.unwrap();
    assert_eq!(
        current.current_version,
        Some(WorkerDeploymentVersion::new(&deployment, "v2"))
    );
    assert_eq!(current.version("v2").map(|v| v.status), Some(VersionStatus::Current));
    let draining = eventually("v1 draining", BOUND, || async {
        let v1 = shop.describe_version("v1").await.ok()?;
        (v1.status == VersionStatus::Draining).then_some(v1)
    })
    .await;
    assert!(
        draining.task_queues.contains(&(queue.clone(), TaskQueueType::Workflow)),
        "{:?}",
        draining.task_queues
    );

    // The pinned run finishes on v1; the auto-upgrade run's next task goes to v2.
    pinned.proceed().await.unwrap();
    upgrading.proceed().await.unwrap();
    assert_eq!(bounded("the pinned run", pinned.result()).await.unwrap(), "v1");
    assert_eq!(bounded("the auto-upgrade run", upgrading.result()).await.unwrap(), "v2");
    let pinned_tasks = completions(&pinned.fetch_history().await.unwrap());
    assert!(pinned_tasks.len() >= 2, "{pinned_tasks:?}");
    assert!(
        pinned_tasks
            .iter()
            .all(|t| *t == ("v1".to_string(), WireBehavior::Pinned)),
        "{pinned_tasks:?}"
    );
    let upgrading_tasks = completions(&upgrading.fetch_history().await.unwrap());
    assert_eq!(
        upgrading_tasks.first(),
        Some(&("v1".to_string(), WireBehavior::AutoUpgrade)),
        "{upgrading_tasks:?}"
    );
    assert_eq!(
        upgrading_tasks.last(),
        Some(&("v2".to_string(), WireBehavior::AutoUpgrade)),
        "{upgrading_tasks:?}"
    );

    // A new pinned run starts on v2, eagerly on v2's client (the start names v2's version).
    let fresh = PinnedV2::start(&v2_client, StartOptions::new(unique_id("fresh"), &queue).eager(true))
        .await
        .unwrap();
    fresh.proceed().await.unwrap();
    assert_eq!(bounded("the new run", fresh.result()).await.unwrap(), "v2");
    let fresh_history = fresh.fetch_history().await.unwrap();
    assert!(
        completions(&fresh_history)
            .iter()
            .all(|t| *t == ("v2".to_string(), WireBehavior::Pinned)),
        "{:?}",
        completions(&fresh_history)
    );
    let first_task_identity = fresh_history.events.iter().find_map(|e| match &e.attributes {
        Some(Attributes::WorkflowTaskStartedEventAttributes(a)) => Some(a.identity.clone()),
        _ => None,
    });
    assert_eq!(
        first_task_identity.as_deref(),
        Some(v2_client.identity()),
        "the first task was handed back to the start"
    );

    // With its pinned run closed, v1 drains.
    let drained = eventually("v1 drained", BOUND, || async {
        let v1 = shop.describe_version("v1").await.ok()?;
        v1.drainage.filter(|d| d.status == DrainageStatus::Drained)
    })
    .await;
    assert!(drained.last_checked_time.is_some());

    v1.stop().await.unwrap();
    v2.stop().await.unwrap();
}

#[tokio::test]
async fn a_versioned_worker_needs_a_behaviour_for_every_workflow_type_and_sound_deployment_options() {
    let client = dev_server_client().await.expect("connect to the dev server");
    let builder = || {
        Worker::builder(&client, "q")
            .workflow::<PinnedV1>()
            .workflow::<Undeclared>()
    };

    // A type with no behaviour and no default: refused, naming the type.
    match builder().deployment(versioned("shop", "v1")).build() {
        Err(WorkerError::NoVersioningBehavior { workflow_types }) => assert_eq!(workflow_types, ["Undeclared"]),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("built"),
    }
    // A default covers it; the type's own behaviour stays its own.
    let with_default = versioned("shop", "v1").default_versioning_behavior(VersioningBehavior::AutoUpgrade);
    assert!(builder().deployment(with_default).build().is_ok());
    // An unversioned worker needs none, and may not have a default.
    let unversioned = || WorkerDeploymentOptions::unversioned(WorkerDeploymentVersion::new("shop", "v1"));
    assert!(builder().deployment(unversioned()).build().is_ok());
    let refused = |builder: WorkerBuilder| match builder.build() {
        Err(WorkerError::Config(message)) => message,
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("built"),
    };
    let message = refused(builder().deployment(unversioned().default_versioning_behavior(VersioningBehavior::Pinned)));
    assert!(
        message.contains("default_versioning_behavior is for versioned workers"),
        "{message}"
    );
    // A versioned worker names its deployment and build; the build is named once.
    let message = refused(builder().deployment(versioned("", "")));
    assert!(
        message.contains("needs a deployment name") && message.contains("needs a build id"),
        "{message}"
    );
    let message = refused(builder().deployment(unversioned()).build_id("v1"));
    assert!(message.contains("build_id and deployment are both set"), "{message}");
    // A worker that runs no workflow tasks needs no behaviour.
    assert!(
        builder()
            .no_workflow_tasks(true)
            .activity(noop)
            .deployment(versioned("shop", "v1"))
            .build()
            .is_ok()
    );
}

#[activity(start_to_close_timeout = "10s")]
async fn noop() -> Result<(), ActivityError> {
    Ok(())
}
