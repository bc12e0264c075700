//! Attribute macros of the workflow SDK; use them through `workflow_runtime::prelude`.
//!
//! - `#[workflow]` on a workflow's state struct and on its `impl` block, with `#[run]`,
//!   `#[signal]` and `#[query]` on the methods inside;
//! - `#[workflow_interface]` on a trait declaring a workflow implemented elsewhere (another
//!   SDK), for its typed client stubs;
//! - `#[nexus_service]` on a trait declaring a Nexus service's operations, for the handler's
//!   registration and the callers' typed stub;
//! - `#[activity]` on an `async fn`;
//! - `#[deterministic]` on helper functions called from workflow code, or on an inline
//!   module (its `use` items then resolve paths in everything inside).
//!
//! Workflow code is checked for calls that would differ on replay (the clock, randomness,
//! threads, I/O, …): each is a compile error on the call, naming the replacement. A statement
//! can opt out with `#[allow_nondeterministic(reason = "…")]`.
//!
//! Generated code names only `::workflow_runtime::__private` (or the path given with
//! `crate = "…"`), so a crate that depends on `workflow-runtime` and serde needs nothing else.

#![deny(missing_docs)]

mod activity;
mod ast;
mod case;
mod check;
mod deterministic;
mod errors;
mod generate;
mod interface;
mod lint;
mod nexus_service;
mod options;
mod signature;
mod symbol;
mod workflow;

#[cfg(test)]
mod expansion_tests;

use proc_macro::TokenStream;

/// Marks a workflow: on its state struct (generates the typed handle `NameHandle`) and on
/// its `impl` block (generates the definition, the handler tables, and the typed client
/// stubs `Name::start`, `Name::execute`, `Name::schedule` (a schedule that starts it),
/// `Name::handle`, `Name::<signal>_with_start`, `Name::<update>_with_start`, and one method
/// per signal and query on the handle).
///
/// Options on the impl: `name = "WireName"` (default: the type's name), `crate = "path"`,
/// `versioning = "pinned"` or `"auto_upgrade"` (how its runs move between worker deployment
/// versions on a versioned worker; `Workflow::VERSIONING_BEHAVIOR`).
///
/// ```
/// use workflow_runtime::prelude::*;
///
/// #[workflow]                       // the state: `Counter::default()` when a run starts
/// #[derive(Default)]
/// pub struct Counter {
///     count: u64,
///     closed: bool,
/// }
///
/// #[workflow(name = "CounterWorkflow")]
/// impl Counter {
///     /// Counts until closed; returns the count.
///     #[run]
///     async fn run(ctx: WorkflowContext<Self>, start: u64) -> WorkflowResult<u64> {
///         ctx.state_mut(|s| s.count = start);
///         ctx.wait_condition(|s| s.closed).await?;
///         Ok(ctx.state(|s| s.count))
///     }
///
///     #[signal]
///     fn bump(&mut self, by: u64) {
///         self.count += by;
///     }
///
///     #[signal]
///     fn close(&mut self) {
///         self.closed = true;
///     }
///
///     #[query]
///     fn current(&self) -> u64 {
///         self.count
///     }
///
///     /// Sets the count; refused (with no trace in history) when it would go down.
///     #[update(validator = "not_down")]
///     fn set(&mut self, to: u64) -> WorkflowResult<u64> {
///         Ok(std::mem::replace(&mut self.count, to))
///     }
///
///     fn not_down(&self, to: u64) -> Result<(), String> {
///         if to < self.count { Err(format!("{to} is below {}", self.count)) } else { Ok(()) }
///     }
/// }
///
/// // The typed stubs: a wrong argument type is a compile error at the call.
/// async fn drive(client: &Client) -> Result<u64, ClientError> {
///     let counter = Counter::start(client, StartOptions::new("counter-1", "counters"), 10).await?;
///     counter.bump(5).await?;
///     assert_eq!(counter.current().await?, 15);
///     let before = counter.set(20).await?;
///     counter.close().await?;
///     counter.result().await
/// }
/// ```
#[proc_macro_attribute]
pub fn workflow(args: TokenStream, item: TokenStream) -> TokenStream {
    workflow::expand(args.into(), item.into()).into()
}

