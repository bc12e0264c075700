//! What a workflow's callers get, generated alike for a `#[workflow]` and for a
//! `#[workflow_interface]` (a workflow declared here and implemented elsewhere, in any SDK):
//! the definition (wire name, input, output), the typed handle, the associated functions
//! (`start`, `execute`, `schedule`, `handle`, `<handler>_with_start`) and the handle's methods
//! (one per signal and query, three per update).

use crate::ast::workflow::{Handler, Run, WorkflowImpl};
use crate::signature::arg_names;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// The handle type's name: `OrderWorkflow` → `OrderWorkflowHandle`.
pub(crate) fn handle_ident(ty: &syn::Ident) -> syn::Ident {
    format_ident!("{}Handle", ty)
}

/// The typed handle of workflow `ident`: `NameHandle`, with the visibility `vis`, a newtype
/// over `WorkflowHandle` that gains one method per signal, query and update.
pub(crate) fn handle_type(ident: &syn::Ident, vis: &syn::Visibility, private: &TokenStream) -> TokenStream {
    let handle = handle_ident(ident);
    let doc = format!("A handle to a running [`{ident}`]: its signals and queries as methods.");
    quote! {
        #[doc = #doc]
        #[derive(Clone, Debug)]
        #vis struct #handle(#private::WorkflowHandle<#ident>);

        impl ::core::ops::Deref for #handle {
            type Target = #private::WorkflowHandle<#ident>;
            fn deref(&self) -> &Self::Target {
                &self.0
            }
        }

        impl ::core::convert::From<#private::WorkflowHandle<#ident>> for #handle {
            fn from(handle: #private::WorkflowHandle<#ident>) -> Self {
                #handle(handle)
            }
        }
    }
}

/// The client side of one workflow, from its model.
pub(crate) struct ClientStubs<'a> {
    pub(crate) model: &'a WorkflowImpl,
    pub(crate) ident: &'a syn::Ident,
    pub(crate) run: &'a Run,
    pub(crate) private: &'a TokenStream,
}

