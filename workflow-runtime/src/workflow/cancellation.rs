//! Cancellation scopes: cancel a group of activities, timers and child workflows together,
//! by hand or when the workflow's own cancellation is requested, and choose per operation how
//! a cancellation is carried out.
//!
//! Every run has a root scope, cancelled when the workflow's cancellation is requested (by a
//! client, `temporal workflow cancel`, a parent or another workflow), as in every official
//! SDK. An operation belongs to the scope it was given (`.cancellation_scope(&scope)`), or else
//! to the scope its code runs in: the root, or the scope of an enclosing
//! [`CancellationScope::run`]. So by default a cancel request ends pending timers, activities
//! (each by its [`CancellationType`]), children run to their end and `wait_condition`s with a
//! cancellation error, and an operation started afterwards in a cancelled scope ends with one
//! at once; returned from `#[run]`, that error ends the run as canceled. Code that must go on
//! after a cancellation (cleanup, compensation) runs in a
//! [`detached_scope`](super::WorkflowContext::detached_scope), which the workflow's
//! cancellation does not reach.
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
//!         // Cleanup runs in a detached scope, which the workflow's cancellation leaves alone.
//!         ctx.detached_scope().run(ctx.activity(clean_up, "movie.mkv".to_string())).await?;
//!         Err(WorkflowError::canceled("transcoding called off"))
//!     }
//!     Err(e) => Err(e),
//! }
//! # }
//! ```

use crate::engine::run_state::RunState;
use std::cell::{Cell, RefCell};
use std::future::{Future, IntoFuture};
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

/// One node of the scope tree: cancelled by hand, or through its parent.
#[derive(Debug, Default)]
pub(crate) struct ScopeNode {
    cancelled: Cell<bool>,
    parent: Option<Rc<ScopeNode>>,
}

impl ScopeNode {
    /// A scope with no parent: the run's root, or a detached scope.
    pub(crate) fn detached() -> Rc<Self> {
        Rc::new(ScopeNode::default())
    }

    fn child_of(parent: &Rc<ScopeNode>) -> Rc<Self> {
        Rc::new(ScopeNode {
            cancelled: Cell::new(false),
            parent: Some(parent.clone()),
        })
    }

    pub(crate) fn cancel(&self) {
        self.cancelled.set(true);
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.get() || self.parent.as_ref().is_some_and(|p| p.is_cancelled())
    }
}

/// A group of operations cancelled together; see the [module docs](self).
#[derive(Clone)]
pub struct CancellationScope {
    run: Rc<RefCell<RunState>>,
    node: Rc<ScopeNode>,
}

impl CancellationScope {
    /// The scope code runs in now: the innermost [`run`](Self::run), or the root.
    pub(crate) fn current(run: &Rc<RefCell<RunState>>) -> Self {
        let node = run.borrow().current_scope.clone();
        CancellationScope { run: run.clone(), node }
    }

    /// A scope inside the current one.
    pub(crate) fn nested(run: &Rc<RefCell<RunState>>) -> Self {
        CancellationScope::current(run).child()
    }

    /// A scope outside the tree: only [`cancel`](Self::cancel) cancels it.
    pub(crate) fn detached(run: &Rc<RefCell<RunState>>) -> Self {
        CancellationScope {
            run: run.clone(),
            node: ScopeNode::detached(),
        }
    }

    /// Cancels every operation in this scope and its children.
    pub fn cancel(&self) {
        self.node.cancel();
        if let Ok(mut run) = self.run.try_borrow_mut() {
            run.wake_scopes();
        }
    }

    /// Whether this scope (or a scope it is part of, up to the workflow's root) was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.node.is_cancelled()
    }

    /// A scope inside this one: cancelled with it, or on its own.
    pub fn child(&self) -> CancellationScope {
        CancellationScope {
            run: self.run.clone(),
            node: ScopeNode::child_of(&self.node),
        }
    }

    /// Completes when the scope is cancelled.
    pub fn cancelled(&self) -> ScopeCancelled {
        ScopeCancelled { scope: self.clone() }
    }

    /// Runs `work` inside this scope: every activity, timer, child and condition it starts
    /// without a scope of its own belongs to this one.
    ///
    /// ```no_run
    /// # use workflow_runtime::prelude::*;
    /// # #[activity(start_to_close_timeout = "1m")]
    /// # async fn refund(order: String) -> Result<(), ActivityError> { Ok(()) }
    /// # async fn demo(ctx: WorkflowContext<()>) -> WorkflowResult<()> {
    /// // Runs even after the workflow was asked to cancel.
    /// ctx.detached_scope()
    ///     .run(async {
    ///         ctx.activity(refund, "order-7".to_string()).await?;
    ///         ctx.sleep(std::time::Duration::from_secs(5)).await
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn run<F: IntoFuture>(&self, work: F) -> InScope<F::IntoFuture> {
        InScope {
            scope: self.clone(),
            work: Box::pin(work.into_future()),
        }
    }

    /// Registers `cx` to be woken when a scope is cancelled.
    pub(crate) fn watch(&self, cx: &Context<'_>) {
        self.run.borrow_mut().watch_scopes(cx);
    }
}

impl std::fmt::Debug for CancellationScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancellationScope")
            .field("cancelled", &self.is_cancelled())
            .finish()
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
        self.scope.watch(cx);
        Poll::Pending
    }
}

/// The future of [`CancellationScope::run`]: the work, run inside the scope.
#[must_use = "the work runs only when awaited"]
pub struct InScope<F> {
    scope: CancellationScope,
    work: Pin<Box<F>>,
}

impl<F: Future> Future for InScope<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let run = self.scope.run.clone();
        let outer = std::mem::replace(&mut run.borrow_mut().current_scope, self.scope.node.clone());
        // Restored on the way out, a panic included.
        struct Restore(Rc<RefCell<RunState>>, Option<Rc<ScopeNode>>);
        impl Drop for Restore {
            fn drop(&mut self) {
                if let (Ok(mut run), Some(outer)) = (self.0.try_borrow_mut(), self.1.take()) {
                    run.current_scope = outer;
                }
            }
        }
        let _restore = Restore(run, Some(outer));
        self.work.as_mut().poll(cx)
    }
}

impl RunState {
    /// Wakes everything that watches a cancellation scope.
    pub(crate) fn wake_scopes(&mut self) {
        for w in self.scope_wakers.drain(..) {
            w.wake();
        }
    }

    /// Registers `cx`'s waker for scope cancellations, once: every future of a run shares
    /// the run's waker, so the list stays short however often futures are polled.
    pub(crate) fn watch_scopes(&mut self, cx: &Context<'_>) {
        if !self.scope_wakers.iter().any(|w| w.will_wake(cx.waker())) {
            self.scope_wakers.push(cx.waker().clone());
        }
    }

    /// The workflow's cancellation was requested: cancels the root scope.
    pub(crate) fn request_cancel(&mut self) {
        self.cancel_requested = true;
        self.root_scope.cancel();
        self.wake_conditions();
        self.wake_scopes();
    }
}