/// Declares a workflow implemented elsewhere (in another SDK, or another service's Rust code)
/// by the signatures its callers see, on a trait, and gives it the client side a `#[workflow]`
/// has: the definition, the typed handle `NameHandle` and the stubs `Name::start`,
/// `Name::execute`, `Name::schedule`, `Name::handle`, `Name::<signal>_with_start`,
/// `Name::<update>_with_start`, and one method per signal, query and update on the handle
/// (`start_<update>` and `<update>_handle` too). The trait's name becomes the workflow's type;
/// `ctx.child::<Name>(…)` starts it as a child workflow.
///
/// Each method is marked `#[run]` (exactly one), `#[signal]`, `#[query]` or `#[update]`, takes
/// the arguments the workflow receives (no `self`, no context) and returns what the caller
/// gets: the result type itself, not a `Result` (failures arrive as `ClientError`s). Options:
/// `name = "WireName"` on the trait (default: the trait's name) and on each handler, `crate =
/// "path"`.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use workflow_runtime::prelude::*;
///
/// #[derive(Serialize, Deserialize)]
/// pub struct Item {
///     name: String,
///     cents: u64,
/// }
///
/// /// The order workflow the Python service runs.
/// #[workflow_interface(name = "OrderWorkflow")]
/// pub trait Order {
///     #[run]
///     fn run(customer: String) -> String;
///     #[signal(name = "add-item")]
///     fn add(item: Item);
///     #[query]
///     fn items() -> Vec<Item>;
///     #[update]
///     fn set_price(cents: u64) -> u64;
/// }
///
/// async fn order_tea(client: &Client) -> Result<String, ClientError> {
///     let order = Order::start(client, StartOptions::new("order-7", "orders"), "Ada".into()).await?;
///     order.add(Item { name: "tea".into(), cents: 250 }).await?;
///     let items: Vec<Item> = order.items().await?;
///     let old_price = order.set_price(300).await?;
///     order.result().await
/// }
/// ```
#[proc_macro_attribute]
pub fn workflow_interface(args: TokenStream, item: TokenStream) -> TokenStream {
    interface::expand(args.into(), item.into()).into()
}

