//! The main demo: a food-delivery order.
//!
//! 1. The order is placed (the workflow starts) and waits for the restaurant to accept or
//!    reject it (signals), for at most `restaurant_timeout_secs`.
//! 2. The customer changes the cart with signals until checkout; a query reads it; an update
//!    changes the delivery address (its validator refuses once the courier is on the way).
//! 3. An activity prices the cart; another charges the card, with retries (the demo's
//!    payment gateway times out on the first attempt).
//! 4. The kitchen prepares the dishes in a child workflow, one activity per dish in parallel.
//! 5. Delivery waits for its slot on a durable timer, then a courier is dispatched.
//! 6. If the kitchen or the courier fails after payment, the payment is refunded
//!    (compensation) and the order ends as refunded.
//!
//! Wire names (for the `temporal` CLI and other SDKs) are listed in `examples/README.md`.

pub mod starter;

use serde::{Deserialize, Serialize};
use workflow_runtime::futures::future::{Either, join_all, select};
use workflow_runtime::prelude::*;

/// The task queue of the order and kitchen workflows and their activities.
pub const TASK_QUEUE: &str = "food-delivery";

/// What the customer orders, given when the order is placed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// The order id (also the workflow id).
    pub order_id: String,
    /// Who pays.
    pub customer: String,
    /// Where the food goes.
    pub address: String,
    /// How long the restaurant has to accept.
    pub restaurant_timeout_secs: u64,
    /// How long after preparation the delivery slot starts (a durable timer).
    pub delivery_slot_secs: u64,
}

/// One line of the cart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// The dish.
    pub name: String,
    /// Price of one, in cents.
    pub cents: u64,
    /// How many.
    pub quantity: u32,
}

impl Item {
    /// `quantity` × `name` at `cents` each.
    pub fn new(name: &str, cents: u64, quantity: u32) -> Self {
        Item {
            name: name.to_string(),
            cents,
            quantity,
        }
    }
}

/// The priced cart.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// The dishes.
    pub subtotal: u64,
    /// The courier.
    pub delivery_fee: u64,
    /// What the card is charged.
    pub total: u64,
}

/// How an order ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OrderOutcome {
    /// The food arrived.
    Delivered {
        /// What was charged.
        total_cents: u64,
        /// The payment.
        payment_id: String,
        /// Who brought it.
        courier: String,
    },
    /// The restaurant said no, or did not answer in time; nothing was charged.
    NotAccepted {
        /// Why.
        reason: String,
    },
    /// Something failed after payment; the payment was refunded.
    Refunded {
        /// What failed.
        reason: String,
        /// The refunded payment.
        payment_id: String,
    },
}

/// The restaurant's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Decision {
    Accepted,
    Rejected(String),
}

/// The order workflow's state: what signals change and queries read.
#[workflow]
#[derive(Default)]
pub struct FoodOrder {
    status: String,
    decision: Option<Decision>,
    cart: Vec<Item>,
    checked_out: bool,
    /// A new delivery address, set by the `change_address` update before dispatch.
    address: Option<String>,
    dispatched: bool,
}

#[workflow(name = "FoodOrderWorkflow")]
impl FoodOrder {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, order: Order) -> WorkflowResult<OrderOutcome> {
        set_status(&ctx, "waiting for the restaurant");
        let answer = ctx.wait_condition(|s| s.decision.is_some());
        let deadline = ctx.sleep(Duration::from_secs(order.restaurant_timeout_secs));
        let decision = match select(answer, deadline).await {
            Either::Left((answered, _)) => {
                answered?;
                ctx.state(|s| s.decision.clone())
            }
            Either::Right((timer, _)) => {
                timer?;
                None
            }
        };
        match decision {
            Some(Decision::Accepted) => {}
            Some(Decision::Rejected(reason)) => return Ok(OrderOutcome::NotAccepted { reason }),
            None => {
                let reason = format!("no answer within {}s", order.restaurant_timeout_secs);
                return Ok(OrderOutcome::NotAccepted { reason });
            }
        }

        set_status(&ctx, "open for changes until checkout");
        ctx.wait_condition(|s| s.checked_out && !s.cart.is_empty()).await?;
        let cart = ctx.state(|s| s.cart.clone());

        set_status(&ctx, "paying");
        let totals = ctx.activity(price_order, cart.clone()).await?;
        let payment_id = ctx
            .activity(charge_card, (order.customer.clone(), totals.total))
            .await?;

        set_status(&ctx, "in the kitchen");
        let ticket = KitchenTicket {
            order_id: order.order_id.clone(),
            items: cart,
        };
        let kitchen = ctx
            .child::<Kitchen>(ticket)
            .workflow_id(format!("{}-kitchen", order.order_id))
            .await;
        if let Err(e) = kitchen {
            return refund_after(&ctx, e, payment_id, totals.total).await;
        }

