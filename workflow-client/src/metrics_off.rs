//! Without the `metrics` feature the request hook is the call itself.

use crate::options::ClientOptions;
use std::time::Duration;

/// Makes the call, recording nothing (`Req` keeps the signature of the recording hook).
#[inline(always)]
#[allow(clippy::extra_unused_type_parameters)]
pub(crate) async fn observe_call<Req, Resp, Fut>(
    _options: &ClientOptions,
    _timeout: Duration,
    call: Fut,
) -> Result<tonic::Response<Resp>, tonic::Status>
where
    Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
{
    call.await
}
