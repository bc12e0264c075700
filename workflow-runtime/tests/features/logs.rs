//! Logs: payload contents (even undecodable ones) and the API key stay out of the logs at the
//! default level, and decode failures stored in history do not repeat the payload; workflow
//! code logs once, not again on replay (unless asked), and every line says which run it is.

use crate::bad_input::Fragile;
use crate::captured_logs::captured_logs;
use workflow_runtime::prelude::*;
use workflow_runtime::testing::{DevServer, unique_id as unique};

/// At the default log level, neither payload contents (even those that fail to decode) nor the
/// API key reach the logs, and decode failures stored in history do not repeat the payload.
#[tokio::test]
async fn payload_contents_and_secrets_stay_out_of_logs_and_failure_messages() {
    use workflow_runtime::client::payload::to_payload;
    let logs = captured_logs();
    let client = Client::connect(ClientOptions::new(DevServer::shared_address()).api_key("sesame-api-key"))
        .await
        .unwrap();
    let tq = unique("secrets");
    let worker = Worker::builder(&client, &tq).workflow::<Fragile>().build().unwrap();
    let running = worker.spawn();
    let fragile = Fragile::start(&client, StartOptions::new(unique("secret"), &tq), "sesame-start".into())
        .await
        .unwrap();
    fragile.add("sesame-signal".into()).await.unwrap();
    // Does not decode: logged as dropped, without the value.
    fragile
        .untyped()
        .signal("skip", vec![to_payload("sesame-undecodable").unwrap()])
        .await
        .unwrap();
    // (The signal may be handled before the run's first line: either order is right.)
    let mut names = [fragile.nth(0).await.unwrap(), fragile.nth(1).await.unwrap()];
    names.sort();
    assert_eq!(names, ["sesame-signal", "sesame-start"]);
    fragile.finish().await.unwrap();
    fragile.result().await.unwrap();
    // A start whose input does not decode: the failure in history names the type, not the value.
    let bad = client
        .start_untyped(
            "FragileWorkflow",
            StartOptions::new(unique("bad"), &tq),
            vec![to_payload(&4111_1111_1111_1111u64).unwrap()],
        )
        .await
        .unwrap();
    match bad.result().await {
        Err(ClientError::WorkflowFailed(failure)) => {
            assert!(failure.message.contains("String"), "{failure}");
            assert!(!failure.message.contains("4111"), "{failure}");
        }
        other => panic!("{other:?}"),
    }
    running.stop().await.unwrap();
    let logged = logs.text();
    assert!(
        logged.contains("signal input does not decode"),
        "the dropped signal was logged:\n{logged}"
    );
    for secret in ["sesame", "4111"] {
        assert!(!logged.contains(secret), "`{secret}` was logged:\n{logged}");
    }
}

#[activity(start_to_close_timeout = "5s")]
async fn chatty_step(marker: String) -> Result<(), ActivityError> {
    tracing::info!("chatty {marker} in the activity");
    Ok(())
}

/// Logs a line before and after each step.
#[workflow]
#[derive(Default)]
pub struct Chatty;

#[workflow]
impl Chatty {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, marker: String) -> WorkflowResult<()> {
        tracing::info!("chatty {marker} started");
        ctx.activity(chatty_step, marker.clone()).await?;
        tracing::info!("chatty {marker} after the activity");
        ctx.sleep(std::time::Duration::from_millis(10)).await?;
        tracing::info!("chatty {marker} done");
        Ok(())
    }
}

/// Runs `Chatty` with `marker` on a worker without a cache (every task replays the run from its
/// start), logging during replays when `log_during_replay`.
async fn run_chatty(marker: &str, log_during_replay: bool) {
    let client = crate::connect().await;
    let tq = unique("chatty");
    let worker = Worker::builder(&client, &tq)
        .workflow::<Chatty>()
        .activity(chatty_step)
        .sticky_cache_size(0)
        .log_during_replay(log_during_replay)
        .build()
        .unwrap();
    let running = worker.spawn();
    Chatty::execute(&client, StartOptions::new(unique("chatty"), &tq), marker.to_string())
        .await
        .unwrap();
    running.stop().await.unwrap();
}

/// Workflow code's lines are written once, when the code runs live, however often the run
/// replays; each line from workflow and activity code names the run, its type and the attempt.
/// Asked to, the worker also logs during replays.
#[tokio::test]
async fn workflow_logs_are_written_once_and_name_the_run() {
    let logs = captured_logs();
    let marker = unique("once");
    run_chatty(&marker, false).await;
    for step in ["started", "after the activity", "done", "in the activity"] {
        let lines = logs.lines_with(&format!("chatty {marker} {step}"));
        assert_eq!(lines.len(), 1, "`{step}` once: {lines:#?}");
        for field in ["namespace=default", "workflow_id=", "run_id=", "attempt=1"] {
            assert!(lines[0].contains(field), "`{field}` in {}", lines[0]);
        }
    }
    let started = &logs.lines_with(&format!("chatty {marker} started"))[0];
    assert!(started.contains("workflow_type=Chatty"), "{started}");
    let activity = &logs.lines_with(&format!("chatty {marker} in the activity"))[0];
    assert!(activity.contains("activity_type=chatty_step"), "{activity}");
    assert!(activity.contains("workflow_type=Chatty"), "{activity}");

    let replayed = unique("replayed");
    run_chatty(&replayed, true).await;
    let started = logs.lines_with(&format!("chatty {replayed} started"));
    assert!(started.len() > 1, "logged again on replay: {started:#?}");
}