/// Declares a Nexus service on a trait: its operations' wire names and types, the contract the
/// team serving it and the teams calling it share (the trait can live in a crate both depend
/// on). Each method is an `#[operation]` taking `&self`, the request's context and one input:
///
/// - `async fn name(&self, ctx: NexusContext, input: I) -> Result<O, NexusError>`: a
///   synchronous operation, answering within the request's deadline;
/// - `fn name(&self, ctx: &NexusContext, input: I) -> Result<WorkflowStart<W>, NexusError>`: an
///   operation backed by workflow `W`: it says how to start `W` (its id, task queue and input);
///   the worker starts it, and the caller gets `W`'s result when the run ends.
///
/// The context may be taken by value or by reference in either kind. A `NexusError` fails the
/// call (`NexusError::failed`) or tells the caller's server whether to retry
/// (`bad_request`, `internal`, …).
///
/// Beside the trait, in a module named after it in snake case (`module = "…"` to choose):
///
/// - one type per operation, named after the method in CamelCase (`inventory::Reserve`),
///   implementing `NexusOperation` (for `ctx.nexus::<inventory::Reserve>(…)` and
///   `WorkerBuilder::nexus_operation`);
/// - `Handler(implementation)`, a `NexusService` that a worker serves with
///   `.nexus_service(inventory::Handler(MyInventory { … }))`: every operation, each calling the
///   trait's method on the shared implementation;
/// - `Caller::new(&ctx, "endpoint")` for workflow code: one method per operation, returning the
///   same call as `ctx.nexus::<…>`, to `.await` or to configure first (timeout, cancellation).
///
/// The trait itself gains `Send + Sync + 'static` and each `async fn` is declared returning a
/// `Send` future, so a worker can run an implementation's operations on any thread;
/// implementations still write `async fn`.
///
/// Options: `name = "wire-name"` on the trait (default: the trait's name) and on each
/// `#[operation]` (default: the method's name), `module = "…"`, `crate = "path"`.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use workflow_runtime::nexus::{NexusContext, NexusError, WorkflowStart};
/// use workflow_runtime::prelude::*;
///
/// #[derive(Serialize, Deserialize)]
/// pub struct Order {
///     item: String,
///     count: u64,
/// }
///
/// /// The inventory team's service.
/// #[nexus_service(name = "inventory")]
/// pub trait Inventory {
///     /// How many are left after reserving one.
///     #[operation]
///     async fn reserve(&self, ctx: NexusContext, item: String) -> Result<u64, NexusError>;
///
///     /// Restocks with a workflow; answers when it is done.
///     #[operation(name = "restock-item")]
///     fn restock(&self, ctx: &NexusContext, order: Order) -> Result<WorkflowStart<Restock>, NexusError>;
/// }
///
/// // The inventory team implements the trait and serves it.
/// pub struct Warehouse {
///     truck_size: u64,
/// }
///
/// impl Inventory for Warehouse {
///     async fn reserve(&self, _ctx: NexusContext, item: String) -> Result<u64, NexusError> {
///         match item.as_str() {
///             "tea" => Ok(41),
///             "scones" => Err(NexusError::failed("scones are out of stock")),
///             other => Err(NexusError::bad_request(format!("we do not sell {other}"))),
///         }
///     }
///
///     fn restock(&self, ctx: &NexusContext, order: Order) -> Result<WorkflowStart<Restock>, NexusError> {
///         let count = order.count.min(self.truck_size);
///         Ok(WorkflowStart::on_handler_queue(ctx, format!("restock-{}", order.item), (order.item, count)))
///     }
/// }
///
/// #[workflow]
/// #[derive(Default)]
/// pub struct Restock;
///
/// #[workflow]
/// impl Restock {
///     #[run]
///     async fn run(ctx: WorkflowContext<Self>, item: String, count: u64) -> WorkflowResult<String> {
///         Ok(format!("{count} {item} restocked"))
///     }
/// }
///
/// fn inventory_worker(client: &Client) -> Result<Worker, workflow_runtime::worker::WorkerError> {
///     Worker::builder(client, "inventory")
///         .nexus_service(inventory::Handler(Warehouse { truck_size: 12 }))
///         .workflow::<Restock>()
///         .build()
/// }
///
/// // Another team's workflow calls it through an endpoint routed to that worker's task queue.
/// #[workflow]
/// #[derive(Default)]
/// pub struct Shop;
///
/// #[workflow]
/// impl Shop {
///     #[run]
///     async fn run(ctx: WorkflowContext<Self>, item: String) -> WorkflowResult<String> {
///         let inventory = inventory::Caller::new(&ctx, "inventory-endpoint");
///         match inventory.reserve(item.clone()).await {
///             Ok(left) => Ok(format!("reserved, {left} left")),
///             Err(_) => {
///                 inventory
///                     .restock(Order { item, count: 20 })
///                     .schedule_to_close_timeout(Duration::from_secs(3600))
///                     .await
///             }
///         }
///     }
/// }
/// ```
#[proc_macro_attribute]
pub fn nexus_service(args: TokenStream, item: TokenStream) -> TokenStream {
    nexus_service::expand(args.into(), item.into()).into()
}

