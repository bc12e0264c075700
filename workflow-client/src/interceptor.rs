//! Client interceptors: code that runs around every workflow call a client makes — start,
//! signal-with-start, signal, query, update, update-with-start, cancel, terminate — and can
//! read and write the call's Temporal headers, time it, trace it or refuse it.
//!
//! Interceptors are registered on [`ClientOptions::interceptor`](crate::ClientOptions::interceptor)
//! and run in registration order: the first one registered is the outermost.
//!
//! ```
//! use std::sync::Arc;
//! use workflow_client::interceptor::{ClientCall, ClientInterceptor, ClientNext, InterceptFuture};
//! use workflow_client::ClientOptions;
//!
//! /// Tags every call with the tenant, for the workers' interceptors to read.
//! struct Tenant(&'static str);
//!
//! impl ClientInterceptor for Tenant {
//!     fn intercept<'a>(&'a self, mut call: ClientCall, next: ClientNext<'a>) -> InterceptFuture<'a> {
//!         Box::pin(async move {
//!             call.headers.insert("tenant", self.0)?;
//!             next.run(call).await
//!         })
//!     }
//! }
//!
//! let options = ClientOptions::new("127.0.0.1:7233").interceptor(Tenant("acme"));
//! assert_eq!(options.interceptors.len(), 1);
//! ```

use crate::error::ClientError;
use crate::headers::Headers;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// What an interceptor's `intercept` returns: the call's success or its error.
pub type InterceptFuture<'a> = Pin<Box<dyn Future<Output = Result<(), ClientError>> + Send + 'a>>;

/// Which workflow call a client makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientOperation {
    /// Starts a workflow.
    StartWorkflow,
    /// Signals a workflow, starting it first when it is not running.
    SignalWithStartWorkflow,
    /// Signals a workflow.
    SignalWorkflow,
    /// Queries a workflow.
    QueryWorkflow,
    /// Sends an update to a workflow.
    UpdateWorkflow,
    /// Sends an update, starting the workflow first when it is not running.
    UpdateWithStartWorkflow,
    /// Asks a workflow to cancel.
    CancelWorkflow,
    /// Terminates a workflow.
    TerminateWorkflow,
}

/// One workflow call on its way to the server, as interceptors see it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientCall {
    /// Which call.
    pub operation: ClientOperation,
    /// The workflow's id.
    pub workflow_id: String,
    /// The run, when the call targets one.
    pub run_id: Option<String>,
    /// The workflow type (on starts).
    pub workflow_type: Option<String>,
    /// The signal, query or update name.
    pub name: Option<String>,
    /// The update's id (on updates).
    pub update_id: Option<String>,
    /// The Temporal headers the call carries (a start's header, or the signal's, query's or
    /// update's); cancel and terminate carry none on the wire, so what is written there is
    /// dropped.
    pub headers: Headers,
}

impl ClientCall {
    /// A call of `operation` on workflow `workflow_id`, with no headers yet.
    pub fn new(operation: ClientOperation, workflow_id: impl Into<String>) -> Self {
        ClientCall {
            operation,
            workflow_id: workflow_id.into(),
            run_id: None,
            workflow_type: None,
            name: None,
            update_id: None,
            headers: Headers::new(),
        }
    }

    pub(crate) fn run_id(mut self, run_id: Option<&str>) -> Self {
        self.run_id = run_id.map(str::to_string);
        self
    }

    pub(crate) fn workflow_type(mut self, workflow_type: &str) -> Self {
        self.workflow_type = Some(workflow_type.to_string());
        self
    }

    pub(crate) fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }

    pub(crate) fn headers(mut self, headers: Headers) -> Self {
        self.headers = headers;
        self
    }
}

/// Code that runs around a client's workflow calls.
///
/// `intercept` receives the call and the rest of the chain; it may change the call's headers,
/// then must run `next` (or return an error instead of sending the call), and sees how the
/// call ended. The call's own answer (a handle, a query's value) goes straight to the caller.
pub trait ClientInterceptor: Send + Sync + 'static {
    /// Runs around one call.
    fn intercept<'a>(&'a self, call: ClientCall, next: ClientNext<'a>) -> InterceptFuture<'a>;
}

/// The rest of an interceptor chain: the interceptors after this one, then the call itself.
pub struct ClientNext<'a> {
    rest: &'a [Arc<dyn ClientInterceptor>],
    send: Box<dyn FnOnce(ClientCall) -> InterceptFuture<'a> + Send + 'a>,
}