        set_status(&ctx, "waiting for the delivery slot");
        ctx.sleep(Duration::from_secs(order.delivery_slot_secs)).await?;
        set_status(&ctx, "out for delivery");
        let address = ctx.state_mut(|s| {
            s.dispatched = true;
            s.address.clone().unwrap_or(order.address)
        });
        match ctx.activity(dispatch_courier, address).await {
            Ok(courier) => {
                set_status(&ctx, "delivered");
                Ok(OrderOutcome::Delivered {
                    total_cents: totals.total,
                    payment_id,
                    courier,
                })
            }
            Err(e) => refund_after(&ctx, e, payment_id, totals.total).await,
        }
    }

    /// The restaurant takes the order.
    #[signal]
    fn accept(&mut self) {
        self.decision.get_or_insert(Decision::Accepted);
    }

    /// The restaurant turns the order down.
    #[signal]
    fn reject(&mut self, reason: String) {
        self.decision.get_or_insert(Decision::Rejected(reason));
    }

    /// Adds dishes (merged with a line of the same name); ignored after checkout.
    #[signal]
    fn add_item(&mut self, item: Item) {
        if self.checked_out {
            return;
        }
        match self.cart.iter_mut().find(|i| i.name == item.name) {
            Some(line) => line.quantity += item.quantity,
            None => self.cart.push(item),
        }
    }

    /// Removes a dish; ignored after checkout.
    #[signal]
    fn remove_item(&mut self, name: String) {
        if !self.checked_out {
            self.cart.retain(|i| i.name != name);
        }
    }

    /// Closes the cart.
    #[signal]
    fn checkout(&mut self) {
        self.checked_out = true;
    }

    /// Sends the order to another address; refused once the courier is dispatched.
    /// Answers the address the order will go to.
    #[update(validator = "before_dispatch")]
    fn change_address(&mut self, address: String) -> String {
        self.address = Some(address.clone());
        address
    }

    fn before_dispatch(&self, address: String) -> Result<(), String> {
        if address.trim().is_empty() {
            return Err("the new address is empty".to_string());
        }
        if self.dispatched {
            return Err("the courier is already on the way".to_string());
        }
        Ok(())
    }

    /// The cart as it is now.
    #[query]
    fn cart(&self) -> Vec<Item> {
        self.cart.clone()
    }

    /// Where the order is, in words.
    #[query]
    fn status(&self) -> String {
        self.status.clone()
    }
}

/// Sets the `status` query's answer and the details the web UI shows for the order.
fn set_status(ctx: &WorkflowContext<FoodOrder>, status: &str) {
    ctx.state_mut(|s| s.status = status.to_string());
    ctx.set_current_details(format!("Order status: **{status}**"));
}

/// Compensation: refunds the payment and reports why.
async fn refund_after(
    ctx: &WorkflowContext<FoodOrder>,
    error: WorkflowError,
    payment_id: String,
    cents: u64,
) -> WorkflowResult<OrderOutcome> {
    set_status(ctx, "refunding");
    ctx.activity(refund, (payment_id.clone(), cents)).await?;
    set_status(ctx, "refunded");
    Ok(OrderOutcome::Refunded {
        reason: error.root_cause().message.clone(),
        payment_id,
    })
}

/// What the kitchen is asked to cook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KitchenTicket {
    /// The order it belongs to.
    pub order_id: String,
    /// The dishes.
    pub items: Vec<Item>,
}

/// The kitchen: cooks every dish of a ticket in parallel; answers the minutes it took.
#[workflow]
#[derive(Default)]
pub struct Kitchen;

#[workflow(name = "KitchenWorkflow")]
impl Kitchen {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, ticket: KitchenTicket) -> WorkflowResult<u32> {
        let dishes = ticket
            .items
            .into_iter()
            .map(|item| ctx.activity(cook, item).into_future());
        let mut minutes = 0;
        for cooked in join_all(dishes).await {
            minutes = minutes.max(cooked?);
        }
        Ok(minutes)
    }
}

/// Prices the cart (a fixed delivery fee of 2.99).
#[activity(start_to_close_timeout = "10s")]
pub async fn price_order(items: Vec<Item>) -> Result<Totals, ActivityError> {
    let subtotal = items.iter().map(|i| i.cents * u64::from(i.quantity)).sum();
    let delivery_fee = 299;
    Ok(Totals {
        subtotal,
        delivery_fee,
        total: subtotal + delivery_fee,
    })
}

/// Charges the card. The demo's gateway times out on the first attempt; the retry policy
/// (1 s, then doubling, at most 5 attempts) carries the payment through.
#[activity(
    start_to_close_timeout = "10s",
    retry(initial_interval = "1s", backoff_coefficient = 2.0, maximum_attempts = 5)
)]
pub async fn charge_card(ctx: ActivityContext, customer: String, cents: u64) -> Result<String, ActivityError> {
    if ctx.info().attempt == 1 {
        return Err(ActivityError::retryable(
            "the payment gateway timed out",
            "GatewayTimeout",
        ));
    }
    Ok(format!("pay-{customer}-{cents}"))
}

/// Refunds a payment.
#[activity(start_to_close_timeout = "10s", retry(initial_interval = "1s"))]
pub async fn refund(payment_id: String, cents: u64) -> Result<(), ActivityError> {
    println!("[activity] refunded {cents} cents of {payment_id}");
    Ok(())
}

/// Cooks one dish; the kitchen is out of truffles.
#[activity(start_to_close_timeout = "30s")]
pub async fn cook(item: Item) -> Result<u32, ActivityError> {
    if item.name.contains("truffle") {
        return Err(ActivityError::non_retryable(
            format!("the kitchen is out of {}", item.name),
            "OutOfStock",
        ));
    }
    Ok(5 + 2 * item.quantity)
}

/// Sends a courier; nobody delivers to the moon.
#[activity(start_to_close_timeout = "10s", retry(maximum_attempts = 2))]
pub async fn dispatch_courier(address: String) -> Result<String, ActivityError> {
    if address.contains("moon") {
        return Err(ActivityError::non_retryable(
            format!("no courier goes to {address}"),
            "Undeliverable",
        ));
    }
    Ok(format!("courier for {address}"))
}

/// The worker of this example: both workflows and all activities on [`TASK_QUEUE`].
pub fn worker(client: &Client) -> Result<Worker, workflow_runtime::worker::WorkerError> {
    Worker::builder(client, TASK_QUEUE)
        .workflow::<FoodOrder>()
        .workflow::<Kitchen>()
        .activity(price_order)
        .activity(charge_card)
        .activity(refund)
        .activity(cook)
        .activity(dispatch_courier)
        .build()
}
