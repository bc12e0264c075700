//! Workflows and activities written with the macros, run by the worker on a real server and
//! driven through the generated typed stubs.

use serde::{Deserialize, Serialize};
use std::time::Duration;
use workflow_runtime::client::proto::history::history_event::Attributes;
use workflow_runtime::prelude::*;
use workflow_runtime::testing::DevServer;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    name: String,
    cents: u64,
}

/// Sums the prices.
#[activity(start_to_close_timeout = "10s")]
async fn total(items: Vec<Item>) -> Result<u64, ActivityError> {
    Ok(items.iter().map(|i| i.cents).sum())
}

#[activity(name = "format-receipt", start_to_close_timeout = "10s", retry(maximum_attempts = 2))]
async fn format_receipt(ctx: ActivityContext, customer: String, cents: u64) -> Result<String, ActivityError> {
    Ok(format!("{customer} paid {cents} (attempt {})", ctx.info().attempt))
}

#[workflow]
#[derive(Default)]
pub struct Cart {
    items: Vec<Item>,
    checked_out: bool,
    discount: u64,
}

#[workflow(name = "CartWorkflow")]
impl Cart {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, customer: String) -> WorkflowResult<String> {
        ctx.wait_condition(|s| s.checked_out).await?;
        let items = ctx.state(|s| s.items.clone());
        let cents = ctx.activity(total, items).await?;
        let cents = cents * (100 - ctx.state(|s| s.discount)) / 100;
        ctx.activity(format_receipt, (customer, cents)).await
    }

    /// Sets a discount; answers the discounted total so far.
    #[update(validator = "valid_discount")]
    fn discount(&mut self, percent: u64) -> WorkflowResult<u64> {
        if percent == 0 {
            return Err(WorkflowError::application("a 0% discount is no discount", "NoDiscount"));
        }
        self.discount = percent;
        Ok(self.items.iter().map(|i| i.cents).sum::<u64>() * (100 - percent) / 100)
    }

    fn valid_discount(&self, percent: u64) -> Result<(), String> {
        if percent > 50 {
            return Err(format!("{percent}% is more than the 50% allowed"));
        }
        Ok(())
    }

    #[signal]
    fn add_item(&mut self, item: Item) {
        self.items.push(item);
    }

    #[signal]
    fn checkout(&mut self) {
        self.checked_out = true;
    }

    #[query]
    fn items(&self) -> Vec<Item> {
        self.items.clone()
    }

    #[query(name = "count_over")]
    fn count_at_least(&self, min_cents: u64) -> usize {
        self.items.iter().filter(|i| i.cents >= min_cents).count()
    }
}

/// The same workflow after a code change: it formats before it totals.
#[workflow]
#[derive(Default)]
pub struct CartV2 {
    checked_out: bool,
}

#[workflow(name = "CartWorkflow")]
impl CartV2 {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, customer: String) -> WorkflowResult<String> {
        ctx.wait_condition(|s| s.checked_out).await?;
        let receipt = ctx.activity(format_receipt, (customer, 0)).await?;
        ctx.activity(total, Vec::new()).await?;
        Ok(receipt)
    }

    #[signal]
    fn checkout(&mut self) {
        self.checked_out = true;
    }

    #[update]
    fn discount(&mut self, _percent: u64) -> u64 {
        0
    }
}

/// Counts down one run per step, carrying a trail of the numbers through continue-as-new.
#[workflow]
#[derive(Default)]
pub struct Countdown;

#[workflow]
impl Countdown {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, from: u32, trail: String) -> WorkflowResult<String> {
        if from == 0 {
            return Ok(trail);
        }
        ctx.sleep(Duration::from_millis(10)).await?;
        Err(ctx.continue_as_new((from - 1, format!("{trail}{from}"))))
    }
}

/// Shared state of activities: a tax rate and a counter of calls (think: a pool or a client).
pub struct Pricing {
    tax_percent: u64,
    calls: std::sync::Arc<std::sync::atomic::AtomicU32>,
}

#[activities]
impl Pricing {
    #[activity(start_to_close_timeout = "10s")]
    pub async fn with_tax(&self, ctx: ActivityContext, cents: u64) -> Result<u64, ActivityError> {
        assert_eq!(ctx.info().activity_type, "with_tax");
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(cents * (100 + self.tax_percent) / 100)
    }