impl<'a> ClientNext<'a> {
    /// Runs the rest of the chain with `call`.
    pub fn run(self, call: ClientCall) -> InterceptFuture<'a> {
        match self.rest.split_first() {
            Some((first, rest)) => first.intercept(call, ClientNext { rest, send: self.send }),
            None => (self.send)(call),
        }
    }
}

/// Runs `call` through `interceptors`, then `send` with the call as the last interceptor left
/// it; returns what `send` answered.
pub(crate) async fn intercepted<T, F, Fut>(
    interceptors: &[Arc<dyn ClientInterceptor>],
    call: ClientCall,
    send: F,
) -> Result<T, ClientError>
where
    T: Send,
    F: FnOnce(ClientCall) -> Fut + Send,
    Fut: Future<Output = Result<T, ClientError>> + Send,
{
    if interceptors.is_empty() {
        // Boxed: a call's future is large (its request, retries, metrics), and a caller that
        // awaits several would otherwise carry the largest inline, on the stack of whatever
        // polls it.
        return Box::pin(send(call)).await;
    }
    let mut answer = None;
    let slot = &mut answer;
    let next = ClientNext {
        rest: interceptors,
        send: Box::new(move |call| {
            Box::pin(async move {
                *slot = Some(send(call).await?);
                Ok(())
            })
        }),
    };
    next.run(call).await?;
    answer.ok_or_else(|| ClientError::Config("a client interceptor returned without sending the call".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Notes its name before and after the rest of the chain, and adds a header.
    struct Note(&'static str, Arc<Mutex<Vec<String>>>);

    impl ClientInterceptor for Note {
        fn intercept<'a>(&'a self, mut call: ClientCall, next: ClientNext<'a>) -> InterceptFuture<'a> {
            Box::pin(async move {
                self.1.lock().unwrap().push(format!("{} before", self.0));
                call.headers.insert(self.0, &true)?;
                let out = next.run(call).await;
                self.1
                    .lock()
                    .unwrap()
                    .push(format!("{} after: {}", self.0, out.is_ok()));
                out
            })
        }
    }

    /// Refuses every call without sending it.
    struct Refuse;

    impl ClientInterceptor for Refuse {
        fn intercept<'a>(&'a self, _: ClientCall, _: ClientNext<'a>) -> InterceptFuture<'a> {
            Box::pin(async { Err(ClientError::InvalidArgument("refused".into())) })
        }
    }

    /// Returns without sending the call.
    struct Swallow;

    impl ClientInterceptor for Swallow {
        fn intercept<'a>(&'a self, _: ClientCall, _: ClientNext<'a>) -> InterceptFuture<'a> {
            Box::pin(async { Ok(()) })
        }
    }

    fn call() -> ClientCall {
        ClientCall::new(ClientOperation::SignalWorkflow, "wf").name("go")
    }

    #[tokio::test]
    async fn interceptors_run_outermost_first_and_the_call_carries_their_headers() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let chain: Vec<Arc<dyn ClientInterceptor>> =
            vec![Arc::new(Note("a", log.clone())), Arc::new(Note("b", log.clone()))];
        let sent = intercepted(&chain, call(), |call| async move {
            let mut keys: Vec<String> = call.headers.iter().map(|(k, _)| k.to_string()).collect();
            keys.sort();
            Ok(keys)
        })
        .await
        .unwrap();
        assert_eq!(sent, ["a", "b"]);
        assert_eq!(
            *log.lock().unwrap(),
            ["a before", "b before", "b after: true", "a after: true"]
        );
    }

    #[tokio::test]
    async fn an_interceptor_can_refuse_a_call_and_one_that_drops_it_is_an_error() {
        let sent = Arc::new(Mutex::new(false));
        for chain in [
            vec![Arc::new(Refuse) as Arc<dyn ClientInterceptor>],
            vec![Arc::new(Swallow) as Arc<dyn ClientInterceptor>],
        ] {
            let flag = sent.clone();
            let out = intercepted(&chain, call(), |_| async move {
                *flag.lock().unwrap() = true;
                Ok(())
            })
            .await;
            assert!(out.is_err(), "{out:?}");
        }
        assert!(!*sent.lock().unwrap(), "neither call was sent");
    }
}
