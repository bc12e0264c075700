//! Connecting through an HTTP proxy (a corporate egress proxy): the client asks the proxy to
//! open a tunnel with `CONNECT host:port`, then speaks gRPC (and TLS, when configured) through
//! it, so the proxy sees only the server's address.
//!
//! ```
//! use workflow_client::{ClientOptions, HttpConnectProxy, TlsOptions};
//! let options = ClientOptions::new("my-ns.a1b2c.tmprl.cloud:7233")
//!     .tls(TlsOptions::new())
//!     .http_connect_proxy(HttpConnectProxy::new("http://proxy.corp:3128").basic_auth("svc-temporal", "s3cret"));
//! ```

use base64::Engine as _;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tonic::codegen::http::Uri;

/// An HTTP proxy to reach the server through, with optional basic authentication.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpConnectProxy {
    /// `host:port`, or `http://[user:password@]host:port`.
    pub url: String,
    /// User name and password for `Proxy-Authorization: Basic` (also read from the URL).
    pub basic_auth: Option<(String, String)>,
}

impl std::fmt::Debug for HttpConnectProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = match self.url.rsplit_once('@') {
            Some((_, host)) => format!("<credentials>@{host}"),
            None => self.url.clone(),
        };
        f.debug_struct("HttpConnectProxy")
            .field("url", &url)
            .field(
                "basic_auth",
                &self.basic_auth.as_ref().map(|(user, _)| (user, "<redacted>")),
            )
            .finish()
    }
}

impl HttpConnectProxy {
    /// The proxy at `url`: `host:port` or `http://[user:password@]host:port`.
    pub fn new(url: impl Into<String>) -> Self {
        HttpConnectProxy {
            url: url.into(),
            basic_auth: None,
        }
    }

    /// Authenticates to the proxy with a user name and password (`Proxy-Authorization: Basic`).
    pub fn basic_auth(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.basic_auth = Some((user.into(), password.into()));
        self
    }

    /// The connector that tunnels through this proxy; an unreadable URL is a configuration error.
    pub(crate) fn tunnel(&self) -> Result<ConnectTunnel, String> {
        let rest = match self.url.split_once("://") {
            Some(("http", rest)) => rest,
            Some((scheme, _)) => {
                return Err(format!(
                    "proxy `{}`: only `http://` proxies are supported, not `{scheme}://` (the tunnel \
                     carries TLS to the server when the client uses TLS)",
                    self.url
                ));
            }
            None => &self.url,
        };
        let rest = rest.trim_end_matches('/');
        let (userinfo, address) = match rest.rsplit_once('@') {
            Some((userinfo, address)) => (Some(userinfo), address),
            None => (None, rest),
        };
        let valid = address
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !valid || address.contains('/') {
            return Err(format!(
                "proxy `{}`: expected `host:port` or `http://host:port`",
                self.url
            ));
        }
        let credentials = match (&self.basic_auth, userinfo) {
            (Some((user, password)), _) => Some(format!("{user}:{password}")),
            (None, Some(userinfo)) if userinfo.contains(':') => Some(userinfo.to_string()),
            (None, Some(_)) => return Err(format!("proxy `{}`: write credentials as `user:password@`", self.url)),
            (None, None) => None,
        };
        Ok(ConnectTunnel {
            proxy: address.to_string(),
            authorization: credentials
                .map(|c| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(c))),
        })
    }
}

impl From<&str> for HttpConnectProxy {
    fn from(url: &str) -> Self {
        HttpConnectProxy::new(url)
    }
}

impl From<String> for HttpConnectProxy {
    fn from(url: String) -> Self {
        HttpConnectProxy::new(url)
    }
}

/// Why a proxy did not open a tunnel to the server. Not retried: the answer would be the same.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    /// The proxy wants credentials (407), or refused the ones sent.
    #[error(
        "the proxy at {proxy} answered 407 Proxy Authentication Required: {}",
        if *sent_credentials { "it refused the credentials sent; check the user and password" } else { "give credentials with `HttpConnectProxy::basic_auth` or `http://user:password@host:port`" }
    )]
    AuthenticationRequired {
        /// The proxy's address.
        proxy: String,
        /// Whether credentials were sent.
        sent_credentials: bool,
    },
    /// The proxy answered with another status than success.
    #[error("the proxy at {proxy} refused the tunnel to {target}: {status} {reason}")]
    Refused {
        /// The proxy's address.
        proxy: String,
        /// The server address the tunnel was asked for.
        target: String,
        /// The HTTP status.
        status: u16,
        /// The status line's reason phrase.
        reason: String,
    },
    /// The proxy's answer was not an HTTP response.
    #[error("the proxy at {proxy} gave no HTTP answer to the CONNECT request: {detail}")]
    BadResponse {
        /// The proxy's address.
        proxy: String,
        /// What was wrong.
        detail: String,
    },
}

/// The CONNECT request's answer head is read byte by byte up to this size, so no byte the
/// server sends through the tunnel right after it is read here.
const MAX_RESPONSE_HEAD: usize = 8 * 1024;

/// A connector (for tonic's `Endpoint::connect_with_connector`) whose connections are tunnels
/// through an HTTP proxy.
#[derive(Clone, Debug)]
pub(crate) struct ConnectTunnel {
    /// The proxy's `host:port`.
    proxy: String,
    /// The `Proxy-Authorization` value.
    authorization: Option<String>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tonic::codegen::Service<Uri> for ConnectTunnel {
    type Response = hyper_util::rt::TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let tunnel = self.clone();
        Box::pin(async move { tunnel.open(uri).await.map(hyper_util::rt::TokioIo::new) })
    }
}

