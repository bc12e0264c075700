//! The stubs of a `#[workflow_interface]` are typed like a `#[workflow]`'s: a wrong argument
//! is an error at the call.
use workflow_runtime::prelude::*;

#[workflow_interface(name = "Checkout")]
pub trait Checkout {
    #[run]
    fn run(cents: u64) -> String;
    #[signal]
    fn note(text: String);
}

async fn client_side(client: &Client) -> Result<(), ClientError> {
    let handle = Checkout::start(client, StartOptions::new("c-1", "q"), "100").await?;
    handle.note(42).await?;
    let receipt: u64 = handle.result().await?;
    Ok(())
}

fn main() {}