/// Marks an activity: an `async fn` whose arguments (after an optional first
/// `ctx: ActivityContext`) are its input and which returns `Result<T, ActivityError>`.
///
/// Options: `name = "wire-name"`, default timeouts (`start_to_close_timeout = "30s"`,
/// `schedule_to_close_timeout`, `schedule_to_start_timeout`, `heartbeat_timeout`),
/// `task_queue = "…"`, `retry(maximum_attempts = 3, initial_interval = "1s",
/// backoff_coefficient = 2.0, maximum_interval = "1m", non_retryable_error_types = ["…"])`,
/// `crate = "path"`.
///
/// ```
/// use workflow_runtime::prelude::*;
///
/// /// Charges a card; the defaults apply to every call, and a call can override them.
/// #[activity(name = "charge-card", start_to_close_timeout = "30s", retry(maximum_attempts = 3))]
/// async fn charge_card(ctx: ActivityContext, customer: String, cents: u64) -> Result<String, ActivityError> {
///     if cents == 0 {
///         return Err(ActivityError::non_retryable("nothing to charge", "ZeroAmount"));
///     }
///     Ok(format!("{customer}-{cents}-attempt-{}", ctx.info().attempt))
/// }
///
/// // In workflow code: typed arguments, a builder for options, `.await` for the result.
/// async fn pay(ctx: &WorkflowContext<()>) -> WorkflowResult<String> {
///     ctx.activity(charge_card, ("ada".to_string(), 250))
///         .start_to_close_timeout(Duration::from_secs(10))
///         .await
/// }
///
/// // The function stays callable directly (in unit tests, say):
/// # async fn direct() {
/// let receipt = charge_card::run(workflow_runtime::testing::ActivityHarness::new().context(), "ada".into(), 250).await;
/// assert_eq!(receipt.unwrap(), "ada-250-attempt-1");
/// # }
/// ```
#[proc_macro_attribute]
pub fn activity(args: TokenStream, item: TokenStream) -> TokenStream {
    activity::expand(args.into(), item.into()).into()
}

/// Marks an `impl` block of shared state (a pool, a client) whose `#[activity]` methods are
/// activities: each method taking `&self` gets a marker type `{Type}{Method}` for workflow
/// code (`ctx.activity(PaymentsCharge, order)`), and the worker registers them all with
/// `.activities(instance)`.
///
/// Options on `#[activities(...)]` (the timeouts, `task_queue`, `retry(...)`) are every
/// method's defaults; a method's own `#[activity(...)]` options override them one by one. A
/// group has no `name`: each method is its own activity.
///
/// ```
/// use workflow_runtime::prelude::*;
///
/// pub struct Payments {
///     fee_percent: u64, // shared state: a pool, a client, configuration
/// }
///
/// #[activities(start_to_close_timeout = "30s")]
/// impl Payments {
///     #[activity(start_to_close_timeout = "10s")]
///     pub async fn charge(&self, cents: u64) -> Result<u64, ActivityError> {
///         Ok(cents * (100 + self.fee_percent) / 100)
///     }
/// }
///
/// async fn pay(ctx: &WorkflowContext<()>) -> WorkflowResult<u64> {
///     ctx.activity(PaymentsCharge, 1000).await
/// }
///
/// fn worker(client: &Client) -> Result<Worker, Box<dyn std::error::Error>> {
///     Ok(Worker::builder(client, "payments").activities(Payments { fee_percent: 3 }).build()?)
/// }
/// ```
#[proc_macro_attribute]
pub fn activities(args: TokenStream, item: TokenStream) -> TokenStream {
    activity::expand_group(args.into(), item.into()).into()
}

