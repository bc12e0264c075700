//! Versioning with patches: one workflow type in four versions (before a change, with it behind
//! `patched`, with the patch deprecated, with the patch gone), run by workers of successive
//! versions on one task queue and replayed by each later version.

use crate::{connect, record_history};
use std::time::Duration;
use workflow_runtime::client::proto::history::history_event::Attributes;
use workflow_runtime::prelude::*;
use workflow_runtime::replay::Replayer;
use workflow_runtime::testing::unique_id as unique;

#[activity(start_to_close_timeout = "10s")]
async fn pack(order: String) -> Result<String, ActivityError> {
    Ok(format!("{order} packed"))
}

#[activity(start_to_close_timeout = "10s")]
async fn gift_wrap(order: String) -> Result<String, ActivityError> {
    Ok(format!("{order} gift-wrapped"))
}

/// Four versions of one workflow type: before a change, with it behind `patched`, with the
/// patch deprecated, and with the patch gone.
macro_rules! shipping_version {
    ($name:ident, |$ctx:ident, $order:ident| $pack:expr) => {
        #[workflow]
        #[derive(Default)]
        pub struct $name {
            go: bool,
        }

        #[workflow(name = "ShippingWorkflow")]
        impl $name {
            #[run]
            async fn run($ctx: WorkflowContext<Self>, $order: String) -> WorkflowResult<String> {
                let packed = $pack.await?;
                $ctx.wait_condition(|s| s.go).await?;
                Ok(format!("{packed}, shipped"))
            }

            #[signal]
            fn ship(&mut self) {
                self.go = true;
            }
        }
    };
}

shipping_version!(ShippingV1, |ctx, order| ctx.activity(pack, order));
shipping_version!(ShippingV2, |ctx, order| async {
    if ctx.patched("gift-wrap") {
        ctx.activity(gift_wrap, order).await
    } else {
        ctx.activity(pack, order).await
    }
});
shipping_version!(ShippingV3, |ctx, order| async {
    ctx.deprecate_patch("gift-wrap");
    ctx.activity(gift_wrap, order).await
});
shipping_version!(ShippingV4, |ctx, order| ctx.activity(gift_wrap, order));

/// Waits (bounded) until the run's history holds an event `done` accepts.
async fn wait_for_event(handle: &ShippingV1Handle, done: impl Fn(&Attributes) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let history = handle.fetch_history().await.unwrap();
        if history.events.iter().any(|e| e.attributes.as_ref().is_some_and(&done)) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "the event never came");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A run started on v1 finishes on v2 (old path, by replay) beside a run that takes the new
/// path; later versions replay what earlier ones recorded, and the first divergence is named.
#[tokio::test]
async fn versioning_with_patches_across_worker_versions() {
    let client = connect().await;
    let tq = unique("shipping");
    let v1 = Worker::builder(&client, &tq)
        .workflow::<ShippingV1>()
        .activity(pack)
        .build()
        .unwrap()
        .spawn();
    let old = ShippingV1::start(&client, StartOptions::new(unique("old"), &tq), "old".into())
        .await
        .unwrap();
    wait_for_event(&old, |a| {
        matches!(a, Attributes::ActivityTaskCompletedEventAttributes(_))
    })
    .await;
    v1.stop().await.unwrap();

    // v2 takes over: the old run replays on the old path; a new run takes the new one.
    let v2 = Worker::builder(&client, &tq)
        .workflow::<ShippingV2>()
        .activity(pack)
        .activity(gift_wrap)
        .build()
        .unwrap()
        .spawn();
    let new = ShippingV2::start(&client, StartOptions::new(unique("new"), &tq), "new".into())
        .await
        .unwrap();
    old.ship().await.unwrap();
    new.ship().await.unwrap();
    assert_eq!(old.result().await.unwrap(), "old packed, shipped");
    assert_eq!(new.result().await.unwrap(), "new gift-wrapped, shipped");
    v2.stop().await.unwrap();

    // v3 deprecates the patch: runs recorded with the marker still replay.
    let v3 = Worker::builder(&client, &tq)
        .workflow::<ShippingV3>()
        .activity(gift_wrap)
        .build()
        .unwrap()
        .spawn();
    let newer = ShippingV3::start(&client, StartOptions::new(unique("newer"), &tq), "newer".into())
        .await
        .unwrap();
    newer.ship().await.unwrap();
    assert_eq!(newer.result().await.unwrap(), "newer gift-wrapped, shipped");
    v3.stop().await.unwrap();

    let old_history = old.fetch_history().await.unwrap();
    let new_history = new.fetch_history().await.unwrap();
    let newer_history = newer.fetch_history().await.unwrap();
    let markers = |h: &workflow_runtime::client::proto::history::History| {
        h.events
            .iter()
            .filter(|e| matches!(e.attributes, Some(Attributes::MarkerRecordedEventAttributes(_))))
            .count()
    };
    assert_eq!(
        (markers(&old_history), markers(&new_history), markers(&newer_history)),
        (0, 1, 1)
    );
    let v2 = Replayer::new().workflow::<ShippingV2>();
    for h in [&old_history, &new_history, &newer_history] {
        v2.replay(h).unwrap();
    }
    let v3 = Replayer::new().workflow::<ShippingV3>();
    v3.replay(&new_history).unwrap();
    v3.replay(&newer_history).unwrap();
    // v3 dropped the old path: the run recorded before the change no longer replays.
    let diverged = v3.replay_explained(&old_history).unwrap_err().to_string();
    assert!(diverged.contains("ScheduleActivityTask(type gift_wrap"), "{diverged}");
    // v4 drops the deprecated call: the deprecated marker is skipped, the live one is not.
    let v4 = Replayer::new().workflow::<ShippingV4>();
    v4.replay(&newer_history).unwrap();
    assert!(v4.replay(&new_history).is_err());

    record_history("versioning-v1", &old_history);
    record_history("versioning-v2", &new_history);
    record_history("versioning-v3", &newer_history);
}