    #[activity(name = "tax-rate", start_to_close_timeout = "10s")]
    async fn rate(&self) -> Result<u64, ActivityError> {
        Ok(self.tax_percent)
    }
}

/// Calls the shared-state activities.
#[workflow]
#[derive(Default)]
pub struct Taxed;

#[workflow]
impl Taxed {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, cents: u64) -> WorkflowResult<(u64, u64)> {
        let rate = ctx.activity(PricingRate, ()).await?;
        let gross = ctx.activity(PricingWithTax, cents).await?;
        Ok((rate, gross))
    }
}

/// Draws a value from the machine once, in a side effect, then sleeps (so a worker without a
/// cache replays the draw) and returns it.
#[workflow]
#[derive(Default)]
pub struct Draw;

#[workflow]
impl Draw {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u128> {
        let drawn = ctx.side_effect(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        })?;
        ctx.sleep(Duration::from_millis(50)).await?;
        Ok(drawn)
    }
}

/// Prices a seat by its name; an empty name is no seat.
#[activity(start_to_close_timeout = "10s")]
async fn seat_price(seat: String) -> Result<u64, ActivityError> {
    if seat.is_empty() {
        return Err(ActivityError::non_retryable("no such seat", "NoSeat"));
    }
    Ok(seat.len() as u64 * 100)
}

/// Seats held by async updates: each runs an activity and a timer before it answers.
#[workflow]
#[derive(Default)]
pub struct Booking {
    seats: Vec<String>,
    holding: u32,
    closed: bool,
}

#[workflow(name = "BookingWorkflow")]
impl Booking {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<Vec<String>> {
        // Returning while a handler runs would leave its caller without an answer.
        ctx.wait_condition(|s| s.closed && s.holding == 0).await?;
        Ok(ctx.state(|s| s.seats.clone()))
    }

    /// Prices the seat, keeps it a moment, books it; answers the price.
    #[update(validator = "seat_free")]
    async fn hold(ctx: WorkflowContext<Self>, seat: String) -> WorkflowResult<u64> {
        ctx.state_mut(|s| s.holding += 1);
        let price = ctx.activity(seat_price, seat.clone()).await;
        if price.is_ok() {
            ctx.sleep(Duration::from_millis(200)).await?;
            ctx.state_mut(|s| s.seats.push(seat));
        }
        ctx.state_mut(|s| s.holding -= 1);
        price
    }

    fn seat_free(&self, seat: String) -> Result<(), String> {
        match self.seats.contains(&seat) {
            true => Err(format!("seat {seat} is taken")),
            false => Ok(()),
        }
    }

    /// Closes the booking; answers how many seats were booked.
    #[update]
    async fn close(ctx: WorkflowContext<Self>) -> usize {
        ctx.state_mut(|s| s.closed = true);
        ctx.state(|s| s.seats.len())
    }
}

fn item(name: &str, cents: u64) -> Item {
    Item {
        name: name.into(),
        cents,
    }
}

