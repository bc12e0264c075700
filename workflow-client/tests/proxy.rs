//! Connecting through an HTTP CONNECT proxy: a small proxy started by the test (it reads the
//! CONNECT request, dials the target, answers 200 and pipes bytes; or asks for credentials)
//! stands between the client and the dev server.

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use workflow_client::{Client, ClientError, ClientOptions, HttpConnectProxy, ProxyError, StartOptions};
use workflow_dev_server::DevServer;

/// `Basic` and base64 of `ada:secret`.
const ADA_SECRET: &str = "Basic YWRhOnNlY3JldA==";

/// A CONNECT proxy on a free loopback port; it records the head of every request it gets.
struct TestProxy {
    address: String,
    requests: Arc<Mutex<Vec<Vec<String>>>>,
}

impl TestProxy {
    /// Starts one; with `credentials`, a request without that `Proxy-Authorization` gets 407.
    async fn start(credentials: Option<&'static str>) -> TestProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        tokio::spawn(async move {
            loop {
                let (client, _) = listener.accept().await.unwrap();
                tokio::spawn(serve(client, credentials, seen.clone()));
            }
        });
        TestProxy { address, requests }
    }

    fn requests(&self) -> Vec<Vec<String>> {
        self.requests.lock().unwrap().clone()
    }
}

/// One proxied connection: the request head, then a refusal or a tunnel.
async fn serve(client: TcpStream, credentials: Option<&str>, seen: Arc<Mutex<Vec<Vec<String>>>>) {
    let mut reader = BufReader::new(client);
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await.unwrap();
        let line = line.trim_end().to_string();
        if line.is_empty() {
            break;
        }
        head.push(line);
    }
    seen.lock().unwrap().push(head.clone());
    // The client sends nothing more before the answer, so nothing is left in the buffer.
    assert!(reader.buffer().is_empty());
    let mut client = reader.into_inner();
    let authorized = credentials.is_none_or(|expected| {
        head.iter()
            .any(|h| h.to_ascii_lowercase() == format!("proxy-authorization: {}", expected.to_ascii_lowercase()))
    });
    if !authorized {
        let refusal = "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\n\
                       Content-Length: 0\r\n\r\n";
        client.write_all(refusal.as_bytes()).await.unwrap();
        return;
    }
    let target = head[0].split(' ').nth(1).unwrap().to_string();
    let mut server = TcpStream::connect(&target).await.unwrap();
    client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await
        .unwrap();
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}

fn options(proxy: impl Into<HttpConnectProxy>) -> ClientOptions {
    ClientOptions::new(DevServer::shared_address()).http_connect_proxy(proxy)
}

/// Starts, describes and terminates a workflow: calls that only the server can answer.
async fn round_trip(client: &Client) {
    let id = format!("proxied-{}", uuid::Uuid::new_v4());
    let handle = client
        .start_untyped("Proxied", StartOptions::new(&id, "proxied"), vec![])
        .await
        .unwrap();
    assert_eq!(handle.describe().await.unwrap().summary.workflow_id, id);
    handle.terminate("done", vec![]).await.unwrap();
}

#[tokio::test]
async fn calls_go_through_the_proxy_tunnel() {
    let proxy = TestProxy::start(None).await;
    let client = Client::connect(options(proxy.address.as_str())).await.unwrap();
    round_trip(&client).await;
    let server = DevServer::shared_address();
    let requests = proxy.requests();
    assert_eq!(requests.len(), 1, "one connection carries every call: {requests:?}");
    assert_eq!(requests[0][0], format!("CONNECT {server} HTTP/1.1"));
    assert!(requests[0].contains(&format!("Host: {server}")), "{requests:?}");
    assert!(!requests[0].iter().any(|h| h.starts_with("Proxy-Authorization")));
}

#[tokio::test]
async fn credentials_open_an_authenticating_proxy() {
    let proxy = TestProxy::start(Some(ADA_SECRET)).await;
    let with_auth = HttpConnectProxy::new(format!("http://{}", proxy.address)).basic_auth("ada", "secret");
    round_trip(&Client::connect(options(with_auth)).await.unwrap()).await;
    let in_url = format!("http://ada:secret@{}", proxy.address);
    round_trip(&Client::connect(options(in_url)).await.unwrap()).await;
    for request in proxy.requests() {
        assert!(
            request.contains(&format!("Proxy-Authorization: {ADA_SECRET}")),
            "{request:?}"
        );
    }
}

#[tokio::test]
async fn a_proxy_asking_for_credentials_fails_the_connect_at_once_with_a_typed_error() {
    let proxy = TestProxy::start(Some(ADA_SECRET)).await;
    let missing = Client::connect(options(proxy.address.as_str())).await.unwrap_err();
    match &missing {
        ClientError::Proxy(ProxyError::AuthenticationRequired {
            proxy: at,
            sent_credentials: false,
        }) => assert_eq!(*at, proxy.address),
        other => panic!("expected a 407 refusal, got {other:?}"),
    }
    assert!(missing.to_string().contains("basic_auth"), "{missing}");
    assert_eq!(proxy.requests().len(), 1, "a refusal is not retried");

    let wrong = HttpConnectProxy::new(proxy.address.as_str()).basic_auth("ada", "guess");
    let refused = Client::connect(options(wrong)).await.unwrap_err();
    assert!(
        matches!(
            refused,
            ClientError::Proxy(ProxyError::AuthenticationRequired {
                sent_credentials: true,
                ..
            })
        ),
        "{refused:?}"
    );
}

#[tokio::test]
async fn an_unreadable_proxy_url_is_a_configuration_error() {
    let error = Client::connect(options("https://proxy.corp:3128")).await.unwrap_err();
    assert!(
        matches!(&error, ClientError::Config(m) if m.contains("only `http://` proxies")),
        "{error:?}"
    );
}
