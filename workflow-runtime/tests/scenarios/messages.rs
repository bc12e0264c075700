//! Signals, queries and updates: from clients, between workflows, and with start.

use super::*;

// A query sent right after a signal call returned sees that signal: a query is answered after
// every event recorded before it arrived.

#[workflow]
#[derive(Default)]
pub struct Counter {
    count: u64,
    done: bool,
}

#[workflow]
impl Counter {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u64> {
        ctx.wait_condition(|s| s.done).await?;
        Ok(ctx.state(|s| s.count))
    }

    #[signal]
    fn bump(&mut self) {
        self.count += 1;
    }

    #[signal]
    fn finish(&mut self) {
        self.done = true;
    }

    #[query]
    fn count(&self) -> u64 {
        self.count
    }
}

#[tokio::test]
async fn a_query_right_after_a_signal_sees_it() {
    let report = on_both(&[], |client| async move {
        let queue = unique_id("scenario");
        let running = Worker::builder(&client, &queue)
            .workflow::<Counter>()
            .build()
            .unwrap()
            .spawn();
        let counter = Counter::start(&client, StartOptions::new(unique_id("scenario"), &queue))
            .await
            .unwrap();
        let mut stale = Vec::new();
        for expected in 1..=20 {
            counter.bump().await.unwrap();
            let seen = counter.count().await.unwrap();
            if seen != expected {
                stale.push(format!("after signal {expected} the query saw {seen}"));
            }
        }
        counter.finish().await.unwrap();
        let result = counter.result().await;
        let history = counter.fetch_history().await.unwrap();
        running.stop().await.unwrap();
        Report::new(format!("{result:?}; stale reads: {stale:?}"), &history)
    })
    .await;
    assert_eq!(report.outcome, "Ok(20); stale reads: []");
}

#[tokio::test]
async fn a_query_waiting_with_a_signal_for_a_worker_is_answered_after_the_signal() {
    let report = on_both(&[], |client| async move {
        let queue = unique_id("scenario");
        let worker = || Worker::builder(&client, &queue).workflow::<Counter>().build().unwrap();
        let first = worker().spawn();
        let counter = Counter::start(&client, StartOptions::new(unique_id("scenario"), &queue))
            .await
            .unwrap();
        counter.bump().await.unwrap();
        assert_eq!(counter.count().await.unwrap(), 1);
        first.stop().await.unwrap();
        // No worker: the signal waits for a workflow task, and the query arrives while it does.
        counter.bump().await.unwrap();
        let asking = counter.clone();
        let query = tokio::spawn(async move { asking.count().await });
        // Only to let the query reach the server before a worker polls again; were it later,
        // the signal would be applied first anyway and the check below would still hold.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let second = worker().spawn();
        let seen = tokio::time::timeout(Duration::from_secs(30), query)
            .await
            .expect("the query is answered")
            .unwrap()
            .unwrap();
        counter.finish().await.unwrap();
        let result = counter.result().await;
        let history = counter.fetch_history().await.unwrap();
        second.stop().await.unwrap();
        Report::new(format!("{result:?}; the query saw {seen}"), &history)
    })
    .await;
    assert_eq!(report.outcome, "Ok(2); the query saw 2");
}

// Signals between workflows: a parent signals its child, which was waiting for it.

#[workflow]
#[derive(Default)]
pub struct Waiter {
    go: bool,
}

#[workflow]
impl Waiter {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        ctx.wait_condition(|s| s.go).await?;
        Ok("signalled".into())
    }

    #[signal]
    fn go(&mut self) {
        self.go = true;
    }
}

#[workflow]
#[derive(Default)]
pub struct Signaller;

#[workflow]
impl Signaller {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        let child = ctx.child::<Waiter>(()).start().await?;
        child.signal_by_name("go", ()).await?;
        Ok(format!("child {}", child.result().await?))
    }
}

