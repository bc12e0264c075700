//! `#[workflow_interface]` on a trait: a workflow implemented elsewhere (another SDK, another
//! service) declared by its signatures, read into the workflow model and given the same typed
//! client side as a `#[workflow]`: the definition, the handle and the stubs.
//!
//! The trait itself is not emitted: its name becomes the workflow's marker type, as the state
//! struct's name is for a `#[workflow]`, so `Order::start(…)` and `OrderHandle` read alike.

use crate::errors::{Errors, parse_item};
use crate::generate::client::{self, ClientStubs};
use crate::options::{WorkflowArgs, parse_args, private_path};
use crate::{ast, check, symbol};
use proc_macro2::TokenStream;
use quote::quote;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut tr: syn::ItemTrait = match parse_item(
        &item,
        "`#[workflow_interface]` goes on a trait of the workflow's signatures: \
         `trait Order { #[run] fn run(customer: String) -> String; }`",
    ) {
        Ok(tr) => tr,
        Err(unchanged) => return unchanged,
    };
    let mut errors = Errors::default();
    let options: WorkflowArgs = parse_args(args, &mut errors);
    if let Some(versioning) = options.versioning {
        errors.push(syn::Error::new(
            versioning.span,
            "`versioning` says how a worker runs a workflow; a `#[workflow_interface]` only calls one, so it \
             goes on the `#[workflow]` impl block of the workflow's code",
        ));
    }
    let private = private_path(&options.krate);
    let mut model = ast::interface::read(&mut tr, &options, &mut errors);
    check::update_stubs_free(&mut model, &mut errors);
    check::unique_wire_names(&model, &mut errors);
    // The marker type exists whatever is wrong, so code naming it adds no error of its own.
    let marker = marker_type(&tr, &model.wire_name);
    let compile_errors = errors.to_compile_errors();
    let Some(run) = model.usable_run() else {
        return quote!(#compile_errors #marker);
    };
    // Errors in handlers: reported, and the sound part is generated beside them.
    let stubs = ClientStubs {
        model: &model,
        ident: &tr.ident,
        run,
        private: &private,
    };
    let definition = stubs.definition();
    let handle = client::handle_type(&tr.ident, &tr.vis, &private);
    let client_stubs = stubs.client_stubs();
    let handle_stubs = stubs.handle_stubs();
    quote! {
        #compile_errors

        #marker

        #definition

        #handle

        #client_stubs

        #handle_stubs
    }
}

/// The workflow's marker type in the trait's place, with its attributes (documentation, `cfg`,
/// lints); a documentation line is made when the trait has none.
fn marker_type(tr: &syn::ItemTrait, wire_name: &str) -> TokenStream {
    let (ident, vis, attrs) = (&tr.ident, &tr.vis, &tr.attrs);
    let doc = (!attrs.iter().any(|a| a.path().is_ident(symbol::DOC))).then(|| {
        let text = format!(
            "The workflow `{wire_name}`, implemented elsewhere: `{ident}::start` and the other typed stubs, \
             and its handle [`{}`].",
            client::handle_ident(ident)
        );
        quote!(#[doc = #text])
    });
    quote! {
        #(#attrs)*
        #doc
        #vis enum #ident {}
    }
}
