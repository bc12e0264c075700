//! TLS and mTLS against a real server: a small TLS-terminating proxy, started by the test with
//! certificates it makes, forwards to the dev server.

use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types::PrivateKeyDer, server::WebPkiClientVerifier};
use workflow_client::{Client, ClientError, ClientOptions, RpcRetry, TlsOptions};
use workflow_dev_server::DevServer;

struct Pki {
    ca_pem: String,
    ca_der: Vec<u8>,
    /// Certificate and key of the server, DER.
    server: (Vec<u8>, Vec<u8>),
    /// Certificate and key of the client, PEM (as users pass them).
    client: (String, String),
}

fn pki() -> Pki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf = |name: &str| {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![name.to_string()])
            .unwrap()
            .signed_by(&key, &ca, &ca_key)
            .unwrap();
        (cert, key)
    };
    let (server_cert, server_key) = leaf("localhost");
    let (client_cert, client_key) = leaf("worker.example");
    Pki {
        ca_pem: ca.pem(),
        ca_der: ca.der().to_vec(),
        server: (server_cert.der().to_vec(), server_key.serialize_der()),
        client: (client_cert.pem(), client_key.serialize_pem()),
    }
}

/// Starts a TLS proxy to the dev server; `require_client_cert` makes it demand a client
/// certificate signed by the test CA.
async fn tls_proxy(pki: &Pki, require_client_cert: bool) -> String {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = vec![pki.server.0.clone().into()];
    let key = PrivateKeyDer::try_from(pki.server.1.clone()).unwrap();
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let mut config = if require_client_cert {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(pki.ca_der.clone().into()).unwrap();
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .unwrap();
        builder
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs, key)
            .unwrap()
    } else {
        builder.with_no_client_auth().with_single_cert(certs, key).unwrap()
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let upstream = DevServer::shared_address();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (acceptor, upstream) = (acceptor.clone(), upstream.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                let Ok(mut server) = TcpStream::connect(&upstream).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut server).await;
            });
        }
    });
    format!("localhost:{}", address.port())
}

fn quick(address: &str) -> ClientOptions {
    ClientOptions::new(address)
        .connect_timeout(Duration::from_secs(2))
        .retry(RpcRetry {
            max_attempts: 2,
            ..Default::default()
        })
}

#[tokio::test]
async fn tls_with_a_custom_ca() {
    let pki = pki();
    let address = tls_proxy(&pki, false).await;
    let client = Client::connect(quick(&address).tls(TlsOptions::new().server_ca_pem(pki.ca_pem.clone())))
        .await
        .expect("TLS with the test CA");
    client.count_workflows("").await.unwrap();

    // The system roots do not trust the test CA.
    let err = Client::connect(quick(&address).tls(TlsOptions::new()))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Unavailable { .. }), "{err:?}");
}

#[tokio::test]
async fn mtls_requires_the_client_certificate() {
    let pki = pki();
    let address = tls_proxy(&pki, true).await;
    let tls = TlsOptions::new().server_ca_pem(pki.ca_pem.clone());
    let refused = async {
        let client = Client::connect(quick(&address).tls(tls.clone())).await?;
        client.count_workflows("").await
    };
    assert!(refused.await.is_err(), "a client without a certificate got through");
    let with_cert = tls.client_cert_pem(pki.client.0.clone(), pki.client.1.clone());
    let client = Client::connect(quick(&address).tls(with_cert)).await.expect("mTLS");
    client.count_workflows("").await.unwrap();
}
