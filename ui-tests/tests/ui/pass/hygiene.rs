//! The macros expand next to user items whose names could clash with generated ones.
#![allow(dead_code)]
use serde::{Deserialize, Serialize};
use workflow_runtime::prelude::*;

// Names the generated code must not capture.
mod __private {}
struct Client;
type Result<T> = std::result::Result<T, ()>;
struct Box;
struct Duration;
fn ctx() {}

#[derive(Serialize, Deserialize)]
pub struct Order {
    id: String,
}

#[activity(start_to_close_timeout = "1m")]
async fn ship(order: Order, express: bool) -> std::result::Result<String, ActivityError> {
    Ok(format!("{} {express}", order.id))
}

#[activity]
async fn no_args() -> std::result::Result<(), ActivityError> {
    Ok(())
}

#[workflow]
#[derive(Default)]
pub struct Shipping {
    shipped: bool,
}

#[workflow]
impl Shipping {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, order: Order) -> WorkflowResult<String> {
        ctx.activity(no_args, ()).await?;
        let label = ctx.activity(ship, (order, true)).await?;
        ctx.state_mut(|s| s.shipped = true);
        Ok(label)
    }

    #[query]
    fn shipped(&self) -> bool {
        self.shipped
    }

    /// A whole method opted out of the lint, with its reason.
    #[allow_nondeterministic(reason = "only for a log line, never decides a command")]
    fn debug_stamp(&self) -> u128 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    }
}

#[deterministic]
fn pick(items: &[u32]) -> Option<u32> {
    items.iter().copied().max()
}

fn main() {
    let _ = pick;
    let _: fn() = || {
        let _ = Shipping::start;
        let _ = ShippingHandle::shipped;
    };
}
