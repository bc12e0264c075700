//! Handlers and activities of several arguments, activities on an impl with shared state, and
//! the prelude's types under other names; every call site is typed.
#![allow(dead_code)]
use serde::{Deserialize, Serialize};
use workflow_runtime::prelude::{
    ActivityContext, ActivityError, Client, ClientError, StartOptions, WorkflowContext as Ctx,
    WorkflowError, WorkflowResult as Outcome, activities, activity, workflow,
};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Line {
    sku: String,
    quantity: u32,
}

#[activity(start_to_close_timeout = "5s")]
async fn quote(ctx: ActivityContext, sku: String, quantity: u32, currency: String) -> Result<u64, ActivityError> {
    let _ = (ctx.info().attempt, currency);
    Ok(sku.len() as u64 * quantity as u64)
}

/// A client for a warehouse, shared by its activities.
pub struct Warehouse {
    name: String,
}

#[activities]
impl Warehouse {
    #[activity(start_to_close_timeout = "5s")]
    async fn reserve(&self, sku: String, quantity: u32) -> Result<bool, ActivityError> {
        Ok(!self.name.is_empty() && quantity > 0 && !sku.is_empty())
    }
}

#[workflow]
#[derive(Default)]
pub struct Order {
    lines: Vec<Line>,
    total: u64,
}

#[workflow(name = "OrderWorkflow")]
impl Order {
    #[run]
    async fn run(ctx: Ctx<Self>, customer: String, currency: String, express: bool) -> Outcome<u64> {
        ctx.wait_condition(|s| !s.lines.is_empty()).await?;
        let line = ctx.state(|s| s.lines[0].clone());
        let reserved = ctx.activity(WarehouseReserve, (line.sku.clone(), line.quantity)).await?;
        let cents = ctx.activity(quote, (line.sku, line.quantity, currency)).await?;
        let _ = (customer, express, reserved);
        Ok(cents)
    }

    #[signal]
    fn add_line(&mut self, sku: String, quantity: u32) {
        self.lines.push(Line { sku, quantity });
    }

    #[query]
    fn quantity_of(&self, sku: String, at_least: u32) -> bool {
        self.lines.iter().any(|l| l.sku == sku && l.quantity >= at_least)
    }

    #[update]
    fn set_total(&mut self, cents: u64, reason: String) -> u64 {
        let _ = reason;
        self.total = cents;
        cents
    }

    #[update]
    async fn requote(ctx: Ctx<Self>, sku: String, quantity: u32) -> Result<u64, WorkflowError> {
        ctx.activity(quote, (sku, quantity, "EUR".to_string())).await
    }
}

async fn drive(client: &Client) -> Result<u64, ClientError> {
    let order = Order::start(client, StartOptions::new("o-1", "orders"), "Ada".into(), "EUR".into(), true).await?;
    order.add_line("tea".into(), 2).await?;
    let _: bool = order.quantity_of("tea".into(), 1).await?;
    let _: u64 = order.set_total(500, "promo".into()).await?;
    let _: u64 = order.requote("tea".into(), 3).await?;
    order.result().await
}

fn main() {}
