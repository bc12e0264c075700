//! The customer and the restaurant of the demo: three orders, each driven through the typed
//! stubs the `#[workflow]` macro generated for [`FoodOrder`].

use super::{FoodOrder, FoodOrderHandle, Item, Order, OrderOutcome, TASK_QUEUE};
use workflow_runtime::{Client, ClientError, StartOptions};

/// The three stories the demo tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Accepted, cart changed, paid (after a retry), cooked, delivered.
    Delivered,
    /// Paid, then the kitchen is out of an ingredient: the payment is refunded.
    Refunded,
    /// The restaurant turns the order down before anything is charged.
    Rejected,
}

impl Scenario {
    /// All of them, in the order the demo runs them.
    pub const ALL: [Scenario; 3] = [Scenario::Delivered, Scenario::Refunded, Scenario::Rejected];

    /// The story, in a few words.
    pub fn describe(self) -> &'static str {
        match self {
            Scenario::Delivered => "accepted, changed, readdressed, paid after a retry, cooked, delivered",
            Scenario::Refunded => "paid, then the kitchen runs out: refunded",
            Scenario::Rejected => "the restaurant says no",
        }
    }

    /// A short name, used in order ids.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Delivered => "delivered",
            Scenario::Refunded => "refunded",
            Scenario::Rejected => "rejected",
        }
    }
}

/// Timings of an order, short enough for a demo.
#[derive(Debug, Clone, Copy)]
pub struct Timings {
    /// How long the restaurant has to answer.
    pub restaurant_timeout_secs: u64,
    /// The durable timer before delivery.
    pub delivery_slot_secs: u64,
}

/// Places one order and plays the customer and the restaurant; `say` narrates each step.
/// Returns the handle (for the history) and how the order ended.
pub async fn place_order(
    client: &Client,
    scenario: Scenario,
    order_id: &str,
    timings: Timings,
    say: impl Fn(String),
) -> Result<(FoodOrderHandle, OrderOutcome), ClientError> {
    let order = Order {
        order_id: order_id.to_string(),
        customer: "ada".to_string(),
        address: "12 Analytical Lane".to_string(),
        restaurant_timeout_secs: timings.restaurant_timeout_secs,
        delivery_slot_secs: timings.delivery_slot_secs,
    };
    let handle = FoodOrder::start(client, StartOptions::new(order_id, TASK_QUEUE), order).await?;
    say(format!("placed order {order_id}"));
    if scenario == Scenario::Rejected {
        handle.reject("we are closing early tonight".to_string()).await?;
        say("restaurant: rejected the order".to_string());
        return Ok((handle.clone(), handle.result().await?));
    }
    handle.accept().await?;
    say("restaurant: accepted".to_string());
    let dishes = match scenario {
        Scenario::Refunded => vec![Item::new("truffle risotto", 2400, 1), Item::new("bread", 300, 1)],
        _ => vec![
            Item::new("margherita", 1100, 2),
            Item::new("green salad", 650, 1),
            Item::new("lemonade", 350, 2),
        ],
    };
    for item in dishes {
        say(format!("customer: add {} × {}", item.quantity, item.name));
        handle.add_item(item).await?;
    }
    if scenario == Scenario::Delivered {
        handle.remove_item("lemonade".to_string()).await?;
        say("customer: remove lemonade".to_string());
    }
    let cart = handle.cart().await?;
    let lines: Vec<String> = cart.iter().map(|i| format!("{} × {}", i.quantity, i.name)).collect();
    say(format!("query cart: {}", lines.join(", ")));
    say(format!("query status: {}", handle.status().await?));
    if scenario == Scenario::Delivered {
        // An update: the workflow validates it, changes its state and answers.
        let address = handle.change_address("7 Difference Engine Row".to_string()).await?;
        say(format!("update change_address: delivering to {address}"));
    }
    handle.checkout().await?;
    say("customer: checkout".to_string());
    let outcome = handle.result().await?;
    Ok((handle, outcome))
}