impl ClientStubs<'_> {
    pub(crate) fn run_arg_names(&self) -> Vec<syn::Ident> {
        arg_names(self.run.arg_types.len())
    }

    /// `WorkflowDefinition`: the wire name, the input (the run's arguments) and the output.
    pub(crate) fn definition(&self) -> TokenStream {
        let (ident, private) = (self.ident, self.private);
        let wire_name = &self.model.wire_name;
        let run_args = &self.run.arg_types;
        let output = &self.run.output;
        quote! {
            impl #private::WorkflowDefinition for #ident {
                const NAME: &'static str = #wire_name;
                type Input = (#(#run_args,)*);
                type Output = #output;
            }
        }
    }

    /// The associated functions on the workflow type: `start`, `execute`, `schedule`, `handle`,
    /// and one `<handler>_with_start` per signal and update.
    pub(crate) fn client_stubs(&self) -> TokenStream {
        let (ident, private) = (self.ident, self.private);
        let handle = handle_ident(ident);
        let output = &self.run.output;
        let run_args = &self.run.arg_types;
        let run_arg_names = self.run_arg_names();
        let signal_with_start = self.model.signals.iter().map(|h| self.signal_with_start(h));
        let update_with_start = self.model.updates.iter().map(|h| self.update_with_start(h));
        quote! {
            impl #ident {
                /// Starts this workflow; returns its typed handle.
                pub async fn start(
                    client: &#private::Client,
                    options: #private::StartOptions,
                    #(#run_arg_names: #run_args),*
                ) -> ::core::result::Result<#handle, #private::ClientError> {
                    client.start::<Self>(options, (#(#run_arg_names,)*)).await.map(#handle::from)
                }

                /// Starts this workflow and waits for its result.
                pub async fn execute(
                    client: &#private::Client,
                    options: #private::StartOptions,
                    #(#run_arg_names: #run_args),*
                ) -> ::core::result::Result<#output, #private::ClientError> {
                    client.execute::<Self>(options, (#(#run_arg_names,)*)).await
                }

                /// Creates a schedule that starts this workflow with these arguments at the times
                /// of `options.spec`; returns the schedule's handle.
                pub async fn schedule(
                    client: &#private::Client,
                    schedule_id: impl ::core::convert::Into<::std::string::String>,
                    options: #private::ScheduleOptions,
                    #(#run_arg_names: #run_args),*
                ) -> ::core::result::Result<#private::ScheduleHandle, #private::ClientError> {
                    client.create_schedule::<Self>(schedule_id, options, (#(#run_arg_names,)*)).await
                }

                /// A typed handle to an existing run of this workflow (its latest run).
                pub fn handle(client: &#private::Client, workflow_id: impl ::core::convert::Into<::std::string::String>) -> #handle {
                    #handle::from(client.handle::<Self>(workflow_id, ::core::option::Option::None))
                }

                #(#signal_with_start)*
                #(#update_with_start)*
            }
        }
    }

    fn signal_with_start(&self, h: &Handler) -> TokenStream {
        let handle = handle_ident(self.ident);
        let doc = format!(
            "Sends the `{}` signal, starting the workflow first if it is not running.",
            h.wire_name
        );
        let call = quote!(signal_with_start_by_name::<Self, _>);
        self.with_start(h, "__signal_arg", &doc, quote!(#handle), call, quote!(#handle::from))
    }

    fn update_with_start(&self, h: &Handler) -> TokenStream {
        let handle = handle_ident(self.ident);
        let out = &h.output;
        let doc = format!(
            "Runs the `{}` update, starting the workflow first if it is not running; returns the handle and \
             the update's result.",
            h.wire_name
        );
        let call = quote!(update_with_start_by_name::<Self, _, #out>);
        let map = quote!(|(handle, result)| (#handle::from(handle), result));
        self.with_start(h, "__update_arg", &doc, quote!((#handle, #out)), call, map)
    }

    /// `<handler>_with_start(client, options, run args…, handler args…)`: the client's
    /// `call` with both argument lists, its answer mapped by `map` to `returns`.
    fn with_start(
        &self,
        h: &Handler,
        arg_prefix: &str,
        doc: &str,
        returns: TokenStream,
        call: TokenStream,
        map: TokenStream,
    ) -> TokenStream {
        let private = self.private;
        let (name, types) = (&h.wire_name, &h.arg_types);
        let run_args = &self.run.arg_types;
        let run_arg_names = self.run_arg_names();
        let names: Vec<syn::Ident> = (0..types.len()).map(|i| format_ident!("{}{}", arg_prefix, i)).collect();
        let fn_name = format_ident!("{}_with_start", h.method);
        quote! {
            #[doc = #doc]
            pub async fn #fn_name(
                client: &#private::Client,
                options: #private::StartOptions,
                #(#run_arg_names: #run_args,)*
                #(#names: #types,)*
            ) -> ::core::result::Result<#returns, #private::ClientError> {
                client
                    .#call(options, (#(#run_arg_names,)*), #name, (#(#names,)*))
                    .await
                    .map(#map)
            }
        }
    }

    /// The typed handle's methods: one per signal and query, three per update.
    pub(crate) fn handle_stubs(&self) -> TokenStream {
        let handle = handle_ident(self.ident);
        let signals = self.model.signals.iter().map(|h| {
            let doc = format!("Sends the `{}` signal.", h.wire_name);
            self.handle_stub(h, "signal_by_name", &h.output, doc)
        });
        let queries = self.model.queries.iter().map(|h| {
            let doc = format!("Runs the `{}` query.", h.wire_name);
            self.handle_stub(h, "query_by_name", &h.output, doc)
        });
        let updates = self.model.updates.iter().map(|h| self.update_stubs(h));
        quote! {
            impl #handle {
                #(#signals)*
                #(#queries)*
                #(#updates)*
            }
        }
    }

    /// One typed method of the handle: `fn method(&self, args…) -> Result<out, ClientError>`,
    /// sending the handler's wire name and arguments through `self.0.<call>`.
    fn handle_stub(&self, h: &Handler, call: &str, out: &syn::Type, doc: String) -> TokenStream {
        let private = self.private;
        let (method, name, types) = (&h.method, &h.wire_name, &h.arg_types);
        let names = arg_names(types.len());
        let call = format_ident!("{}", call);
        quote! {
            #[doc = #doc]
            pub async fn #method(&self, #(#names: #types),*) -> ::core::result::Result<#out, #private::ClientError> {
                self.0.#call(#name, (#(#names,)*)).await
            }
        }
    }

    /// An update's methods on the handle: run it to its end, start it (`start_<update>`), and
    /// reach one sent earlier by its id (`<update>_handle`).
    fn update_stubs(&self, h: &Handler) -> TokenStream {
        let private = self.private;
        let out = &h.output;
        let doc = format!("Runs the `{}` update and waits for its result.", h.wire_name);
        let run_to_end = self.handle_stub(h, "update_by_name", out, doc);
        let (name, types) = (&h.wire_name, &h.arg_types);
        let names = arg_names(types.len());
        let (start, by_id) = h.update_stub_names();
        let start_doc = format!(
            "Sends the `{name}` update and returns once it reached `wait_for` (accepted, or completed); \
             `.result()` on the handle waits for its answer."
        );
        let by_id_doc = format!("The `{name}` update sent earlier with `update_id`, to wait for its answer.");
        quote! {
            #run_to_end

            #[doc = #start_doc]
            pub async fn #start(
                &self,
                #(#names: #types,)*
                wait_for: #private::UpdateWaitStage,
            ) -> ::core::result::Result<#private::UpdateHandle<#out>, #private::ClientError> {
                self.0.start_update_by_name(#name, (#(#names,)*), ::core::option::Option::None, wait_for).await
            }

            #[doc = #by_id_doc]
            pub fn #by_id(&self, update_id: impl ::core::convert::Into<::std::string::String>) -> #private::UpdateHandle<#out> {
                self.0.update_handle_by_name(#name, update_id)
            }
        }
    }
}
