use workflow_runtime::prelude::*;

// A behaviour that does not exist.
#[workflow]
#[derive(Default)]
pub struct Checkout;

#[workflow(versioning = "sticky")]
impl Checkout {
    #[run]
    async fn run(_ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        Ok(())
    }
}

// Not a string.
#[workflow]
#[derive(Default)]
pub struct Refund;

#[workflow(versioning = pinned)]
impl Refund {
    #[run]
    async fn run(_ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        Ok(())
    }
}

// On the struct instead of the impl block.
#[workflow(versioning = "pinned")]
#[derive(Default)]
pub struct Shipping;

#[workflow]
impl Shipping {
    #[run]
    async fn run(_ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        Ok(())
    }
}

// On an interface, which only calls a workflow.
#[workflow_interface(versioning = "auto_upgrade")]
trait Billing {
    #[run]
    fn run(customer: String) -> String;
}

fn main() {}
