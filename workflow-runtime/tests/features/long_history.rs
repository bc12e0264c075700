//! A history longer than a page: a worker without a cache replays it for every task, page by
//! page as the server hands them out, and a fresh worker answers a query on the closed run
//! the same way.

use std::future::IntoFuture;
use std::time::Duration;
use workflow_runtime::prelude::*;

#[activity(start_to_close_timeout = "10s")]
async fn double(n: u64) -> Result<u64, ActivityError> {
    Ok(2 * n)
}

/// Rounds of activities run side by side: a long history in few workflow tasks.
#[workflow]
#[derive(Default)]
pub struct Fanout {
    rounds_done: u64,
}

#[workflow(name = "LongFanout")]
impl Fanout {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, rounds: u64, width: u64) -> WorkflowResult<u64> {
        let mut total = 0;
        for round in 0..rounds {
            let calls = (0..width).map(|i| ctx.activity(double, round * width + i).into_future());
            for result in futures::future::join_all(calls).await {
                total += result?;
            }
            ctx.state_mut(|s| s.rounds_done += 1);
        }
        Ok(total)
    }

    #[query]
    fn rounds_done(&self) -> u64 {
        self.rounds_done
    }
}

#[tokio::test]
async fn a_history_of_many_pages_replays_page_by_page() {
    let client = crate::connect().await;
    let tq = format!("long-history-{}", uuid::Uuid::new_v4().simple());
    let uncached = || {
        Worker::builder(&client, &tq)
            .workflow::<Fanout>()
            .activity(double)
            .sticky_cache_size(0)
            .build()
            .unwrap()
    };
    let running = uncached().spawn();
    let (rounds, width) = (4, 60);
    let fanout = Fanout::start(&client, StartOptions::new(format!("fanout-{tq}"), &tq), rounds, width)
        .await
        .unwrap();
    let total = tokio::time::timeout(Duration::from_secs(60), fanout.result())
        .await
        .expect("the run ends within a minute")
        .unwrap();
    let n = rounds * width;
    assert_eq!(total, n * (n - 1), "2 × (0 + 1 + … + {})", n - 1);
    running.stop().await.unwrap();

    // The history is several pages long: every task of the run above came with part of it.
    let (first_page, next) = fanout.untyped().fetch_history_page(Vec::new()).await.unwrap();
    let history = fanout.fetch_history().await.unwrap();
    assert!(
        !next.is_empty() && first_page.events.len() < history.events.len(),
        "one page holds all {} events",
        history.events.len()
    );
    crate::replayer().workflow::<Fanout>().replay(&history).unwrap();

    // A worker that never saw the run answers a query on it by replaying all those pages.
    let running = uncached().spawn();
    let done = tokio::time::timeout(Duration::from_secs(30), fanout.rounds_done())
        .await
        .expect("the query is answered within 30 s")
        .unwrap();
    assert_eq!(done, rounds);
    running.stop().await.unwrap();
}
