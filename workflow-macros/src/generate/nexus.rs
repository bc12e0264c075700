//! What `#[nexus_service]` generates from the model: the trait, made implementable by types a
//! worker can share between tasks, and beside it a module of the service's types (one per
//! operation, the `Handler` serving an implementation, the `Caller` stub for workflow code).
//! Their impls are written next to the trait rather than in the module, so the types the
//! trait's signatures name resolve where the user wrote them.

use crate::ast::nexus::{Operation, OperationKind, Service};
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

/// Everything generated for one service trait.
pub(crate) struct ServiceItems<'a> {
    pub(crate) tr: &'a syn::ItemTrait,
    pub(crate) service: &'a Service,
    pub(crate) private: &'a TokenStream,
    /// Whether the module must see its parent's names to reach `private` (a relative path
    /// given with `crate = "…"`).
    pub(crate) private_is_relative: bool,
}

impl ServiceItems<'_> {
    /// The trait, the module and the impls; only the trait when nothing else can be generated
    /// (see [`Service::trait_only`]).
    pub(crate) fn generate(&self) -> TokenStream {
        let contract = self.contract();
        if self.service.trait_only {
            return contract;
        }
        let module = self.module();
        let definitions = self.service.operations.iter().map(|op| self.definition(op));
        let handler = self.handler();
        let caller = self.caller();
        quote! {
            #contract

            #module

            #(#definitions)*

            #handler

            #caller
        }
    }

    /// The trait as written, but for what lets a worker spawn its implementations' futures:
    /// `Send + Sync + 'static` supertraits, and each `async fn` declared as a `fn` returning a
    /// `Send` future (implementations still write `async fn`).
    fn contract(&self) -> TokenStream {
        let mut tr = self.tr.clone();
        tr.colon_token.get_or_insert_with(Default::default);
        tr.supertraits.push(syn::parse_quote!(::core::marker::Send));
        tr.supertraits.push(syn::parse_quote!(::core::marker::Sync));
        tr.supertraits.push(syn::parse_quote!('static));
        for item in &mut tr.items {
            if let syn::TraitItem::Fn(f) = item
                && f.default.is_none()
                && let Some(asyncness) = f.sig.asyncness.take()
            {
                let output = match &f.sig.output {
                    syn::ReturnType::Default => quote!(()),
                    syn::ReturnType::Type(_, ty) => quote!(#ty),
                };
                f.sig.output = syn::parse_quote_spanned! {asyncness.span=>
                    -> impl ::core::future::Future<Output = #output> + ::core::marker::Send
                };
            }
        }
        quote!(#tr)
    }

    /// The module: the operations' types, `Handler` and `Caller`.
    fn module(&self) -> TokenStream {
        let (vis, private, module) = (&self.tr.vis, self.private, &self.service.module);
        let (trait_ident, wire_name) = (&self.tr.ident, &self.service.wire_name);
        let module_doc = format!(
            "The Nexus service `{wire_name}` declared by the trait `{trait_ident}`: one type per operation \
             (for `ctx.nexus::<…>` and `nexus_operation`), `Handler` to serve an implementation of the trait, \
             `Caller` to call the operations from workflow code."
        );
        let parent_names = self.private_is_relative.then(|| {
            quote! {
                #[allow(unused_imports)]
                use super::*;
            }
        });
        let markers = self.service.operations.iter().map(|op| {
            let marker = &op.marker;
            let docs = &op.docs;
            let separator = (!docs.is_empty()).then(|| quote!(#[doc = ""]));
            let doc = format!(
                "The operation `{wire_name}.{}`; call it with [`Caller::{}`].",
                op.wire_name, op.method
            );
            quote! {
                #(#docs)*
                #separator
                #[doc = #doc]
                #[derive(Clone, Copy, Debug, Default)]
                pub struct #marker;
            }
        });
        let handler_doc = format!(
            "Serves an implementation of [`{trait_ident}`](super::{trait_ident}) as the service \
             `{wire_name}`: register it with `WorkerBuilder::nexus_service(Handler(implementation))`."
        );
        let caller_doc = format!(
            "The operations of `{wire_name}` for workflow code, through one endpoint: each method returns the \
             call, to `.await` for the operation's output or to configure first (timeout, cancellation)."
        );
        // A private service need not use every generated item.
        quote! {
            #[doc = #module_doc]
            #[allow(dead_code)]
            #vis mod #module {
                #parent_names

                #(#markers)*

                #[doc = #handler_doc]
                #[derive(Clone, Debug, Default)]
                pub struct Handler<T>(
                    /// The implementation.
                    pub T,
                );

                #[doc = #caller_doc]
                pub struct Caller<'a, S> {
                    pub(super) ctx: &'a #private::WorkflowContext<S>,
                    pub(super) endpoint: ::std::string::String,
                }
            }
        }
    }

    /// `NexusOperation` for an operation's type: its wire names, input and output. A generic
    /// method has none (its types name parameters of its own).
    fn definition(&self, op: &Operation) -> TokenStream {
        if op.generic {
            return TokenStream::new();
        }
        let (private, module, marker) = (self.private, &self.service.module, &op.marker);
        let (service, name, input) = (&self.service.wire_name, &op.wire_name, &op.input);
        let output = match &op.kind {
            OperationKind::Sync { output } => quote!(#output),
            OperationKind::Workflow { workflow } => {
                quote_spanned!(workflow.span()=> <#workflow as #private::WorkflowDefinition>::Output)
            }
        };
        quote! {
            impl #private::NexusOperation for #module::#marker {
                const SERVICE: &'static str = #service;
                const NAME: &'static str = #name;
                type Input = #input;
                type Output = #output;
            }
        }
    }

    /// `NexusService` for `Handler<T>`: registers each sound operation, calling the trait's
    /// method on the shared implementation.
    fn handler(&self) -> TokenStream {
        let (private, module, trait_ident) = (self.private, &self.service.module, &self.tr.ident);
        let registrations = self.service.operations.iter().filter(|op| op.sound).map(|op| {
            let (marker, method) = (&op.marker, &op.method);
            let call = quote!(<__Service as #trait_ident>::#method);
            let registration = match &op.kind {
                OperationKind::Sync { .. } => {
                    let ctx = if op.ctx_by_ref { quote!(&ctx) } else { quote!(ctx) };
                    quote! {
                        registry.operation::<#module::#marker, _, _>(move |ctx, input| {
                            let this = ::std::sync::Arc::clone(&this);
                            async move { #call(&this.0, #ctx, input).await }
                        });
                    }
                }
                OperationKind::Workflow { .. } => {
                    let ctx = if op.ctx_by_ref {
                        quote!(ctx)
                    } else {
                        quote!(::core::clone::Clone::clone(ctx))
                    };
                    quote! {
                        registry.workflow_operation::<#module::#marker, _, _>(move |ctx, input| {
                            #call(&this.0, #ctx, input)
                        });
                    }
                }
            };
            quote! {
                {
                    let this = ::std::sync::Arc::clone(&this);
                    #registration
                }
            }
        });
        quote! {
            impl<__Service: #trait_ident> #private::NexusService for #module::Handler<__Service> {
                fn register(this: ::std::sync::Arc<Self>, registry: &mut #private::NexusRegistry) {
                    #(#registrations)*
                }
            }
        }
    }

    /// `Caller::new` and one method per operation, returning the same call `ctx.nexus::<O>`
    /// does.
    fn caller(&self) -> TokenStream {
        let (vis, private, module) = (&self.tr.vis, self.private, &self.service.module);
        let service = &self.service.wire_name;
        let stubs = self.service.operations.iter().filter(|op| !op.generic).map(|op| {
            let (marker, method, input, docs) = (&op.marker, &op.method, &op.input, &op.docs);
            let separator = (!docs.is_empty()).then(|| quote!(#[doc = ""]));
            let doc = format!(
                "Calls `{service}.{}` through the endpoint; `.await` the call for the operation's output.",
                op.wire_name
            );
            quote! {
                #(#docs)*
                #separator
                #[doc = #doc]
                #vis fn #method(&self, input: #input) -> #private::NexusCall<#module::#marker> {
                    #private::WorkflowContext::<__State>::nexus::<#module::#marker>(
                        self.ctx,
                        ::core::clone::Clone::clone(&self.endpoint),
                        input,
                    )
                }
            }
        });
        let new_doc = format!(
            "Calls the operations of `{service}` from the workflow code of `ctx`, through `endpoint` (the name \
             the endpoint was created with on the server)."
        );
        quote! {
            #[allow(dead_code)]
            impl<'a, __State: 'static> #module::Caller<'a, __State> {
                #[doc = #new_doc]
                #vis fn new(
                    ctx: &'a #private::WorkflowContext<__State>,
                    endpoint: impl ::core::convert::Into<::std::string::String>,
                ) -> Self {
                    #module::Caller {
                        ctx,
                        endpoint: ::core::convert::Into::into(endpoint),
                    }
                }

                #(#stubs)*
            }
        }
    }
}
