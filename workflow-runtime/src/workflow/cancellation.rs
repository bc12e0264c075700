//! Cancellation scopes: cancel a group of activities, timers and child workflows together,
//! by hand or when the workflow's own cancellation is requested, and choose per operation how
//! a cancellation is carried out.
//!
//! ```no_run
//! # use workflow_runtime::prelude::*;
//! # use workflow_runtime::workflow::CancellationType;
//! # #[activity(start_to_close_timeout = "1h", heartbeat_timeout = "10s")]
//! # async fn transcode(file: String) -> Result<String, ActivityError> { Ok(file) }
//! # #[activity(start_to_close_timeout = "1m")]
//! # async fn clean_up(file: String) -> Result<(), ActivityError> { Ok(()) }
//! # async fn demo(ctx: WorkflowContext<()>) -> WorkflowResult<String> {
//! // Cancelled when the workflow is asked to cancel (or by `scope.cancel()`).
//! let scope = ctx.cancellation_scope();
//! let transcoded = ctx
//!     .activity(transcode, "movie.mkv".to_string())
//!     .cancellation_scope(&scope)
//!     .cancellation_type(CancellationType::WaitCancellationCompleted)
//!     .await;
//! match transcoded {
//!     Ok(path) => Ok(path),
//!     Err(e) if e.is_canceled() => {
//!         // Cleanup still runs activities: they are outside the cancelled scope.
//!         ctx.activity(clean_up, "movie.mkv".to_string()).await?;
//!         Err(WorkflowError::canceled("transcoding called off"))
//!     }
//!     Err(e) => Err(e),
//! }
//! # }
//! ```

use super::context::RunState;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// How an activity or child workflow is cancelled when its scope is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CancellationType {
    /// Ask the server to cancel it and stop waiting at once (the default).
    #[default]
    TryCancel,
    /// Ask the server to cancel it and wait until it has ended (an activity must heartbeat to
    /// learn of the request); if it finished first, that result is returned.
    WaitCancellationCompleted,
    /// Stop waiting without telling anyone: it runs on.
    Abandon,
}

/// A group of operations cancelled together; see the [module docs](self).
#[derive(Clone)]
pub struct CancellationScope {
    run: Rc<RefCell<RunState>>,
    cancelled: Rc<Cell<bool>>,
    parent: Option<Box<CancellationScope>>,
    follows_workflow: bool,
}

impl CancellationScope {
    pub(crate) fn new(run: Rc<RefCell<RunState>>, follows_workflow: bool) -> Self {
        CancellationScope {
            run,
            cancelled: Rc::new(Cell::new(false)),
            parent: None,
            follows_workflow,
        }
    }

    /// Cancels every operation in this scope and its children.
    pub fn cancel(&self) {
        self.cancelled.set(true);
        if let Ok(mut run) = self.run.try_borrow_mut() {
            run.wake_scopes();
        }
    }

    /// Whether this scope (or a scope it is part of, or the workflow it follows) was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.get()
            || (self.follows_workflow && self.run.try_borrow().is_ok_and(|r| r.cancel_requested))
            || self.parent.as_ref().is_some_and(|p| p.is_cancelled())
    }

    /// A scope inside this one: cancelled with it, or on its own.
    pub fn child(&self) -> CancellationScope {
        CancellationScope {
            run: self.run.clone(),
            cancelled: Rc::new(Cell::new(false)),
            parent: Some(Box::new(self.clone())),
            follows_workflow: false,
        }
    }

    /// Completes when the scope is cancelled.
    pub fn cancelled(&self) -> ScopeCancelled {
        ScopeCancelled { scope: self.clone() }
    }
}

/// The future of [`CancellationScope::cancelled`].
pub struct ScopeCancelled {
    scope: CancellationScope,
}

impl Future for ScopeCancelled {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.scope.is_cancelled() {
            return Poll::Ready(());
        }
        self.scope.run.borrow_mut().scope_wakers.push(cx.waker().clone());
        Poll::Pending
    }
}

impl RunState {
    /// Wakes everything that watches a cancellation scope.
    pub(crate) fn wake_scopes(&mut self) {
        for w in self.scope_wakers.drain(..) {
            w.wake();
        }
    }
}
