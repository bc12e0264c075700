//! Logs: payload contents (even undecodable ones) and the API key stay out of the logs at the
//! default level, and decode failures stored in history do not repeat the payload.

use crate::bad_input::Fragile;
use workflow_runtime::prelude::*;
use workflow_runtime::testing::{DevServer, unique_id as unique};

/// A writer into a shared buffer, for reading what was logged.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// At the default log level, neither payload contents (even those that fail to decode) nor the
/// API key reach the logs, and decode failures stored in history do not repeat the payload.
#[tokio::test]
async fn payload_contents_and_secrets_stay_out_of_logs_and_failure_messages() {
    use workflow_runtime::client::payload::to_payload;
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter("info")
        .with_writer(move || writer.clone())
        .try_init()
        .expect("the only subscriber of this test binary");
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
    let logged = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        logged.contains("signal input does not decode"),
        "the dropped signal was logged:\n{logged}"
    );
    for secret in ["sesame", "4111"] {
        assert!(!logged.contains(secret), "`{secret}` was logged:\n{logged}");
    }
}
