//! `#[workflow_interface]` misuse: each mistake is an error on its own tokens that names the
//! fix, and the sound handlers are still generated (the calls below add no error).
use workflow_runtime::prelude::*;

#[workflow_interface]
pub trait Shop {
    #[run]
    fn run(customer: String) -> String;
    #[signal]
    fn add(&self, item: String);
    #[signal]
    fn restock(item: String) -> bool;
    #[query]
    fn stock();
    #[update(validator = "check")]
    fn discount(percent: u64) -> u64;
    #[query]
    fn note(text: &str) -> String;
    fn helper(x: u8) -> u8;
    #[signal]
    fn ring() {}
    #[query]
    fn result() -> u8;
    #[update]
    fn refund(cents: u64) -> Result<u64, String>;
    #[query(name = "open")]
    fn is_open() -> bool;
    #[query(name = "open")]
    fn opened() -> bool;
    const LIMIT: u8;
}

/// The entry point is what starts the workflow: an interface without one is refused.
#[workflow_interface]
pub trait NoRun {
    #[signal]
    fn poke();
}

#[workflow_interface]
pub trait Failing {
    #[run]
    fn run(ctx: WorkflowContext<Self>, n: u8) -> WorkflowResult<u8>;
}

#[workflow_interface]
pub trait Generic<T>: Send {
    #[run]
    fn run(item: T);
}

#[workflow_interface]
pub struct NotATrait;

async fn client_side(client: &Client) -> Result<(), ClientError> {
    let shop = Shop::start(client, StartOptions::new("s-1", "q"), "Ada".into()).await?;
    let _open: bool = shop.is_open().await?;
    shop.ring().await?;
    Ok(())
}

fn main() {}
