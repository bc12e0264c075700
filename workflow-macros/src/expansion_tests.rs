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

#[test]
fn workflow_every_handler_kind() {
    let out = crate::workflow::expand(
        quote!(),
        quote! {
            impl Shop {
                /// Serves until closed.
                #[run]
                async fn run(ctx: WorkflowContext<Self>, opening: String, tables: u32) -> WorkflowResult<()> {
                    ctx.wait_condition(|s| s.closed).await?;
                    Ok(())
                }
                /// Seats a guest.
                #[signal]
                fn seat(&mut self, guest: String) { self.guests.push(guest) }
                #[signal]
                async fn restock(ctx: WorkflowContext<Self>, item: String) -> WorkflowResult<()> {
                    ctx.activity(order_stock, item).await
                }
                #[signal]
                async fn ring(ctx: WorkflowContext<Self>) {
                    ctx.sleep(Duration::from_secs(1)).await;
                }
                #[query(name = "guests")]
                fn guest_list(&self) -> Vec<String> { self.guests.clone() }
                #[update]
                fn close(&mut self) { self.closed = true }
                #[update]
                async fn bill(ctx: WorkflowContext<Self>, table: u32) -> u64 {
                    ctx.state(|s| s.total(table))
                }
            }
        },
    );
    insta::assert_snapshot!(pretty(out));
}

#[test]
fn workflow_with_renamed_crate() {
    let out = crate::workflow::expand(
        quote!(crate = "my_sdk::runtime", name = "Ping"),
        quote! {
            impl Ping {
                #[run]
                async fn run(ctx: WorkflowContext<Self>) -> Outcome<u8> { Ok(1) }
            }
        },
    );
    insta::assert_snapshot!(pretty(out));
}

#[test]
fn workflow_with_versioning() {
    let out = crate::workflow::expand(
        quote!(versioning = "pinned"),
        quote! {
            impl Checkout {
                #[run]
                async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> { Ok(()) }
            }
        },
    );
    insta::assert_snapshot!(pretty(out));
}

#[test]
fn activities_group_with_defaults() {
    let out = crate::activity::expand_group(
        quote!(start_to_close_timeout = "10s", task_queue = "payments"),
        quote! {
            impl Payments {
                /// Charges a card.
                #[activity(heartbeat_timeout = "2s")]
                pub async fn charge(&self, ctx: ActivityContext, cents: u64) -> Result<u64, ActivityError> {
                    self.gateway.charge(cents).await
                }
                #[activity(name = "refund-v2", start_to_close_timeout = "1m")]
                async fn refund(&self, id: String) -> Result<(), ActivityError> { Ok(()) }
                fn not_an_activity(&self) {}
            }
        },
    );
    insta::assert_snapshot!(pretty(out));
}

/// An activity with a mistake still has its definition, beside the error: calls and
/// registrations elsewhere add no second error.
#[test]
fn activity_with_a_mistake() {
    let out = crate::activity::expand(
        quote!(),
        quote! {
            fn lookup(key: &str) -> u64 { 1 }
        },
    );
    insta::assert_snapshot!(pretty(out));
}

#[test]
fn deterministic_module() {
    let out = crate::deterministic::expand(
        quote!(),
        quote! {
            mod pricing {
                use std::collections::BTreeMap as Table;

                pub fn prices() -> Table<&'static str, u64> {
                    Table::from([("tea", 250)])
                }

                #[workflow]
                impl Quote {
                    #[run]
                    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u64> {
                        Ok(prices()["tea"])
                    }
                }

                #[activity]
                async fn fetch_rate() -> Result<f64, ActivityError> {
                    Ok(std::fs::read_to_string("rate")?.parse()?)
                }
            }
        },
    );
    insta::assert_snapshot!(pretty(out));
}

/// A workflow implemented elsewhere: the same client side as `workflow_impl`, on a marker type.
#[test]
fn workflow_interface() {
    let out = crate::interface::expand(
        quote!(name = "OrderWorkflow"),
        quote! {
            /// The order workflow the Python service runs.
            pub trait Order {
                #[run]
                fn run(customer: String, rush: bool) -> String;
                #[signal(name = "add-item")]
                fn add(item: Item);
                #[query]
                fn items() -> Vec<Item>;
                #[update]
                fn set_price(cents: u64) -> u64;
                #[update]
                fn clear();
            }
        },
    );
    insta::assert_snapshot!(pretty(out));
}

/// An interface with a mistake in one handler: the error, and everything else generated
/// beside it (no stub for that handler), so calls elsewhere add no second error.
#[test]
fn workflow_interface_with_a_mistake() {
    let out = crate::interface::expand(
        quote!(),
        quote! {
            trait Ping {
                #[run]
                fn run() -> u8;
                #[signal]
                fn poke(&self, times: u8);
                #[query]
                fn pokes() -> u8;
            }
        },
    );
    insta::assert_snapshot!(pretty(out));
}

/// A Nexus service: the trait made spawnable, the module of its types, the definitions, the
/// handler's registrations and the caller stub.
#[test]
fn nexus_service() {
    let out = crate::nexus_service::expand(
        quote!(name = "inventory"),
        quote! {
            /// The inventory team's service.
            pub trait Inventory {
                /// Reserves one.
                #[operation]
                async fn reserve(&self, ctx: NexusContext, item: Item) -> Result<Reservation, NexusError>;
                #[operation(name = "restock-item")]
                fn restock(&self, ctx: &NexusContext, order: Order) -> Result<WorkflowStart<Restock>, NexusError>;
                #[operation]
                async fn audit_log(&self, ctx: &NexusContext, since: u64) -> Result<Vec<String>, NexusError>;
                #[operation]
                fn count(&self, ctx: NexusContext, item: Item) -> Result<nexus::WorkflowStart<Count>, NexusError>;
            }
        },
    );
    insta::assert_snapshot!(pretty(out));
}

/// A service with a mistake in one operation: the error, the trait, and every operation's
/// type and stub (calls elsewhere add no second error); the mistaken one is not served.
#[test]
fn nexus_service_with_a_mistake() {
    let out = crate::nexus_service::expand(
        quote!(module = "stock", crate = "rt"),
        quote! {
            trait Inventory {
                #[operation]
                async fn reserve(&self, ctx: NexusContext, item: Item) -> Result<u64, NexusError>;
                #[operation]
                fn release(&self, ctx: NexusContext, item: Item) -> Result<u64, NexusError>;
            }
        },
    );
    insta::assert_snapshot!(pretty(out));
}
