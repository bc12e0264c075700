//! What `#[workflow]` generates from the model: the handler registrations and the checks of
//! the state, beside what its callers get (the typed handle, the definition and the typed
//! client stubs, from [`client`]), one function per item.

use super::client::{self, ClientStubs};
use crate::ast::workflow::{Handler, Run, WorkflowImpl};
use crate::options::VersioningLit;
use crate::signature::arg_names;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

/// The typed handle beside the state struct (see [`client::handle_type`]), and the proof that
/// the struct carries `#[workflow]`.
pub(crate) fn handle_type(s: &syn::ItemStruct, private: &TokenStream) -> TokenStream {
    let ident = &s.ident;
    let handle = client::handle_type(ident, &s.vis, private);
    quote! {
        #handle

        impl #private::WorkflowStruct for #ident {}
    }
}

/// Everything generated beside a workflow's impl block.
pub(crate) struct WorkflowItems<'a> {
    pub(crate) model: &'a WorkflowImpl,
    pub(crate) ident: &'a syn::Ident,
    pub(crate) run: &'a Run,
    pub(crate) self_ty: &'a syn::Type,
    pub(crate) private: &'a TokenStream,
    /// `versioning = "…"`, when given.
    pub(crate) versioning: Option<VersioningLit>,
}

impl WorkflowItems<'_> {
    pub(crate) fn generate(&self) -> TokenStream {
        let stubs = self.stubs();
        let state_check = self.state_check();
        let definition = stubs.definition();
        let workflow = self.workflow_impl();
        let client_stubs = stubs.client_stubs();
        let handle_stubs = stubs.handle_stubs();
        quote! {
            #state_check

            #definition

            #workflow

            #client_stubs

            #handle_stubs
        }
    }

    /// What the workflow's callers get.
    fn stubs(&self) -> ClientStubs<'_> {
        ClientStubs {
            model: self.model,
            ident: self.ident,
            run: self.run,
            private: self.private,
        }
    }

    /// The state struct carries `#[workflow]` and implements `Default`: each error on the impl
    /// block's type.
    fn state_check(&self) -> TokenStream {
        let (ident, private) = (self.ident, self.private);
        quote_spanned! {self.self_ty.span()=>
            const _: fn() = || {
                #private::assert_workflow_struct::<#ident>();
                #private::assert_default_state::<#ident>();
            };
        }
    }

    /// `Workflow`: the state's start value, the entry point and the handler tables.
    fn workflow_impl(&self) -> TokenStream {
        let (ident, private) = (self.ident, self.private);
        let run_method = &self.run.method;
        let run_arg_names = self.stubs().run_arg_names();
        let signals = self.model.signals.iter().map(|h| self.signal_registration(h));
        let queries = self.model.queries.iter().map(|h| self.query_registration(h));
        let updates = self.model.updates.iter().map(|h| self.update_registration(h));
        let versioning = self.versioning.map(|v| {
            let behavior = v.tokens(private);
            quote! {
                const VERSIONING_BEHAVIOR: ::core::option::Option<#private::VersioningBehavior> = #behavior;
            }
        });
        quote! {
            impl #private::Workflow for #ident {
                #versioning

                fn init(_input: &Self::Input) -> Self {
                    ::core::default::Default::default()
                }

                fn run(
                    ctx: #private::WorkflowContext<Self>,
                    (#(#run_arg_names,)*): Self::Input,
                ) -> #private::LocalBoxFuture<'static, #private::WorkflowResult<Self::Output>> {
                    ::std::boxed::Box::pin(Self::#run_method(ctx, #(#run_arg_names),*))
                }

                #[allow(unused_variables)]
                fn handlers(handlers: &mut #private::Handlers<Self>) {
                    #(#signals)*
                    #(#queries)*
                    #(#updates)*
                }
            }
        }
    }

    fn signal_registration(&self, h: &Handler) -> TokenStream {
        let private = self.private;
        let (method, name, types) = (&h.method, &h.wire_name, &h.arg_types);
        let names = arg_names(types.len());
        let describe = self.describe(h, "Signal");
        if h.is_async {
            let call = if h.fallible {
                quote!(Self::#method(ctx, #(#names),*).await)
            } else {
                quote!({
                    Self::#method(ctx, #(#names),*).await;
                    ::core::result::Result::Ok::<(), #private::WorkflowError>(())
                })
            };
            return quote! {
                handlers.signal_async_raw::<(#(#types,)*), _, _, _>(#name, |ctx, (#(#names,)*)| async move { #call });
                #describe
            };
        }
        quote!(handlers.signal_raw::<(#(#types,)*)>(#name, |state, (#(#names,)*)| state.#method(#(#names),*)); #describe)
    }

    fn query_registration(&self, h: &Handler) -> TokenStream {
        let (method, name, types) = (&h.method, &h.wire_name, &h.arg_types);
        let names = arg_names(types.len());
        let describe = self.describe(h, "Query");
        quote!(handlers.query_raw::<(#(#types,)*), _>(#name, |state, (#(#names,)*)| state.#method(#(#names),*)); #describe)
    }

    fn update_registration(&self, h: &Handler) -> TokenStream {
        let private = self.private;
        let (method, name, types) = (&h.method, &h.wire_name, &h.arg_types);
        let names = arg_names(types.len());
        let validator = match &h.validator {
            Some(v) => quote! {
                ::core::option::Option::Some(|state: &Self, (#(#names,)*): (#(#types,)*)| {
                    state.#v(#(#names),*).map_err(|e| ::std::string::ToString::to_string(&e))
                })
            },
            None => quote! {
                ::core::option::Option::None::<fn(&Self, (#(#types,)*)) -> ::core::result::Result<(), ::std::string::String>>
            },
        };
        let describe = self.describe(h, "Update");
        if h.is_async {
            let call = if h.fallible {
                quote!(Self::#method(ctx, #(#names),*).await .map_err(::core::convert::Into::<#private::WorkflowError>::into))
            } else {
                quote!(::core::result::Result::Ok::<_, #private::WorkflowError>(Self::#method(ctx, #(#names),*).await))
            };
            return quote! {
                handlers.update_async_raw::<(#(#types,)*), _, _, _, _, _>(
                    #name,
                    |ctx, (#(#names,)*)| async move { #call },
                    #validator,
                );
                #describe
            };
        }
        let call = if h.fallible {
            quote!(state.#method(#(#names),*).map_err(::core::convert::Into::<#private::WorkflowError>::into))
        } else {
            quote!(::core::result::Result::Ok::<_, #private::WorkflowError>(state.#method(#(#names),*)))
        };
        quote! {
            handlers.update_raw::<(#(#types,)*), _, _, _>(#name, |state, (#(#names,)*)| #call, #validator);
            #describe
        }
    }

    /// Registers a handler's description, when its method has a doc comment.
    fn describe(&self, h: &Handler, kind: &str) -> TokenStream {
        if h.description.is_empty() {
            return quote!();
        }
        let private = self.private;
        let kind = syn::Ident::new(kind, proc_macro2::Span::call_site());
        let (name, description) = (&h.wire_name, &h.description);
        quote!(handlers.describe(#private::HandlerKind::#kind, #name, #description);)
    }
}
