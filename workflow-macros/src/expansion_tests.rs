//! Snapshots of what the macros generate, pretty-printed (`cargo insta review` to update).

use quote::quote;

fn pretty(tokens: proc_macro2::TokenStream) -> String {
    let file: syn::File = syn::parse2(tokens).expect("the expansion parses as items");
    prettyplease::unparse(&file)
}

#[test]
fn activity_with_defaults() {
    let out = crate::activity::expand(
        quote!(
            name = "charge-card",
            start_to_close_timeout = "30s",
            retry(maximum_attempts = 3, non_retryable_error_types = ["Declined"])
        ),
        quote! {
            /// Charges the card.
            pub async fn charge_card(ctx: ActivityContext, order: Order, cents: u64) -> Result<Receipt, ActivityError> {
                Ok(Receipt::new(order, cents))
            }
        },
    );
    insta::assert_snapshot!(pretty(out));
}

#[test]
fn workflow_struct() {
    let out = crate::workflow::expand(
        quote!(),
        quote! {
            #[derive(Default)]
            pub struct OrderWorkflow { items: Vec<Item>, paid: bool }
        },
    );
    insta::assert_snapshot!(pretty(out));
}

#[test]
fn workflow_impl() {
    let out = crate::workflow::expand(
        quote!(name = "order"),
        quote! {
            impl OrderWorkflow {
                #[run]
                async fn run(ctx: WorkflowContext<Self>, order: Order) -> WorkflowResult<Receipt> {
                    ctx.wait_condition(|s| s.paid).await;
                    ctx.activity(charge_card, order).await
                }
                #[signal]
                fn add_item(&mut self, item: Item) { self.items.push(item) }
                #[signal(name = "pay")]
                fn mark_paid(&mut self) { self.paid = true }
                #[query]
                fn items(&self) -> Vec<Item> { self.items.clone() }
                #[update(validator = "valid_discount")]
                fn discount(&mut self, percent: u64) -> WorkflowResult<u64> { Ok(percent) }
                fn valid_discount(&self, percent: u64) -> Result<(), String> { Ok(()) }
                #[update]
                async fn reprice(ctx: WorkflowContext<Self>, currency: String) -> WorkflowResult<u64> {
                    ctx.activity(convert, currency).await
                }
                fn helper(&self) -> usize { self.items.len() }
            }
        },
    );
    insta::assert_snapshot!(pretty(out));
}
