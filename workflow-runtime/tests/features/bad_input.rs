//! Bad input: unknown signals, queries and updates, undecodable payloads, wrong arity, panicking
//! handlers and oversized payloads each get a clear error, and the worker keeps serving the run.

use crate::connect;
use workflow_runtime::prelude::*;
use workflow_runtime::testing::unique_id as unique;

/// Takes a name; has a query and an update validator that panic on a bad argument.
#[workflow]
#[derive(Default)]
pub struct Fragile {
    names: Vec<String>,
    done: bool,
}

#[workflow(name = "FragileWorkflow")]
impl Fragile {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        ctx.state_mut(|s| s.names.push(name));
        ctx.wait_condition(|s| s.done).await?;
        Ok(ctx.state(|s| s.names.join(",")))
    }

    #[signal]
    fn add(&mut self, name: String) {
        self.names.push(name);
    }

    #[signal]
    fn finish(&mut self) {
        self.done = true;
    }

    /// Takes a number (a string sent here does not decode).
    #[signal]
    fn skip(&mut self, n: usize) {
        self.names.truncate(self.names.len().saturating_sub(n));
    }

    #[query]
    fn nth(&self, i: usize) -> String {
        self.names[i].clone() // panics past the end: the query fails, the workflow does not
    }

    #[update(validator = "check")]
    fn rename(&mut self, i: usize, name: String) -> String {
        std::mem::replace(&mut self.names[i], name)
    }

    fn check(&self, i: usize, _name: String) -> Result<(), String> {
        assert!(i < 100, "index {i} is absurd"); // a panicking validator rejects the update
        Ok(())
    }
}

/// Bad input of every kind gets a clear error and the worker keeps serving the same run.
#[tokio::test]
async fn bad_input_gets_clear_errors_and_the_worker_keeps_serving() {
    use workflow_runtime::client::payload::to_payload;
    use workflow_runtime::client::proto::common::Payload;
    let client = connect().await;
    let tq = unique("fragile");
    let worker = Worker::builder(&client, &tq).workflow::<Fragile>().build().unwrap();
    let running = worker.spawn();
    let fragile = Fragile::start(&client, StartOptions::new(unique("fragile"), &tq), "ada".into())
        .await
        .unwrap();
    let raw = fragile.untyped();
    // Answered only once the run has started: the signals below come after its first line.
    assert_eq!(fragile.nth(0).await.unwrap(), "ada");

    // Unknown signal: dropped (logged); non-UTF-8 text: dropped too. An extra argument is
    // ignored (the arity rule of the Go and TypeScript SDKs): "a" is added.
    raw.signal("no_such_signal", vec![to_payload("x").unwrap()])
        .await
        .unwrap();
    raw.signal("add", vec![to_payload("a").unwrap(), to_payload("b").unwrap()])
        .await
        .unwrap();
    let not_utf8 = Payload {
        metadata: [("encoding".to_string(), b"json/plain".to_vec())].into(),
        data: vec![b'"', 0xff, 0xfe, b'"'],
        ..Default::default()
    };
    raw.signal("add", vec![not_utf8.clone()]).await.unwrap();
    fragile.add("grace".into()).await.unwrap();

    // Unknown query and update: typed errors naming what exists.
    match raw.query("no_such_query", vec![], Default::default()).await {
        Err(ClientError::QueryFailed { message, .. }) => assert!(message.contains("known queries: nth"), "{message}"),
        other => panic!("{other:?}"),
    }
    match raw.update("no_such_update", vec![]).await {
        Err(ClientError::UpdateFailed { failure, .. }) => {
            assert!(failure.message.contains("known updates: rename"), "{failure}")
        }
        other => panic!("{other:?}"),
    }
    // A panicking query handler fails the query; a panicking validator rejects the update.
    match fragile.nth(7).await {
        Err(ClientError::QueryFailed { message, .. }) => assert!(message.contains("index out of bounds"), "{message}"),
        other => panic!("{other:?}"),
    }
    match fragile.rename(1000, "x".into()).await {
        Err(ClientError::UpdateFailed { failure, .. }) => {
            assert!(failure.message.contains("index 1000 is absurd"), "{failure}")
        }
        other => panic!("{other:?}"),
    }
    // A payload over the server's size limit is refused, and the error says so.
    let huge = "x".repeat(3 * 1024 * 1024);
    match fragile.add(huge).await {
        Err(e) => assert!(e.to_string().to_lowercase().contains("size"), "{e}"),
        Ok(()) => panic!("a 3 MiB signal was accepted"),
    }
    // The same run still works: the bad signals left no trace in its state.
    assert_eq!(fragile.nth(1).await.unwrap(), "a");
    assert_eq!(fragile.nth(2).await.unwrap(), "grace");
    assert_eq!(fragile.rename(0, "ada lovelace".into()).await.unwrap(), "ada");
    fragile.finish().await.unwrap();
    assert_eq!(fragile.result().await.unwrap(), "ada lovelace,a,grace");

    // Input that is not valid UTF-8 JSON, and the wrong number of arguments, fail the start
    // with the reason (started by name, as another SDK or the CLI would).
    for (what, args) in [
        ("not UTF-8", vec![not_utf8]),
        ("two arguments", vec![to_payload("a").unwrap(); 2]),
    ] {
        let handle = client
            .start_untyped("FragileWorkflow", StartOptions::new(unique("bad"), &tq), args)
            .await
            .unwrap();
        match handle.result().await {
            Err(ClientError::WorkflowFailed(failure)) => {
                assert!(failure.message.contains("FragileWorkflow"), "{what}: {failure}");
                assert_eq!(failure.application_type(), Some("PayloadError"), "{what}");
            }
            other => panic!("{what}: {other:?}"),
        }
    }
    running.stop().await.unwrap();
}
