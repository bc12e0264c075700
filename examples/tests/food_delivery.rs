//! The main demo, in the in-process test environment (virtual time: an hour-long delivery
//! slot and a day-long restaurant timeout pass at once) and against a real server: the stories
//! end as they should, the timeline tells them, and every history replays against the code.

use examples::food_delivery::starter::{Scenario, Timings, place_order};
use examples::food_delivery::{FoodOrder, Order, OrderOutcome, TASK_QUEUE, worker};
use examples::timeline;
use std::time::Duration;
use workflow_runtime::replay::Replayer;
use workflow_runtime::testing::DevServer;
use workflow_runtime::{Client, ClientOptions, StartOptions};

#[tokio::test]
async fn the_stories_in_the_test_environment() {
    let env = workflow_runtime::testing::TestEnv::start().await.unwrap();
    let worker = worker(env.client()).unwrap();
    let running = worker.spawn();
    let began = env.now();
    let timings = Timings {
        restaurant_timeout_secs: 86_400,
        delivery_slot_secs: 3_600,
    };
    let mut outcomes = Vec::new();
    for scenario in Scenario::ALL {
        let id = format!("order-{}", scenario.name());
        let (_, outcome) = place_order(env.client(), scenario, &id, timings, |_| {}).await.unwrap();
        outcomes.push(outcome);
    }
    assert!(
        matches!(outcomes[0], OrderOutcome::Delivered { total_cents: 3149, .. }),
        "{outcomes:?}"
    );
    assert!(matches!(outcomes[1], OrderOutcome::Refunded { .. }), "{outcomes:?}");
    assert!(matches!(outcomes[2], OrderOutcome::NotAccepted { .. }), "{outcomes:?}");
    // The delivered order waited for its slot and a payment retry, in virtual time.
    let waited = env.now().duration_since(began).unwrap();
    assert!(waited >= Duration::from_secs(3_601), "{waited:?}");
    let text = timeline::render(&env.history("order-delivered").unwrap()).join("\n");
    assert!(text.contains("started for 3600s"), "{text}");
    assert!(text.contains("activity charge_card started, attempt 2"), "{text}");

    // Nobody answers: the day-long restaurant timeout passes at once.
    let silent = FoodOrder::start(
        env.client(),
        StartOptions::new("order-silent", TASK_QUEUE),
        Order {
            order_id: "order-silent".into(),
            customer: "grace".into(),
            address: "1 Compiler Court".into(),
            restaurant_timeout_secs: 86_400,
            delivery_slot_secs: 1,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        silent.result().await.unwrap(),
        OrderOutcome::NotAccepted {
            reason: "no answer within 86400s".into()
        }
    );
    let replayer = Replayer::new()
        .workflow::<FoodOrder>()
        .workflow::<examples::food_delivery::Kitchen>();
    for id in [
        "order-delivered",
        "order-refunded",
        "order-rejected",
        "order-silent",
        "order-delivered-kitchen",
    ] {
        replayer.replay(&env.history(id).unwrap()).unwrap();
    }
    running.stop().await.unwrap();
}

#[tokio::test]
async fn the_food_delivery_stories_end_as_told() {
    let client = Client::connect(ClientOptions::new(DevServer::shared_address()))
        .await
        .unwrap();
    let worker = worker(&client).unwrap();
    let running = worker.spawn();
    let timings = Timings {
        restaurant_timeout_secs: 60,
        delivery_slot_secs: 1,
    };
    let run = uuid::Uuid::new_v4().simple().to_string();
    let stories = Scenario::ALL.map(|s| {
        let client = client.clone();
        let id = format!("order-{}-{run}", s.name());
        async move { place_order(&client, s, &id, timings, |_| {}).await.unwrap() }
    });
    let done = tokio::time::timeout(
        Duration::from_secs(60),
        workflow_runtime::futures::future::join_all(stories),
    )
    .await
    .expect("the orders finish within a minute");

    let [
        (delivered, delivered_outcome),
        (refunded, refunded_outcome),
        (rejected, rejected_outcome),
    ] = <[_; 3]>::try_from(done).ok().unwrap();
    // 2 × 11.00 + 6.50 (lemonade removed) + 2.99 delivery.
    assert_eq!(
        delivered_outcome,
        OrderOutcome::Delivered {
            total_cents: 3149,
            payment_id: "pay-ada-3149".into(),
            courier: "courier for 7 Difference Engine Row".into()
        }
    );
    assert_eq!(
        refunded_outcome,
        OrderOutcome::Refunded {
            reason: "the kitchen is out of truffle risotto".into(),
            payment_id: "pay-ada-2999".into()
        }
    );
    assert_eq!(
        rejected_outcome,
        OrderOutcome::NotAccepted {
            reason: "we are closing early tonight".into()
        }
    );
    assert_eq!(delivered.status().await.unwrap(), "delivered");
    assert_eq!(refunded.status().await.unwrap(), "refunded");

    // The timeline tells the story: the retried payment, the child, the timer, the refund.
    let delivered_history = delivered.fetch_history().await.unwrap();
    let text = timeline::render(&delivered_history).join("\n");
    for expected in [
        "signal remove_item: \"lemonade\"",
        "update change_address",
        "activity charge_card started, attempt 2 (the last one failed: the payment gateway timed out)",
        "child workflow KitchenWorkflow completed: 9",
        // The restaurant's deadline may have started a timer first, depending on whether the
        // first workflow task ran before the accept signal arrived: no timer ids here.
        "started for 1s",
        " fired",
        "activity dispatch_courier completed",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in\n{text}");
    }
    let refunded_history = refunded.fetch_history().await.unwrap();
    let text = timeline::render(&refunded_history).join("\n");
    assert!(
        text.contains("child workflow KitchenWorkflow failed: activity failed (the kitchen is out of truffle risotto)"),
        "{text}"
    );
    assert!(text.contains("activity refund completed"), "{text}");

    // A restaurant that never answers: the order gives up when its timer fires.
    let silent = FoodOrder::start(
        &client,
        StartOptions::new(format!("order-silent-{run}"), TASK_QUEUE),
        Order {
            order_id: format!("order-silent-{run}"),
            customer: "grace".into(),
            address: "1 Compiler Court".into(),
            restaurant_timeout_secs: 1,
            delivery_slot_secs: 1,
        },
    )
    .await
    .unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(30), silent.result())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        outcome,
        OrderOutcome::NotAccepted {
            reason: "no answer within 1s".into()
        }
    );

    // Every history replays against the code without a server.
    let replayer = Replayer::new()
        .workflow::<FoodOrder>()
        .workflow::<examples::food_delivery::Kitchen>();
    for handle in [&delivered, &refunded, &rejected, &silent] {
        replayer.replay(&handle.fetch_history().await.unwrap()).unwrap();
    }

    running.stop().await.unwrap();
}