/// Applies the determinism lint to a helper function called from workflow code, to every
/// method of an impl whose methods run in workflow code (a `WorkflowInterceptor`'s hooks), or
/// to every function and method of an inline module.
///
/// ```
/// use workflow_runtime::prelude::*;
///
/// /// Called from workflow code, so checked like it: `SystemTime::now()` here would be a
/// /// compile error naming `ctx.now()`.
/// #[deterministic]
/// fn deadline(ctx: &WorkflowContext<()>, days: u64) -> WorkflowTime {
///     ctx.now() + Duration::from_secs(days * 86_400)
/// }
/// ```
///
/// # What the lint rejects
///
/// The same checks run on every `#[run]` and handler of a `#[workflow]` impl. Each offending
/// call or type is a compile error on its own tokens, with a help line naming the replacement:
///
/// | rejected in workflow code | use instead |
/// |---|---|
/// | `SystemTime::now`, `Instant::now`, `Utc::now`, `Local::now`, `OffsetDateTime::{now_utc, now_local}` | `ctx.now()` |
/// | `thread::sleep`, `tokio::time::*` (not `Duration`, `Instant`), `futures_timer::*`, `async_std::task::sleep` | `ctx.sleep(duration)` |
/// | `rand::{random, rng}`, `thread_rng`, `from_entropy`, `from_os_rng`, `OsRng`, `getrandom::*`, `fastrand::*` (not `Rng`), `fastrand::Rng::new` | `ctx.random()`, or a generator seeded from it |
/// | `Uuid::{new_v4, now_v7, now_v6, now_v1}` | `ctx.uuid()` |
/// | `tokio::spawn`, `tokio::task::*`, `JoinSet` | `futures::join!`, `join_all` |
/// | unbiased `select!` | `biased;`, `select_biased!` |
/// | `thread::{spawn, scope, Builder}`, `spawn_blocking`, `block_in_place` | an activity |
/// | `tokio::sync::*`, `mpsc::{channel, sync_channel}`, `crossbeam_channel::*` | signals and `ctx.wait_condition` |
/// | `std::fs::*`, `tokio::fs::*`, `std::net::*` (not `IpAddr`, `Ipv4Addr`, `Ipv6Addr`, `SocketAddr`, `SocketAddrV4`, `SocketAddrV6`), `tokio::net::*`, `reqwest::*`, `std::process::*`, `io::stdin`, `File::{open, create}`, `TcpStream::connect` | an activity |
/// | `env::{var, var_os, vars, vars_os, args, args_os, current_dir, current_exe, temp_dir, home_dir}`, `process::id` | workflow input, or an activity |
/// | `HashMap::{new, with_capacity, from, default, from_iter}`, `HashMap<_, _>`, `HashSet::{new, with_capacity, from, default, from_iter}`, `HashSet<_>`, `RandomState` | `BTreeMap`, `BTreeSet`, or a fixed hasher |
/// | `static mut`, `thread_local!` | the workflow's state |
///
/// Paths match as written and through the `use` items the macro sees (`SystemTime::now` also
/// matches `std::time::SystemTime::now`); a rule on one item wins over a rule on its whole
/// module (`std::process::id` is an environment read). A name the checked code declares itself
/// is not what a rule is about: a local `let thread_rng = …`, or a `struct SystemTime` of the
/// function or of the `#[deterministic]` module. Two more rules of thumb:
///
/// - a generator built from a seed is deterministic whatever its crate
///   (`StdRng::seed_from_u64(ctx.random())`, `SmallRng::from_seed(…)`,
///   `fastrand::Rng::with_seed(…)`); one seeded by the system (`from_entropy`, `from_os_rng`,
///   `fastrand::Rng::new`) is not;
/// - a map or set whose hasher is named passes (`HashMap<K, V, S>`, or a `let` whose type
///   names it); one with the default hasher is rejected however it is built: a constructor,
///   a `let` annotation, `.collect::<HashMap<_, _>>()`.
///
/// Code inside `ctx.side_effect(|| …)` is not checked: it runs once and history records its
/// value. The runtime backs the lint up: a replay that issues other commands than history
/// recorded fails the workflow task with both sides shown.
///
/// # Imports
///
/// A macro sees only the item it is on, so the lint resolves the `use` items inside that item.
/// On a module it also sees the module's own `use` items: `use std::time::SystemTime as
/// Clock;` at the top of a `#[deterministic]` module makes `Clock::now()` in any function, or
/// in a `#[workflow]` impl, of that module an error. Activities (`#[activity]`,
/// `#[activities]`) in the module are left alone: I/O is what they are for.
///
/// ```
/// use workflow_runtime::prelude::*;
///
/// #[deterministic]
/// mod pricing {
///     use std::collections::BTreeMap as Table;
///     use workflow_runtime::prelude::*;
///
///     pub fn price_list() -> Table<&'static str, u64> {
///         Table::from([("tea", 250), ("cake", 400)])
///     }
///
///     #[activity(start_to_close_timeout = "10s")]
///     pub async fn exchange_rate(currency: String) -> Result<f64, ActivityError> {
///         Ok(if currency == "EUR" { 1.0 } else { 1.1 }) // an activity may call out
///     }
/// }
/// ```
///
/// An exception is visible and justified: `#[allow_nondeterministic(reason = "…")]` on the
/// statement or the function (the reason is required).
#[proc_macro_attribute]
pub fn deterministic(args: TokenStream, item: TokenStream) -> TokenStream {
    deterministic::expand(args.into(), item.into()).into()
}