impl ConnectTunnel {
    /// Connects to the proxy and asks it for a tunnel to the server `uri` names.
    async fn open(&self, uri: Uri) -> Result<TcpStream, BoxError> {
        let host = uri
            .host()
            .ok_or_else(|| format!("the server address `{uri}` has no host"))?;
        let default_port = if uri.scheme_str() == Some("https") { 443 } else { 80 };
        let target = format!("{host}:{}", uri.port_u16().unwrap_or(default_port));
        let mut stream = TcpStream::connect(&self.proxy)
            .await
            .map_err(|e| format!("could not reach the proxy at {}: {e}", self.proxy))?;
        stream.set_nodelay(true)?;
        let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
        if let Some(authorization) = &self.authorization {
            request.push_str(&format!("Proxy-Authorization: {authorization}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).await?;
        let head = self.read_head(&mut stream).await?;
        self.check(&head, &target)?;
        Ok(stream)
    }

    /// The answer's head (status line and headers), without the blank line.
    async fn read_head(&self, stream: &mut TcpStream) -> Result<String, ProxyError> {
        let bad = |detail: String| ProxyError::BadResponse {
            proxy: self.proxy.clone(),
            detail,
        };
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            if head.len() >= MAX_RESPONSE_HEAD {
                return Err(bad(format!("no end of its head within {MAX_RESPONSE_HEAD} bytes")));
            }
            let mut byte = [0u8; 1];
            match stream.read(&mut byte).await {
                Ok(0) => return Err(bad("it closed the connection".into())),
                Ok(_) => head.push(byte[0]),
                Err(e) => return Err(bad(e.to_string())),
            }
        }
        head.truncate(head.len() - 4);
        String::from_utf8(head).map_err(|_| bad("its head is not text".into()))
    }

    /// Success, or the error the status line means.
    fn check(&self, head: &str, target: &str) -> Result<(), ProxyError> {
        let status_line = head.lines().next().unwrap_or_default();
        let mut parts = status_line.splitn(3, ' ');
        let (version, status, reason) = (parts.next(), parts.next(), parts.next().unwrap_or_default());
        let status = match (version, status.and_then(|s| s.parse::<u16>().ok())) {
            (Some(v), Some(status)) if v.starts_with("HTTP/1.") => status,
            _ => {
                return Err(ProxyError::BadResponse {
                    proxy: self.proxy.clone(),
                    detail: format!("`{status_line}` is no HTTP status line"),
                });
            }
        };
        match status {
            200..=299 => Ok(()),
            407 => Err(ProxyError::AuthenticationRequired {
                proxy: self.proxy.clone(),
                sent_credentials: self.authorization.is_some(),
            }),
            _ => Err(ProxyError::Refused {
                proxy: self.proxy.clone(),
                target: target.to_string(),
                status,
                reason: reason.to_string(),
            }),
        }
    }
}

/// The proxy's refusal in an error's chain of sources, if that is what it is.
pub(crate) fn refusal(error: &(dyn std::error::Error + 'static)) -> Option<ProxyError> {
    let mut source = Some(error);
    while let Some(e) = source {
        if let Some(refused) = e.downcast_ref::<ProxyError>() {
            return Some(refused.clone());
        }
        source = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tunnel(url: &str) -> ConnectTunnel {
        HttpConnectProxy::new(url).tunnel().unwrap()
    }

    #[test]
    fn urls_read_with_or_without_scheme_and_credentials() {
        let plain = tunnel("proxy.corp:3128");
        assert_eq!((plain.proxy.as_str(), plain.authorization), ("proxy.corp:3128", None));
        let with_user = tunnel("http://ada:secret@proxy.corp:3128/");
        assert_eq!(with_user.proxy, "proxy.corp:3128");
        // base64("ada:secret")
        assert_eq!(with_user.authorization.as_deref(), Some("Basic YWRhOnNlY3JldA=="));
        let explicit = HttpConnectProxy::new("http://proxy.corp:3128")
            .basic_auth("ada", "secret")
            .tunnel()
            .unwrap();
        assert_eq!(explicit.authorization, with_user.authorization);
        for bad in [
            "https://proxy:443",
            "proxy.corp",
            "http://proxy:port",
            "http://ada@proxy:1",
        ] {
            assert!(HttpConnectProxy::new(bad).tunnel().is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials_stay_out_of_debug_output() {
        let proxy = HttpConnectProxy::new("http://ada:secret@proxy:1").basic_auth("ada", "hunter2");
        let text = format!("{proxy:?}");
        assert!(!text.contains("secret") && !text.contains("hunter2"), "{text}");
    }

    #[test]
    fn status_lines_map_to_typed_refusals() {
        let t = tunnel("proxy:1");
        assert_eq!(
            t.check("HTTP/1.1 200 Connection established\r\nVia: x", "srv:7233"),
            Ok(())
        );
        assert!(matches!(
            t.check("HTTP/1.1 407 Proxy Authentication Required", "srv:7233"),
            Err(ProxyError::AuthenticationRequired {
                sent_credentials: false,
                ..
            })
        ));
        assert!(matches!(
            t.check("HTTP/1.0 403 Forbidden", "srv:7233"),
            Err(ProxyError::Refused { status: 403, ref reason, ref target, .. }) if reason == "Forbidden" && target == "srv:7233"
        ));
        assert!(matches!(
            t.check("SSH-2.0-OpenSSH", "srv:7233"),
            Err(ProxyError::BadResponse { .. })
        ));
    }
}