#[tokio::test]
async fn a_macro_workflow_runs_end_to_end_through_typed_stubs() {
    let client = Client::connect(ClientOptions::new(DevServer::shared_address()))
        .await
        .unwrap();
    let tq = format!("macros-{}", uuid::Uuid::new_v4().simple());
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let worker = Worker::builder(&client, &tq)
        .workflow::<Cart>()
        .workflow::<Countdown>()
        .workflow::<Taxed>()
        .activities(Pricing {
            tax_percent: 20,
            calls: calls.clone(),
        })
        .activity(total)
        .activity(format_receipt)
        .build()
        .unwrap();
    let running = worker.spawn();

    let id = format!("cart-{}", uuid::Uuid::new_v4().simple());
    let cart = Cart::start(&client, StartOptions::new(&id, &tq), "Ada".to_string())
        .await
        .unwrap();
    cart.add_item(item("tea", 250)).await.unwrap();
    cart.add_item(item("scone", 100)).await.unwrap();
    assert_eq!(cart.items().await.unwrap(), [item("tea", 250), item("scone", 100)]);
    assert_eq!(cart.count_at_least(200).await.unwrap(), 1);
    assert_eq!(cart.discount(10).await.unwrap(), 315);
    match cart.discount(80).await {
        Err(ClientError::UpdateFailed { name, failure }) => {
            assert_eq!(name, "discount");
            assert_eq!(failure.message, "80% is more than the 50% allowed");
        }
        other => panic!("expected the validator to reject, got {other:?}"),
    }
    // A handler that fails completes the update with its failure; the workflow goes on.
    match cart.discount(0).await {
        Err(ClientError::UpdateFailed { failure, .. }) => {
            assert_eq!(failure.application_type(), Some("NoDiscount"));
        }
        other => panic!("expected the handler to fail, got {other:?}"),
    }
    cart.checkout().await.unwrap();
    let receipt = tokio::time::timeout(Duration::from_secs(60), cart.result())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(receipt, "Ada paid 315 (attempt 1)");

    // Wire names are the ones other SDKs and the CLI use.
    let history = cart.fetch_history().await.unwrap();
    let mut names = Vec::new();
    for e in &history.events {
        match &e.attributes {
            Some(Attributes::WorkflowExecutionStartedEventAttributes(a)) => {
                names.push(a.workflow_type.as_ref().unwrap().name.clone())
            }
            Some(Attributes::ActivityTaskScheduledEventAttributes(a)) => {
                names.push(a.activity_type.as_ref().unwrap().name.clone())
            }
            Some(Attributes::WorkflowExecutionSignaledEventAttributes(a)) => names.push(a.signal_name.clone()),
            Some(Attributes::WorkflowExecutionUpdateAcceptedEventAttributes(a)) => names.push(
                a.accepted_request
                    .as_ref()
                    .unwrap()
                    .input
                    .as_ref()
                    .unwrap()
                    .name
                    .clone(),
            ),
            _ => {}
        }
    }
    // The rejected update left no trace.
    assert_eq!(
        names,
        [
            "CartWorkflow",
            "add_item",
            "add_item",
            "discount",
            "discount",
            "checkout",
            "total",
            "format-receipt"
        ]
    );

    // The recorded history replays in-process against the same code, also from the CLI's
    // JSON format; against the changed code it names the first divergent event.
    use workflow_runtime::replay::{ReplayError, Replayer};
    Replayer::new().workflow::<Cart>().replay(&history).unwrap();
    record_history("updates-and-signals", &history);
    let json = workflow_runtime::client::history::history_to_json(&history).unwrap();
    Replayer::new().workflow::<Cart>().replay_json(&json).unwrap();
    match Replayer::new().workflow::<CartV2>().replay_json(&json) {
        Err(ReplayError::Divergence { error, side_by_side }) => {
            let text = error.to_string();
            assert!(
                text.contains("history recorded ActivityTaskScheduled(type total, id 1)"),
                "{text}"
            );
            assert!(
                text.contains("the code did ScheduleActivityTask(type format-receipt, id 1)"),
                "{text}"
            );
            let rows: Vec<&str> = side_by_side.lines().collect();
            assert!(rows[0].contains("recorded in history") && rows[0].contains("issued by the code"));
            let first = rows
                .iter()
                .find(|r| r.contains("<- first difference"))
                .expect("a marked row");
            assert!(
                first.contains("ActivityTaskScheduled(type total, id 1)"),
                "{side_by_side}"
            );
            assert!(
                first.contains("ScheduleActivityTask(type format-receipt, id 1)"),
                "{side_by_side}"
            );
        }
        other => panic!("expected a divergence, got {other:?}"),
    }

    // Signal-with-start starts a second cart with its first item, then a handle by id finds it.
    let id2 = format!("cart-{}", uuid::Uuid::new_v4().simple());
    Cart::add_item_with_start(&client, StartOptions::new(&id2, &tq), "Grace".into(), item("cake", 400))
        .await
        .unwrap();
    let again = Cart::handle(&client, &id2);
    assert_eq!(again.items().await.unwrap(), [item("cake", 400)]);
    again.checkout().await.unwrap();
    assert_eq!(again.result().await.unwrap(), "Grace paid 400 (attempt 1)");
    // An update of a closed run is refused by the server with a typed error.
    match again.discount(5).await {
        Err(ClientError::NotFound(message)) => assert!(message.contains("completed"), "{message}"),
        other => panic!("expected NotFound, got {other:?}"),
    }

    // Update-with-start: the first call starts the cart, the second updates the running one.
    let id3 = format!("cart-{}", uuid::Uuid::new_v4().simple());
    let (cart3, discounted) = Cart::discount_with_start(&client, StartOptions::new(&id3, &tq), "Linus".into(), 10)
        .await
        .unwrap();
    assert_eq!(discounted, 0);
    cart3.add_item(item("pie", 500)).await.unwrap();
    let (same, discounted) = Cart::discount_with_start(&client, StartOptions::new(&id3, &tq), "Linus".into(), 20)
        .await
        .unwrap();
    assert_eq!(discounted, 400);
    assert_eq!(same.run_id(), cart3.run_id());
    // A rejected update-with-start still reports the validator's reason.
    match Cart::discount_with_start(&client, StartOptions::new(&id3, &tq), "Linus".into(), 90).await {
        Err(ClientError::UpdateFailed { failure, .. }) => assert!(failure.message.contains("90%"), "{failure}"),
        other => panic!("expected the validator to reject, got {other:?}"),
    }
    cart3.checkout().await.unwrap();
    assert_eq!(cart3.result().await.unwrap(), "Linus paid 400 (attempt 1)");

    // Continue-as-new: four runs under one id, and the first run's handle returns the last
    // run's result.
    let countdown_id = format!("countdown-{}", uuid::Uuid::new_v4().simple());
    let countdown = Countdown::start(&client, StartOptions::new(&countdown_id, &tq), 3, String::new())
        .await
        .unwrap();
    assert_eq!(countdown.result().await.unwrap(), "321");
    let first_run = countdown.fetch_history().await.unwrap();
    assert!(matches!(
        first_run.events.last().and_then(|e| e.attributes.as_ref()),
        Some(Attributes::WorkflowExecutionContinuedAsNewEventAttributes(_))
    ));
    Replayer::new().workflow::<Countdown>().replay(&first_run).unwrap();
    record_history("continue-as-new", &first_run);

    // Activities bound to shared state, registered as a group.
    let taxed = Taxed::execute(&client, StartOptions::new(format!("taxed-{id}"), &tq), 1000)
        .await
        .unwrap();
    assert_eq!(taxed, (20, 1200));
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);

    // A side effect runs once; the replay after the timer (no cache on this worker) reads
    // the recorded value instead of drawing again.
    let uncached_tq = format!("{tq}-uncached");
    let uncached = Worker::builder(&client, &uncached_tq)
        .workflow::<Draw>()
        .sticky_cache_size(0)
        .build()
        .unwrap();
    let stop_uncached = uncached.shutdown_handle();
    let uncached_running = tokio::spawn(uncached.run());
    let draw = Draw::start(&client, StartOptions::new(format!("draw-{id}"), &uncached_tq))
        .await
        .unwrap();
    let drawn = draw.result().await.unwrap();
    let history = draw.fetch_history().await.unwrap();
    let recorded: Vec<u128> = history
        .events
        .iter()
        .filter_map(|e| match &e.attributes {
            Some(Attributes::MarkerRecordedEventAttributes(a)) => {
                Some(workflow_runtime::client::payload::from_payload(&a.details["data"].payloads[0]).unwrap())
            }
            _ => None,
        })
        .collect();
    assert_eq!(recorded, [drawn]);
    Replayer::new().workflow::<Draw>().replay(&history).unwrap();
    record_history("side-effect", &history);
    stop_uncached.shutdown();
    uncached_running.await.unwrap().unwrap();

    // The activity's code stays callable directly.
    assert_eq!(total::run(vec![item("a", 1), item("b", 2)]).await.unwrap(), 3);

    running.stop().await.unwrap();
}