fn misplaced(what: &str, inside: &str, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    let message = format!("`#[{what}]` marks a method inside {inside}");
    let e = syn::Error::new(proc_macro2::Span::call_site(), message).to_compile_error();
    quote::quote!(#e #item).into()
}

const IN_WORKFLOW: &str = "a `#[workflow]` impl block";

/// Marks the entry point of a workflow (inside a `#[workflow]` impl).
#[proc_macro_attribute]
pub fn run(_args: TokenStream, item: TokenStream) -> TokenStream {
    misplaced("run", IN_WORKFLOW, item)
}

/// Marks a signal handler (inside a `#[workflow]` impl): `fn name(&mut self, args…)` changes
/// the state when the signal is applied; `async fn name(ctx: WorkflowContext<Self>, args…)`
/// (returning nothing or `WorkflowResult<()>`) starts workflow code beside `#[run]` that may
/// call activities and wait; an error it returns fails the workflow. Arguments beyond the
/// handler's parameters are ignored; the doc comment describes the signal in the web UI.
#[proc_macro_attribute]
pub fn signal(_args: TokenStream, item: TokenStream) -> TokenStream {
    misplaced("signal", IN_WORKFLOW, item)
}

/// Marks an update handler (inside a `#[workflow]` impl), with an optional
/// `validator = "method"` (`fn(&self, args…) -> Result<(), E>`) that can reject it first:
///
/// - `fn name(&mut self, args…) -> WorkflowResult<T>` changes the state and answers within the
///   workflow task that accepts it;
/// - `async fn name(ctx: WorkflowContext<Self>, args…) -> WorkflowResult<T>` is workflow code
///   that runs beside `#[run]` once accepted (activities, timers, waits) and answers when it
///   returns, possibly much later. Let `#[run]` wait (`ctx.wait_condition`) until such
///   handlers are done before it returns, or their callers get an error.
///
/// The answer's type is read as written: a handler returning `Result<T, E>` or
/// `WorkflowResult<T>` answers `T` or fails the update; any other type is the answer itself.
#[proc_macro_attribute]
pub fn update(_args: TokenStream, item: TokenStream) -> TokenStream {
    misplaced("update", IN_WORKFLOW, item)
}

/// Marks a query handler (inside a `#[workflow]` impl): `fn name(&self, args…) -> T`.
#[proc_macro_attribute]
pub fn query(_args: TokenStream, item: TokenStream) -> TokenStream {
    misplaced("query", IN_WORKFLOW, item)
}

/// Marks an operation of a service (inside a `#[nexus_service]` trait), with an optional
/// `name = "wire-name"`.
#[proc_macro_attribute]
pub fn operation(_args: TokenStream, item: TokenStream) -> TokenStream {
    misplaced("operation", "a `#[nexus_service]` trait", item)
}
