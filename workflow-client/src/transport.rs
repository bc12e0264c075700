//! The path a [`Client`](crate::Client)'s calls take to the server: a network channel, or a
//! gRPC service in this process.

use futures::future::{BoxFuture, Either, MapErr, TryFutureExt};
use std::task::{Context, Poll};
use std::time::Duration;
use tonic::body::Body;
use tonic::transport::Channel;
use tonic::transport::channel::ResponseFuture;
use tower::util::BoxCloneSyncService;
use tower::{Service, ServiceExt};

/// The error type of a [`Transport`]'s calls (tonic reads a status out of it).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

type InProcessService = BoxCloneSyncService<http::Request<Body>, http::Response<Body>, BoxError>;

/// Where a [`Client`](crate::Client)'s calls go: the network channel
/// [`Client::connect`](crate::Client::connect) opens, or a gRPC service in this process
/// ([`Client::connect_in_process`](crate::Client::connect_in_process); the test environment's
/// client calls its server so, without sockets or HTTP/2 framing).
///
/// A call's deadline (`grpc-timeout`) holds either way: an in-process call that outlives it
/// ends as a network call does, with the same error.
#[derive(Clone)]
pub struct Transport(Route);

#[derive(Clone)]
enum Route {
    Network(Channel),
    InProcess(InProcessService),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            Route::Network(_) => "Transport::Network",
            Route::InProcess(_) => "Transport::InProcess",
        })
    }
}

impl Transport {
    pub(crate) fn network(channel: Channel) -> Transport {
        Transport(Route::Network(channel))
    }

    /// Calls go to `service` in this process: any tower service that answers gRPC requests
    /// (an HTTP request with a gRPC body, answered with a gRPC response).
    pub fn in_process<S>(service: S) -> Transport
    where
        S: Service<http::Request<Body>, Response = http::Response<Body>> + Clone + Send + Sync + 'static,
        S::Error: Into<BoxError>,
        S::Future: Send + 'static,
    {
        Transport(Route::InProcess(BoxCloneSyncService::new(service.map_err(Into::into))))
    }
}

impl Transport {
    /// Whether calls go to a service in this process.
    pub(crate) fn is_in_process(&self) -> bool {
        matches!(self.0, Route::InProcess(_))
    }
}

fn network_error(e: tonic::transport::Error) -> BoxError {
    Box::new(e)
}

impl Service<http::Request<Body>> for Transport {
    type Response = http::Response<Body>;
    type Error = BoxError;
    type Future = Either<
        MapErr<ResponseFuture, fn(tonic::transport::Error) -> BoxError>,
        BoxFuture<'static, Result<http::Response<Body>, BoxError>>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        match &mut self.0 {
            Route::Network(channel) => channel.poll_ready(cx).map_err(network_error),
            Route::InProcess(service) => service.poll_ready(cx),
        }
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        match &mut self.0 {
            Route::Network(channel) => Either::Left(channel.call(request).map_err(network_error as fn(_) -> BoxError)),
            Route::InProcess(service) => {
                let deadline = grpc_timeout(request.headers());
                let call = service.call(request);
                Either::Right(Box::pin(async move {
                    match deadline {
                        None => call.await,
                        Some(limit) => match tokio::time::timeout(limit, call).await {
                            Ok(answer) => answer,
                            // What tonic's channel answers, so callers see one error either way.
                            Err(_) => Err(Box::new(tonic::TimeoutExpired(())) as BoxError),
                        },
                    }
                }))
            }
        }
    }
}

/// The deadline a call's `grpc-timeout` header gives: up to eight digits and a unit (`H`, `M`,
/// `S`, `m`, `u`, `n`); `None` when it is absent or not of that form.
fn grpc_timeout(headers: &http::HeaderMap) -> Option<Duration> {
    let text = headers.get("grpc-timeout")?.to_str().ok()?;
    let unit_at = text.len().checked_sub(1)?;
    let (digits, unit) = text.split_at(unit_at);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert("grpc-timeout", value.parse().unwrap());
        h
    }

    #[test]
    fn a_grpc_timeout_header_reads_in_each_unit() {
        assert_eq!(grpc_timeout(&headers("2H")), Some(Duration::from_secs(7200)));
        assert_eq!(grpc_timeout(&headers("3M")), Some(Duration::from_secs(180)));
        assert_eq!(grpc_timeout(&headers("70S")), Some(Duration::from_secs(70)));
        assert_eq!(grpc_timeout(&headers("1500m")), Some(Duration::from_millis(1500)));
        assert_eq!(grpc_timeout(&headers("9u")), Some(Duration::from_micros(9)));
        assert_eq!(grpc_timeout(&headers("10n")), Some(Duration::from_nanos(10)));
    }

    #[test]
    fn a_malformed_or_missing_grpc_timeout_means_no_deadline() {
        for bad in ["", "S", "10", "10s", "123456789S", "-1S", "1.5S"] {
            assert_eq!(grpc_timeout(&headers(bad)), None, "{bad:?}");
        }
        assert_eq!(grpc_timeout(&http::HeaderMap::new()), None);
    }
}