#[tokio::test]
async fn async_updates_run_workflow_code_and_answer_when_done() {
    let client = Client::connect(ClientOptions::new(DevServer::shared_address()))
        .await
        .unwrap();
    let tq = format!("booking-{}", uuid::Uuid::new_v4().simple());
    let worker = Worker::builder(&client, &tq)
        .workflow::<Booking>()
        .activity(seat_price)
        .build()
        .unwrap();
    let running = worker.spawn();

    let id = format!("booking-{}", uuid::Uuid::new_v4().simple());
    let booking = Booking::start(&client, StartOptions::new(&id, &tq)).await.unwrap();
    // Two holds at once: both run beside `run`, each through an activity and a timer.
    let (a, b) = tokio::join!(booking.hold("12A".into()), booking.hold("7".into()));
    assert_eq!((a.unwrap(), b.unwrap()), (300, 100));
    // The validator sees the booked seat; a failing activity fails that update alone.
    match booking.hold("7".into()).await {
        Err(ClientError::UpdateFailed { failure, .. }) => assert_eq!(failure.message, "seat 7 is taken"),
        other => panic!("expected the validator to reject, got {other:?}"),
    }
    match booking.hold(String::new()).await {
        Err(ClientError::UpdateFailed { failure, .. }) => {
            assert!(failure.to_string().contains("no such seat"), "{failure}")
        }
        other => panic!("expected the update to fail, got {other:?}"),
    }
    assert_eq!(booking.close().await.unwrap(), 2);
    let mut seats = tokio::time::timeout(Duration::from_secs(60), booking.result())
        .await
        .unwrap()
        .unwrap();
    seats.sort();
    assert_eq!(seats, ["12A", "7"]);

    // In history, an update is accepted when it arrives and completed after its activity and
    // timer, in a later task.
    let history = booking.fetch_history().await.unwrap();
    let position = |want: &dyn Fn(&Attributes) -> bool| {
        history
            .events
            .iter()
            .position(|e| e.attributes.as_ref().is_some_and(want))
            .unwrap()
    };
    let first_accepted = position(&|a| matches!(a, Attributes::WorkflowExecutionUpdateAcceptedEventAttributes(_)));
    let first_activity = position(&|a| matches!(a, Attributes::ActivityTaskScheduledEventAttributes(_)));
    let first_timer = position(&|a| matches!(a, Attributes::TimerFiredEventAttributes(_)));
    let first_completed = position(&|a| matches!(a, Attributes::WorkflowExecutionUpdateCompletedEventAttributes(_)));
    assert!(
        first_accepted < first_activity && first_timer < first_completed,
        "{history:?}"
    );
    // The replay without a server issues the same commands at the same points.
    workflow_runtime::replay::Replayer::new()
        .workflow::<Booking>()
        .replay(&history)
        .unwrap();
    record_history("async-updates", &history);

    running.stop().await.unwrap();
}

