//! `#[nexus_service]` on a trait: a Nexus service's contract, one `#[operation]` method per
//! operation, shared by the team that serves it (implementing the trait) and the teams that
//! call it (through the generated caller stub). The trait is kept, made implementable by types
//! a worker shares between tasks; the service's types are generated in a module beside it.

use crate::ast;
use crate::errors::{Errors, parse_item};
use crate::generate::nexus::ServiceItems;
use crate::options::{NexusServiceArgs, parse_args, private_path};
use proc_macro2::TokenStream;
use quote::quote;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut tr: syn::ItemTrait = match parse_item(
        &item,
        "`#[nexus_service]` goes on a trait of the service's operations: `trait Inventory { #[operation] \
         async fn reserve(&self, ctx: NexusContext, item: Item) -> Result<Reservation, NexusError>; }`",
    ) {
        Ok(tr) => tr,
        Err(unchanged) => return unchanged,
    };
    let mut errors = Errors::default();
    let options: NexusServiceArgs = parse_args(args, &mut errors);
    let private = private_path(&options.krate);
    let service = ast::nexus::read(&mut tr, &options, &mut errors);
    let compile_errors = errors.to_compile_errors();
    // Everything is generated beside the errors: operations with a mistake keep their types
    // and stubs (calls elsewhere add no error) but are not served.
    let items = ServiceItems {
        tr: &tr,
        service: &service,
        private: &private,
        private_is_relative: options
            .krate
            .as_ref()
            .is_some_and(|p| p.leading_colon.is_none() && p.segments.first().is_some_and(|s| s.ident != "crate")),
    }
    .generate();
    quote!(#compile_errors #items)
}
