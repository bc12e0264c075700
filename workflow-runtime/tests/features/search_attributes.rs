//! Typed search attributes and memo: set at start, read and upserted by workflow code, seen by
//! describe and visibility queries, with the same commands on the server and in the test
//! environment.

use crate::{connect, record_history, replayer};
use std::time::Duration;
use workflow_runtime::client::SearchAttributeKey;
use workflow_runtime::prelude::*;
use workflow_runtime::testing::unique_id as unique;

/// Attributes the dev server of the tests registers.
const CUSTOMER: SearchAttributeKey<String> = SearchAttributeKey::keyword("CustomKeywordField");
const STAGE: SearchAttributeKey<i64> = SearchAttributeKey::int("CustomIntField");

/// Reads its search attributes and memo, upserts both, and waits to be finished.
#[workflow]
#[derive(Default)]
pub struct Tracked {
    done: bool,
}

#[workflow(name = "TrackedWorkflow")]
impl Tracked {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        let customer = ctx.search_attribute(CUSTOMER).unwrap_or_default();
        let note: String = ctx.memo("note").unwrap_or_default();
        ctx.upsert_search_attributes([STAGE.set(2)])?;
        ctx.upsert_memo("stage", "packed")?;
        ctx.wait_condition(|s| s.done).await?;
        let stage = ctx.search_attribute(STAGE).unwrap_or(0);
        Ok(format!("{customer}: {note}, stage {stage}"))
    }

    #[signal]
    fn finish(&mut self) {
        self.done = true;
    }
}

/// Typed search attributes and memo: set at start, read and upserted by workflow code, seen by
/// visibility queries and describe — on the server and in the test environment.
#[tokio::test]
async fn search_attributes_and_memo_set_read_upserted_and_listed() {
    async fn run_on(
        client: &Client,
        customer: &str,
        on_server: bool,
    ) -> workflow_runtime::client::proto::history::History {
        let tq = unique("tracked");
        let worker = Worker::builder(client, &tq).workflow::<Tracked>().build().unwrap();
        let running = worker.spawn();
        let options = StartOptions::new(unique("tracked"), &tq)
            .search_attribute(CUSTOMER, customer.to_string())
            .search_attribute(STAGE, 1)
            .memo("note", "fragile")
            .unwrap();
        let tracked = Tracked::start(client, options).await.unwrap();
        // The upsert reaches describe (and, on the server, visibility queries).
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let description = tracked.describe().await.unwrap();
            let stage = STAGE.get(&description.summary.search_attributes).map(Result::unwrap);
            let memo = description
                .summary
                .memo
                .get("stage")
                .map(|p| workflow_runtime::client::payload::from_payload::<String>(p).unwrap());
            if stage == Some(2) && memo.as_deref() == Some("packed") {
                assert_eq!(
                    CUSTOMER.get(&description.summary.search_attributes).unwrap().unwrap(),
                    customer
                );
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the upsert never showed: {stage:?} {memo:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if on_server {
            let query = format!("{} = '{customer}' AND {} = 2", CUSTOMER.name(), STAGE.name());
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            while client.count_workflows(&query).await.unwrap() != 1 {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "visibility never listed the run"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        tracked.finish().await.unwrap();
        assert_eq!(tracked.result().await.unwrap(), format!("{customer}: fragile, stage 2"));
        running.stop().await.unwrap();
        tracked.fetch_history().await.unwrap()
    }

    let client = connect().await;
    let history = run_on(&client, &unique("customer"), true).await;
    replayer().replay(&history).unwrap();
    record_history("search-attributes", &history);

    let env = workflow_runtime::testing::TestEnv::start().await.unwrap();
    let here = run_on(env.client(), "ada", false).await;
    assert_eq!(
        workflow_runtime::client::history::command_events(&here),
        workflow_runtime::client::history::command_events(&history)
    );
}