#[tokio::test]
async fn a_workflow_signals_another() {
    let report = scenario::<Signaller>(
        TestEnvOptions::default(),
        &[],
        |c, q| {
            Worker::builder(c, q)
                .workflow::<Signaller>()
                .workflow::<Waiter>()
                .build()
                .unwrap()
        },
        (),
    )
    .await;
    assert_eq!(report.outcome, "completed: \"child signalled\"");
}

// An update: validated, accepted and answered.

#[workflow]
#[derive(Default)]
pub struct Priced {
    price: u64,
    done: bool,
}

#[workflow]
impl Priced {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u64> {
        ctx.wait_condition(|s| s.done).await?;
        Ok(ctx.state(|s| s.price))
    }

    #[update(validator = "positive")]
    fn set_price(&mut self, price: u64) -> WorkflowResult<u64> {
        Ok(std::mem::replace(&mut self.price, price))
    }

    fn positive(&self, price: u64) -> Result<(), String> {
        if price == 0 {
            Err("a price is positive".into())
        } else {
            Ok(())
        }
    }

    #[signal]
    fn close(&mut self) {
        self.done = true;
    }
}

#[tokio::test]
async fn updates_are_validated_and_answered() {
    let report = on_both(&[], |client| async move {
        let queue = unique_id("scenario");
        let running = Worker::builder(&client, &queue)
            .workflow::<Priced>()
            .build()
            .unwrap()
            .spawn();
        let priced = Priced::start(&client, StartOptions::new(unique_id("scenario"), &queue))
            .await
            .unwrap();
        let first = priced.set_price(250).await;
        let refused = priced.set_price(0).await;
        let second = priced.set_price(300).await;
        priced.close().await.unwrap();
        let result = priced.result().await;
        let history = priced.fetch_history().await.unwrap();
        running.stop().await.unwrap();
        let refused = refused.map_err(|e| e.to_string().contains("a price is positive"));
        Report::new(format!("{first:?} {refused:?} {second:?} {result:?}"), &history)
    })
    .await;
    assert_eq!(report.outcome, "Ok(0) Err(true) Ok(250) Ok(300)");
}

// Signal-with-start and update-with-start: the first call starts the workflow, the second
// reaches the running one.

#[tokio::test]
async fn signal_with_start_starts_once_then_signals() {
    let report = on_both(&[], |client| async move {
        let queue = unique_id("scenario");
        let running = Worker::builder(&client, &queue)
            .workflow::<Counter>()
            .build()
            .unwrap()
            .spawn();
        let options = StartOptions::new(unique_id("scenario"), &queue);
        let first = Counter::bump_with_start(&client, options.clone()).await.unwrap();
        let second = Counter::bump_with_start(&client, options).await.unwrap();
        let same_run = first.run_id() == second.run_id();
        second.finish().await.unwrap();
        let result = second.result().await;
        let history = second.fetch_history().await.unwrap();
        running.stop().await.unwrap();
        Report::new(format!("{result:?}; one run: {same_run}"), &history)
    })
    .await;
    assert_eq!(report.outcome, "Ok(2); one run: true");
}

#[tokio::test]
async fn update_with_start_starts_once_then_updates() {
    let report = on_both(&[], |client| async move {
        let queue = unique_id("scenario");
        let running = Worker::builder(&client, &queue)
            .workflow::<Priced>()
            .build()
            .unwrap()
            .spawn();
        let options = StartOptions::new(unique_id("scenario"), &queue)
            .id_conflict_policy(workflow_runtime::client::IdConflictPolicy::UseExisting);
        let (first, before) = Priced::set_price_with_start(&client, options.clone(), 100)
            .await
            .unwrap();
        let (_, again) = Priced::set_price_with_start(&client, options, 200).await.unwrap();
        first.close().await.unwrap();
        let result = first.result().await;
        let history = first.fetch_history().await.unwrap();
        running.stop().await.unwrap();
        Report::new(format!("{before} {again} {result:?}"), &history)
    })
    .await;
    assert_eq!(report.outcome, "0 100 Ok(200)");
}