/// Keeps a history under `tests/histories/macros/` when `RECORD_HISTORIES` is set; the
/// `recorded_histories_replay` test below reads them.
fn record_history(name: &str, history: &workflow_runtime::client::proto::history::History) {
    if std::env::var_os("RECORD_HISTORIES").is_some() {
        let json = workflow_runtime::client::history::history_to_json(history).unwrap();
        let dir = format!("{}/tests/histories/macros", env!("CARGO_MANIFEST_DIR"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(format!("{dir}/{name}.json"), json).unwrap();
    }
}

/// Histories of updates, signals, continue-as-new and side effects, recorded from the server,
/// replay against today's code without a server.
#[test]
fn recorded_histories_replay() {
    let dir = format!("{}/tests/histories/macros", env!("CARGO_MANIFEST_DIR"));
    let replayer = workflow_runtime::replay::Replayer::new()
        .workflow::<Cart>()
        .workflow::<Countdown>()
        .workflow::<Draw>()
        .workflow::<Booking>();
    let mut replayed = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let json = std::fs::read_to_string(&path).unwrap();
        if let Err(e) = replayer.replay_json(&json) {
            panic!("{} does not replay: {e}", path.display());
        }
        replayed.push(path.file_stem().unwrap().to_string_lossy().into_owned());
    }
    replayed.sort();
    assert_eq!(
        replayed,
        ["async-updates", "continue-as-new", "side-effect", "updates-and-signals"]
    );
}
