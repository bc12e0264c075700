//! A workflow implemented elsewhere, declared by its interface: every typed stub a `#[workflow]`
//! has, a child workflow started by it, and a renamed runtime.
#![allow(dead_code)]
use serde::{Deserialize, Serialize};
use workflow_runtime::client::handle::{UpdateHandle, UpdateWaitStage};
use workflow_runtime::client::schedule::{ScheduleOptions, ScheduleSpec};
use workflow_runtime::prelude::*;

#[derive(Serialize, Deserialize)]
pub struct Item {
    name: String,
    cents: u64,
}

/// The order workflow another service runs.
#[workflow_interface(name = "OrderWorkflow")]
pub trait Order {
    /// Takes the customer and whether to rush; answers the receipt.
    #[run]
    fn run(customer: String, rush: bool) -> String;
    #[signal(name = "add-item")]
    fn add(item: Item);
    #[signal]
    fn close();
    #[query]
    fn items() -> Vec<Item>;
    #[query]
    fn count_of(name: String) -> u32;
    #[update]
    fn set_price(cents: u64) -> u64;
    #[update]
    fn clear();
}

/// No arguments, no result.
#[workflow_interface]
trait Ping {
    #[run]
    fn run();
}

async fn client_side(client: &Client) -> Result<(), ClientError> {
    let options = || StartOptions::new("order-1", "orders");
    let order: OrderHandle = Order::start(client, options(), "Ada".into(), false).await?;
    order
        .add(Item {
            name: "tea".into(),
            cents: 250,
        })
        .await?;
    order.close().await?;
    let _items: Vec<Item> = order.items().await?;
    let _teas: u32 = order.count_of("tea".into()).await?;
    let _old: u64 = order.set_price(300).await?;
    order.clear().await?;
    let pending: UpdateHandle<u64> = order.start_set_price(310, UpdateWaitStage::Accepted).await?;
    let _: u64 = pending.result().await?;
    let _: UpdateHandle<u64> = order.set_price_handle("update-1");
    let _receipt: String = order.result().await?;
    let again: OrderHandle = Order::handle(client, "order-1");
    let _: OrderHandle = Order::add_with_start(
        client,
        options(),
        "Ada".into(),
        true,
        Item {
            name: "jam".into(),
            cents: 1,
        },
    )
    .await?;
    let (_, _price): (OrderHandle, u64) = Order::set_price_with_start(client, options(), "Ada".into(), true, 5).await?;
    let _: String = Order::execute(client, options(), "Bea".into(), false).await?;
    let spec = ScheduleOptions::new(ScheduleSpec::new().interval(Duration::from_secs(60)), options());
    let _schedule = Order::schedule(client, "nightly-order", spec, "Cy".into(), false).await?;
    let _: OrderHandle = OrderHandle::from(again.with_deadline(Duration::from_secs(5)));
    let () = Ping::execute(client, StartOptions::new("ping", "pings")).await?;
    Ok(())
}

/// A Rust workflow that starts the other service's workflow as its child.
#[workflow]
#[derive(Default)]
pub struct Shop;

#[workflow]
impl Shop {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        ctx.child::<Order>(("Ada".to_string(), true)).await
    }
}

fn main() {}
